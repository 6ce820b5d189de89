"""The direct-provider exception is the AGENTS.md record that `aiapp new` writes: hosts with a reason."""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.policy.exceptions import documented_exceptions, parse_agents
from tests.policy.corpus import FIXTURES, check

GOOD = FIXTURES / "good" / "direct-provider"


def test_the_rendered_section_lists_hosts_with_a_reason() -> None:
    found = parse_agents((GOOD / "AGENTS.md").read_text())
    assert found.hosts == {"api.anthropic.com"}
    assert found.without_reason == frozenset()


def test_hosts_outside_the_exceptions_section_do_not_count() -> None:
    text = "# app\n## Facts\n- **Direct provider access** to `api.openai.com`\n  Reason: not here\n"
    assert parse_agents(text).hosts == frozenset()


def test_exception_applies_to_its_directory_and_below(tmp_path: Path) -> None:
    app = tmp_path / "apps" / "claude"
    shutil.copytree(GOOD, app)
    (tmp_path / ".git").mkdir()
    (app / "sub").mkdir()
    documented_exceptions.cache_clear()
    assert documented_exceptions(str(app / "sub")).hosts == {"api.anthropic.com"}
    assert documented_exceptions(str(tmp_path / "apps")).hosts == frozenset()


def _copy(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    shutil.copytree(GOOD, app)
    documented_exceptions.cache_clear()
    return app


def test_without_the_reason_line_the_exception_is_not_honoured(tmp_path: Path) -> None:
    app = _copy(tmp_path)
    agents = app / "AGENTS.md"
    agents.write_text("\n".join(line for line in agents.read_text().splitlines() if "Reason:" not in line))
    report = check(app, schemas=False)
    assert {(f.rule_id, Path(f.file).name, f.line) for f in report.findings} == {
        ("AIA301", "manifests.yaml", 8),
        ("AIA301", "manifests.yaml", 33),
    }
    assert all("lists it as an exception but gives no Reason: line" in f.message for f in report.findings)


def test_a_host_that_is_not_listed_is_still_reported(tmp_path: Path) -> None:
    app = _copy(tmp_path)
    manifests = app / "manifests.yaml"
    manifests.write_text(
        manifests.read_text().replace("matchName: api.anthropic.com", "matchName: api.openai.com")
    )
    report = check(app, schemas=False)
    assert [(f.rule_id, f.line) for f in report.findings] == [("AIA301", 33)]
    assert "api.openai.com" in report.findings[0].message


def test_without_agents_md_the_same_manifests_fail(tmp_path: Path) -> None:
    app = _copy(tmp_path)
    (app / "AGENTS.md").unlink()
    assert {f.rule_id for f in check(app, schemas=False).findings} == {"AIA301"}
