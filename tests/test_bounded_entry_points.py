"""Every file `aiapp new --register` and the fleet commands read from a user's repository goes through the
bounded reader (generator/reader): a hostile parent kustomization.yaml, a sibling's answers file, or a
FIFO left in an app is refused in one line or skipped, in at most 5 s and 300 MB (each fixture made by
the test, never committed as a FIFO or a symlink).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_bounded_reader import MEGABYTES, SECONDS, _bomb, _one_line_error, run_aiapp

HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    "8-level alias bomb": (
        lambda path: path.write_text("resources: []\n" + _bomb(8), encoding="utf-8"),
        "through YAML aliases",
    ),
    "a FIFO": (lambda path: os.mkfifo(path), "is a FIFO, not a file"),
    "symlink to /dev/zero": (lambda path: path.symlink_to("/dev/zero"), "character device"),
    "10,000 levels": (
        lambda path: path.write_text("resources: " + "[" * 10_000 + "]" * 10_000 + "\n"),
        "nested too deeply",
    ),
    "duplicate key": (
        lambda path: path.write_text("resources: []\nresources: [a]\n", encoding="utf-8"),
        "the key 'resources' is given twice",
    ),
}
NEW = ("new", "--preset", "rag-cpu-qdrant", "--defaults", "app")


@pytest.mark.parametrize("case", list(HOSTILE))
def test_new_register_refuses_a_hostile_parent_kustomization_before_writing(
    case: str, tmp_path: Path
) -> None:
    make, words = HOSTILE[case]
    make(tmp_path / "kustomization.yaml")
    error = _one_line_error(*run_aiapp(*NEW, "--register", cwd=tmp_path))
    assert words in error and "the parent kustomization" in error, error
    assert not (tmp_path / "app").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["kustomization.yaml"]


@pytest.mark.parametrize("case", ["a FIFO", "symlink to /dev/zero", "8-level alias bomb"])
def test_new_without_register_reads_a_hostile_parent_kustomization_bounded(case: str, tmp_path: Path) -> None:
    """Without --register the parent is only looked at (a sibling with the same name, the next step to
    print): unreadable, it is passed over and the app is written."""
    make, _ = HOSTILE[case]
    make(tmp_path / "kustomization.yaml")
    result, seconds, peak = run_aiapp(*NEW, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "app" / "deployment.yaml").is_file()
    assert "Add `- app` to the resources of" in result.stdout or "there is none in" in result.stdout
    assert seconds <= SECONDS * 2, f"{seconds:.1f} s"  # a whole render: twice the reading budget
    assert peak <= MEGABYTES, f"{peak:.0f} MB"


@pytest.mark.parametrize("case", ["8-level alias bomb", "a FIFO", "symlink to /dev/zero", "10,000 levels"])
def test_a_hostile_sibling_answers_file_is_passed_over_bounded(case: str, tmp_path: Path) -> None:
    """The clash check reads each sibling app's .copier-answers.yml: a hostile one clashes with nothing."""
    make, _ = HOSTILE[case]
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - other\n", encoding="utf-8")
    (tmp_path / "other").mkdir()
    make(tmp_path / "other" / ".copier-answers.yml")
    result, seconds, peak = run_aiapp(*NEW, "--register", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Would register: add app to the resources of" in result.stdout
    assert seconds <= SECONDS * 2 and peak <= MEGABYTES, (seconds, peak)


def test_conflict_scan_of_an_app_skips_fifos_and_devices(tmp_path: Path) -> None:
    """`aiapp update`/`status` look for conflict markers in every file of an app: a FIFO or a symlink to
    /dev/zero there is skipped, never read (it blocked, or read without end)."""
    app = tmp_path / "app"
    app.mkdir()
    os.mkfifo(app / "pipe.yaml")
    (app / "zero.yaml").symlink_to("/dev/zero")
    (app / "deployment.yaml").write_text("a: 1\n<<<<<<< before updating\nb: 2\n", encoding="utf-8")
    code = "import sys; from pathlib import Path; from generator.fleet.apps import conflict_files as c; "
    code += "print(c(Path(sys.argv[1])))"
    result = subprocess.run(
        [sys.executable, "-c", code, str(app)],
        capture_output=True, text=True, timeout=SECONDS * 3, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['deployment.yaml']"

