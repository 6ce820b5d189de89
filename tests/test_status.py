"""`aiapp status`: the table, `--format json`, and `--check` exit codes for CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from generator.cli import app as cli
from tests.upgrade.scaffold import commit, edit, gitops_repo, pattern_change, release, template_repo

APPS = (("apps/rag-api", "rag-cpu-qdrant"), ("apps/team-chat", "chat-litellm"))


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AIAPP_TEMPLATE", raising=False)
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))


def aiapp(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Path, Path]:
    tpl = template_repo(tmp_path / "tpl")
    return tpl, gitops_repo(tmp_path / "gitops", APPS, src=str(tpl))


def test_current_apps_pass_the_check(fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, repo = fleet
    result = aiapp(repo, monkeypatch, "status", "--check")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "PATH            VERSION  LATEST  STATE",
        "apps/rag-api    v0.1.0   v0.1.0  current",
        "apps/team-chat  v0.1.0   v0.1.0  current",
    ]


def test_a_new_release_makes_apps_behind_and_fails_the_check(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    release(tpl, "v0.2.0", pattern_change)
    plain = aiapp(repo, monkeypatch, "status")
    assert plain.exit_code == 0  # without --check it only reports
    assert "apps/rag-api    v0.1.0   v0.2.0  behind" in plain.stdout.splitlines()
    checked = aiapp(repo, monkeypatch, "status", "--check", "apps/team-chat")
    assert checked.exit_code == 1
    assert checked.stdout.splitlines()[1:] == ["apps/team-chat  v0.1.0   v0.2.0  behind"]
    assert "1 of 1 apps need attention" in checked.stderr


def test_json_format(fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    tpl, repo = fleet
    release(tpl, "v0.2.0", pattern_change)
    result = aiapp(repo, monkeypatch, "status", "--format", "json")
    rows = json.loads(result.stdout)
    assert rows[0] == {
        "path": "apps/rag-api",
        "template": str(tpl),
        "version": "v0.1.0",
        "latest": "v0.2.0",
        "state": "behind",
        "conflicts": [],
        "detail": None,
        "cluster_drift": [],
    }


def test_conflict_markers_fail_the_check_even_when_current(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, repo = fleet
    edit(repo / "apps/rag-api/service.yaml", "kind: Service\n", "<<<<<<< before updating\nkind: Service\n")
    commit(repo, "oops: committed a conflict")
    result = aiapp(repo, monkeypatch, "status", "--check")
    assert result.exit_code == 1
    assert "apps/rag-api    v0.1.0   v0.1.0  conflicts (service.yaml)" in result.stdout.splitlines()


def test_unreachable_template_or_version_is_unknown_and_fails_the_check(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    answers = repo / "apps/team-chat/.copier-answers.yml"
    data = yaml.safe_load(answers.read_text(encoding="utf-8"))
    data["_commit"] = "v0.0.7"
    answers.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = aiapp(repo, monkeypatch, "status", "--check")
    assert result.exit_code == 1
    assert (
        f"apps/team-chat  v0.0.7   v0.1.0  unknown (version v0.0.7 is not in the template {tpl})"
        in result.stdout.splitlines()
    )
    tpl.rename(tpl.with_name("gone"))
    gone = aiapp(repo, monkeypatch, "status", "--format", "json")
    assert {row["state"] for row in json.loads(gone.stdout)} == {"unknown"}


def test_ahead_of_the_latest_release_is_not_a_failure(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    release(tpl, "v0.2.0-rc.1", pattern_change)  # a pre-release is never "latest"
    updated = aiapp(repo, monkeypatch, "update", "--vcs-ref", "v0.2.0-rc.1", "apps/rag-api")
    assert updated.exit_code == 0, updated.stdout
    commit(repo, "try the release candidate")
    result = aiapp(repo, monkeypatch, "status", "--check")
    assert result.exit_code == 0
    assert "apps/rag-api    v0.2.0-rc.1  v0.1.0  ahead" in result.stdout.splitlines()


def test_no_app_and_a_missing_path_are_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    none = aiapp(tmp_path, monkeypatch, "status", "--check")
    assert none.exit_code == 1
    assert none.stderr.startswith("error: no generated app found under .")
    missing = aiapp(tmp_path, monkeypatch, "status", "nowhere")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: nowhere does not exist")
