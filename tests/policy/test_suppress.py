"""Suppression annotations: rule ids or slugs with a reason; several entries; problems are findings."""

from __future__ import annotations

import pytest

from generator.policy.suppress import Suppressions, suppressions


def parse(value: object) -> Suppressions:
    return suppressions({"metadata": {"annotations": {"aiapp/ignore": value}}})


def problems(result: Suppressions) -> list[tuple[str, str]]:
    return [(rule_id, hit.message) for rule_id, hit in result.problems]


def test_one_rule_with_a_reason() -> None:
    result = parse("AIA401: the shared Qdrant cluster itself")
    assert result.rules == {"AIA401"} and not result.problems


@pytest.mark.parametrize(
    "value",
    [
        "AIA401, AIA604: the shared Qdrant; reached from every namespace",
        "AIA401: the shared Qdrant; AIA604: reached from every namespace",
        "AIA401: the shared Qdrant\nAIA604: reached from every namespace\n",
        "own-qdrant: the shared Qdrant\ningress-not-from-gateway: reached from every namespace",
    ],
)
def test_several_entries_and_slugs(value: str) -> None:
    result = parse(value)
    assert result.rules == {"AIA401", "AIA604"} and not result.problems


def test_a_semicolon_inside_a_reason_is_kept() -> None:
    assert parse("AIA401: the shared one; see the platform repo").rules == {"AIA401"}


@pytest.mark.parametrize("value", ["AIA401", "AIA401:", "AIA401:   ", "AIA401, AIA604"])
def test_without_a_reason_is_not_honoured_and_is_reported(value: str) -> None:
    result = parse(value)
    assert result.rules == frozenset()
    assert [rule_id for rule_id, _ in problems(result)] == ["AIA006"]
    assert "without a reason" in problems(result)[0][1]


@pytest.mark.parametrize("value", ["because the template says so", 42, "", ["AIA401: list"]])
def test_malformed_values_are_reported(value: object) -> None:
    assert [rule_id for rule_id, _ in problems(parse(value))] == ["AIA006"]


def test_unknown_and_unsuppressible_rules_are_warned_about_and_the_rest_still_applies() -> None:
    result = parse("AIA999, AIA001, AIA707: pinned by digest upstream")
    assert result.rules == {"AIA707"}
    assert problems(result) == [
        ("AIA007", 'aiapp/ignore names unknown rule "AIA999"'),
        ("AIA007", "aiapp/ignore names AIA001, which cannot be suppressed"),
    ]


def test_no_annotation_no_suppression() -> None:
    assert suppressions({"metadata": {"name": "x"}}) == Suppressions(frozenset(), ())
    assert suppressions({"metadata": None}).rules == frozenset()
