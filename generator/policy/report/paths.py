"""How reports name files: relative to the working directory (or, for SARIF, the repository root)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path


def shown(file: str) -> str:
    """A path relative to the working directory when the file is below it, else absolute."""
    try:
        relative = os.path.relpath(file)
    except ValueError:
        return file
    return file if relative.startswith("..") else relative


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
