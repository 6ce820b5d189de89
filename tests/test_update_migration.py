"""The `_migrations` entry of copier.yml: the question `vector_db` was called `vectordb` before v0.1.0.

The old template version is this working tree with the question renamed back (tagged v0.0.1); the new one
is the working tree as it is, with the migration (tagged v0.1.0). An app generated at v0.0.1 must come out
of the update with `vector_db` holding its old `vectordb` answer, and keep its Qdrant rules.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from generator.cli import app as cli
from generator.template.presets import load_preset
from tests.upgrade.scaffold import (
    ROOT,
    clear_work_tree,
    commit,
    copier_app,
    copy_working_tree,
    git,
    init_repo,
    status,
)

SCRIPT = ROOT / "migrations" / "rename_answer.py"


def old_name(text: str) -> str:
    return text.replace("vector_db", "vectordb")


@pytest.fixture
def old_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(template repository with v0.0.1 and v0.1.0, GitOps repository with an app made at v0.0.1)."""
    monkeypatch.delenv("AIAPP_TEMPLATE", raising=False)
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))
    tpl = init_repo(tmp_path / "tpl")
    copy_working_tree(tpl, old_name)
    commit(tpl, "pilot", "v0.0.1")
    repo = init_repo(tmp_path / "gitops")
    answers = {old_name(k): v for k, v in load_preset("rag-cpu-qdrant").items()}
    app = copier_app(repo / "apps/rag-api", answers, str(tpl))
    commit(repo, "rag-api")
    clear_work_tree(tpl)
    copy_working_tree(tpl)
    commit(tpl, "rename vectordb to vector_db", "v0.1.0")
    recorded = yaml.safe_load((app / ".copier-answers.yml").read_text())
    assert recorded["vectordb"] == "qdrant" and "vector_db" not in recorded
    return tpl, repo


def update(repo: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(cli, ["update", *args])
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def assert_migrated(app: Path) -> None:
    data = yaml.safe_load((app / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert data["vector_db"] == "qdrant"
    assert "vectordb" not in data
    assert data["_commit"] == "v0.1.0"
    policy = (app / "ciliumnetworkpolicy.yaml").read_text(encoding="utf-8")
    assert "The shared Qdrant" in policy
    assert "qdrant" in (app / "config.env").read_text(encoding="utf-8").lower()


NEEDS_TRUST = "the template's migrations need trust: pass --trust, or configure the template in .aiapp.yml"


def test_untrusted_template_is_refused_then_trust_flag_migrates(
    old_app: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, repo = old_app
    code, out, err = update(repo, monkeypatch, "--dry-run")
    assert code == 1
    assert out.splitlines() == [f"apps/rag-api: would fail ({NEEDS_TRUST})"]
    assert "hint: the template runs migrations: pass --trust" in err
    code, out, _ = update(repo, monkeypatch, "--dry-run", "--trust")
    assert (code, out.splitlines()) == (0, ["apps/rag-api: would update from v0.0.1 to v0.1.0"])

    code, out, err = update(repo, monkeypatch)
    assert code == 1
    assert out.splitlines() == [f"apps/rag-api: failed ({NEEDS_TRUST})"]
    assert "hint: the template runs migrations: pass --trust" in err
    assert status(repo) == ""  # nothing half-done

    code, out, _ = update(repo, monkeypatch, "--trust")
    assert code == 0
    assert out.splitlines() == ["apps/rag-api: updated from v0.0.1 to v0.1.0"]
    assert_migrated(repo / "apps/rag-api")


def test_the_configured_template_is_trusted(
    old_app: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl, repo = old_app
    (repo / ".aiapp.yml").write_text(f"template: {tpl}\n", encoding="utf-8")
    commit(repo, "configure the template")
    code, out, _ = update(repo, monkeypatch, "--dry-run")
    assert (code, out.splitlines()) == (0, ["apps/rag-api: would update from v0.0.1 to v0.1.0"])
    code, out, _ = update(repo, monkeypatch)
    assert code == 0, out
    assert out.splitlines() == ["apps/rag-api: updated from v0.0.1 to v0.1.0"]
    assert_migrated(repo / "apps/rag-api")


def test_plain_copier_runs_the_migration(old_app: tuple[Path, Path]) -> None:
    _, repo = old_app
    result = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--defaults", "--trust", "apps/rag-api"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert_migrated(repo / "apps/rag-api")
    assert "vectordb" not in git(repo, "diff", "--", "apps/rag-api/ciliumnetworkpolicy.yaml")


ANSWERS = """\
# Written by aiapp / Copier
_commit: v0.0.1
app_name: rag-api
llm_providers:
- openai
vectordb: qdrant
zone: a
"""


def run_script(tmp_path: Path, text: str, old: str = "vectordb", new: str = "vector_db") -> str:
    """The migration script as Copier runs it, but with a bare interpreter: no site-packages, no aiapp."""
    answers = tmp_path / ".copier-answers.yml"
    answers.write_text(text, encoding="utf-8")
    subprocess.run([sys.executable, "-I", "-S", str(SCRIPT), str(answers), old, new], check=True)
    return answers.read_text(encoding="utf-8")


def test_script_renames_the_key_with_the_standard_library_only(tmp_path: Path) -> None:
    assert run_script(tmp_path, ANSWERS) == ANSWERS.replace("vectordb:", "vector_db:")


def test_script_leaves_files_without_the_old_key_alone(tmp_path: Path) -> None:
    text = ANSWERS.replace("vectordb: qdrant\n", "vector_db: none\n")
    assert run_script(tmp_path, text) == text


def test_script_drops_a_stale_old_answer_when_the_new_one_exists(tmp_path: Path) -> None:
    text = ANSWERS.replace("vectordb: qdrant\n", "vector_db: none\nvectordb:\n- a\n- b\n")
    assert run_script(tmp_path, text) == ANSWERS.replace("vectordb: qdrant\n", "vector_db: none\n")


def test_script_renames_a_list_answer_with_its_items(tmp_path: Path) -> None:
    assert run_script(tmp_path, ANSWERS, "llm_providers", "providers_via_litellm") == ANSWERS.replace(
        "llm_providers:", "providers_via_litellm:"
    )


def test_a_settings_file_inside_an_app_does_not_make_its_template_trusted(
    old_app: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the repository root's .aiapp.yml is trusted: anyone who can write an app directory could
    otherwise make any template's migrations run."""
    tpl, repo = old_app
    (repo / "apps/rag-api/.aiapp.yml").write_text(f"template: {tpl}\n", encoding="utf-8")
    commit(repo, "a settings file inside the app")
    code, out, _ = update(repo, monkeypatch, "--dry-run")
    assert (code, out.splitlines()) == (1, [f"apps/rag-api: would fail ({NEEDS_TRUST})"])
    code, out, _ = update(repo, monkeypatch)
    assert (code, out.splitlines()) == (1, [f"apps/rag-api: failed ({NEEDS_TRUST})"])
    assert status(repo) == ""
