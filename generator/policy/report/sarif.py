"""SARIF 2.1.0 for GitHub code scanning: the rule table comes from the registry, paths are repo-relative."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from generator import __version__
from generator.cluster.facts import Cluster
from generator.policy.engine import Report
from generator.policy.model import Severity
from generator.policy.registry import Rule, rules
from generator.policy.report.paths import repository_uri

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"


def _level(severity: Severity) -> str:
    return {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}[severity]


def rule_descriptor(item: Rule, facts: Cluster | None = None) -> dict[str, Any]:
    """A reportingDescriptor: id, slug as name, title, why, fix as help, default level; written with the
    facts of the profile the run was checked against (the defaults without one)."""
    text = markdown = item.fix_hint if facts is None else item.fix_for(facts)
    if item.section and item.quote:
        quote = textwrap.dedent(item.quote)
        text += f"\n\nEnforces ai-apps-AGENTS.md, {item.section}:\n{quote}"
        markdown += f"\n\nEnforces ai-apps-AGENTS.md, {item.section}:\n\n```yaml\n{quote}\n```"
    return {
        "id": item.id,
        "name": item.slug,
        "shortDescription": {"text": item.title_text if facts is None else item.title_for(facts)},
        "fullDescription": {"text": item.why_text if facts is None else item.why_for(facts)},
        "help": {"text": text, "markdown": f"**Fix:** {markdown}"},
        "defaultConfiguration": {"level": _level(item.severity)},
        "properties": {"tags": [item.family], "precision": "high"},
    }


def render(report: Report, color: bool = False) -> str:
    del color
    table = rules()
    index = {item.id: position for position, item in enumerate(table)}
    results = []
    for finding in report.findings:
        uri, relative = repository_uri(finding.file)
        artifact: dict[str, Any] = {"uri": uri}
        if relative:
            artifact["uriBaseId"] = SRCROOT
        where = f"{finding.object}: " if finding.object else ""
        result: dict[str, Any] = {
            "ruleId": finding.rule_id,
            "ruleIndex": index[finding.rule_id],
            "level": _level(finding.severity),
            "message": {"text": f"{where}{finding.message}. Fix: {finding.fix}"},
            "locations": [
                {"physicalLocation": {"artifactLocation": artifact, "region": {"startLine": finding.line}}}
            ],
        }
        if finding.object:
            result["locations"][0]["logicalLocations"] = [
                {"fullyQualifiedName": finding.object, "kind": "object"}
            ]
        results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "aiapp",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [rule_descriptor(item, report.cluster) for item in table],
            }
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "warning", "message": {"text": note}} for note in report.notes
                ],
            }
        ],
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False)
