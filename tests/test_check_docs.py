"""Generated and hand-written documentation of `aiapp check` stays true to the code."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from generator.cli import app as cli
from generator.policy import docs
from generator.policy.registry import rules
from tests.conftest import ROOT


def test_rules_md_is_generated_from_the_registry() -> None:
    committed = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == docs.markdown(), f"docs/rules.md is stale: run `{docs.COMMAND}`"


def test_list_rules_markdown_prints_the_same_document() -> None:
    result = CliRunner().invoke(cli, ["check", "--list-rules", "--format", "markdown"])
    assert result.exit_code == 0
    assert result.stdout == docs.markdown()


def test_rules_md_documents_every_rule() -> None:
    text = docs.markdown()
    for rule in rules():
        assert f"### {rule.id} `{rule.slug}`" in text
        assert rule.fix_hint in text


def test_pre_commit_hook() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "aiapp-check"
    assert hook["entry"] == "aiapp check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False, "cross-file rules need whole directories"


def test_ci_guide_uses_real_options_and_the_hook_id() -> None:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    assert "github/codeql-action/upload-sarif" in text
    assert "security-events: write" in text
    assert "id: aiapp-check" in text
    help_text = CliRunner().invoke(cli, ["check", "--help"], env={"COLUMNS": "200"}).stdout
    for option in ("--format", "--schemas", "--schema-location", "--no-build", "--strict"):
        assert option in text and option in help_text
