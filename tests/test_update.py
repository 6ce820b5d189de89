"""`aiapp update` end to end with real git and real Copier: a template repository made from the working
tree and tagged v0.1.0, a GitOps repository with apps in subfolders, a pattern change released as v0.2.0,
then one `aiapp update` for all of them: the report, the exit code, what the files contain afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from generator.cli import app as cli
from tests.upgrade.scaffold import (
    DNS_TCP,
    NEW_LABEL,
    commit,
    edit,
    git,
    gitops_repo,
    new_app,
    new_questions,
    pattern_change,
    release,
    status,
    template_repo,
)

APPS = (("apps/rag-api", "rag-cpu-qdrant"), ("apps/team-chat", "chat-litellm"))
MARKER = "<<<<<<< before updating"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No template configured from the outside; Copier's mirror cache inside the test directory."""
    for name in ("AIAPP_TEMPLATE", "GIT_CONFIG_COUNT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))


def aiapp(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """The CLI in-process, run from `cwd`; never a traceback."""
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def answers(app_dir: Path) -> dict[str, object]:
    data = yaml.safe_load((app_dir / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def every_object_has_label(app_dir: Path) -> bool:
    files = [p for p in app_dir.glob("*.yaml") if p.name != "kustomization.yaml"]
    return bool(files) and all(NEW_LABEL in p.read_text(encoding="utf-8") for p in files)


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Path, Path]:
    """(template repository at v0.1.0, GitOps repository with two apps generated from it)."""
    tpl = template_repo(tmp_path / "aiapp-template")
    repo = gitops_repo(tmp_path / "gitops", APPS, src=str(tpl))
    return tpl, repo


def test_update_moves_every_app_and_keeps_a_hand_edit(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    deployment = repo / "apps/rag-api/deployment.yaml"
    edit(deployment, "  revisionHistoryLimit: 3\n", "  revisionHistoryLimit: 7\n")
    commit(repo, "rag-api: keep more history")
    release(tpl, "v0.2.0", pattern_change)

    result = aiapp(repo, monkeypatch, "update")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "apps/rag-api: updated from v0.1.0 to v0.2.0",
        "apps/team-chat: updated from v0.1.0 to v0.2.0",
    ]
    assert "2 apps: 2 updated" in result.stderr
    for folder, _ in APPS:
        app_dir = repo / folder
        assert every_object_has_label(app_dir), folder
        assert DNS_TCP not in (app_dir / "ciliumnetworkpolicy.yaml").read_text(encoding="utf-8")
        assert answers(app_dir)["_commit"] == "v0.2.0"
        assert answers(app_dir)["_src_path"] == str(tpl)
        assert (app_dir / "local/kustomization.yaml").is_file()
    assert "revisionHistoryLimit: 7" in deployment.read_text(encoding="utf-8")
    assert MARKER not in git(repo, "diff")
    # A second run has nothing to do.
    again = aiapp(repo, monkeypatch, "update", "apps")
    assert again.stdout.splitlines() == [
        "apps/rag-api: already current",
        "apps/team-chat: already current",
    ]


def test_conflicting_edit_gives_markers_a_conflict_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conflicted app comes first: the next app still updates (Copier's unmerged index entries would
    otherwise stop git write-tree), and the unmerged entries are back in the index at the end."""
    tpl = template_repo(tmp_path / "tpl")
    repo = gitops_repo(
        tmp_path / "gitops", (("a-chat", "chat-litellm"), ("b-rag", "rag-cpu-qdrant")), str(tpl)
    )
    policy = repo / "a-chat/ciliumnetworkpolicy.yaml"
    edit(policy, DNS_TCP, DNS_TCP.replace('"53"', '"5353"'))
    commit(repo, "a-chat: DNS on 5353")
    release(tpl, "v0.2.0", pattern_change)

    result = aiapp(repo, monkeypatch, "update")

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "a-chat: conflicts (ciliumnetworkpolicy.yaml)",
        "b-rag: updated from v0.1.0 to v0.2.0",
    ]
    assert "hint: resolve the conflict markers" in result.stderr
    text = policy.read_text(encoding="utf-8")
    assert MARKER in text and ">>>>>>> after updating" in text and '"5353"' in text
    assert every_object_has_label(repo / "b-rag")
    assert every_object_has_label(repo / "a-chat")  # the rest of the conflicted app is updated
    assert git(repo, "ls-files", "--unmerged").strip(), "Copier's unmerged entries were not restored"
    assert "UU a-chat/ciliumnetworkpolicy.yaml" in status(repo)

    checked = aiapp(repo, monkeypatch, "status", "--check")
    assert checked.exit_code == 1
    assert "conflicts" in checked.stdout


def test_an_app_with_unresolved_conflicts_is_not_reported_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an update with conflicts the app is at the new version already: the next run must still say
    that it needs work (exit 1) while markers or Copier's unmerged entries are left, as status does."""
    tpl = template_repo(tmp_path / "tpl")
    repo = gitops_repo(tmp_path / "gitops", (("apps/team-chat", "chat-litellm"),), str(tpl))
    policy = repo / "apps/team-chat/ciliumnetworkpolicy.yaml"
    edit(policy, DNS_TCP, DNS_TCP.replace('"53"', '"5353"'))
    commit(repo, "team-chat: DNS on 5353")
    release(tpl, "v0.2.0", pattern_change)
    assert aiapp(repo, monkeypatch, "update").exit_code == 1
    blocked = [
        "apps/team-chat: failed (unresolved conflicts in ciliumnetworkpolicy.yaml; resolve them, commit, "
        "and run aiapp update again)"
    ]

    again = aiapp(repo, monkeypatch, "update")
    assert again.exit_code == 1
    assert again.stdout.splitlines() == blocked
    assert "hint: resolve the conflict markers" in again.stderr
    assert aiapp(repo, monkeypatch, "update", "--dry-run").stdout.splitlines() == blocked

    # Markers gone, but not `git add`ed: git still holds the file as unmerged.
    text = policy.read_text(encoding="utf-8")
    start, end = text.index(MARKER), text.index(">>>>>>> after updating\n") + len(">>>>>>> after updating\n")
    policy.write_text(text[:start] + text[end:], encoding="utf-8")
    assert aiapp(repo, monkeypatch, "update").stdout.splitlines() == blocked
    assert "conflicts (ciliumnetworkpolicy.yaml)" in aiapp(repo, monkeypatch, "status").stdout

    commit(repo, "team-chat: resolve the DNS conflict")
    done = aiapp(repo, monkeypatch, "update")
    assert done.exit_code == 0
    assert done.stdout.splitlines() == ["apps/team-chat: already current"]


def test_dry_run_reports_and_changes_nothing(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    release(tpl, "v0.2.0", pattern_change)
    head = git(repo, "rev-parse", "HEAD")

    result = aiapp(repo, monkeypatch, "update", "--dry-run")

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "apps/rag-api: would update from v0.1.0 to v0.2.0",
        "apps/team-chat: would update from v0.1.0 to v0.2.0",
    ]
    assert status(repo) == ""
    assert git(repo, "rev-parse", "HEAD") == head


def test_set_answers_a_new_question_the_failure_hint_names(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release adds `team` without a default: the update fails with a hint naming `--set team=VALUE`
    (the app restored); with `--set` every app gets the answer, typed by Copier like its question."""
    tpl, repo = fleet
    release(tpl, "v0.2.0", new_questions)

    failed = aiapp(repo, monkeypatch, "update", "apps/rag-api")
    assert failed.exit_code == 1
    assert failed.stdout.splitlines() == [
        'apps/rag-api: failed (question "team" has no answer and no default)'
    ]
    assert "hint: answer it: aiapp update --set team=VALUE" in failed.stderr
    assert status(repo) == ""

    typo = aiapp(repo, monkeypatch, "update", "--set", "teem=search", "--dry-run")
    assert typo.exit_code == 1
    assert typo.stdout.splitlines()[0] == (
        "apps/rag-api: would fail (--set teem: not a question of the template at v0.2.0 (unknown or "
        "computed))"
    )
    computed = aiapp(repo, monkeypatch, "update", "--set", "providers={}", "--dry-run", "apps/rag-api")
    assert "would fail (--set providers: not a question" in computed.stdout
    bad = aiapp(repo, monkeypatch, "update", "--set", "team")
    assert bad.exit_code == 2
    assert "--set expects key=value" in bad.stderr

    result = aiapp(repo, monkeypatch, "update", "--set", "team=search", "--set", "team_size=3")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "apps/rag-api: updated from v0.1.0 to v0.2.0",
        "apps/team-chat: updated from v0.1.0 to v0.2.0",
    ]
    for folder, _ in APPS:
        recorded = answers(repo / folder)
        assert recorded["team"] == "search"
        assert recorded["team_size"] == 3  # an int: Copier typed the string like the question


def test_help_names_arguments_without_python_types(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for command in ("update", "status"):
        result = aiapp(tmp_path, monkeypatch, command, "--help")
        assert result.exit_code == 0
        assert "[PATH]..." in result.stdout
        assert "list[" not in result.stdout and "<" not in result.stdout, result.stdout
    assert "--set KEY=VALUE" in aiapp(tmp_path, monkeypatch, "update", "--help").stdout
    assert "--format table|json" in aiapp(tmp_path, monkeypatch, "status", "--help").stdout


def test_dirty_app_fails_with_the_files_and_the_others_update(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    release(tpl, "v0.2.0", pattern_change)
    edit(repo / "apps/rag-api/service.yaml", "kind: Service", "kind: Service # draft")
    (repo / "apps/rag-api/notes.txt").write_text("todo\n", encoding="utf-8")

    result = aiapp(repo, monkeypatch, "update")

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "apps/rag-api: failed (uncommitted changes in notes.txt, service.yaml)",
        "apps/team-chat: updated from v0.1.0 to v0.2.0",
    ]
    assert "hint: commit or stash" in result.stderr
    assert answers(repo / "apps/rag-api")["_commit"] == "v0.1.0"


def test_vcs_ref_picks_the_version_and_current_apps_skip_copier(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    release(tpl, "v0.2.0", pattern_change)
    import copier

    def no_copier(*args: object, **kwargs: object) -> None:
        raise AssertionError("copier must not run for an app that is already current")

    monkeypatch.setattr(copier, "run_update", no_copier)

    result = aiapp(repo, monkeypatch, "update", "--vcs-ref", "v0.1.0", "apps/team-chat")

    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["apps/team-chat: already current"]


def test_unknown_version_and_missing_template_fail_cleanly(
    fleet: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    missing = aiapp(repo, monkeypatch, "update", "--vcs-ref", "v9.9.9")
    assert missing.exit_code == 1
    assert missing.stdout.splitlines()[0] == (
        f"apps/rag-api: failed (the template {tpl} has no version 'v9.9.9')"
    )
    gone = tmp_path / "moved"
    tpl.rename(gone)
    result = aiapp(repo, monkeypatch, "update")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"apps/rag-api: failed (the template {tpl} does not exist)"


def test_no_app_found_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = aiapp(tmp_path, monkeypatch, "update", ".")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no generated app found under .")


def test_remote_template_is_fetched_once_and_src_path_stays_the_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A template reached by URL: aiapp mirrors it once, Copier's clones are redirected to the mirror
    (git insteadOf), and the answers file keeps the real URL. The real repository is moved away while
    Copier runs, so any fetch that bypassed the mirror would fail the update."""
    work = template_repo(tmp_path / "work")
    bare = tmp_path / "aiapp.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(work), str(bare))
    url = f"file://{bare}"
    repo = gitops_repo(tmp_path / "gitops", APPS, src=url)
    assert answers(repo / "apps/rag-api")["_src_path"] == url
    release(work, "v0.2.0", pattern_change)
    git(work, "push", "--quiet", "--tags", str(bare), "main")

    from generator.fleet import git as fleet_git

    opened: list[str] = []
    original = fleet_git.TemplateRepos._open

    def open_then_hide(self: fleet_git.TemplateRepos, src: str) -> fleet_git.TemplateRepo:
        repo_ = original(self, src)
        opened.append(src)
        bare.rename(tmp_path / "hidden.git")
        return repo_

    monkeypatch.setattr(fleet_git.TemplateRepos, "_open", open_then_hide)
    try:
        result = aiapp(repo, monkeypatch, "update")
    finally:
        if (tmp_path / "hidden.git").exists():
            (tmp_path / "hidden.git").rename(bare)

    assert result.exit_code == 0, result.stdout + result.stderr
    assert opened == [url]
    assert result.stdout.splitlines() == [
        "apps/rag-api: updated from v0.1.0 to v0.2.0",
        "apps/team-chat: updated from v0.1.0 to v0.2.0",
    ]
    for folder, _ in APPS:
        assert answers(repo / folder)["_src_path"] == url
        assert every_object_has_label(repo / folder)


def test_plain_copier_update_updates_an_app_made_by_aiapp(tmp_path: Path) -> None:
    """No aiapp at update time: the copier CLI alone, in a subfolder of a GitOps repository."""
    tpl = template_repo(tmp_path / "tpl")
    repo = gitops_repo(tmp_path / "gitops", (("apps/rag-api", "rag-cpu-qdrant"),), src=str(tpl))
    release(tpl, "v0.2.0", pattern_change)

    result = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--defaults", "apps/rag-api"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert answers(repo / "apps/rag-api")["_commit"] == "v0.2.0"
    assert every_object_has_label(repo / "apps/rag-api")


def test_update_from_a_subfolder_app_path_and_an_app_outside_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl = template_repo(tmp_path / "tpl")
    loose = new_app(tmp_path / "loose" / "rag-api", "rag-cpu-qdrant", str(tpl))
    release(tpl, "v0.2.0", pattern_change)
    result = aiapp(loose, monkeypatch, "update")
    assert result.exit_code == 1
    assert result.stdout.startswith(".: failed (not in a git repository")


def test_committed_conflict_markers_block_the_next_update(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    edit(repo / "apps/rag-api/service.yaml", "kind: Service\n", "kind: Service\n>>>>>>> after updating\n")
    commit(repo, "committed by mistake")
    release(tpl, "v0.2.0", pattern_change)
    result = aiapp(repo, monkeypatch, "update")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "apps/rag-api: failed (unresolved conflicts in service.yaml; resolve them, commit, and run aiapp "
        "update again)"
    )
    assert "hint: resolve the conflict markers" in result.stderr


def test_a_copier_failure_restores_the_app_and_the_run_goes_on(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    release(tpl, "v0.2.0", pattern_change)
    import copier

    real = copier.run_update

    def half_then_fail(dst_path: str, **kwargs: object) -> None:
        if dst_path.endswith("rag-api"):
            (Path(dst_path) / "deployment.yaml").write_text("half-written\n", encoding="utf-8")
            (Path(dst_path) / "stray.yaml").write_text("x: 1\n", encoding="utf-8")
            raise RuntimeError("disk\nfull")
        real(dst_path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(copier, "run_update", half_then_fail)
    result = aiapp(repo, monkeypatch, "update")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "apps/rag-api: failed (disk full)",
        "apps/team-chat: updated from v0.1.0 to v0.2.0",
    ]
    assert not any(
        line.endswith(("rag-api/deployment.yaml", "stray.yaml")) for line in status(repo).splitlines()
    )
    assert answers(repo / "apps/rag-api")["_commit"] == "v0.1.0"


@pytest.mark.parametrize(
    "src",
    [
        "gh:acme/aiapp",
        "gh:/acme/aiapp.git",
        "gl:group/sub/aiapp",
        "https://github.com/acme/aiapp",
        "https://git.example.com/aiapp.git",
        "https://git.example.com/aiapp",
        "git+https://git.example.com/aiapp",
        "git@git.example.com:platform/aiapp.git",
        "file:///srv/git/aiapp.git",
        "ssh://git@git.example.com/aiapp",
        "TEMPLATE",
        "TEMPLATE/template",
        "NOWHERE",
    ],
)
def test_url_expansion_matches_copier(src: str, tmp_path: Path) -> None:
    """aiapp re-states Copier's URL rules so `aiapp status` need not import Copier: same answers."""
    from copier._vcs import get_repo

    from generator.fleet.git import expand_url

    tpl = template_repo(tmp_path / "tpl")
    src = src.replace("TEMPLATE", str(tpl)).replace("NOWHERE", str(tmp_path / "nowhere"))
    assert expand_url(src) == get_repo(src)


def test_a_file_the_new_version_deletes_is_removed_from_every_app(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by adversarial testing: only the last app of a run lost the deleted file."""
    tpl, repo = fleet
    release(tpl, "v0.2.0", lambda path: (path / "template" / "AGENTS.md.jinja").unlink())

    result = aiapp(repo, monkeypatch, "update")

    assert result.exit_code == 0, result.stdout + result.stderr
    for folder, _ in APPS:
        assert not (repo / folder / "AGENTS.md").exists(), result.stdout + result.stderr
        assert answers(repo / folder)["_commit"] == "v0.2.0"


def test_an_app_nested_inside_another_app_is_found_and_updated(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    new_app(repo / "apps/rag-api/tools/helper", "chat-litellm", str(tpl), app_name="helper")
    commit(repo, "a helper app inside rag-api")
    release(tpl, "v0.2.0", pattern_change)

    result = aiapp(repo, monkeypatch, "update")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "apps/rag-api/tools/helper: updated from v0.1.0 to v0.2.0" in result.stdout.splitlines()
    assert answers(repo / "apps/rag-api/tools/helper")["_commit"] == "v0.2.0"


def test_hand_edited_invalid_recorded_facts_are_refused_naming_the_file(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by adversarial testing: `aiapp update` rendered the facts of a hand-edited answers file."""
    tpl, repo = fleet
    answers_file = repo / "apps/team-chat/.copier-answers.yml"
    with answers_file.open("a", encoding="utf-8") as handle:
        handle.write('cluster:\n  monitoring:\n    namespace: "prom\\n  - fromEntities: [world]"\n')
    commit(repo, "a hand edit")
    release(tpl, "v0.2.0", pattern_change)

    result = aiapp(repo, monkeypatch, "update")

    assert result.exit_code == 1
    line = next(line for line in result.stdout.splitlines() if line.startswith("apps/team-chat"))
    assert "failed" in line and ".copier-answers.yml (its recorded `cluster:`)" in line
    assert "monitoring.namespace" in line
    assert answers(repo / "apps/team-chat")["_commit"] == "v0.1.0"
    assert answers(repo / "apps/rag-api")["_commit"] == "v0.2.0"
