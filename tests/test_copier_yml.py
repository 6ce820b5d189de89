"""copier.yml is the single source of truth: complete, askable, and usable by plain Copier."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from generator.template.questions import SUPPORTED_TYPES, load_copier_yml, load_questions, resolve
from tests.conftest import ROOT


def test_every_asked_question_has_help_type_and_a_supported_type() -> None:
    for question in load_questions():
        assert question.type in SUPPORTED_TYPES, question.name
        if not question.computed:
            assert question.help, f"{question.name} has no help"


def test_no_unsafe_features_so_plain_copier_needs_no_trust() -> None:
    config = load_copier_yml()
    assert "_jinja_extensions" not in config and "_tasks" not in config


def test_provider_choices_match_the_provider_table() -> None:
    questions = {q.name: q for q in load_questions()}
    table = set(resolve({})["providers"])
    for name in ("llm_providers", "direct_providers"):
        assert {value for _, value in questions[name].choices or ()} == table


def test_cluster_constants_default_to_the_patterns_document() -> None:
    constants = resolve({})
    assert constants["storage_class"] == "proxmox-csi"
    assert constants["secret_store"] == "bitwarden-backend"
    assert constants["qdrant_url"] == "http://qdrant.ai.svc.cluster.local:6333"
    assert constants["litellm_url"] == "http://litellm.ai.svc.cluster.local:4000"
    # The one departure from the patterns document: v1beta1 is no longer served (docs/patterns.md).
    assert constants["external_secrets_api_version"] == "external-secrets.io/v1"
    assert constants["gpu_resource"] == "nvidia.com/gpu"
    assert constants["gpu_node_selector"] == {"gpu-node": "true"}
    toleration = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    assert constants["gpu_tolerations"] == [toleration]
    assert constants["litellm_selector"] == {"app.kubernetes.io/name": "litellm"}
    assert constants["qdrant_target_port"] == 6333 and constants["qdrant_api_key_item"] == ""


def test_plain_copier_cli_renders_without_the_aiapp_package(tmp_path: Path) -> None:
    """Run Copier's own CLI in a process where the `generator` package cannot be imported."""
    script = (
        "import sys\n"
        # The checkout leaves the path; a virtualenv inside it (.venv/.../site-packages) stays.
        f"sys.path = [p for p in sys.path if not p.startswith({str(ROOT)!r}) or 'site-packages' in p]\n"
        "try:\n    import generator.cli\nexcept ImportError:\n    pass\n"
        "else:\n    raise SystemExit('generator is importable')\n"
        "import runpy\n"
        "sys.argv = ['copier'] + sys.argv[1:]\n"
        "runpy.run_module('copier', run_name='__main__')\n"
    )
    preset = ROOT / "generator" / "presets" / "predownload-model.yml"
    dest = tmp_path / "app"
    env = {**os.environ, "PYTHONSAFEPATH": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script, "copy", "--defaults", "--quiet", "--vcs-ref", "HEAD",
         "--data-file", str(preset), str(ROOT), str(dest)],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=False,
    )
    assert result.returncode == 0, result.stderr
    deployment = yaml.safe_load((dest / "deployment.yaml").read_text())
    assert deployment["spec"]["template"]["spec"]["initContainers"][0]["name"] == "download-model"
    assert (dest / "local" / "kustomization.yaml").is_file()


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_questions_split_by_topic_read_as_copiers_own_loader_reads_them() -> None:
    """copier.yml `!include`s one file per topic: aiapp's loader (which `check` uses without importing
    Copier) gives exactly what Copier's load_template_config gives, keys in the same order."""
    from copier._template import load_template_config

    ours = load_copier_yml(ROOT / "copier.yml")
    copiers = load_template_config(ROOT / "copier.yml")
    assert ours == copiers
    assert list(ours) == list(copiers)
    included = [line.split()[1] for line in (ROOT / "copier.yml").read_text().splitlines()
                if line.startswith("!include ")]
    assert len(included) >= 6 and all((ROOT / path).is_file() for path in included)
    # Every question lives in a topic file, none in copier.yml itself (settings only).
    top = yaml.safe_load((ROOT / "copier.yml").read_text().split("\n---\n")[0])
    assert all(key.startswith("_") for key in top)


def test_the_wheel_carries_every_included_file() -> None:
    """The installed package reads its bundled copier.yml: every directory it includes from is packaged."""
    import tomllib

    packaged = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"][
        "wheel"]["force-include"]
    for line in (ROOT / "copier.yml").read_text().splitlines():
        if line.startswith("!include "):
            top = line.split()[1].split("/")[0]
            assert packaged.get(top) == f"generator/_template/{top}", top


def test_a_tagged_version_is_read_with_its_own_included_files(tmp_path: Path) -> None:
    """`aiapp new --vcs-ref` and `aiapp update` read the questions of the version Copier renders: the
    included files at that commit, not the working tree's (nor the bundled copy)."""
    from generator.fleet.git import TemplateRepos
    from generator.template.versions import read_template

    template = tmp_path / "template-repo"
    (template / "questions").mkdir(parents=True)
    (template / "template").mkdir()
    (template / "template" / "README.md.jinja").write_text("{{ team }}\n")
    (template / "copier.yml").write_text(
        "_subdirectory: template\n_skip_if_exists: [a]\n---\n!include questions/*.yml\n"
    )
    (template / "questions" / "team.yml").write_text("team:\n  type: str\n  default: red\n"
                                                     "_skip_if_exists: [b]\n")
    _git(template, "init", "-q")
    _git(template, "add", ".")
    _git(template, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "v1")
    _git(template, "tag", "v1.0.0")
    commit = _git(template, "rev-parse", "HEAD").strip()
    (template / "questions" / "team.yml").write_text("squad:\n  type: str\n")  # uncommitted

    version = read_template(str(template), "v1.0.0")
    assert version.config["team"] == {"type": "str", "default": "red"}
    assert "squad" not in version.config
    assert version.config["_skip_if_exists"] == ["a", "b"]
    repo = TemplateRepos(tmp_path / "work").get(str(template))
    assert repo.config(commit) == version.config
    from copier._template import load_template_config

    _git(template, "checkout", "-q", "--", ".")
    assert load_template_config(template / "copier.yml") == version.config


def test_an_include_outside_the_template_is_refused(tmp_path: Path) -> None:
    from generator.template.questions import disk_includes, parse_copier_yml

    (tmp_path / "t").mkdir()
    (tmp_path / "secret.yml").write_text("x: 1\n")
    for pattern in ("../secret.yml", "/etc/hostname"):
        try:
            parse_copier_yml(f"---\n!include {pattern}\n", "copier.yml", disk_includes(tmp_path / "t"))
        except ValueError as error:
            assert "inside the template" in str(error)
        else:
            raise AssertionError(pattern)
