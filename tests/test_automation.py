"""Automated template updates (docs/automation.md), end to end with real git, Copier and aiapp.

A GitOps repository holds three apps generated from the previous release (tests/upgrade/previous-release.txt,
recreated as a tag in a temporary template repository); this working tree is released as the next minor
version. Then:

- Renovate's copier manager command, exactly as it builds it (renovatebot/renovate,
  lib/modules/manager/copier/artifacts.ts: `copier update --skip-answered --defaults --answers-file
  .copier-answers.yml --vcs-ref NEW`, plus `--trust` only when the bot allows scripts), run in one app
  directory of a clean repository, updates that app;
- the grouped recipe of automation/renovate-preset.json, run as the bot runs it: Renovate's regex manager
  edits `_commit` in every answers file it matched, then runs the post-upgrade commands once per branch
  (`executionMode: branch`) in the repository root, then commits whatever git status shows
  (lib/workers/repository/update/branch/execute-post-upgrade-commands.ts). All three apps are updated in
  one commit, a hand edit is kept, and a conflict makes the command exit non-zero.

The preset is validated against Renovate's JSON schema, which ships in its npm package (`.ci/run` unpacks
it; `$AIAPP_RENOVATE_SCHEMA`), and its fields are asserted.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.template.presets import load_preset
from tests.conftest import PRESETS, ROOT, in_ci
from tests.test_update_snapshots import next_minor, previous_release
from tests.upgrade.scaffold import (
    clear_work_tree,
    commit,
    copier_app,
    copy_working_tree,
    edit,
    extract_commit,
    git,
    init_repo,
    status,
)

PRESET = ROOT / "automation" / "renovate-preset.json"
WORKFLOW = ROOT / "automation" / "github-actions" / "aiapp-update.yml"
DOC = ROOT / "docs" / "automation.md"
SCHEMA = Path(os.environ.get("AIAPP_RENOVATE_SCHEMA", "/opt/renovate-schema/44.121.2/renovate-schema.json"))
APPS = {
    "apps/rag-api": "rag-cpu-qdrant",
    "apps/team-chat": "chat-litellm",
    "apps/llama-8b": "inference-8b-fp16",
}
# Renovate's copier manager (artifacts.ts, buildCommand), without --trust (`allowScripts` is off by default).
RENOVATE_COPIER = [
    "update",
    "--skip-answered",
    "--defaults",
    "--answers-file",
    ".copier-answers.yml",
    "--vcs-ref",
]
HAND_EDIT = ("  revisionHistoryLimit: 3\n", "  revisionHistoryLimit: 7\n")
MARKER = "<<<<<<< before updating"


def preset() -> dict[str, Any]:
    data = json.loads(PRESET.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def js_regex(pattern: str) -> re.Pattern[str]:
    """A Renovate (JavaScript) regex in Python: named groups are `(?<name>...)` there."""
    return re.compile(re.sub(r"\(\?<([A-Za-z]+)>", r"(?P<\1>", pattern))


def manager() -> dict[str, Any]:
    (custom,) = preset()["customManagers"]
    assert isinstance(custom, dict)
    return custom


def rule() -> dict[str, Any]:
    (package_rule,) = preset()["packageRules"]
    assert isinstance(package_rule, dict)
    return package_rule


def renovate_edit(repo: Path, new: str) -> list[str]:
    """What the regex manager writes before the post-upgrade tasks: `currentValue` replaced by the new version
    in the matched string of every answers file that `managerFilePatterns` selects. The files edited."""
    (file_pattern,) = manager()["managerFilePatterns"]
    files = js_regex(file_pattern.strip("/"))
    (match_string,) = manager()["matchStrings"]
    answers = js_regex(match_string)
    edited = []
    for path in sorted(repo.rglob(".copier-answers.y*ml")):
        relative = path.relative_to(repo).as_posix()
        if ".git" in path.parts or not files.search(relative):
            continue
        text = path.read_text(encoding="utf-8")
        match = answers.search(text)
        if match is None:
            continue
        start, end = match.span("currentValue")
        path.write_text(text[:start] + new + text[end:], encoding="utf-8")
        edited.append(relative)
    return edited


def post_upgrade_commands(new: str) -> list[list[str]]:
    """The preset's commands as Renovate compiles them (`{{{newVersion}}}`), `aiapp` being this checkout."""
    commands = []
    for command in rule()["postUpgradeTasks"]["commands"]:
        argv = shlex.split(command.replace("{{{newVersion}}}", new))
        if argv[0] == "aiapp":
            argv = [sys.executable, "-m", "generator", *argv[1:]]
        commands.append(argv)
    return commands


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AIAPP_ALLOW_TEMP_TEMPLATE": "1"}
    env.pop("AIAPP_TEMPLATE", None)
    env.pop("AIAPP_TEMPLATE_REF", None)
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, timeout=600, check=False)


def answers(app_dir: Path) -> dict[str, Any]:
    data = yaml.safe_load((app_dir / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, Callable[[], None]]:
    """(GitOps repository with APPS at the previous release, the next version, release it)."""
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))
    tag, commit_hash = previous_release()
    target = next_minor(tag)
    tpl = init_repo(tmp_path / "aiapp-template")
    extract_commit(commit_hash, tpl)
    commit(tpl, f"release {tag}", tag)
    repo = init_repo(tmp_path / "gitops")
    (repo / ".aiapp.yml").write_text(f"template: {tpl}\n", encoding="utf-8")
    for folder, name in APPS.items():
        data = {**load_preset(name), "app_name": Path(folder).name}
        copier_app(repo / folder, data, str(tpl), vcs_ref=tag)  # what `aiapp new` rendered at that release
    commit(repo, f"three apps at {tag}")
    assert all(answers(repo / folder)["_commit"] == tag for folder in APPS)

    def release_next() -> None:
        clear_work_tree(tpl)
        copy_working_tree(tpl)
        commit(tpl, "this working tree", target)

    return repo, target, release_next


def test_renovates_own_copier_command_updates_one_app_of_a_clean_repository(
    fleet: tuple[Path, str, Callable[[], None]],
) -> None:
    repo, new, release_next = fleet
    release_next()
    app = repo / "apps/rag-api"

    result = run([sys.executable, "-m", "copier", *RENOVATE_COPIER, new], cwd=app)

    assert result.returncode == 0, result.stderr
    assert answers(app)["_commit"] == new
    assert "checkov.io/skip1:" in (app / "deployment.yaml").read_text(encoding="utf-8")
    changed = {line[3:] for line in status(repo).splitlines()}
    assert changed and all(path.startswith("apps/rag-api/") for path in changed), changed


def test_grouped_recipe_updates_every_app_in_one_commit_and_keeps_a_hand_edit(
    fleet: tuple[Path, str, Callable[[], None]],
) -> None:
    repo, new, release_next = fleet
    edit(repo / "apps/rag-api/deployment.yaml", *HAND_EDIT)
    commit(repo, "rag-api: keep more history")
    release_next()
    before = git(repo, "rev-parse", "HEAD").strip()

    assert renovate_edit(repo, new) == [f"{folder}/.copier-answers.yml" for folder in sorted(APPS)]
    for argv in post_upgrade_commands(new):
        result = run(argv, cwd=repo)
        assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    commit(repo, f"Update aiapp template to {new}")  # Renovate commits what git status shows

    assert git(repo, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
    touched = git(repo, "diff", "--name-only", before, "HEAD").split()
    for folder in APPS:
        assert answers(repo / folder)["_commit"] == new
        assert f"{folder}/deployment.yaml" in touched
        assert "checkov.io/skip1:" in (repo / folder / "deployment.yaml").read_text(encoding="utf-8")
    assert HAND_EDIT[1] in (repo / "apps/rag-api/deployment.yaml").read_text(encoding="utf-8")
    assert status(repo) == ""
    assert run([sys.executable, "-m", "generator", "status", "--check"], cwd=repo).returncode == 0
    assert run([sys.executable, "-m", "generator", "check", "apps"], cwd=repo).returncode == 0


def test_grouped_recipe_reports_a_conflict_with_a_non_zero_exit(
    fleet: tuple[Path, str, Callable[[], None]],
) -> None:
    repo, new, release_next = fleet
    # The line next to the one the new version inserts (the checkov skips): a conflicting hand edit.
    edit(
        repo / "apps/team-chat/deployment.yaml",
        '    aiapp/description: "Team chat assistant"\n',
        '    aiapp/description: "Team chat assistant (edited by hand)"\n',
    )
    commit(repo, "team-chat: a hand edit")
    release_next()

    renovate_edit(repo, new)
    results = [run(argv, cwd=repo) for argv in post_upgrade_commands(new)]

    update = results[-1]
    assert update.returncode == 1, update.stdout + update.stderr
    assert "apps/team-chat: conflicts (deployment.yaml)" in update.stdout
    assert "apps/rag-api: updated from" in update.stdout and "apps/llama-8b: updated from" in update.stdout
    assert MARKER in (repo / "apps/team-chat/deployment.yaml").read_text(encoding="utf-8")
    commit(repo, f"Update aiapp template to {new}")  # the pull request carries the markers
    check = run([sys.executable, "-m", "generator", "check", "apps/team-chat"], cwd=repo)
    assert check.returncode == 1 and "AIA002" in check.stdout, check.stdout


def test_the_preset_validates_against_renovates_schema() -> None:
    if not SCHEMA.is_file():
        message = (
            f"Renovate's JSON schema not found at {SCHEMA} (set AIAPP_RENOVATE_SCHEMA; .ci/run unpacks it)"
        )
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(preset())
    # The schema allows unknown keys: every key used must be one it defines (a typo would be ignored).
    definitions = schema["definitions"]
    assert set(preset()) <= set(schema["properties"]) | {"$schema"}
    for key in manager():
        assert key in definitions or key == "description", key
    for key in rule():
        assert key in definitions, key
    for key in rule()["postUpgradeTasks"]:
        assert key in definitions, key


def test_the_preset_groups_aiapp_apps_and_updates_them_with_aiapp() -> None:
    data, custom, package_rule = preset(), manager(), rule()
    assert data["copier"] == {"enabled": False}  # otherwise Copier runs once per app as well
    assert custom["customType"] == "regex"
    assert (custom["datasourceTemplate"], custom["versioningTemplate"]) == ("git-tags", "pep440")
    assert package_rule["matchManagers"] == ["custom.regex"]
    assert package_rule["matchDepNames"] == [custom["depNameTemplate"]]
    assert package_rule["groupName"]
    tasks = package_rule["postUpgradeTasks"]
    assert tasks["executionMode"] == "branch"  # once per branch, not once per app
    assert (
        tasks["commands"][-1] == "aiapp update --vcs-ref {{{newVersion}}}"
    )  # no --trust: .aiapp.yml decides
    assert tasks["fileFilters"] == ["**/*"]


def test_the_answers_regex_finds_every_preset_and_ignores_other_templates(
    rendered_preset: Callable[[str], Path],
) -> None:
    answers_regex = js_regex(manager()["matchStrings"][0])
    for name in PRESETS:
        text = (rendered_preset(name) / ".copier-answers.yml").read_text(encoding="utf-8")
        match = answers_regex.search(text)
        assert match is not None, name
        recorded = yaml.safe_load(text)
        assert (match["currentValue"], match["packageName"]) == (recorded["_commit"], recorded["_src_path"])
    other = "# Changes here will be overwritten by Copier\n_commit: v1.0.0\n_src_path: https://x.test/t.git\n"
    assert answers_regex.search(other) is None
    with_prefix = (
        "# Written by aiapp / Copier: x\n_commit: v0.2.0\n_src_path: git+https://git.test/aiapp.git\n"
    )
    assert (
        js_regex(manager()["matchStrings"][0]).search(with_prefix)["packageName"]
        == "https://git.test/aiapp.git"
    )  # type: ignore[index]


def test_documented_allowed_commands_admit_exactly_the_presets_commands() -> None:
    """docs/automation.md's self-hosted `allowedCommands` (JavaScript regexes, compared with the compiled
    command) admit the preset's commands and nothing with a shell metacharacter or --trust."""
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    configs = [json.loads(block) for block in blocks if '"allowedCommands"' in block]
    assert len(configs) == 1, "docs/automation.md shows no allowedCommands configuration"
    patterns = [js_regex(p) for p in configs[0]["allowedCommands"]]
    for command in rule()["postUpgradeTasks"]["commands"]:
        compiled = command.replace("{{{newVersion}}}", "v0.3.0")
        assert any(p.search(compiled) for p in patterns), compiled
    for bad in (
        "aiapp update --trust --vcs-ref v0.3.0",
        "aiapp update --vcs-ref v1; rm -rf /",
        "git stash pop",
    ):
        assert not any(p.search(bad) for p in patterns), bad


def test_the_workflow_runs_status_update_check_and_opens_a_pull_request_with_the_report() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as true
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    script = "\n".join(step.get("run", "") for step in workflow["jobs"]["update"]["steps"])
    order = ["aiapp status --check", "aiapp update >", "aiapp check .", "gh pr create", "--body-file body.md"]
    positions = [script.find(text) for text in order]
    assert -1 not in positions and positions == sorted(positions), positions
    assert "cat update.txt" in script  # the per-app report is the body
    assert "--trust" not in script


def test_an_app_of_an_untagged_clone_needs_trust_once_after_the_first_tag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the README and docs/automation.md say about clones without tags, run for real: an app rendered
    from an untagged template records a commit hash; after the template's first tag, Renovate's command
    stops with Copier's "unsafe feature" refusal (the v0.1.0 migration's range) and changes nothing, passes
    with `--trust`, and from then on (the app records a tag) needs no trust."""
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))
    tpl = init_repo(tmp_path / "tpl")
    copy_working_tree(tpl)
    first = commit(tpl, "a template nobody tagged yet")
    repo = init_repo(tmp_path / "gitops")
    app = copier_app(repo / "apps/rag-api", load_preset("rag-cpu-qdrant"), str(tpl))
    commit(repo, "rag-api from an untagged clone")
    assert first.startswith(str(answers(app)["_commit"]))  # `git describe --always`: the short hash

    commit(tpl, "first release", "v0.2.0")
    plain = run([sys.executable, "-m", "copier", *RENOVATE_COPIER, "v0.2.0"], cwd=app)
    assert plain.returncode != 0 and "unsafe" in plain.stderr.lower(), plain.stderr
    assert status(repo) == "" and answers(app)["_commit"] != "v0.2.0"

    trusted = run([sys.executable, "-m", "copier", *RENOVATE_COPIER, "v0.2.0", "--trust"], cwd=app)
    assert trusted.returncode == 0, trusted.stderr
    assert answers(app)["_commit"] == "v0.2.0"
    assert answers(app)["vector_db"] == "qdrant"  # the migration changed nothing it should not
    commit(repo, "rag-api at v0.2.0")

    commit(tpl, "next release", "v0.2.1")
    later = run([sys.executable, "-m", "copier", *RENOVATE_COPIER, "v0.2.1"], cwd=app)
    assert later.returncode == 0, later.stderr
    assert answers(app)["_commit"] == "v0.2.1"
