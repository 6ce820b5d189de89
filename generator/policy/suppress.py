"""Suppressions: an annotation on the object that names rules and says why.

    metadata:
      annotations:
        aiapp/ignore: "AIA401: the shared Qdrant cluster itself"
        # several entries: one per line, or separated by ';'; several rules share a reason with ','
        aiapp/ignore: |
          AIA604: LiteLLM is called by every app namespace
          AIA301, AIA302: the proxy itself talks to the providers

Rules are named by id (AIA301) or slug (direct-provider-host). An entry without a reason that says
something (at least two words: not ".", "ok" or "todo") is not honoured and is itself a finding (AIA006);
an unknown or unsuppressible rule is a warning (AIA007).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from generator.policy.k8s import mapping
from generator.policy.model import Hit, YamlPath
from generator.policy.registry import get

ANNOTATION = "aiapp/ignore"
PATH: YamlPath = ("metadata", "annotations", ANNOTATION)
_NAME = r"[A-Za-z][A-Za-z0-9-]*"
_ENTRY = re.compile(rf"^\s*(?P<rules>{_NAME}(?:\s*,\s*{_NAME})*)\s*(?::\s*(?P<reason>.*?))?\s*$", re.DOTALL)
# ';' starts a new entry only when a rule list and ':' follow (reasons may contain ';').
_SPLIT = re.compile(rf"\n|;(?=\s*{_NAME}(?:\s*,\s*{_NAME})*\s*:)")
_WORD = re.compile(r"[^\W\d_]{2,}")


def meaningful(reason: str) -> bool:
    """A reason says something: at least two words of letters (not ".", "ok", "todo" or "AIA401")."""
    return len(_WORD.findall(reason)) >= 2


@dataclass(frozen=True, slots=True)
class Suppressions:
    """The rule ids an object validly suppresses, and the problems of its annotation (rule id, hit)."""

    rules: frozenset[str]
    problems: tuple[tuple[str, Hit], ...]
    # (rule id, reason) of each honoured entry, for --show-suppressed.
    reasons: tuple[tuple[str, str], ...] = ()

    def reason(self, rule_id: str) -> str:
        return next((reason for rule, reason in self.reasons if rule == rule_id), "")


NONE = Suppressions(frozenset(), ())


def suppressions(data: dict[str, Any]) -> Suppressions:
    """The suppressions written on an object (metadata.annotations[aiapp/ignore])."""
    value = mapping(mapping(data.get("metadata")).get("annotations")).get(ANNOTATION)
    if value is None:
        return NONE
    if not isinstance(value, str) or not value.strip():
        return Suppressions(
            frozenset(),
            (("AIA006", Hit(PATH, f'{ANNOTATION} must be text like "AIA301: reason", not {value!r}')),),
        )
    rules: set[str] = set()
    reasons: list[tuple[str, str]] = []
    problems: list[tuple[str, Hit]] = []
    for entry in _SPLIT.split(value):
        if not entry.strip():
            continue
        match = _ENTRY.match(entry)
        if match is None:
            problems.append(
                ("AIA006", Hit(PATH, f'{ANNOTATION} entry "{entry.strip()}" is not "RULE[, RULE]: reason"'))
            )
            continue
        names = [name.strip() for name in match.group("rules").split(",")]
        reason = (match.group("reason") or "").strip()
        if not meaningful(reason):
            said = f' with the reason "{reason}", which says nothing' if reason else " without a reason"
            problems.append(
                (
                    "AIA006",
                    Hit(PATH, f"{ANNOTATION} suppresses {', '.join(names)}{said}: not honoured"),
                )
            )
            continue
        for name in names:
            rule = get(name)
            if rule is None:
                problems.append(("AIA007", Hit(PATH, f'{ANNOTATION} names unknown rule "{name}"')))
            elif not rule.suppressible:
                problems.append(
                    ("AIA007", Hit(PATH, f"{ANNOTATION} names {rule.id}, which cannot be suppressed"))
                )
            else:
                rules.add(rule.id)
                reasons.append((rule.id, reason))
    return Suppressions(frozenset(rules), tuple(problems), tuple(reasons))
