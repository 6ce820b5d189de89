"""The template version that will be rendered: its copier.yml, read from the very source and ref Copier uses.

The questions come from the copier.yml of the template source and version that Copier renders (a release
tag of this checkout, a --vcs-ref, another repository), never from a different copy.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from generator.errors import RenderError, UsageError
from generator.template.questions import (
    IncludeReader,
    disk_includes,
    load_copier_yml,
    parse_copier_yml,
    tree_includes,
)
from generator.template.source import copier_yml_path, is_url, latest_release_tag

CONFIG_NAMES = ("copier.yml", "copier.yaml")
GIT_TIMEOUT = 120
# For the test suite only: render a local HEAD with its uncommitted changes, as plain Copier does (the
# app then records a commit that exists nowhere, so it can never be updated).
ENV_RENDER_UNCOMMITTED = "AIAPP_RENDER_UNCOMMITTED"
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


def _uncommitted(root: Path) -> str:
    """The first uncommitted paths of a checkout (Copier's own test: `git status --porcelain`), or ''."""
    result = _git(root, "status", "--porcelain", "--untracked-files=normal")
    paths = [line[3:] for line in result.stdout.splitlines() if len(line) > 3]
    if not paths:
        return ""
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _no_tag_note(src: str) -> str:
    return f"the template {src} has no release tag: rendering HEAD"


def _show(repo: Path, refs: Sequence[str], origin: str) -> dict[str, Any] | None:
    """copier.yml (or copier.yaml) at the first of `refs` that has one, with the files it includes at that
    same commit, parsed (RenderError when Copier could not read it either)."""
    for ref in refs:
        for name in CONFIG_NAMES:
            result = _git(repo, "cat-file", "blob", f"{ref}:{name}")
            if result.returncode == 0:
                return _parse(result.stdout, origin, partial(_tree_includes, repo, ref))
    return None


def _tree_includes(repo: Path, ref: str) -> IncludeReader:
    listed = _git(repo, "ls-tree", "-r", "--name-only", "-z", ref)
    if listed.returncode != 0:
        raise _Unreachable(_why(listed))

    def blob(path: str) -> str | None:
        shown = _git(repo, "cat-file", "blob", f"{ref}:{path}")
        return shown.stdout if shown.returncode == 0 else None

    return tree_includes(listed.stdout.split("\0"), blob)


def _parse(text: str, origin: str, includes: Callable[[], IncludeReader]) -> dict[str, Any]:
    """The parsed copier.yml; its includes are listed only when it has one (most versions have none)."""
    reader: IncludeReader | None = None

    def include(pattern: str) -> list[str]:
        nonlocal reader
        reader = reader or includes()
        return reader(pattern)

    try:
        return parse_copier_yml(text, origin, include)
    except _Unreachable:
        raise
    except Exception as error:  # a YAML error of any kind: Copier could not render this version either
        raise RenderError(
            f"the {origin} cannot be read: {' '.join(str(error).split())}",
            hint="nothing was written; choose another --vcs-ref or --template",
        ) from None


def _resolves(repo: Path, refs: Sequence[str]) -> bool:
    return any(
        _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0 for ref in refs
    )


def _read_local(root: Path, vcs_ref: str | None) -> tuple[str, dict[str, Any], list[str]]:
    """(ref, parsed copier.yml, notes) of a local git repository, exactly as Copier would check it out."""
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
        changed = _uncommitted(root)
        if changed and os.environ.get(ENV_RENDER_UNCOMMITTED) != "1":
            # Copier renders a dirty local HEAD from a commit of its own, made in a temporary copy
            # (copier/_vcs.py, clone): the app would record a version that exists nowhere and could
            # never be updated. Render the last commit instead, by its hash.
            head = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}").stdout.strip()
            if head:
                notes.append(
                    f"the template {root} has uncommitted changes ({changed}): rendering its last commit "
                    f"{head[:12]} (commit the changes to render them)"
                )
                ref = head
        if ref == "HEAD":
            # A clean checkout (or the test suite's escape hatch): the files as they are now.
            for name in CONFIG_NAMES:
                if (root / name).is_file():
                    text = (root / name).read_text(encoding="utf-8")
                    origin = f"copier.yml of {root} at HEAD"
                    return ref, _parse(text, origin, partial(disk_includes, root)), notes
            raise _Unreachable(f"{root} has no copier.yml")
    # A branch that exists only as a remote-tracking branch resolves like `git checkout` does (Copier too).
    refs = [ref, f"refs/remotes/origin/{ref}"]
    config = _show(root, refs, f"copier.yml of {root} at {ref}")
    if config is not None:
        return ref, config, notes
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


def _read_remote(src: str, vcs_ref: str | None) -> tuple[str, dict[str, Any], list[str]]:
    """(ref, parsed copier.yml, notes) of a git URL: the latest tag from ls-remote, then a shallow fetch."""
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
            config = _show(repo, ["FETCH_HEAD"], f"copier.yml of {src} at {ref}")
            if config is None:
                raise _Unreachable(f"{src} has no copier.yml at {ref}")
            return ref, config, notes
        # A commit the server will not send by itself (an abbreviated hash): fetch the branches and tags.
        full = _git(
            repo, "fetch", "--quiet", "--filter=blob:none", url,
            "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*",
        )  # fmt: skip
        if full.returncode != 0:
            raise _Unreachable(_why(full))
        refs = [ref, f"refs/remotes/origin/{ref}"]
        config = _show(repo, refs, f"copier.yml of {src} at {ref}")
        if config is not None:
            return ref, config, notes
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
        ref, config, notes = _read_remote(src, vcs_ref) if is_url(src) else _read_local(Path(src), vcs_ref)
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
    return TemplateVersion(src=src, ref=ref, config=config, notes=tuple(notes))
