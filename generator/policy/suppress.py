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

Teams also run checkov on the same manifests; its skips (`checkov.io/skip1: "CKV_K8S_43=reason"`) are held
to the same standard: one without a reason is reported (AIA009), see `checkov_skip_problems`.
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


# checkov honours every annotation whose key contains one of these (checkov/kubernetes/kubernetes_utils.py,
# SKIP_ANNOTATION_PREFIXES), read from the object's own metadata.annotations only.
CHECKOV_SKIP_PREFIXES = ("checkov.io/skip", "bridgecrew.io/skip", "cortex.io/skip")


def checkov_skip_problems(data: dict[str, Any]) -> tuple[tuple[str, Hit], ...]:
    """AIA009 for each checkov skip annotation that gives no reason.

    checkov splits the value at '=': `CHECK_ID=reason`. Without '=' it still skips the check (its reason is
    then "No comment provided"), so an unexplained skip silences a finding; a second '=' makes checkov
    fail on the file. Either way a reviewer cannot tell a deliberate exception from a silenced defect.
    """
    annotations = mapping(mapping(data.get("metadata")).get("annotations"))
    problems: list[tuple[str, Hit]] = []
    for key, value in annotations.items():
        if not isinstance(key, str) or not any(prefix in key for prefix in CHECKOV_SKIP_PREFIXES):
            continue
        path: YamlPath = ("metadata", "annotations", key)
        if not isinstance(value, str):
            message = f'{key} must be text like "CKV_K8S_43=reason", not {value!r}'
        elif value.count("=") > 1:
            message = f"{key} has more than one '=': checkov splits the value at '=' and fails on it"
        else:
            check, _, reason = (part.strip() for part in value.partition("="))
            if check and reason:
                continue
            message = (
                f'{key} skips {check or "a check"} without a reason: write "{check or "CHECK_ID"}=why"'
                if check
                else f'{key} names no check: write "CHECK_ID=why"'
            )
        problems.append(("AIA009", Hit(path, message)))
    return tuple(problems)
