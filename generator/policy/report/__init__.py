"""Reporters: the same Report as text for people, JSON for scripts, SARIF for code scanning, and
GitHub workflow annotations."""

from __future__ import annotations

from collections.abc import Callable

from generator.policy.engine import Report
from generator.policy.report import github, json_report, sarif, text

FORMATS: dict[str, Callable[[Report, bool], str]] = {
    "text": text.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
}


def render(report: Report, output_format: str, color: bool = False) -> str:
    """The report in one of FORMATS."""
    return FORMATS[output_format](report, color)
