"""Text for people: findings grouped by file, with the fix under each; colour only on a terminal."""

from __future__ import annotations

from itertools import groupby

import typer

from generator.policy.engine import Report
from generator.policy.model import Finding, Severity
from generator.policy.registry import rule
from generator.policy.report.paths import shown

_COLOURS = {
    Severity.ERROR: typer.colors.RED,
    Severity.WARNING: typer.colors.YELLOW,
    Severity.INFO: typer.colors.BLUE,
}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def summary_line(report: Report) -> str:
    """One line: the counts by severity, what was checked, and what was not reported (and why)."""
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    notes = report.count(Severity.INFO)
    checked = f"{_plural(report.objects, 'object')} in {_plural(report.files, 'file')} checked"
    hidden = [
        f"{count} {what}"
        for count, what in ((len(report.suppressed), "suppressed"), (len(report.baselined), "baselined"))
        if count
    ]
    if hidden:
        checked += f"; {', '.join(hidden)}"
    if not report.findings:
        return f"No findings: {checked}."
    files = len({finding.file for finding in report.findings})
    counts = [_plural(errors, "error"), _plural(warnings, "warning")] + (
        [_plural(notes, "note")] if notes else []
    )
    return f"{_and(counts)} in {_plural(files, 'file')} ({checked})."


def _finding_lines(finding: Finding, color: bool) -> list[str]:
    def styled(value: str, **options: object) -> str:
        return typer.style(value, **options) if color else value  # type: ignore[arg-type]

    severity = styled(finding.severity.value, fg=_COLOURS[finding.severity], bold=True)
    slug = rule(finding.rule_id).slug
    where = f"  {finding.object}" if finding.object else ""
    lines = [f"  {finding.line}: {severity} {finding.rule_id} [{slug}]{where}"]
    lines.extend(f"      {line}" for line in finding.message.splitlines() or [""])
    lines.append(styled(f"      fix: {finding.fix}", dim=True))
    return lines


def render(report: Report, color: bool = False, show_suppressed: bool = False) -> str:
    lines: list[str] = []
    for file, findings in groupby(report.findings, key=lambda finding: finding.file):
        lines.append(typer.style(shown(file), bold=True) if color else shown(file))
        for finding in findings:
            lines.extend(_finding_lines(finding, color))
        lines.append("")
    if show_suppressed:
        hidden = [*report.suppressed, *((finding, "in the baseline") for finding in report.baselined)]
        if hidden:
            lines.append("Not reported (suppressed on the object, or in the baseline):")
            for finding, reason in sorted(hidden, key=lambda pair: pair[0].sort_key()):
                where = f" {finding.object}" if finding.object else ""
                lines.append(f"  {shown(finding.file)}:{finding.line}: {finding.rule_id}{where}: {reason}")
                lines.extend(f"      {line}" for line in finding.message.splitlines())
            lines.append("")
    if report.stale:
        count = len(report.stale)
        noun = "baseline entry no longer occurs" if count == 1 else "baseline entries no longer occur"
        lines.append(f"{count} {noun} (fixed, or the object is gone); write the baseline again to drop them:")
        for entry in report.stale:
            lines.append(f"  {entry.rule_id} {entry.object or entry.file} {entry.field}".rstrip())
        lines.append("")
    lines.append(summary_line(report))
    return "\n".join(lines)
