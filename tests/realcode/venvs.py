"""Where the upstream virtualenvs are, and what a test does when one is missing (skip here, fail in CI)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

from tests.conftest import in_ci

HERE = Path(__file__).resolve().parent


def missing(what: str, variable: str) -> NoReturn:
    message = f"{what} not found (set {variable}; .ci/run installs it)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def python_of(variable: str, default_glob: str, what: str) -> Path:
    """The Python of one virtualenv: $variable, else the newest /opt directory matching default_glob."""
    given = os.environ.get(variable)
    found = [Path(given)] if given else sorted(Path("/opt").glob(default_glob))
    pythons = [path / "bin" / "python" for path in found if (path / "bin" / "python").is_file()]
    if not pythons:
        missing(what, variable)
    return pythons[-1]


def vllm_pythons() -> dict[str, Path]:
    """vLLM version → Python: the virtualenvs of $AIAPP_VLLM_VENVS (":"-separated), else /opt/vllm-venv-*."""
    given = os.environ.get("AIAPP_VLLM_VENVS")
    dirs = (
        [Path(item) for item in given.split(":") if item]
        if given
        else sorted(Path("/opt").glob("vllm-venv-*"))
    )
    found: dict[str, Path] = {}
    for venv in dirs:
        python = venv / "bin" / "python"
        if not python.is_file():
            continue
        version = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('vllm'))"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout.strip()
        if version:
            found[version] = python
    return found


def image_version(image: str) -> str:
    """The release of a vllm/vllm-openai image tag: 'vllm/vllm-openai:v0.34.0' → '0.34.0'."""
    match = re.search(r":v?(\d+(?:\.\d+)+)", image)
    assert match, image
    return match.group(1)
