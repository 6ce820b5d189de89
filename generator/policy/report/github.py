"""GitHub workflow commands: one `::error`/`::warning` annotation per finding, on the file and line."""

from __future__ import annotations

from generator.policy.engine import Report
from generator.policy.model import Severity
from generator.policy.registry import rule
from generator.policy.report.paths import repository_uri
from generator.policy.report.text import summary_line


def escape_data(value: str) -> str:
    """Message text: `%`, CR and LF are percent-encoded (the runner decodes them)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Property values (file, title) also encode `:` and `,`, which separate properties."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, color: bool = False) -> str:
    del color
    lines = []
    for finding in report.findings:
        uri, _ = repository_uri(finding.file)
        title = f"{finding.rule_id} {rule(finding.rule_id).slug}"
        where = f"{finding.object}: " if finding.object else ""
        message = f"{where}{finding.message}\nfix: {finding.fix}"
        command = "notice" if finding.severity is Severity.INFO else finding.severity.value
        lines.append(
            f"::{command} file={escape_property(uri)},line={finding.line},"
            f"title={escape_property(title)}::{escape_data(message)}"
        )
    for note in report.notes:
        lines.append(f"::warning title=aiapp check::{escape_data(note)}")
    lines.append(summary_line(report))
    return "\n".join(lines)
