"""checkov (kubernetes framework) on every rendered preset: no failed check, and every skip is an annotation
in the manifest with a reason, counted per preset in docs/patterns.md.

checkov pins many packages, so it lives in its own virtualenv: `$AIAPP_CHECKOV`, else
/opt/checkov-venv/bin/checkov (`.ci/run` creates it). One checkov run covers every preset (a few seconds).
How checkov reads skips (checkov/kubernetes/kubernetes_utils.py, `get_skipped_checks`): annotations whose key
contains `checkov.io/skip` in the object's own `metadata.annotations`, value `CHECK_ID=reason` split at '=';
without '=' the check is still skipped, with the reason "No comment provided". `--skip-download` keeps
checkov off the network (it would fetch Prisma Cloud guidelines).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.template import questions
from generator.template.presets import load_preset
from tests.conftest import PRESETS, ROOT, in_ci, render

CHECKOV = Path(os.environ.get("AIAPP_CHECKOV", "/opt/checkov-venv/bin/checkov"))
NO_REASON = "No comment provided"  # checkov's reason for a skip without '='
DIGEST = "@sha256:" + "0123456789abcdef" * 4
DIGEST_PINNED = "digest-pinned"  # rag-cpu-qdrant with its image pinned by digest


def checkov_available() -> None:
    if not CHECKOV.is_file():
        message = f"checkov not found at {CHECKOV} (set AIAPP_CHECKOV; .ci/run installs it)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def scan(
    rendered_preset: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """(the scanned directory, one preset per subdirectory; checkov's JSON report of it)."""
    checkov_available()
    base = tmp_path_factory.mktemp("checkov")
    for name in PRESETS:
        shutil.copytree(rendered_preset(name), base / name)
    answers = {**load_preset("rag-cpu-qdrant"), "app_name": "pinned"}
    answers["image"] = f"{answers['image']}{DIGEST}"
    # A Qdrant app also runs the cluster's bootstrap image (the collection init container): pin it too.
    answers["cluster"] = {"qdrant": {"bootstrap_image": f"docker.io/library/python:3.12.8-slim{DIGEST}"}}
    render(base / DIGEST_PINNED, answers)
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(base),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.stdout.strip().startswith(("{", "[")), f"checkov printed no report: {result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    assert [r["check_type"] for r in reports] == ["kubernetes"]
    return base, reports[0]


def preset_of(check: dict[str, Any]) -> str:
    """The preset directory a result belongs to (checkov's file_path is relative to the scanned directory)."""
    return str(check["file_path"]).strip("/").split("/")[0]


def annotated_skips(app_dir: Path) -> dict[str, str]:
    """CHECK_ID → reason of every checkov skip annotation in the app's manifests."""
    skips: dict[str, str] = {}
    for path in app_dir.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            annotations = (doc.get("metadata") or {}).get("annotations") or {}
            for key, value in annotations.items():
                if "checkov.io/skip" in key:
                    check, _, reason = value.partition("=")
                    skips[check] = reason
    return skips


def test_no_check_fails_on_any_preset(scan: tuple[Path, dict[str, Any]]) -> None:
    _, report = scan
    failed = [
        f"{preset_of(c)}: {c['check_id']} {c['check_name']} ({c['resource']})"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == [], "checkov failures without a reasoned skip:\n" + "\n".join(failed)
    assert report["summary"]["parsing_errors"] == 0
    # Every preset was scanned (a directory checkov could not read would pass silently).
    passed = {preset_of(c) for c in report["results"]["passed_checks"]}
    assert passed == {*PRESETS, DIGEST_PINNED}


def test_every_skip_is_an_annotation_with_a_reason(scan: tuple[Path, dict[str, Any]]) -> None:
    base, report = scan
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        where = f"{preset_of(check)}: {check['check_id']}"
        assert reason.strip() and reason != NO_REASON, f"{where} is skipped without a reason"
        assert annotated_skips(base / preset_of(check)).get(check["check_id"]) == reason, where


def test_no_skip_is_left_unused(scan: tuple[Path, dict[str, Any]]) -> None:
    """The template's conditions match checkov's: a skip annotation only where the check would fail."""
    base, report = scan
    skipped: dict[str, set[str]] = {}
    for check in report["results"]["skipped_checks"]:
        skipped.setdefault(preset_of(check), set()).add(check["check_id"])
    for preset in (*PRESETS, DIGEST_PINNED):
        assert set(annotated_skips(base / preset)) == skipped.get(preset, set()), preset


def test_a_digest_pinned_image_needs_no_image_skip(scan: tuple[Path, dict[str, Any]]) -> None:
    base, _ = scan
    deployment = (base / DIGEST_PINNED / "deployment.yaml").read_text(encoding="utf-8")
    # The image question accepts tag + digest (Copier validated the render; the wizard's check agrees).
    assert f'image: "ghcr.io/acme/rag-api:1.4.2{DIGEST}"' in deployment
    image = next(q for q in questions.load_questions() if q.name == "image")
    assert questions.check(image, f"ghcr.io/a/b:1.0{DIGEST}", {}) is None
    assert set(annotated_skips(base / DIGEST_PINNED)) == {"CKV2_K8S_6", "CKV_K8S_35"}
    agents = (base / DIGEST_PINNED / "AGENTS.md").read_text(encoding="utf-8")
    assert "Keep the image pinned by digest" in agents


def test_patterns_md_counts_the_skips_of_each_preset(scan: tuple[Path, dict[str, Any]]) -> None:
    """docs/patterns.md's table `| preset | skips | checks |` is what checkov reports."""
    _, report = scan
    counts = Counter(preset_of(c) for c in report["results"]["skipped_checks"])
    ids: dict[str, set[str]] = {}
    for check in report["results"]["skipped_checks"]:
        ids.setdefault(preset_of(check), set()).add(check["check_id"])
    text = (ROOT / "docs" / "patterns.md").read_text(encoding="utf-8")
    rows = {
        m["preset"]: (int(m["count"]), set(re.findall(r"CKV2?_K8S_\d+", m["checks"])))
        for m in re.finditer(
            r"^\| `(?P<preset>[a-z0-9-]+)` \| (?P<count>\d+) \| (?P<checks>[^|]+) \|$", text, re.M
        )
    }
    assert rows == {preset: (counts[preset], ids.get(preset, set())) for preset in PRESETS}
