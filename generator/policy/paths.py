"""How files are named to people: relative to the working directory when below it, else absolute."""

from __future__ import annotations

import os


def shown(file: str) -> str:
    """A path relative to the working directory when the file is below it, else absolute."""
    try:
        relative = os.path.relpath(file)
    except ValueError:
        return file
    return file if relative.startswith("..") else relative
