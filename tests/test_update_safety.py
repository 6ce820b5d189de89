"""`aiapp update` never drops an edit and never records a template version that does not exist.

End to end with real git and real Copier (tests/upgrade/scaffold.py): a template repository tagged
v0.1.0, a GitOps repository with two apps, then a release that deletes or renames a file, a dirty
template checkout, and an app updated past the latest tag.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from generator.cli import app as cli
from tests.upgrade.scaffold import commit, edit, git, gitops_repo, release, status, template_repo

APPS = (("apps/rag-api", "rag-cpu-qdrant"), ("apps/team-chat", "chat-litellm"))
EDIT = ("  type: ClusterIP\n", "  type: ClusterIP\n  sessionAffinity: ClientIP\n")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AIAPP_TEMPLATE", "GIT_CONFIG_COUNT", "AIAPP_RENDER_UNCOMMITTED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))


def aiapp(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(cli, list(args), env={"AIAPP_ALLOW_TEMP_TEMPLATE": "1"})
    assert "Traceback" not in result.stdout + result.stderr
    return result


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Path, Path]:
    tpl = template_repo(tmp_path / "aiapp-template")
    return tpl, gitops_repo(tmp_path / "gitops", APPS, src=str(tpl))


def drop_service(repo: Path) -> None:
    (repo / "template/service.yaml.jinja").unlink()


def rename_service(repo: Path) -> None:
    (repo / "template/service.yaml.jinja").rename(repo / "template/svc.yaml.jinja")


@pytest.mark.parametrize("change", [drop_service, rename_service], ids=["deleted", "renamed"])
def test_an_edited_file_the_new_version_removes_is_kept_and_reported(
    change: object, fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    edit(repo / "apps/rag-api/service.yaml", *EDIT)
    commit(repo, "rag-api: session affinity")
    release(tpl, "v0.2.0", change)  # type: ignore[arg-type]

    result = aiapp(repo, monkeypatch, "update")
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "apps/rag-api: updated from v0.1.0 to v0.2.0, but kept your edited service.yaml, which the new "
        "version deletes or renames",
        "apps/team-chat: updated from v0.1.0 to v0.2.0",
    ]
    assert "hint: move your changes out of the kept files" in result.stderr
    assert "sessionAffinity: ClientIP" in (repo / "apps/rag-api/service.yaml").read_text(encoding="utf-8")
    assert not (repo / "apps/team-chat/service.yaml").exists()  # not edited: removed as the template says


def test_a_dirty_template_checkout_renders_its_last_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copier would render the uncommitted files from a commit of its own that exists nowhere."""
    tpl = template_repo(tmp_path / "tpl")
    head = git(tpl, "rev-parse", "HEAD").strip()
    edit(tpl / "template/service.yaml.jinja", "  type: ClusterIP\n", "  type: NodePort\n")
    result = aiapp(
        tmp_path, monkeypatch, "new", "--preset", "chat-litellm", "--template", str(tpl), "--vcs-ref", "HEAD",
        str(tmp_path / "app"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"uncommitted changes (template/service.yaml.jinja): rendering its last commit {head[:12]}" in (
        result.stderr
    )
    recorded = yaml.safe_load((tmp_path / "app/.copier-answers.yml").read_text(encoding="utf-8"))
    assert git(tpl, "rev-parse", f"{recorded['_commit']}^{{commit}}").strip() == head
    assert "NodePort" not in (tmp_path / "app/service.yaml").read_text(encoding="utf-8")


def test_an_app_ahead_of_the_latest_tag_is_current_for_status_and_update(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = fleet
    edit(tpl / "template/service.yaml.jinja", *EDIT)
    commit(tpl, "unreleased change")
    updated = aiapp(repo, monkeypatch, "update", "--vcs-ref", "main", "apps/rag-api")
    assert updated.exit_code == 0, updated.output
    commit(repo, "rag-api at main")

    result = aiapp(repo, monkeypatch, "update", "apps/rag-api")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["apps/rag-api: already current"]
    assert aiapp(repo, monkeypatch, "status", "--check", "apps/rag-api").exit_code == 0
    assert status(repo) == ""


def test_dry_run_names_the_version_the_real_run_records(
    fleet: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without tags after v0.1.0 the target is the branch head: both runs name the same commit, even with
    uncommitted changes in the template checkout."""
    tpl, repo = fleet
    edit(tpl / "template/service.yaml.jinja", *EDIT)
    commit(tpl, "unreleased change")
    (tpl / "scratch.txt").write_text("uncommitted\n", encoding="utf-8")
    dry = aiapp(repo, monkeypatch, "update", "--vcs-ref", "HEAD", "--dry-run", "apps/rag-api")
    real = aiapp(repo, monkeypatch, "update", "--vcs-ref", "HEAD", "apps/rag-api")
    assert real.exit_code == 0, real.output
    target = dry.stdout.strip().rsplit(" to ", 1)[1]
    assert real.stdout.strip() == f"apps/rag-api: updated from v0.1.0 to {target}"
    recorded = yaml.safe_load((repo / "apps/rag-api/.copier-answers.yml").read_text(encoding="utf-8"))
    assert recorded["_commit"] == target
    assert git(tpl, "rev-parse", f"{target}^{{commit}}").strip() == git(tpl, "rev-parse", "HEAD").strip()
