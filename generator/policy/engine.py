"""The checker: load every input, run the rules of each object's kind, apply suppressions, report.

Inputs are checked in worker processes when there are many of them (YAML parsing dominates); the rules
that look across objects run afterwards on small summaries.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import repeat
from typing import Any

from generator.cluster.capacity import Demand
from generator.cluster.facts import Cluster, cluster_at, cluster_for
from generator.policy.config import Config
from generator.policy.facts import summarize
from generator.policy.loader import Unit, discover, load
from generator.policy.model import (
    Applies,
    Finding,
    Hit,
    K8sObject,
    Severity,
    Summary,
    UnitResult,
    YamlPath,
    dotted,
)
from generator.policy.provenance import place
from generator.policy.registry import Rule, rule, rules, rules_by_kind
from generator.policy.roles import shared_service
from generator.policy.suppress import checkov_skip_problems, suppressions
from generator.policy.vllm_cli import CONFIG_MAPS
from generator.policy.yamlio import locate

PARALLEL_MIN_UNITS = 200
# A kustomize build (a subprocess) costs as much as reading this many files.
BUILD_WEIGHT = 25
# jsonschema names an unknown field only in the message: point at its line.
_UNEXPECTED = re.compile(r"\('([^']+)' (?:was|were) unexpected\)")


@dataclass(frozen=True)
class Options:
    """How to check: schema validation, kustomize builds, parallelism, the repository's configuration,
    and the cluster facts (None: the profile of each file's GitOps repository, docs/cluster.md)."""

    schemas: bool = False
    k8s_version: str = "1.32"
    schema_location: str | None = None
    build: bool = True
    jobs: int = 0
    config: Config = field(default_factory=Config)
    cluster: Cluster | None = None


@dataclass(frozen=True)
class Stale:
    """A baseline entry that no finding of the run matches any more (fixed, or the object is gone)."""

    rule_id: str
    object: str
    field: str
    file: str
    message: str


@dataclass
class Report:
    """Everything a reporter prints."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0
    objects: int = 0
    # Findings not reported: suppressed on their object (with the annotation's reason), and those a
    # baseline already records; baseline entries that no longer occur.
    suppressed: list[tuple[Finding, str]] = field(default_factory=list)
    baselined: list[Finding] = field(default_factory=list)
    stale: list[Stale] = field(default_factory=list)
    # The facts the run was checked against (the first path's profile), for a report's rule table.
    cluster: Cluster | None = None
    # The GPUs each workload read holds in a pool of the profile: (object, demand), for `aiapp status`
    # and `aiapp new` (generator/cluster/capacity.py).
    gpu: list[tuple[str, Demand]] = field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)

    def failed(self, strict: bool) -> bool:
        """Errors fail the check; warnings too with --strict; notes (info) never."""
        failing = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
        return any(finding.severity in failing for finding in self.findings)


def finding(item: Rule, obj: K8sObject, hit: Hit, facts: Cluster | None = None) -> Finding:
    """A finding at the hit's line; its fix names the values of the profile it was checked against."""
    file, line, message = place(obj, hit)
    field = dotted((*obj.origin.prefix, *hit.path)) if obj.origin.prefix else dotted(hit.path)
    fix = item.fix_hint if facts is None else item.fix_for(facts)
    return Finding(item.id, item.severity, message, file, line, obj.ref, fix, field)


@cache
def _validator(k8s_version: str, location: str | None) -> Any:
    """The schema validator for these settings, one per process (it caches compiled schemas)."""
    from generator.template.schemas import SchemaValidator

    return SchemaValidator(k8s_version=k8s_version, location=location)


def schema_validator(options: Options) -> Any:
    return _validator(options.k8s_version, options.schema_location)


def _schema_path(data: Any, where: str) -> YamlPath:
    """`spec.template.metadata.labels.app.kubernetes.io/name` → a path, matching dotted keys greedily."""
    path: list[str | int] = []
    rest = "" if where == "(root)" else where
    while rest:
        if isinstance(data, dict):
            keys = [
                key for key in data if isinstance(key, str) and (rest == key or rest.startswith(key + "."))
            ]
            if not keys:
                break
            key = max(keys, key=len)
            path.append(key)
            data, rest = data[key], rest[len(key) + 1 :]
        elif isinstance(data, list):
            head, _, rest = rest.partition(".")
            if not head.isdigit() or int(head) >= len(data):
                break
            path.append(int(head))
            data = data[int(head)]
        else:
            break
    return tuple(path)


def _schema_findings(obj: K8sObject, options: Options) -> list[Finding]:
    unevaluated: list[str] = []
    try:
        checked = schema_validator(options).check(obj.data)
        messages, unevaluated = checked.messages, checked.unevaluated
    except Exception as error:  # a broken schema must not stop the run
        messages = [f"(root): could not validate: {error}"]
    found = [finding(rule("AIA014"), obj, Hit((), message)) for message in unevaluated]
    for message in messages:
        rule_id = "AIA011" if message.startswith("no schema") else "AIA010"
        where = message.split(": ", 1)[0] if rule_id == "AIA010" else "(root)"
        path = _schema_path(obj.data, where)
        unexpected = _UNEXPECTED.search(message)
        if unexpected:
            path = (*path, unexpected.group(1))
        found.append(finding(rule(rule_id), obj, Hit(path, message)))
    return found


def _disabled(options: Options) -> frozenset[str]:
    return frozenset(rule_id for rule_id, setting in options.config.rules.items() if setting.disabled)


def check_object(obj: K8sObject, options: Options, result: UnitResult) -> None:
    """Run the object's rules (when it is in scope) and record findings and its summary.

    Findings its own annotation suppresses are kept aside with the reason, for the summary and
    --show-suppressed.
    """
    facts = options.cluster or cluster_for(obj.origin.file)
    in_scope = options.config.in_scope(obj.origin.file, obj.namespace)
    shared = shared_service(obj, facts)
    own = suppressions(obj.data)
    if in_scope:
        disabled = _disabled(options)
        found: list[Finding] = [
            finding(rule(rule_id), obj, hit)
            for rule_id, hit in (*own.problems, *checkov_skip_problems(obj.data))
        ]
        for item in rules_by_kind().get(obj.kind, ()):
            if item.check is None or item.id in disabled or (shared and item.applies is Applies.APPS):
                continue
            try:
                found.extend(finding(item, obj, hit, facts) for hit in item.check(obj, facts))
            except Exception as error:  # a rule bug must not hide the other findings
                result.notes.append(
                    f"internal error: {item.id} failed on {obj.ref} ({obj.origin.file}): {error!r}"
                )
        if options.schemas:
            found.extend(_schema_findings(obj, options))
        for item_found in found:
            if item_found.rule_id in own.rules:
                result.suppressed.append((item_found, own.reason(item_found.rule_id)))
            else:
                result.findings.append(item_found)
    result.summaries.extend(summarize(obj, own, facts, in_scope, shared))


def _input_in_scope(item: Finding, objects: Sequence[K8sObject], options: Options) -> bool:
    """Input findings: under the scope's paths; AIA008 (about the objects of a file) when one of its
    objects is in scope."""
    config = options.config
    if rule(item.rule_id).applies is Applies.SCOPE:
        return any(config.in_scope(obj.origin.file, obj.namespace) for obj in objects)
    return config.path_in_scope(item.file)


def check_unit(unit: Unit, options: Options) -> UnitResult:
    """Load one input and check its objects."""
    loaded = load(unit, options.config.limits)
    findings = [item for item in loaded.findings if _input_in_scope(item, loaded.objects, options)]
    result = UnitResult(findings=findings, files=loaded.files, objects=len(loaded.objects))
    # The ConfigMaps of the same input, for a vLLM --config file a pod mounts (policy/vllm_cli.py).
    config_maps = {
        (obj.namespace, obj.name): obj.data.get("data") for obj in loaded.objects if obj.kind == "ConfigMap"
    }
    for obj in loaded.objects:
        obj.memo[CONFIG_MAPS] = config_maps
        check_object(obj, options, result)
    return result


def _check_batch(units: Sequence[Unit], options: Options) -> list[UnitResult]:
    return [check_unit(unit, options) for unit in units]


def _check_units(units: list[Unit], options: Options) -> list[UnitResult]:
    jobs = options.jobs or os.cpu_count() or 1
    weight = sum(BUILD_WEIGHT if unit.kind == "kustomization" else 1 for unit in units)
    if jobs > 1 and weight >= PARALLEL_MIN_UNITS and len(units) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if "fork" in multiprocessing.get_all_start_methods():
            # Forked workers inherit the registry and the cluster constants already loaded here.
            size = max(1, min(64, len(units) // (jobs * 4)))
            batches = [units[start : start + size] for start in range(0, len(units), size)]
            with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
                return [
                    result for batch in pool.map(_check_batch, batches, repeat(options)) for result in batch
                ]
    return _check_batch(units, options)


def check_paths(paths: Sequence[str], options: Options) -> Report:
    """Check files, directories and kustomizations; the whole run is one input set.

    The cyclic garbage collector is paused meanwhile: parsed manifests hold no cycles, and its passes
    over hundreds of thousands of young objects cost a quarter of the run on large trees.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _check_paths(paths, options)
    finally:
        if enabled:
            gc.enable()


def _set_findings(summaries: list[Summary], options: Options, facts: Cluster, report: Report) -> set[Finding]:
    """The rules across objects, on the summaries of every object read (in scope or not): a policy
    anywhere may select a workload in scope. Findings are kept for objects in scope."""
    found: set[Finding] = set()
    disabled = _disabled(options)
    for item in rules():
        if item.set_check is None or item.id in disabled:
            continue
        for summary, hit in item.set_check(summaries, facts):
            if not summary.in_scope or (summary.shared and item.applies is Applies.APPS):
                continue
            line = locate(summary.origin, hit.path, hit.offset)
            prefix = summary.origin.prefix
            result = Finding(
                item.id,
                item.severity,
                hit.message,
                summary.origin.file,
                line,
                summary.ref,
                item.fix_for(cluster_for(summary.origin.file) if options.cluster is None else facts),
                dotted((*prefix, *hit.path)),
            )
            if item.id in summary.suppressed:
                reason = next((text for rule_id, text in summary.reasons if rule_id == item.id), "")
                report.suppressed.append((result, reason))
            else:
                found.add(result)
    return found


def _graded(findings: set[Finding], options: Options) -> list[Finding]:
    """Findings with the severity the repository's configuration gives their rule; disabled rules out."""
    settings = options.config.rules
    kept = []
    for item in findings:
        setting = settings.get(item.rule_id)
        if setting is not None and setting.disabled:
            continue
        if setting is not None and setting.severity is not None:
            item = replace(item, severity=setting.severity)
        kept.append(item)
    return sorted(kept, key=Finding.sort_key)


def _once_per_rule(findings: list[Finding]) -> list[Finding]:
    """A CEL rule that cannot be evaluated (AIA014) is reported once per run, at the first object that
    met it: each worker process reports the rules it met on its own."""
    seen: set[str] = set()
    kept = []
    for item in findings:
        if item.rule_id == "AIA014":
            if item.message in seen:
                continue
            seen.add(item.message)
        kept.append(item)
    return kept


def _check_paths(paths: Sequence[str], options: Options) -> Report:
    # The profile of each path's GitOps repository, read (and a bad one refused) before any work; the
    # rules across objects use the first one's (or the facts given in the options).
    profiles = [cluster_at(path) for path in paths or ["."]]
    facts = options.cluster or profiles[0]
    rules_by_kind()
    discovery = discover(paths, options.build, options.config)
    report = Report(notes=list(discovery.notes), cluster=facts)
    if options.schemas:
        problem = schema_validator(options).location_problem()
        if problem:
            report.notes.append(
                f"custom resources cannot be validated: {problem}; each is reported as AIA011"
            )
    results = _check_units(discovery.units, options)
    summaries = []
    findings: set[Finding] = set()
    for result in results:
        findings.update(result.findings)
        report.suppressed.extend(result.suppressed)
        summaries.extend(result.summaries)
        report.notes.extend(result.notes)
        report.files += result.files
        report.objects += result.objects
    findings |= _set_findings(summaries, options, facts, report)
    report.gpu = sorted(
        ((summary.ref, summary.gpu) for summary in summaries if summary.gpu is not None),
        key=lambda item: item[0],
    )
    report.findings = _once_per_rule(_graded(findings, options))
    report.suppressed.sort(key=lambda pair: pair[0].sort_key())
    return report
