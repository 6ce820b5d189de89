"""Hostile input never hangs, never eats memory, never ends in a traceback: each case is one finding.

Each case runs `aiapp check` in a process of its own and must finish within 5 s with at most 300 MB of
peak memory (the child's ru_maxrss). Big files, FIFOs and symlinks live in tmp_path and are removed by
pytest; a hung process is killed at the time limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.policy import Options, check_paths, kustomize
from generator.policy.config import Config, Limits
from tests.policy.corpus import catalog
from tests.test_bounded_reader import run_aiapp

SECONDS = 5.0
MEGABYTES = 300


def _alias_bomb(directory: Path) -> None:
    """The billion laughs: 9 levels of 9 aliases, about 500 bytes, 387 million strings expanded."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol, namespace: ai}", "data:"]
    lines.append('  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
    for level in range(1, 9):
        lines.append(f"  a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    (directory / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _dev_zero(directory: Path) -> None:
    (directory / "zero.yaml").symlink_to("/dev/zero")


def _fifo(directory: Path) -> None:
    os.mkfifo(directory / "fifo.yaml")


def _big(directory: Path) -> None:
    with open(directory / "big.yaml", "w", encoding="utf-8") as handle:
        handle.write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: ai}\ndata:\n")
        block = "  # " + "x" * 1020 + "\n"
        for _ in range(50 * 1024):
            handle.write(block)


def _deep(directory: Path) -> None:
    (directory / "deep.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n  x: " + "[" * 10_000 + "]" * 10_000,
        encoding="utf-8",
    )
    (directory / "deep.json").write_text('{"a": ' * 10_000 + "1" + "}" * 10_000, encoding="utf-8")


def _invalid_utf8(directory: Path) -> None:
    (directory / "latin1.yaml").write_bytes(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n")


CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "alias-bomb": (_alias_bomb, "AIA002", "aliases"),
    "dev-zero-symlink": (_dev_zero, "AIA001", "character device"),
    "fifo": (_fifo, "AIA001", "FIFO"),
    "50-MB-file": (_big, "AIA001", "limit"),
    "10000-levels": (_deep, "AIA002", "nested too deeply"),
    "invalid-utf-8": (_invalid_utf8, "AIA001", "not UTF-8"),
}


def run_bounded(*args: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """(result, seconds, peak MB) of `aiapp check ARGS` in a child process, killed at 3x the time limit."""
    return run_aiapp("check", "-j1", "--format", "json", *args, cwd=Path.cwd())


RUNS = [(case, False) for case in CASES] + [("alias-bomb", True)]


@pytest.mark.parametrize(("case", "schemas"), RUNS, ids=[f"{c}{'-schemas' * s}" for c, s in RUNS])
def test_hostile_input_is_one_finding_in_bounded_time_and_memory(
    case: str, schemas: bool, tmp_path: Path
) -> None:
    make, rule_id, words = CASES[case]
    make(tmp_path)
    location = catalog()
    extra = ["--schemas", *(["--schema-location", location] if location else [])] if schemas else []
    result, seconds, peak = run_bounded(*extra, str(tmp_path))
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert {item["rule"] for item in findings} == {rule_id}, findings
    assert any(words in item["message"] for item in findings), findings
    assert seconds <= SECONDS, f"{case}: {seconds:.1f} s"
    assert peak <= MEGABYTES, f"{case}: {peak:.0f} MB"


def test_a_kustomization_listing_a_fifo_is_not_built(tmp_path: Path) -> None:
    if kustomize.tool() is None:
        pytest.skip("needs kubectl or kustomize")
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - fifo.yaml\n", encoding="utf-8")
    started = time.monotonic()
    report = check_paths([str(tmp_path)], Options(jobs=1))
    assert time.monotonic() - started < SECONDS
    # The kustomization is not built (kustomize would wait for a writer), and the FIFO is skipped.
    assert {(item.rule_id, item.message.split(":")[0]) for item in report.findings} == {
        ("AIA005", "not built"),
        ("AIA001", "a FIFO, not a manifest"),
    }


def test_limits_are_configurable(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ai}\n"
        "data:\n  x: &x [1, 2, 3]\n  y: [*x, *x, *x]\n",
        encoding="utf-8",
    )
    assert check_paths([str(tmp_path)], Options(jobs=1)).findings == []
    tight = Config(limits=Limits(max_file_bytes=40, max_alias_nodes=5))
    messages = [item.message for item in check_paths([str(tmp_path)], Options(jobs=1, config=tight)).findings]
    assert len(messages) == 1 and "more than the 40 the limit allows" in messages[0]
    tight = Config(limits=Limits(max_alias_nodes=5))
    messages = [item.message for item in check_paths([str(tmp_path)], Options(jobs=1, config=tight)).findings]
    assert len(messages) == 1 and "max_alias_nodes" in messages[0]
