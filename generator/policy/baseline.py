"""Baselines: adopt `aiapp check` on a repository with findings by recording today's, then failing only
on new ones.

A finding is fingerprinted by rule + object + field (`AIA705`, `Deployment/ai/rag`,
`spec.template.spec.containers[0].resources`), never by line, so edits above it do not invalidate the
entry; findings about the input itself (no object) use the file's path relative to the baseline file.
The same fingerprint may occur several times (overlays of one object): the baseline keeps a count.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from generator.errors import UsageError
from generator.policy.engine import Report, Stale
from generator.policy.model import Finding

FORMAT_KEY = "aiapp-baseline"
VERSION = 1

Fingerprint = tuple[str, str, str]


def _where(file: str, base: Path) -> str:
    try:
        return Path(os.path.relpath(Path(file).absolute(), base)).as_posix()
    except ValueError:  # another drive
        return Path(file).as_posix()


def fingerprint(finding: Finding, base: Path) -> Fingerprint:
    """(rule, object or file, field) of a finding."""
    return finding.rule_id, finding.object or _where(finding.file, base), finding.field


def write(report: Report, path: Path) -> int:
    """Record the report's findings in a baseline file; the number of entries written."""
    base = path.absolute().parent
    entries = sorted(
        (
            {
                "rule": finding.rule_id,
                "object": finding.object,
                "field": finding.field,
                "file": _where(finding.file, base),
                "message": finding.message,
            }
            for finding in report.findings
        ),
        key=lambda entry: (entry["rule"], entry["object"], entry["field"], entry["file"], entry["message"]),
    )
    text = json.dumps({FORMAT_KEY: VERSION, "findings": entries}, indent=2, ensure_ascii=False)
    try:
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--write-baseline {path}: {error.strerror or error}") from None
    return len(entries)


def _load(path: Path) -> list[dict[str, Any]]:
    from generator.reader.jsondoc import load_json

    data = load_json(path, "--baseline", hint="write one with `aiapp check --write-baseline FILE PATH...`")
    entries = data.get("findings") if isinstance(data, dict) and data.get(FORMAT_KEY) == VERSION else None
    if not isinstance(entries, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("rule"), str) for entry in entries
    ):
        raise UsageError(
            f"--baseline {path} is not an aiapp baseline (version {VERSION})",
            hint="write one with `aiapp check --write-baseline FILE PATH...`",
        )
    return entries


def apply(report: Report, path: Path) -> None:
    """Move the findings the baseline records to `report.baselined`; its entries that no finding
    matches any more go to `report.stale`."""
    base = path.absolute().parent
    entries = _load(path)

    def key(entry: dict[str, Any]) -> Fingerprint:
        return (
            str(entry["rule"]),
            str(entry.get("object") or entry.get("file") or ""),
            str(entry.get("field") or ""),
        )

    left = Counter(key(entry) for entry in entries)
    kept = []
    for finding in report.findings:
        print_ = fingerprint(finding, base)
        if left[print_] > 0:
            left[print_] -= 1
            report.baselined.append(finding)
        else:
            kept.append(finding)
    report.findings = kept
    for entry in entries:
        entry_key = key(entry)
        if left[entry_key] > 0:
            left[entry_key] -= 1
            report.stale.append(
                Stale(
                    entry_key[0],
                    str(entry.get("object") or ""),
                    entry_key[2],
                    str(entry.get("file") or ""),
                    str(entry.get("message") or ""),
                )
            )
