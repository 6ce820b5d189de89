"""Writing a new app safely: render it with Copier into a temporary directory, then move it into place.

A failed or interrupted render leaves nothing behind, the file list shown before the confirmation is the
real rendered tree (never a hand-kept list), and a dry run is the same render thrown away.
"""

from __future__ import annotations

import fnmatch
import io
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import AiappError, RenderError, UsageError
from generator.runtime.interrupts import held, hold_for_tests
from generator.template.questions import load_copier_yml

STAGING_PREFIX = ".aiapp-new-"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Staged:
    """A rendered app waiting in a temporary directory."""

    root: Path
    files: list[str]
    warnings: list[str] = field(default_factory=list)


def check_destination(dest: Path, force: bool) -> None:
    """Refuse a file, a symbolic link, or a non-empty directory without --force (or with a symlinked
    directory inside, which --force would write through, outside DEST), before anything is asked."""
    try:
        _check_destination(dest, force)
    except OSError as error:  # a name too long, a permission problem: still one line
        raise UsageError(f"{dest} cannot be used: {error.strerror or error}") from None


def _check_destination(dest: Path, force: bool) -> None:
    if dest.is_symlink():
        raise UsageError(f"{dest} is a symbolic link: name the directory itself")
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a directory")
    if force and dest.is_dir():
        for root, dirs, _files in os.walk(dest):
            for name in dirs:
                if Path(root, name).is_symlink():
                    link = Path(root, name)
                    raise UsageError(
                        f"{link} is a symbolic link: --force writes only inside {dest}, never through links",
                        hint="replace the link by a directory, or choose a new destination",
                    )
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise UsageError(
            f"{dest} is not empty: refusing to write into it",
            hint="choose a new directory, or pass --force to write the template's files into it "
            "(files listed in _skip_if_exists, such as local/kustomization.yaml, are kept)",
        )


def _existing_ancestor(path: Path) -> Path:
    for candidate in [path.absolute(), *path.absolute().parents]:
        if candidate.is_dir():
            return candidate
    return Path(tempfile.gettempdir())


@contextmanager
def staged(
    src: str, data: Mapping[str, Any], *, near: Path | None = None, vcs_ref: str | None = None
) -> Iterator[Staged]:
    """Render into a temporary directory (next to `near`, so the final move is a rename); always removed."""
    parent = _existing_ancestor(near.parent) if near is not None else None
    try:
        holder = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=parent))
    except OSError as error:
        raise RenderError(f"cannot write in {parent}: {error.strerror}") from None
    try:
        root = holder / "app"
        caught = _render(root, data, src, vcs_ref)
        hold_for_tests("new", lambda: 0)
        files = sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())
        yield Staged(root=root, files=files, warnings=caught)
    finally:
        with held():  # a removal cut short would leave a half staging directory beside DEST
            shutil.rmtree(holder, ignore_errors=True)


def _render(root: Path, data: Mapping[str, Any], src: str, vcs_ref: str | None) -> list[str]:
    """Copier's render; its warnings and messages become one line each, its failures one RenderError.

    Copier prints some notes straight to stderr ("No git tags found"): they are collected and shown
    after a successful render, so that a failure is reported on exactly one line.
    """
    from generator.template.render import render_app

    chatter = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, redirect_stderr(chatter):
        warnings.simplefilter("always")
        try:
            render_app(root, data, src=src, vcs_ref=vcs_ref)
        except (KeyboardInterrupt, AiappError):
            raise
        except Exception as error:
            message = " ".join(str(error).split()) or type(error).__name__
            raise RenderError(
                f"Copier could not render the template from {src}: {message}",
                hint="nothing was written; check --template / $AIAPP_TEMPLATE",
            ) from None
    seen: list[str] = []
    texts = [str(warning.message) for warning in caught] + chatter.getvalue().splitlines()
    for raw in texts:
        text = " ".join(_ANSI.sub("", raw).split())
        if text and text not in seen:
            seen.append(text)
    return seen


def skip_if_exists(config: Mapping[str, Any] | None = None) -> list[str]:
    """copier.yml's `_skip_if_exists` (of `config`, default the bundled copy): files the engineer owns."""
    value = (load_copier_yml() if config is None else config).get("_skip_if_exists") or []
    return [str(pattern) for pattern in value]


def _owned(relative: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)


def plan(stage: Staged, dest: Path, config: Mapping[str, Any] | None = None) -> list[str]:
    """The file list as shown before writing: replaced and kept files marked (only with --force)."""
    owned = skip_if_exists(config)
    lines = []
    for relative in stage.files:
        target = dest / relative
        if not target.exists():
            lines.append(f"  {relative}")
        elif _owned(relative, owned):
            lines.append(f"  {relative}  (exists: kept, yours)")
        else:
            lines.append(f"  {relative}  (exists: replaced)")
    return lines


def check_entry_types(stage: Staged, dest: Path) -> None:
    """With --force: refuse, before anything is written, a DEST entry of the wrong type where a rendered
    file goes (a directory named deployment.yaml, a file named local/): the rename would fail half-way."""
    for relative in stage.files:
        target = dest / relative
        for parent in reversed(target.relative_to(dest).parents[:-1]):
            entry = dest / parent
            if entry.exists() and not entry.is_dir():
                raise UsageError(
                    f"{entry} is a file, but the template writes {relative} inside it (nothing was written)",
                    hint="move it away, or choose a new destination",
                )
        if target.is_dir() and not target.is_symlink():
            raise UsageError(
                f"{target} is a directory, but the template writes a file there (nothing was written)",
                hint="move it away, or choose a new destination",
            )


def install(stage: Staged, dest: Path, config: Mapping[str, Any] | None = None) -> list[str]:
    """Move the rendered files into `dest`; the files kept because the engineer owns them."""
    if not dest.exists() or (dest.is_dir() and not any(dest.iterdir())):
        if dest.exists():
            dest.rmdir()
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(stage.root), str(dest))
        return []
    check_destination(dest, force=True)  # again, just before writing: no link appeared meanwhile
    check_entry_types(stage, dest)
    kept = []
    owned = skip_if_exists(config)
    for relative in stage.files:
        target = dest / relative
        if target.exists() and _owned(relative, owned):
            kept.append(relative)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        # A rename replaces a symbolic link at `target` itself, never the file it points to.
        os.replace(stage.root / relative, target)
    return kept
