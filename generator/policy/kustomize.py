"""Kustomize: find the tool, build a directory, and map built objects back to their source files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from generator.policy.k8s import mapping, sequence
from generator.policy.model import Origin

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
BUILD_TIMEOUT_SECONDS = 300
_KUBECTL_ERROR = re.compile(r'err="(?P<message>(?:[^"\\]|\\.)*)"')


def kustomization_file(directory: Path) -> Path | None:
    """The kustomization file of a directory, if it has one."""
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


@cache
def tool() -> tuple[str, ...] | None:
    """The build command: `kustomize build` when installed, else `kubectl kustomize`, else None."""
    if shutil.which("kustomize"):
        return ("kustomize", "build")
    if shutil.which("kubectl"):
        return ("kubectl", "kustomize")
    return None


@dataclass(frozen=True)
class BuildResult:
    """The YAML stream a build printed, or the error it failed with."""

    output: str
    error: str | None


def build(directory: Path) -> BuildResult:
    """Run the build; never raises for a failing build or a missing tool."""
    command = tool()
    if command is None:
        return BuildResult("", "neither `kustomize` nor `kubectl` is on PATH")
    try:
        result = subprocess.run(
            [*command, str(directory)],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            check=False,
            env={**os.environ, "KUBECTL_COMMAND_HEADERS": "false"},
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return BuildResult("", f"`{' '.join(command)}` could not run: {error}")
    if result.returncode != 0:
        message = _error_line(result.stderr) or f"exit code {result.returncode}"
        return BuildResult("", message.replace(f"{directory}/", "").replace(str(directory), "."))
    return BuildResult(result.stdout, None)


def _error_line(stderr: str) -> str:
    """The useful part of kustomize's stderr (kubectl wraps it in a klog line with err="...")."""
    match = _KUBECTL_ERROR.search(stderr)
    if match:
        return match.group("message").replace('\\"', '"')
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1].removeprefix("Error: ") if lines else ""


def _local(entry: Any) -> bool:
    return isinstance(entry, str) and "://" not in entry and not entry.startswith(("git@", "github.com/"))


def source_files(directory: Path, seen: set[Path] | None = None) -> list[Path]:
    """The local manifest files a kustomization includes (resources, bases, components), recursively."""
    seen = set() if seen is None else seen
    directory = directory.resolve()
    if directory in seen:
        return []
    seen.add(directory)
    kfile = kustomization_file(directory)
    if kfile is None:
        return []
    try:
        data = yaml.safe_load(kfile.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    files: list[Path] = []
    for field in ("resources", "bases", "components"):
        for entry in sequence(mapping(data).get(field)):
            if not _local(entry):
                continue
            target = (directory / entry).resolve()
            if target.is_dir():
                files.extend(source_files(target, seen))
            elif target.is_file():
                files.append(target)
    return files


class SourceIndex:
    """Finds the source document of a built object by kind and name (name prefixes and suffixes allowed)."""

    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], Origin] = {}
        self._by_kind: dict[str, list[tuple[str, Origin]]] = {}

    def add(self, kind: str, name: str, origin: Origin) -> None:
        self._exact.setdefault((kind, name), origin)
        self._by_kind.setdefault(kind, []).append((name, origin))

    def find(self, kind: str, name: str) -> Origin | None:
        exact = self._exact.get((kind, name))
        if exact is not None:
            return exact
        candidates = [
            (len(source), origin) for source, origin in self._by_kind.get(kind, []) if source in name
        ]
        return max(candidates, key=lambda item: item[0])[1] if candidates else None
