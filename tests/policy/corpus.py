"""The fixture corpus: bad manifests (one rule each, with `# expect: AIAnnn` on the reported lines) and
good manifests (no findings)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from generator.policy import Options, Report, check_paths
from tests.conftest import ROOT

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BAD = sorted((FIXTURES / "bad").iterdir())
GOOD = sorted((FIXTURES / "good").iterdir())
SCHEMA_RULES = ("AIA010", "AIA011")
# No CRD of the shared catalog has a CEL rule that aiapp cannot evaluate: AIA014's fixture has a catalog of
# its own.
OWN_CATALOG = {"AIA014": FIXTURES / "schemas"}
_MARK = re.compile(r"#\s*expect:\s*(AIA\d{3})")


def catalog() -> str | None:
    """The CRD schema catalog: $AIAPP_SCHEMA_LOCATION, else ../shared/schemas next to the checkout."""
    location = os.environ.get("AIAPP_SCHEMA_LOCATION")
    if location:
        return location
    shared = ROOT.parent / "shared" / "schemas"
    return str(shared) if shared.is_dir() else None


def fixture_rule(path: Path) -> str:
    """`AIA101-gpu-resource-name.yaml` → AIA101."""
    return path.name.split("-", 1)[0]


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def expected(path: Path) -> set[tuple[str, str, int]]:
    """(rule, file, line) of every `# expect:` marker; a fixture without markers expects line 1 of itself."""
    marks = set()
    for file in _files(path):
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(lines, start=1):
            for rule_id in _MARK.findall(line):
                marks.add((rule_id, str(file), number))
    return marks or {(fixture_rule(path), str(path), 1)}


def check(path: Path, schemas: bool | None = None) -> Report:
    """Check one fixture on its own (its own input set), in-process."""
    location = catalog()
    own = OWN_CATALOG.get(fixture_rule(path))
    if own is not None:
        location, schemas = str(own), True
    if schemas is None:
        schemas = location is not None or fixture_rule(path) in SCHEMA_RULES
    return check_paths([str(path)], Options(schemas=schemas, schema_location=location, jobs=1))


def found(report: Report) -> set[tuple[str, str, int]]:
    return {(finding.rule_id, finding.file, finding.line) for finding in report.findings}
