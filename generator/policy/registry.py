"""The rule registry: every rule is defined once, with its id, documentation and check.

The checker, `docs/rules.md`, the SARIF rule table and the tests all read this registry. Ids are never
reused; a retired rule would stay registered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, wraps
from typing import TypeVar

from generator.cluster.facts import Cluster, cluster
from generator.policy.k8s import Pod, pods_of
from generator.policy.model import Applies, Hit, K8sObject, Severity, Summary

ObjectCheck = Callable[[K8sObject, Cluster], Iterator[Hit]]
SetCheck = Callable[[Sequence[Summary], Cluster], Iterator[tuple[Summary, Hit]]]
F = TypeVar("F", ObjectCheck, SetCheck)

ID_PATTERN = re.compile(r"^AIA\d{3}$")
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

# Families in documentation order, with the id prefix each one owns.
FAMILIES: dict[str, tuple[str, str]] = {
    "input": ("AIA0", "Input, suppressions and schemas"),
    "gpu": ("AIA1", "GPU"),
    "storage": ("AIA2", "Model storage and backups"),
    "providers": ("AIA3", "LLM providers and LiteLLM"),
    "qdrant": ("AIA4", "Qdrant"),
    "secrets": ("AIA5", "Secrets"),
    "network": ("AIA6", "Network policy"),
    "hardening": ("AIA7", "Hardening baseline"),
    "serving": ("AIA8", "Model serving"),
    "apps": ("AIA9", "Routes, metrics, disruption budgets and replicas"),
}


@dataclass(frozen=True)
class Rule:
    """One rule: what it enforces, where the house rules say so, how to fix a finding, and its check."""

    id: str
    slug: str
    title: str
    severity: Severity
    family: str
    # The section of ai-apps-AGENTS.md the rule enforces and the text it quotes (None: a checker rule).
    section: str | None
    quote: str | None
    why: str
    # Fix hint; `{name}` placeholders are cluster constants from copier.yml.
    fix: str
    kinds: frozenset[str] = frozenset()
    check: ObjectCheck | None = None
    set_check: SetCheck | None = None
    suppressible: bool = True
    # Which objects the rule governs: the scope of `check:` in `.aiapp.yml`, and the shared services'
    # roles (see APPLIES_TEXT).
    applies: Applies = Applies.APPS

    @cached_property
    def fix_hint(self) -> str:
        return self.fix.format(**cluster().values())

    def fix_for(self, facts: Cluster) -> str:
        """The fix hint with the values of the profile a finding was checked against (its lists too)."""
        return _fix_text(self.fix, facts)

    def title_for(self, facts: Cluster) -> str:
        """The title with the values of a profile (a rule table in a report of that cluster)."""
        return _fix_text(self.title, facts)

    def why_for(self, facts: Cluster) -> str:
        return _fix_text(self.why, facts)

    @cached_property
    def title_text(self) -> str:
        return self.title.format(**cluster().values())

    @cached_property
    def why_text(self) -> str:
        return self.why.format(**cluster().values())


@cache
def _fix_text(template: str, facts: Cluster) -> str:
    return template.format(**facts.values())


APPLIES_TEXT: dict[Applies, str] = {
    Applies.FILES: "every file read under the paths of the scope (the input itself)",
    Applies.SCOPE: "objects in the scope of `check:`, the shared services included",
    Applies.APPS: "apps in the scope of `check:`, not the shared services themselves (Qdrant, LiteLLM)",
}

_RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    """Add a rule; ids and slugs are unique and well-formed, and the id matches the family."""
    if not ID_PATTERN.match(rule.id) or not SLUG_PATTERN.match(rule.slug):
        raise ValueError(f"malformed rule id or slug: {rule.id} {rule.slug}")
    if rule.id in _RULES or any(other.slug == rule.slug for other in _RULES.values()):
        raise ValueError(f"rule {rule.id} ({rule.slug}) registered twice")
    if rule.family not in FAMILIES or not rule.id.startswith(FAMILIES[rule.family][0]):
        raise ValueError(f"rule {rule.id} does not belong to family {rule.family}")
    _RULES[rule.id] = rule
    return rule


def define(**meta: object) -> Rule:
    """A rule the engine reports itself (input problems, suppressions, schemas): no per-object check."""
    meta.setdefault("applies", Applies.FILES)
    return register(Rule(**meta))  # type: ignore[arg-type]


def object_rule(*, kinds: Sequence[str], **meta: object) -> Callable[[ObjectCheck], ObjectCheck]:
    """Register a check that looks at one object of the given kinds at a time."""

    def decorate(check: ObjectCheck) -> ObjectCheck:
        register(Rule(kinds=frozenset(kinds), check=check, **meta))  # type: ignore[arg-type]
        return check

    return decorate


PodCheck = Callable[[K8sObject, Pod, Cluster], Iterator[Hit]]


def each_pod(check: PodCheck) -> ObjectCheck:
    """A check of one pod template, run on every pod template of the object (k8s.pods_of: the leader
    and the worker templates of a LeaderWorkerSet), so a finding points into the template it is about."""

    @wraps(check)
    def run(obj: K8sObject, facts: Cluster) -> Iterator[Hit]:
        for pod in pods_of(obj):
            yield from check(obj, pod, facts)

    return run


def set_rule(**meta: object) -> Callable[[SetCheck], SetCheck]:
    """Register a check that needs every object of the run at once (summaries, see facts.py)."""

    def decorate(check: SetCheck) -> SetCheck:
        register(Rule(set_check=check, **meta))  # type: ignore[arg-type]
        return check

    return decorate


@cache
def rules() -> tuple[Rule, ...]:
    """Every registered rule, by id."""
    import generator.policy.rules  # noqa: F401  (registers the rules)

    return tuple(sorted(_RULES.values(), key=lambda rule: rule.id))


def get(id_or_slug: str) -> Rule | None:
    """A rule by id (any case) or slug."""
    rules()
    key = id_or_slug.strip()
    found = _RULES.get(key.upper())
    if found:
        return found
    return next((rule for rule in _RULES.values() if rule.slug == key.lower()), None)


def rule(rule_id: str) -> Rule:
    """A rule that must exist (for the engine's own findings)."""
    found = get(rule_id)
    if found is None:
        raise KeyError(rule_id)
    return found


@cache
def rules_by_kind() -> dict[str, tuple[Rule, ...]]:
    """Object rules grouped by the kinds they look at: dispatch is one dict lookup per object."""
    table: dict[str, list[Rule]] = {}
    for item in rules():
        if item.check is not None:
            for kind in item.kinds:
                table.setdefault(kind, []).append(item)
    return {kind: tuple(items) for kind, items in table.items()}
