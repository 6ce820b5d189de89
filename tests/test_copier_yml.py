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
