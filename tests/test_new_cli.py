"""`aiapp new` and `aiapp presets` as a script or CI job runs them: exit codes, one-line errors, no
traceback, and nothing written when anything is wrong."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from generator.template.presets import preset_names, preset_summary
from generator.template.source import latest_release_tag as latest_tag
from tests.conftest import ROOT, TEMPLATE_REF
from tests.upgrade.scaffold import edit, new_questions, release, template_repo


def console_script(name: str) -> str:
    """The installed console script: next to this Python (a venv), else on PATH (a system install)."""
    sibling = Path(sys.executable).parent / name
    found = str(sibling) if sibling.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"the {name!r} console script is not installed (pip install -e '.[test]')")
    return found


AIAPP = [console_script("aiapp")]
# `m` is outside the model catalogue: it has no default size.
REQUIRED = [
    "--set", "app_name=rag-api", "--set", "image=ghcr.io/acme/rag-api:1.4.2",
    "--set", "serves_model=true", "--set", "model_name=m", "--set", "model_params_b=8",
]


def aiapp(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real console script with stdin not a terminal (so it never prompts).

    It renders the working tree (AIAPP_TEMPLATE_REF=HEAD, as every test does) unless `env` says otherwise.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AIAPP_")}
    environment["AIAPP_TEMPLATE_REF"] = TEMPLATE_REF
    environment["AIAPP_RENDER_UNCOMMITTED"] = "1"
    environment.update(env or {})
    environment = {k: v for k, v in environment.items() if v}  # env={"X": ""} removes X
    return subprocess.run(
        [*AIAPP, *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def assert_refused(result: subprocess.CompletedProcess[str], *fragments: str, code: int = 2) -> str:
    """Exit code, one `error:` line naming what is wrong, no traceback."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("error: ")
    for fragment in fragments:
        assert fragment in first, first
    return first


def nothing_in(directory: Path) -> bool:
    return not any(directory.iterdir())


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path


def test_bad_name_is_refused_with_the_rule(work: Path) -> None:
    result = aiapp("new", "app", *REQUIRED, "--set", "app_name=Bad_Name", cwd=work)
    line = assert_refused(result, "app_name = 'Bad_Name'", "DNS-1123 label")
    assert len(result.stderr.strip().splitlines()) == 1, line
    assert nothing_in(work)


def test_latest_image_is_refused_with_the_rule(work: Path) -> None:
    result = aiapp("new", "app", *REQUIRED, "--set", "image=ghcr.io/acme/x:latest", cwd=work)
    assert_refused(result, "image = 'ghcr.io/acme/x:latest'", "must not be 'latest'")
    assert nothing_in(work)


def test_unknown_set_key_names_the_known_keys(work: Path) -> None:
    result = aiapp("new", "--defaults", "--set", "gpus=2", cwd=work)
    assert_refused(result, "unknown question 'gpus'")
    assert "known questions: app_name, namespace" in result.stderr and "gpu_count" in result.stderr
    assert nothing_in(work)


def test_wrong_type_is_refused(work: Path) -> None:
    result = aiapp("new", *REQUIRED, "--set", "gpu_count=two", cwd=work)
    assert_refused(result, "gpu_count = 'two'", "whole number")
    result = aiapp("new", *REQUIRED, "--set", "gpu=maybe", cwd=work)
    assert_refused(result, "gpu = 'maybe'", "true or false")
    assert nothing_in(work)


def test_non_empty_destination_needs_force(work: Path) -> None:
    dest = work / "app"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n")
    result = aiapp("new", "app", *REQUIRED, cwd=work)
    assert_refused(result, "app is not empty")
    assert "--force" in result.stderr
    assert [p.name for p in dest.iterdir()] == ["notes.txt"]


def test_unknown_preset_names_the_known_presets(work: Path) -> None:
    result = aiapp("new", "--preset", "gpu-monster", cwd=work)
    assert_refused(result, "unknown preset 'gpu-monster'")
    assert "inference-8b-fp16" in result.stderr


def test_missing_answer_without_a_terminal_says_which_flag(work: Path) -> None:
    result = aiapp("new", "--set", "app_name=x", cwd=work)
    assert_refused(result, "image has no default", "--set image=VALUE")


def test_model_that_does_not_fit_is_refused_with_what_would_fit(work: Path) -> None:
    gpus = ["--set", "gpu=true", "--set", "gpu_memory_gib=24"]  # the default would hold the model
    result = aiapp("new", *REQUIRED, *gpus, "--set", "model_params_b=70", cwd=work)
    assert_refused(
        result,
        "gpu_memory_gib = '24' (from --set)",
        "does not fit",
        "Would fit: --set gpu_count=8 (vLLM gets --tensor-parallel-size 8, generated for the vLLM engine).",
    )


def test_container_args_are_set_as_yaml(work: Path) -> None:
    args = ["--set", "gpu=false", "--set", "container_args=[--model, /models]"]
    result = aiapp("new", "app", *REQUIRED, *args, "--dry-run", "--show", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "- --model\n" in result.stdout and "- /models\n" in result.stdout
    result = aiapp("new", *REQUIRED, "--set", "gpu=false", "--set", "container_args=[{a: b}]", cwd=work)
    assert_refused(result, "container_args = ", "string or a number")


def test_show_needs_dry_run(work: Path) -> None:
    assert_refused(aiapp("new", *REQUIRED, "--show", cwd=work), "--show needs --dry-run")


def test_presets_lists_one_line_each(work: Path) -> None:
    result = aiapp("presets", cwd=work)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(preset_names())
    for name, line in zip(preset_names(), lines, strict=True):
        assert line.startswith(name) and line.endswith(preset_summary(name))


def test_dry_run_lists_and_shows_but_writes_nothing(work: Path) -> None:
    result = aiapp("new", "app", *REQUIRED, "--dry-run", "--show", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "files would be written into app (nothing written)" in result.stdout
    assert "  deployment.yaml\n" in result.stdout and "  local/kustomization.yaml\n" in result.stdout
    assert f"--- {Path('app') / 'deployment.yaml'}\napiVersion: apps/v1" in result.stdout
    assert nothing_in(work)


def test_writes_registers_and_lists_next_steps(work: Path) -> None:
    (work / "kustomization.yaml").write_text("# apps\nresources:\n  - other  # keep\n")
    result = aiapp(
        "new", "chat", "--register",
        "--set", "app_name=chat", "--set", "image=ghcr.io/acme/chat:1.0", "--set", "serves_model=false",
        "--set", "llm_providers=openai,anthropic", "--set", "direct_providers=anthropic",
        "--set", "direct_provider_reason=Needs the computer-use beta API",
        cwd=work,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (work / "chat" / "deployment.yaml").is_file()
    assert (work / "kustomization.yaml").read_text() == "# apps\nresources:\n  - chat\n  - other  # keep\n"
    out = result.stdout
    assert f"Wrote 10 files into {work / 'chat'}." in out  # httproute.yaml since issue 11
    assert "Registered: added chat" in out
    assert "'chat LiteLLM key'" in out and "'Anthropic Claude API'" in out
    assert "kubectl kustomize chat" in out and "aiapp check chat" in out
    assert not [p for p in work.iterdir() if p.name.startswith(".aiapp-")]


def test_force_writes_into_a_non_empty_directory_and_keeps_engineer_files(work: Path) -> None:
    dest = work / "app"
    (dest / "local").mkdir(parents=True)
    (dest / "local" / "kustomization.yaml").write_text("# mine\n")
    (dest / "notes.txt").write_text("mine\n")
    (work / "kustomization.yaml").write_text("resources:\n- ./app\n")
    result = aiapp("new", "app", *REQUIRED, "--force", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (dest / "local" / "kustomization.yaml").read_text() == "# mine\n"
    assert (dest / "notes.txt").read_text() == "mine\n"
    assert yaml.safe_load((dest / ".copier-answers.yml").read_text())["app_name"] == "rag-api"
    assert "kept your local/kustomization.yaml" in result.stdout
    # The app is listed already: no step tells the user to add it again.
    assert f"1. {work / 'kustomization.yaml'} already lists app: nothing to add." in result.stdout
    assert "Add `-" not in result.stdout


def test_register_follows_the_style_of_the_existing_entries(work: Path) -> None:
    (work / "kustomization.yaml").write_text("resources:\n- ./alpha\n")
    result = aiapp("new", "mm", *REQUIRED, "--set", "app_name=mm", "--register", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "kustomization.yaml").read_text() == "resources:\n- ./alpha\n- ./mm\n"
    assert "Registered: added ./mm to the resources of" in result.stdout


def sibling(work: Path, name: str, app_name: str, namespace: str = "ai") -> None:
    (work / name).mkdir()
    (work / name / ".copier-answers.yml").write_text(f"app_name: {app_name}\nnamespace: {namespace}\n")


def test_register_refuses_a_second_app_with_the_same_name_and_namespace(work: Path) -> None:
    parent = "# apps\nresources:\n  - team-chat\n"
    (work / "kustomization.yaml").write_text(parent)
    sibling(work, "team-chat", "team-chat")
    # The preset's app_name is team-chat, whatever DEST is called.
    result = aiapp("new", "--preset", "chat-litellm", "chat2", "--register", cwd=work)
    clash = "app_name 'team-chat' in namespace 'ai' is already used by"
    line = assert_refused(result, clash, "--set app_name=")
    assert str(work / "team-chat") in line and "Deployment/team-chat.ai" in line
    assert len(result.stderr.strip().splitlines()) == 1
    assert (work / "kustomization.yaml").read_text() == parent
    assert sorted(p.name for p in work.iterdir()) == ["kustomization.yaml", "team-chat"]
    # Without --register it is a warning: the engineer may rename or deploy it elsewhere.
    result = aiapp("new", "--preset", "chat-litellm", "chat2", "--dry-run", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "warning: app_name 'team-chat' in namespace 'ai' is already used by" in result.stderr
    # Another name, or the same name in another namespace, is fine.
    result = aiapp("new", "--preset", "chat-litellm", "chat2", "--register", "--dry-run",
                   "--set", "namespace=team", cwd=work)  # fmt: skip
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr


def test_latest_tag_is_chosen_like_copier() -> None:
    assert latest_tag(["v0.9.0", "v0.10.0", "v1.0.0rc1", "latest", "release-2", "v0.2"]) == "v0.10.0"
    assert latest_tag(["latest", "nightly"]) is None


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repository: v0.1.0 is this working tree, v0.2.0 adds a required question `team`."""
    repo = template_repo(tmp_path_factory.mktemp("released") / "aiapp-template")
    release(repo, "v0.2.0", new_questions)
    # The same repository by URL, as a server holds it (a bare repository).
    bare = str(repo.parent / "aiapp.git")
    subprocess.run(["git", "clone", "--quiet", "--bare", str(repo), bare], check=True)
    return repo


NO_REF = {"AIAPP_TEMPLATE_REF": "", "AIAPP_ALLOW_TEMP_TEMPLATE": "1"}


@pytest.mark.parametrize("scheme", ["path", "file-url"])
def test_questions_come_from_the_version_that_is_rendered(work: Path, released: Path, scheme: str) -> None:
    src = str(released) if scheme == "path" else f"file://{released.parent / 'aiapp.git'}"
    new = ["new", "--defaults", "--template", src, *REQUIRED]
    # The latest tag (v0.2.0) asks `team`: it is required, and accepted.
    assert_refused(aiapp(*new, "app", cwd=work, env=NO_REF), "team has no default", "--set team=VALUE")
    result = aiapp(*new, "--set", "team=ml", "app", cwd=work, env=NO_REF)
    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((work / "app" / ".copier-answers.yml").read_text())
    assert answers["team"] == "ml" and answers["_commit"] == "v0.2.0"
    # v0.1.0 does not know it: refused on one line naming the key and the version, nothing written.
    result = aiapp(*new, "--vcs-ref", "v0.1.0", "--set", "team=ml", "old", cwd=work, env=NO_REF)
    assert_refused(result, "unknown question 'team' (from --set)", "at v0.1.0 does not ask it")
    assert not (work / "old").exists()
    result = aiapp(*new, "--vcs-ref", "v9", "x", cwd=work, env=NO_REF)
    assert_refused(result, "the template version 'v9' does not exist")


def test_uncommitted_questions_count_when_rendering_head(work: Path, released: Path) -> None:
    edit(released / "copier.yml", "team:\n  type: str\n", "squad:\n  type: str\n")
    try:
        env = {**NO_REF, "AIAPP_TEMPLATE_REF": "HEAD"}
        new = ["new", "--defaults", "--template", str(released), *REQUIRED, "--dry-run"]
        assert_refused(aiapp(*new, "--set", "team=ml", cwd=work, env=env), "unknown question 'team'")
        result = aiapp(*new, "--set", "squad=ml", cwd=work, env=env)
        assert result.returncode == 0, result.stderr
    finally:
        edit(released / "copier.yml", "squad:\n  type: str\n", "team:\n  type: str\n")


def test_an_unreachable_source_falls_back_to_the_bundled_questions(work: Path) -> None:
    url = "https://git.invalid/aiapp.git"
    result = aiapp("new", "--defaults", "--template", url, *REQUIRED, "--dry-run", cwd=work, env=NO_REF)
    note, error = result.stderr.splitlines()[:2]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert note.startswith(f"note: cannot read copier.yml of {url} at its latest tag (")
    assert note.endswith("the questions come from the bundled template " + str(ROOT) + ", which may differ "
                         "from the version Copier renders")  # fmt: skip
    assert error.startswith("error: Copier could not render the template from https://git.invalid/aiapp.git")


def test_a_failed_render_leaves_nothing(work: Path) -> None:
    template = work / "broken-template"
    (template / "template").mkdir(parents=True)
    (template / "copier.yml").write_text("_subdirectory: template\napp_name: {type: str}\n")
    (template / "template" / "a.txt").write_text("fine\n")
    (template / "template" / "b.txt.jinja").write_text("{{ oops\n")
    for command in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "t"],
    ):
        subprocess.run(["git", *command], cwd=template, check=True)
    dest_parent = work / "apps"
    dest_parent.mkdir()
    result = aiapp(
        "new", "apps/app", "--set", "app_name=app", "--template", str(template), cwd=work,
        env={"AIAPP_ALLOW_TEMP_TEMPLATE": "1"},
    )  # fmt: skip
    assert_refused(result, "Copier could not render the template", code=1)
    assert nothing_in(dest_parent)


def test_importing_the_cli_leaves_heavy_modules_out() -> None:
    code = (
        "import sys, generator.cli\n"
        "print(sorted(m for m in ('copier', 'questionary', 'jinja2', 'prompt_toolkit') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"
