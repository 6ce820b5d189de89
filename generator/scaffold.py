"""Writing a new app safely: render with Copier into a temporary directory, then move it into place.

A failed or interrupted render leaves nothing behind, the file list shown before the confirmation is the
real rendered tree (never a hand-kept list), and a dry run is the same render thrown away.
"""

from __future__ import annotations

import fnmatch
import io
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import AiappError, UsageError
from generator.questions import Question, is_asked, load_copier_yml

STAGING_PREFIX = ".aiapp-new-"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class RenderError(AiappError):
    """Copier failed: nothing was written."""


@dataclass
class Staged:
    """A rendered app waiting in a temporary directory."""

    root: Path
    files: list[str]
    warnings: list[str] = field(default_factory=list)


def check_destination(dest: Path, force: bool) -> None:
    """Refuse a file, or a non-empty directory without --force, before anything is asked or rendered."""
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a directory")
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
        files = sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())
        yield Staged(root=root, files=files, warnings=caught)
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def _render(root: Path, data: Mapping[str, Any], src: str, vcs_ref: str | None) -> list[str]:
    """Copier's render; its warnings and messages become one line each, its failures one RenderError.

    Copier prints some notes straight to stderr ("No git tags found"): they are collected and shown
    after a successful render, so that a failure is reported on exactly one line.
    """
    from generator.render import render_app

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


def skip_if_exists() -> list[str]:
    """copier.yml's `_skip_if_exists`: files the engineer owns once they exist."""
    value = load_copier_yml().get("_skip_if_exists") or []
    return [str(pattern) for pattern in value]


def _owned(relative: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)


def plan(stage: Staged, dest: Path) -> list[str]:
    """The file list as shown before writing: replaced and kept files marked (only with --force)."""
    owned = skip_if_exists()
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


def install(stage: Staged, dest: Path) -> list[str]:
    """Move the rendered files into `dest`; the files kept because the engineer owns them."""
    if not dest.exists() or (dest.is_dir() and not any(dest.iterdir())):
        if dest.exists():
            dest.rmdir()
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(stage.root), str(dest))
        return []
    kept = []
    owned = skip_if_exists()
    for relative in stage.files:
        target = dest / relative
        if target.exists() and _owned(relative, owned):
            kept.append(relative)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(stage.root / relative), str(target))
    return kept


@dataclass(frozen=True)
class Item:
    """A Bitwarden item the app's ExternalSecret reads."""

    name: str
    purpose: str


def bitwarden_items(questions: Sequence[Question], context: Mapping[str, Any]) -> list[Item]:
    """The Bitwarden items to create, from the answers (the same conditions as the ExternalSecret)."""
    by_name = {question.name: question for question in questions}
    items: list[Item] = []

    def asked(name: str) -> bool:
        return name in by_name and is_asked(by_name[name], context)

    if asked("litellm_key_item") and context.get("litellm_key_item"):
        items.append(Item(context["litellm_key_item"], "the app's LiteLLM virtual key (LITELLM_API_KEY)"))
    if asked("model_hf_token_item") and context.get("model_hf_token_item"):
        items.append(Item(context["model_hf_token_item"], "a Hugging Face read token (HF_TOKEN)"))
    providers = context.get("providers") or {}
    for provider in context.get("direct_providers") or []:
        info = providers.get(provider, {})
        items.append(
            Item(
                str(info.get("item", provider)),
                f"the {provider} API key ({info.get('env', '?')}), for the direct-access exception",
            )
        )
    return items


def next_steps(
    dest: Path,
    questions: Sequence[Question],
    context: Mapping[str, Any],
    registered: str | None,
) -> list[str]:
    """What the engineer does after the files are written."""
    from generator.kustomization import find

    parent = dest.resolve().parent
    lines = ["Next steps:"]
    if registered:
        lines.append(f"  1. {registered}")
    elif find(parent):
        lines.append(
            f"  1. Add `- {dest.resolve().name}` to the resources of {find(parent)} "
            "(`aiapp new --register` does it when creating)."
        )
    else:
        lines.append(
            f"  1. Add {dest.resolve().name} to the kustomization that deploys it "
            f"(there is none in {parent})."
        )
    items = bitwarden_items(questions, context)
    if items:
        store = context.get("secret_store", "")
        lines.append(f"  2. Create these Bitwarden items (read through the ClusterSecretStore {store}):")
        lines += [f"       - {item.name!r}: {item.purpose}" for item in items]
    else:
        lines.append("  2. No Bitwarden items to create: the app needs no secrets.")
    lines.append(f"  3. Validate: kubectl kustomize {dest}   and   aiapp check {dest}")
    return lines
