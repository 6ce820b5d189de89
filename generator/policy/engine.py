"""The checker: load every input, run the rules of each object's kind, apply suppressions, report.

Inputs are checked in worker processes when there are many of them (YAML parsing dominates); the rules
that look across objects run afterwards on small summaries.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import repeat
from typing import Any

from generator.cluster.facts import cluster_at, cluster_for
from generator.policy.facts import summarize
from generator.policy.loader import Unit, discover, load
from generator.policy.model import Finding, Hit, K8sObject, Severity, UnitResult, YamlPath
from generator.policy.provenance import place
from generator.policy.registry import Rule, rule, rules, rules_by_kind
from generator.policy.suppress import checkov_skip_problems, suppressions
from generator.policy.yamlio import locate

PARALLEL_MIN_UNITS = 200
# A kustomize build (a subprocess) costs as much as reading this many files.
BUILD_WEIGHT = 25
# jsonschema names an unknown field only in the message: point at its line.
_UNEXPECTED = re.compile(r"\('([^']+)' (?:was|were) unexpected\)")


@dataclass(frozen=True)
class Options:
    """How to check: schema validation, kustomize builds, parallelism."""

    schemas: bool = False
    k8s_version: str = "1.32"
    schema_location: str | None = None
    build: bool = True
    jobs: int = 0


@dataclass
class Report:
    """Everything a reporter prints."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0
    objects: int = 0

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)

    def failed(self, strict: bool) -> bool:
        """Errors fail the check; warnings too with --strict."""
        return any(finding.severity is Severity.ERROR or strict for finding in self.findings)


def finding(item: Rule, obj: K8sObject, hit: Hit) -> Finding:
    file, line, message = place(obj, hit)
    return Finding(item.id, item.severity, message, file, line, obj.ref, item.fix_hint)


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


def _schema_findings(obj: K8sObject, options: Options, suppressed: frozenset[str]) -> list[Finding]:
    try:
        messages = schema_validator(options).validate(obj.data)
    except Exception as error:  # a broken schema must not stop the run
        messages = [f"(root): could not validate: {error}"]
    found = []
    for message in messages:
        rule_id = "AIA011" if message.startswith("no schema") else "AIA010"
        if rule_id in suppressed:
            continue
        where = message.split(": ", 1)[0] if rule_id == "AIA010" else "(root)"
        path = _schema_path(obj.data, where)
        unexpected = _UNEXPECTED.search(message)
        if unexpected:
            path = (*path, unexpected.group(1))
        found.append(finding(rule(rule_id), obj, Hit(path, message)))
    return found


def check_object(obj: K8sObject, options: Options, result: UnitResult) -> None:
    """Run the object's rules and record findings and its summary."""
    facts = cluster_for(obj.origin.file)
    own = suppressions(obj.data)
    for rule_id, hit in (*own.problems, *checkov_skip_problems(obj.data)):
        result.findings.append(finding(rule(rule_id), obj, hit))
    for item in rules_by_kind().get(obj.kind, ()):
        if item.id in own.rules or item.check is None:
            continue
        try:
            result.findings.extend(finding(item, obj, hit) for hit in item.check(obj, facts))
        except Exception as error:  # a rule bug must not hide the other findings
            result.notes.append(
                f"internal error: {item.id} failed on {obj.ref} ({obj.origin.file}): {error!r}"
            )
    if options.schemas:
        result.findings.extend(_schema_findings(obj, options, own.rules))
    summary = summarize(obj, own.rules, facts)
    if summary is not None:
        result.summaries.append(summary)


def check_unit(unit: Unit, options: Options) -> UnitResult:
    """Load one input and check its objects."""
    loaded = load(unit)
    result = UnitResult(findings=list(loaded.findings), files=loaded.files, objects=len(loaded.objects))
    for obj in loaded.objects:
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


def _check_paths(paths: Sequence[str], options: Options) -> Report:
    # The profile of each path's GitOps repository, read (and a bad one refused) before any work; the
    # rules across objects use the first one's.
    profiles = [cluster_at(path) for path in paths or ["."]]
    facts = profiles[0]
    rules_by_kind()
    discovery = discover(paths, options.build)
    report = Report(notes=list(discovery.notes))
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
        summaries.extend(result.summaries)
        report.notes.extend(result.notes)
        report.files += result.files
        report.objects += result.objects
    for item in rules():
        if item.set_check is None:
            continue
        for summary, hit in item.set_check(summaries, facts):
            if item.id not in summary.suppressed:
                line = locate(summary.origin, hit.path, hit.offset)
                findings.add(
                    Finding(
                        item.id,
                        item.severity,
                        hit.message,
                        summary.origin.file,
                        line,
                        summary.ref,
                        item.fix_hint,
                    )
                )
    report.findings = sorted(findings, key=Finding.sort_key)
    return report
