"""Every rule fires on its own bad example, at the marked lines and nothing else; good examples pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.policy.registry import rules
from tests.policy.corpus import BAD, GOOD, check, expected, fixture_rule, found


@pytest.mark.parametrize("path", BAD, ids=lambda path: path.name)
def test_bad_fixture_yields_exactly_its_rule_at_the_marked_lines(path: Path) -> None:
    report = check(path)
    assert found(report) == expected(path)
    assert {finding.rule_id for finding in report.findings} == {fixture_rule(path)}


@pytest.mark.parametrize("path", GOOD, ids=lambda path: path.name)
def test_good_fixture_has_no_findings(path: Path) -> None:
    report = check(path)
    assert report.findings == [], "\n".join(
        f"{f.rule_id} {f.file}:{f.line} {f.message}" for f in report.findings
    )
    assert report.objects > 0 or path.name == "values.yaml"


def test_every_registered_rule_has_a_bad_fixture_and_no_fixture_names_an_unknown_rule() -> None:
    registered = {rule.id for rule in rules()}
    covered = {fixture_rule(path) for path in BAD}
    assert covered == registered


def test_markers_name_only_the_fixture_rule() -> None:
    for path in BAD:
        assert {rule_id for rule_id, _, _ in expected(path)} == {fixture_rule(path)}, path.name


def test_findings_carry_the_object_and_the_registry_fix() -> None:
    by_id = {rule.id: rule for rule in rules()}
    report = check(next(path for path in BAD if path.name.startswith("AIA101")))
    finding = report.findings[0]
    assert finding.object == "Deployment/ai/demo"
    assert finding.fix == by_id["AIA101"].fix_hint
    assert "nvidia.com/gpu" in finding.message and '"gpu"' in finding.message
