"""`aiapp new --preset X` writes exactly what plain `copier copy --defaults --data-file X.yml` writes.

Both run as real processes from the working tree, in parallel (Copier renders take about a second).
Only `_commit` may differ: Copier commits uncommitted template changes into a fresh temporary clone on
every run, so a dirty working tree gets a new hash each time.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from generator.template.presets import preset_names, preset_path
from tests.conftest import ROOT
from tests.test_new_cli import console_script

PRESETS = preset_names()
MASK = re.compile(rb"^_commit: .*$", re.MULTILINE)


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIAPP_")}
    return subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Path, Path]]:
    """Every preset rendered both ways: name -> (aiapp's tree, copier's tree)."""
    base = tmp_path_factory.mktemp("preset-pairs")
    jobs: dict[str, list[str]] = {}
    for name in PRESETS:
        jobs[f"aiapp/{name}"] = [
            console_script("aiapp"), "new", "--preset", name, "--vcs-ref", "HEAD", str(base / "aiapp" / name),
        ]  # fmt: skip
        jobs[f"copier/{name}"] = [
            console_script("copier"), "copy", "--quiet", "--defaults", "--vcs-ref", "HEAD",
            "--data-file", str(preset_path(name)), str(ROOT), str(base / "copier" / name),
        ]  # fmt: skip
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = dict(zip(jobs, pool.map(_run, jobs.values()), strict=True))
    for key, result in results.items():
        assert result.returncode == 0, f"{key}: {result.stderr}"

    def get(name: str) -> tuple[Path, Path]:
        return base / "aiapp" / name, base / "copier" / name

    return get


def tree(root: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            if path.name == ".copier-answers.yml":
                content = MASK.sub(b"_commit: MASKED", content)
            files[path.relative_to(root).as_posix()] = content
    return files


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_matches_plain_copier(preset: str, renders: Callable[[str], tuple[Path, Path]]) -> None:
    ours, theirs = renders(preset)
    ours_tree, theirs_tree = tree(ours), tree(theirs)
    assert sorted(ours_tree) == sorted(theirs_tree)
    for name, content in theirs_tree.items():
        assert ours_tree[name] == content, f"{preset}: {name} differs"
    assert b"_src_path: " + str(ROOT).encode() in ours_tree[".copier-answers.yml"]
