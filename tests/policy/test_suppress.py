"""Suppression annotations: rule ids or slugs with a reason; several entries; problems are findings."""

from __future__ import annotations

import pytest

from generator.policy.suppress import Suppressions, checkov_skip_problems, suppressions


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


def checkov(annotations: dict[str, object]) -> list[tuple[str, str]]:
    found = checkov_skip_problems({"metadata": {"annotations": annotations}})
    return [(rule_id, hit.message) for rule_id, hit in found]


def test_checkov_skips_with_a_reason_pass_and_other_annotations_are_not_skips() -> None:
    assert (
        checkov(
            {
                "checkov.io/skip1": "CKV_K8S_43=pinned by a release tag",
                "bridgecrew.io/skip2": "CKV2_K8S_6=Cilium enforces the CiliumNetworkPolicy",
                "aiapp/description": "CKV_K8S_43",
            }
        )
        == []
    )


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("CKV_K8S_43", "skips CKV_K8S_43 without a reason"),
        ("CKV_K8S_43=", "skips CKV_K8S_43 without a reason"),
        ("CKV_K8S_43=   ", "skips CKV_K8S_43 without a reason"),
        ("=a reason", "names no check"),
        ("CKV_K8S_43=a=b", "more than one '='"),
        (43, "must be text"),
    ],
)
def test_checkov_skips_without_a_reason_are_reported(value: object, says: str) -> None:
    # checkov itself skips the check in the first cases ("No comment provided") and fails on "a=b"
    # (checkov/kubernetes/kubernetes_utils.py, get_skipped_checks).
    found = checkov({"checkov.io/skip3": value})
    assert [rule_id for rule_id, _ in found] == ["AIA009"]
    assert found[0][1].startswith("checkov.io/skip3") and says in found[0][1]
