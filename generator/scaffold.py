"""Writing a new app safely: read the template version that will be rendered, render it with Copier into a
temporary directory, then move it into place.

The questions come from the copier.yml of the very template source and version that Copier renders (a
release tag of this checkout, a --vcs-ref, another repository), never from a different copy. A failed or
interrupted render leaves nothing behind, the file list shown before the confirmation is the real rendered
tree (never a hand-kept list), and a dry run is the same render thrown away.
"""

from __future__ import annotations

import fnmatch
import io
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import AiappError, UsageError
from generator.questions import Question, is_asked, load_copier_yml, parse_copier_yml
from generator.template_source import copier_yml_path, is_url, latest_release_tag

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


# ---------------------------------------------------------------------------------------------------------
# The template version that will be rendered
# ---------------------------------------------------------------------------------------------------------
CONFIG_NAMES = ("copier.yml", "copier.yaml")
GIT_TIMEOUT = 120
# Copier's aliases for hosted repositories (copier/_vcs.py), so that the same URL is read as rendered.
_ALIASES = (("gh:", "https://github.com"), ("gl:", "https://gitlab.com"))


@dataclass(frozen=True)
class TemplateVersion:
    """The copier.yml of the template version Copier will render, and the ref to hand to Copier."""

    src: str
    ref: str | None
    config: dict[str, Any]
    notes: tuple[str, ...] = ()
    bundled: bool = False

    @property
    def where(self) -> str:
        """`SRC at REF`, for messages."""
        if self.bundled:
            return f"the bundled template {copier_yml_path().parent}"
        return f"{self.src} at {self.ref}" if self.ref else self.src


class _Unreachable(Exception):
    """The template source cannot be read (offline, no such path, no git): use the bundled copy."""


def _git(cwd: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    """git, never prompting for credentials (a remote that needs them is read as unreachable)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise _Unreachable(f"git {args[0]} failed: {error}") from None


def _why(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"git exited with {result.returncode}"


def _checked_ref(ref: str) -> str:
    if not ref.strip() or ref.startswith("-") or any(char.isspace() for char in ref):
        raise UsageError(f"--vcs-ref {ref!r} is not a tag, branch or commit name")
    return ref


def _no_tag_note(src: str) -> str:
    return f"the template {src} has no release tag: rendering HEAD"


def _show(repo: Path, refs: Sequence[str]) -> str | None:
    """The text of copier.yml (or copier.yaml) at the first of `refs` that has one."""
    for ref in refs:
        for name in CONFIG_NAMES:
            result = _git(repo, "cat-file", "blob", f"{ref}:{name}")
            if result.returncode == 0:
                return result.stdout
    return None


def _resolves(repo: Path, refs: Sequence[str]) -> bool:
    return any(
        _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0 for ref in refs
    )


def _read_local(root: Path, vcs_ref: str | None) -> tuple[str, str, list[str]]:
    """(ref, copier.yml text, notes) of a local git repository, exactly as Copier would check it out."""
    if not root.is_dir():
        raise _Unreachable(f"{root} is not a directory")
    notes: list[str] = []
    ref = vcs_ref
    if ref is None:
        listed = _git(root, "tag", "--list")
        if listed.returncode != 0:
            raise _Unreachable(_why(listed))
        ref = latest_release_tag(listed.stdout.split())
        if ref is None:
            ref = "HEAD"
            notes.append(_no_tag_note(str(root)))
    if ref == "HEAD" and (root / ".git").exists():
        # Copier renders a local HEAD with its uncommitted changes: the files as they are now.
        for name in CONFIG_NAMES:
            if (root / name).is_file():
                return ref, (root / name).read_text(encoding="utf-8"), notes
        raise _Unreachable(f"{root} has no copier.yml")
    # A branch that exists only as a remote-tracking branch resolves like `git checkout` does (Copier too).
    refs = [ref, f"refs/remotes/origin/{ref}"]
    text = _show(root, refs)
    if text is not None:
        return ref, text, notes
    if not _resolves(root, refs):
        raise UsageError(
            f"the template version {ref!r} does not exist in {root}",
            hint=f"pass a tag, branch or commit of the template to --vcs-ref (`git -C {root} tag` lists the "
            "releases)",
        )
    raise _Unreachable(f"{root} has no copier.yml at {ref}")


def expand_url(url: str) -> str:
    """A template URL as git understands it (Copier's gh:/gl: aliases and git+ prefix expanded)."""
    for alias, base in _ALIASES:
        if url.startswith(alias):
            path = url[len(alias) :].lstrip("/")
            return f"{base}/{path}" if path.endswith(".git") else f"{base}/{path}.git"
    return url.removeprefix("git+")


def _read_remote(src: str, vcs_ref: str | None) -> tuple[str, str, list[str]]:
    """(ref, copier.yml text, notes) of a git URL: the latest tag from ls-remote, then a shallow fetch."""
    url = expand_url(src)
    if url.startswith("-"):
        raise _Unreachable(f"{src} is not a git URL")
    notes: list[str] = []
    ref = vcs_ref
    if ref is None:
        listed = _git(None, "ls-remote", "--tags", "--refs", "--", url)
        if listed.returncode != 0:
            raise _Unreachable(_why(listed))
        lines = [line for line in listed.stdout.splitlines() if "\t" in line]
        ref = latest_release_tag(line.split("\t", 1)[1].removeprefix("refs/tags/") for line in lines)
        if ref is None:
            ref = "HEAD"
            notes.append(_no_tag_note(src))
    with tempfile.TemporaryDirectory(prefix="aiapp-template-") as holder:
        repo = Path(holder)
        if _git(repo, "init", "--quiet", "--bare").returncode != 0:
            raise _Unreachable("git init failed")
        shallow = _git(repo, "fetch", "--quiet", "--depth=1", "--no-tags", url, ref)
        if shallow.returncode == 0:
            text = _show(repo, ["FETCH_HEAD"])
            if text is None:
                raise _Unreachable(f"{src} has no copier.yml at {ref}")
            return ref, text, notes
        # A commit the server will not send by itself (an abbreviated hash): fetch the branches and tags.
        full = _git(
            repo, "fetch", "--quiet", "--filter=blob:none", url,
            "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*",
        )  # fmt: skip
        if full.returncode != 0:
            raise _Unreachable(_why(full))
        refs = [ref, f"refs/remotes/origin/{ref}"]
        text = _show(repo, refs)
        if text is not None:
            return ref, text, notes
        if not _resolves(repo, refs):
            raise UsageError(
                f"the template version {ref!r} does not exist in {src}",
                hint="pass a tag, branch or commit of the template to --vcs-ref",
            )
        raise _Unreachable(f"{src} has no copier.yml at {ref}")


def read_template(src: str, vcs_ref: str | None) -> TemplateVersion:
    """The copier.yml of `src` at the version Copier will render: `vcs_ref`, else the latest release tag
    (else HEAD with its uncommitted changes, for a local checkout without tags).

    The returned `ref` is handed to Copier, so that both read the same version. When the source cannot be
    read (offline, git missing), the bundled copier.yml is used with a note, and Copier picks the version.
    """
    if vcs_ref is not None:
        vcs_ref = _checked_ref(vcs_ref)
    try:
        ref, text, notes = _read_remote(src, vcs_ref) if is_url(src) else _read_local(Path(src), vcs_ref)
    except _Unreachable as error:
        return TemplateVersion(
            src=src,
            ref=vcs_ref,
            config=load_copier_yml(),
            notes=(
                f"cannot read copier.yml of {src} at {vcs_ref or 'its latest tag'} ({error}): the questions "
                f"come from the bundled template {copier_yml_path().parent}, which may differ from the "
                "version Copier renders",
            ),
            bundled=True,
        )
    try:
        config = parse_copier_yml(text, f"copier.yml of {src} at {ref}")
    except Exception as error:  # a YAML error of any kind: Copier could not render this version either
        raise RenderError(
            f"the copier.yml of {src} at {ref} cannot be read: {' '.join(str(error).split())}",
            hint="nothing was written; choose another --vcs-ref or --template",
        ) from None
    return TemplateVersion(src=src, ref=ref, config=config, notes=tuple(notes))


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


def install(stage: Staged, dest: Path, config: Mapping[str, Any] | None = None) -> list[str]:
    """Move the rendered files into `dest`; the files kept because the engineer owns them."""
    if not dest.exists() or (dest.is_dir() and not any(dest.iterdir())):
        if dest.exists():
            dest.rmdir()
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(stage.root), str(dest))
        return []
    kept = []
    owned = skip_if_exists(config)
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
    from generator.kustomization import entry_for, find, listed_in

    parent = dest.resolve().parent
    kustomization = find(parent)
    lines = ["Next steps:"]
    if registered:
        lines.append(f"  1. {registered}")
    elif listed_in(dest):
        lines.append(f"  1. {kustomization} already lists {dest.resolve().name}: nothing to add.")
    elif kustomization:
        entry = entry_for(kustomization.read_text(encoding="utf-8"), dest.resolve().name)
        lines.append(
            f"  1. Add `- {entry}` to the resources of {kustomization} "
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
