"""Render an app with Copier: the only renderer of files (the wizard only gathers answers)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def render_app(
    dest: Path,
    answers: Mapping[str, Any],
    *,
    src: str,
    vcs_ref: str | None = None,
    overwrite: bool = False,
    pretend: bool = False,
) -> None:
    """Run `copier copy --defaults` of `src` into `dest` with `answers` (no prompts, no trust needed)."""
    from copier import run_copy

    run_copy(
        src_path=src,
        dst_path=dest,
        data=dict(answers),
        defaults=True,
        overwrite=overwrite,
        pretend=pretend,
        quiet=True,
        unsafe=False,
        vcs_ref=vcs_ref,
    )
