"""Text for people: findings grouped by file, with the fix under each; colour only on a terminal."""

from __future__ import annotations

from itertools import groupby

import typer

from generator.policy.engine import Report
from generator.policy.model import Severity
from generator.policy.registry import rule
from generator.policy.report.paths import shown

_COLOURS = {Severity.ERROR: typer.colors.RED, Severity.WARNING: typer.colors.YELLOW}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(report: Report) -> str:
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    checked = f"{_plural(report.objects, 'object')} in {_plural(report.files, 'file')} checked"
    if not report.findings:
        return f"No findings: {checked}."
    files = len({finding.file for finding in report.findings})
    counts = f"{_plural(errors, 'error')} and {_plural(warnings, 'warning')}"
    return f"{counts} in {_plural(files, 'file')} ({checked})."


def render(report: Report, color: bool = False) -> str:
    def style(value: str, **options: object) -> str:
        return typer.style(value, **options) if color else value  # type: ignore[arg-type]

    lines: list[str] = []
    for file, findings in groupby(report.findings, key=lambda finding: finding.file):
        lines.append(style(shown(file), bold=True))
        for finding in findings:
            severity = style(finding.severity.value, fg=_COLOURS[finding.severity], bold=True)
            slug = rule(finding.rule_id).slug
            where = f"  {finding.object}" if finding.object else ""
            lines.append(f"  {finding.line}: {severity} {finding.rule_id} [{slug}]{where}")
            lines.append(f"      {finding.message}")
            lines.append(style(f"      fix: {finding.fix}", dim=True))
        lines.append("")
    lines.append(summary_line(report))
    return "\n".join(lines)
