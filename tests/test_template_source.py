"""`resolve_template_source`: what a new app records as `_src_path`, in what order, and what is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from generator.errors import TemplateSourceError
from generator.template import source as ts
from tests.upgrade.scaffold import ROOT, init_repo


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ts.ENV_TEMPLATE, raising=False)
    monkeypatch.delenv(ts.ENV_ALLOW_TEMP, raising=False)


@pytest.fixture
def allow_temp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ts.ENV_ALLOW_TEMP, "1")


def test_explicit_then_env_then_setting_then_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, allow_temp: None
) -> None:
    explicit, env, setting = (init_repo(tmp_path / name) for name in ("explicit", "env", "setting"))
    gitops = tmp_path / "gitops"
    (gitops / "apps").mkdir(parents=True)
    (gitops / ".aiapp.yml").write_text("template: ../setting\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ts.ENV_TEMPLATE, "env")
    assert ts.resolve_template_source("explicit", dest=gitops / "apps/new") == str(explicit)
    assert ts.resolve_template_source(None, dest=gitops / "apps/new") == str(env)
    monkeypatch.delenv(ts.ENV_TEMPLATE)
    # The setting is found from a destination that does not exist yet; its relative path starts at the file.
    assert ts.resolve_template_source(None, dest=gitops / "apps/new/deeper") == str(setting)
    monkeypatch.chdir(gitops / "apps")
    assert ts.resolve_template_source() == str(setting)
    monkeypatch.chdir(tmp_path)
    assert ts.resolve_template_source() == str(ROOT)  # this checkout is a git repository


def test_urls_are_recorded_as_given(tmp_path: Path) -> None:
    for url in (
        "https://git.example.com/platform/aiapp.git",
        "git@git.example.com:platform/aiapp.git",
        "gh:acme/aiapp",
    ):
        assert ts.resolve_template_source(url, dest=tmp_path) == url


def test_a_relative_path_becomes_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, allow_temp: None
) -> None:
    repo = init_repo(tmp_path / "templates" / "aiapp")
    monkeypatch.chdir(tmp_path / "templates")
    recorded = ts.resolve_template_source("./aiapp/")
    assert recorded == str(repo) and Path(recorded).is_absolute()


def test_temporary_directories_are_refused(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "aiapp")
    with pytest.raises(TemplateSourceError, match="inside the temporary directory") as caught:
        ts.resolve_template_source(str(repo))
    assert caught.value.hint is not None and "AIAPP_ALLOW_TEMP_TEMPLATE=1" in caught.value.hint
    with pytest.raises(TemplateSourceError, match="inside the temporary directory"):
        ts.resolve_template_source(f"file://{repo}")


def test_site_packages_is_refused(tmp_path: Path, allow_temp: None) -> None:
    inside = init_repo(tmp_path / "lib" / "python3.11" / "site-packages" / "generator" / "_template")
    with pytest.raises(TemplateSourceError, match="inside an installed Python package"):
        ts.resolve_template_source(str(inside))


def test_missing_and_non_git_paths_are_refused(tmp_path: Path, allow_temp: None) -> None:
    with pytest.raises(TemplateSourceError, match="does not exist"):
        ts.resolve_template_source(str(tmp_path / "nowhere"))
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(TemplateSourceError, match="not the root of a git repository"):
        ts.resolve_template_source(str(plain))
    with pytest.raises(TemplateSourceError, match="not the root of a git repository"):
        ts.resolve_template_source(str(ROOT / "template"))


def test_installed_package_without_a_source_says_how_to_set_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wheel's bundled copy is not a git repository: no fallback, one clear error."""
    bundled = tmp_path / "venv/lib/python3.11/site-packages/generator/_template"
    bundled.mkdir(parents=True)
    monkeypatch.setattr(ts, "bundled_template_dir", lambda: bundled)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TemplateSourceError) as caught:
        ts.resolve_template_source()
    text = str(caught.value)
    assert "installed package" in text
    for way in ("--template", "$AIAPP_TEMPLATE", ".aiapp.yml"):
        assert way in text


def test_installed_package_error_from_the_cli(tmp_path: Path) -> None:
    """Whole process, as a user runs it: no checkout, no setting -> exit 2, one error line, no traceback."""
    script = (
        "import pathlib, typer\n"
        "from generator.template import source as ts\n"
        "from generator.cli._common import friendly\n"
        f"ts.bundled_template_dir = lambda: pathlib.Path({str(tmp_path)!r})\n"
        "app = typer.Typer()\n"
        "@app.command()\n"
        "@friendly\n"
        "def new() -> None:\n"
        "    ts.resolve_template_source()\n"
        "app()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: No template source")
    assert "hint: pass --template URL" in result.stderr


def test_bad_settings_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".aiapp.yml").write_text("template: [1, 2\n", encoding="utf-8")
    with pytest.raises(TemplateSourceError, match=r"\.aiapp\.yml is not YAML"):
        ts.resolve_template_source(None, dest=tmp_path)
    (tmp_path / ".aiapp.yml").write_text("template: 3\n", encoding="utf-8")
    with pytest.raises(TemplateSourceError, match="must be a git URL or repository path"):
        ts.resolve_template_source(None, dest=tmp_path)


def test_unknown_settings_keys_are_warned_about_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], allow_temp: None
) -> None:
    """A misspelt `template:` is not silently ignored: one warning line names the file, the key and the
    known key; the file still counts as having no setting, so the search goes on."""
    parent = init_repo(tmp_path / "parent-template")
    (tmp_path / ".aiapp.yml").write_text("template: parent-template\n", encoding="utf-8")
    gitops = tmp_path / "gitops"
    gitops.mkdir()
    settings = gitops / ".aiapp.yml"
    settings.write_text("templ: https://git.example.com/aiapp.git\n", encoding="utf-8")
    monkeypatch.setattr(ts, "_warned", set(), raising=False)

    assert ts.resolve_template_source(None, dest=gitops) == str(parent)
    ts.configured_sources(gitops)
    warned = capsys.readouterr().err.splitlines()
    assert warned == [
        f"warning: {settings}: unknown key 'templ' ignored "
        "(the known keys are 'template', 'cluster', 'check')"
    ]

    settings.write_text("template: https://git.example.com/aiapp.git\nrefs: main\n", encoding="utf-8")
    monkeypatch.setattr(ts, "_warned", set(), raising=False)
    assert ts.resolve_template_source(None, dest=gitops) == "https://git.example.com/aiapp.git"
    assert "unknown key 'refs' ignored" in capsys.readouterr().err

    # `check:` is aiapp check's section: known, so no warning.
    settings.write_text("template: https://git.example.com/aiapp.git\ncheck: {}\n", encoding="utf-8")
    monkeypatch.setattr(ts, "_warned", set(), raising=False)
    assert ts.resolve_template_source(None, dest=gitops) == "https://git.example.com/aiapp.git"
    assert capsys.readouterr().err == ""


def test_configured_sources_are_what_update_trusts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".aiapp.yml").write_text("template: https://git.example.com/aiapp.git/\n", encoding="utf-8")
    monkeypatch.setenv(ts.ENV_TEMPLATE, str(tmp_path / "env-template"))
    assert ts.configured_sources(tmp_path / "apps" / "x") == {
        "https://git.example.com/aiapp.git",
        str(tmp_path / "env-template"),
        str(ROOT),
    }
