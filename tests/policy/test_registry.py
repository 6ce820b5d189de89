"""The registry is complete and honest: ids, docs, quotes of the patterns document, cluster constants."""

from __future__ import annotations

import re

import pytest

from generator.cluster.facts import cluster
from generator.policy.registry import FAMILIES, Rule, get, rules, rules_by_kind
from generator.template.questions import resolve
from tests.conftest import ROOT, in_ci

PATTERNS = ROOT.parent / "shared" / "patterns" / "ai-apps-AGENTS.md"


def test_ids_and_slugs_are_unique_and_match_their_family() -> None:
    items = rules()
    assert len({rule.id for rule in items}) == len(items)
    assert len({rule.slug for rule in items}) == len(items)
    for rule in items:
        assert re.fullmatch(r"AIA\d{3}", rule.id)
        assert rule.id.startswith(FAMILIES[rule.family][0])


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule.id)
def test_rule_metadata_is_complete(rule: Rule) -> None:
    assert rule.title_text and rule.why_text and rule.fix_hint
    names = "|".join(cluster().values())
    placeholders = re.compile(rf"\{{({names})\}}")
    assert not placeholders.search(rule.fix_hint + rule.why_text), "a cluster constant was not filled in"
    assert (rule.section is None) == (rule.quote is None)
    assert (rule.check is not None) + (rule.set_check is not None) <= 1
    if rule.check is not None:
        assert rule.kinds, "an object rule says which kinds it looks at"


def test_every_quote_is_text_of_the_patterns_document() -> None:
    if not PATTERNS.is_file():
        if in_ci():
            pytest.fail(f"{PATTERNS} is missing")
        pytest.skip(f"{PATTERNS} is not next to the checkout")
    text = PATTERNS.read_text(encoding="utf-8")
    quoted = [rule for rule in rules() if rule.quote]
    assert len(quoted) >= 20, "policy rules name the house rule they enforce"
    for rule in quoted:
        assert rule.quote in text, f"{rule.id} quotes text that is not in ai-apps-AGENTS.md: {rule.quote!r}"
        heading = rule.section.split(">")[0].split(";")[0].strip()  # type: ignore[union-attr]
        assert heading in text, f"{rule.id} names a section that does not exist: {heading!r}"


def test_every_policy_family_has_rules_and_object_rules_are_dispatched_by_kind() -> None:
    families = {rule.family for rule in rules()}
    assert families == set(FAMILIES)
    table = rules_by_kind()
    assert {rule.id for rule in table["Deployment"]} >= {"AIA101", "AIA204", "AIA301", "AIA701", "AIA707"}
    assert [rule.id for rule in table["Secret"]] == ["AIA501"]


def test_constants_come_from_copier_yml() -> None:
    answers = resolve({})
    facts = cluster()
    assert facts.storage_class == answers["storage_class"] == "proxmox-csi"
    assert facts.secret_store == answers["secret_store"]
    assert facts.gpu_resource == answers["gpu_resource"]
    assert dict(facts.providers)["openai"] == answers["providers"]["openai"]["host"]
    assert facts.backup_tiers == ("GFS", "Daily")
    assert get("AIA201").fix_hint.endswith(f"`spec.storageClassName: {answers['storage_class']}`.")  # type: ignore[union-attr]


def test_rules_are_found_by_id_or_slug() -> None:
    assert get("aia301") is get("direct-provider-host") is get("AIA301")
    assert get("AIA999") is None
