"""JSON for scripts: the findings with their rule, location, object, message and fix."""

from __future__ import annotations

import json

from generator import __version__
from generator.policy.engine import Report
from generator.policy.model import Severity
from generator.policy.registry import rule
from generator.policy.report.paths import shown


def render(report: Report, color: bool = False) -> str:
    del color
    data = {
        "tool": "aiapp",
        "version": __version__,
        "summary": {
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "files": report.files,
            "objects": report.objects,
        },
        "findings": [
            {
                "rule": finding.rule_id,
                "slug": rule(finding.rule_id).slug,
                "severity": finding.severity.value,
                "file": shown(finding.file),
                "line": finding.line,
                "object": finding.object,
                "message": finding.message,
                "fix": finding.fix,
            }
            for finding in report.findings
        ],
        "notes": report.notes,
    }
    return json.dumps(data, indent=2, ensure_ascii=False)
