"""Answers files (`--answers-file`, presets, an app's `.copier-answers.yml`) are small plain YAML mappings:
anything else is exit 2 with one line, before anything is rendered or written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from generator.cli import app as cli
from generator.fleet.apps import load_app

# 342 bytes that expand to 9^9 strings once aliases are copied out.
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)
CASES: dict[str, tuple[bytes | None, str]] = {
    "alias bomb": (BOMB.encode(), "expands to more than"),
    "deep nesting": (b"app_name: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested deeper than"),
    "python tag": (b"app_name: !!python/name:os.system x\n", "uses the YAML tag"),
    "binary tag": (b"app_name: !!binary aGVsbG8=\n", "uses the YAML tag"),
    "not UTF-8": (b"app_name: \xff\xfe\n", "is not UTF-8"),
    "a list": (b"- app_name\n", "must be a mapping"),
    "duplicate key": (b"app_name: a\napp_name: b\n", "line 2: the key 'app_name' is given twice"),
    "YAML 1.1 octal": (b"app_name: a\nreplicas: 017\n", "'017' means 15 in YAML 1.1 (PyYAML, Copier) but 17"),
    "YAML 1.1 time": (b"route_timeout: 1:30\n", "'1:30' means 90 in YAML 1.1"),
    "YAML 1.1 boolean": (b"gpu: on\n", "'on' means True in YAML 1.1"),
    "YAML 1.2 float": (b"description: 1e3\n", "'1e3' means '1e3' in YAML 1.1 (PyYAML, Copier) but 1000.0"),
    "lone surrogate": (b'description: "\\ud800"\n', "invalid Unicode character escape"),
    "a FIFO": (None, "is a FIFO, not a file"),
    "too large": (b"description: '" + b"x" * (1024 * 1024) + b"'\n", "more than the 1,048,576 allowed"),
    "not YAML": (b"app_name: [\n", "is not YAML"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_answers_files_are_refused_in_one_line(case: str, tmp_path: Path) -> None:
    content, fragment = CASES[case]
    answers = tmp_path / "answers.yml"
    if content is None:
        os.mkfifo(answers)  # nobody writes to it: reading it would wait forever
    else:
        answers.write_bytes(content)
    result = CliRunner().invoke(cli, ["new", str(tmp_path / "app"), "--answers-file", str(answers)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "app").exists()


def test_an_app_whose_answers_file_is_a_bomb_is_reported_not_expanded(tmp_path: Path) -> None:
    (tmp_path / ".copier-answers.yml").write_text(BOMB, encoding="utf-8")
    app = load_app(tmp_path)
    assert app.src_path is None and app.problem and "expands to more than" in app.problem


def test_a_refused_long_value_is_shown_cut_with_its_length(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("description: " + "x" * 300_000 + "\n", encoding="utf-8")
    options = ["--preset", "rag-cpu-qdrant", "--defaults", "--answers-file", str(answers)]
    result = CliRunner().invoke(cli, ["new", str(tmp_path / "app"), *options])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and len(errors[0]) < 300, errors
    assert "... (300,000 characters) (from" in errors[0], errors[0]  # the value's length, not its repr's
