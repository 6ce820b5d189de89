"""Reporters: the same Report as text for people, JSON for scripts, SARIF for code scanning, and
GitHub workflow annotations."""

from __future__ import annotations

from collections.abc import Callable

from generator.policy.engine import Report
from generator.policy.report import github, json_report, sarif, text

FORMATS: dict[str, Callable[[Report, bool], str]] = {
    "text": lambda report, color: text.render(report, color),
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
}


def render(report: Report, output_format: str, color: bool = False, show_suppressed: bool = False) -> str:
    """The report in one of FORMATS (JSON always lists what was not reported; text with show_suppressed)."""
    if output_format == "text":
        return text.render(report, color, show_suppressed)
    return FORMATS[output_format](report, color)
