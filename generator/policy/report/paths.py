"""How reports name files: relative to the working directory (or, for SARIF, the repository root)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from generator.policy.paths import shown

__all__ = ["repository_root", "repository_uri", "shown"]


@cache
def repository_root() -> Path:
    """The nearest directory at or above the working directory that holds `.git` (else the cwd)."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def repository_uri(file: str) -> tuple[str, bool]:
    """(uri, relative): a POSIX path relative to the repository root, or a file:// URI outside it."""
    path = Path(file).absolute()
    try:
        return path.relative_to(repository_root()).as_posix(), True
    except ValueError:
        return path.as_uri(), False
