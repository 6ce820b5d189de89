"""JSON for scripts: the findings with their rule, location, object, message and fix."""

from __future__ import annotations

import json

from generator import __version__
from generator.policy.engine import Report
from generator.policy.model import Finding, Severity
from generator.policy.registry import rule
from generator.policy.report.paths import shown


def _item(finding: Finding) -> dict[str, object]:
    return {
        "rule": finding.rule_id,
        "slug": rule(finding.rule_id).slug,
        "severity": finding.severity.value,
        "file": shown(finding.file),
        "line": finding.line,
        "object": finding.object,
        "message": finding.message,
        "fix": finding.fix,
    }


def render(report: Report, color: bool = False) -> str:
    del color
    data = {
        "tool": "aiapp",
        "version": __version__,
        "summary": {
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "info": report.count(Severity.INFO),
            "files": report.files,
            "objects": report.objects,
            "suppressed": len(report.suppressed),
            "baselined": len(report.baselined),
        },
        "findings": [_item(finding) for finding in report.findings],
        "suppressed": [{**_item(finding), "reason": reason} for finding, reason in report.suppressed],
        "baselined": [_item(finding) for finding in report.baselined],
        "stale": [
            {"rule": entry.rule_id, "object": entry.object, "field": entry.field, "file": entry.file}
            for entry in report.stale
        ],
        "notes": report.notes,
    }
    return json.dumps(data, indent=2, ensure_ascii=False)
