"""Git for `aiapp update` / `aiapp status`: run git, and reach each template source once per run.

A template source is fetched at most once per run: a local repository is read in place, a remote one is
mirrored into a temporary directory. `TemplateRepos.git_config()` then redirects the remote URL to that
mirror (git's `url.<mirror>.insteadOf`, passed through GIT_CONFIG_* environment variables), so Copier's
own clones of old and new template versions for every app read the mirror, while the `_src_path` that
Copier records stays the real URL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import AiappError

if TYPE_CHECKING:
    from packaging.version import Version


class GitError(AiappError):
    """A git command failed; the message is git's own last line."""


def git(*args: str, cwd: Path | None = None, check: bool = True, input: str | None = None) -> str:
    """Run git and return its stdout; a GitError with git's message when it fails and `check` is set."""
    try:
        process = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise AiappError("git is not installed", hint="install git (2.24 or newer)") from None
    if check and process.returncode:
        lines = [line for line in process.stderr.splitlines() if line.strip()]
        raise GitError(lines[-1].removeprefix("fatal: ") if lines else f"git {args[0]} failed")
    return process.stdout


def git_ok(*args: str, cwd: Path | None = None) -> bool:
    """Whether a git command succeeds (for yes/no questions such as `merge-base --is-ancestor`)."""
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False).returncode == 0
    except FileNotFoundError:
        raise AiappError("git is not installed", hint="install git (2.24 or newer)") from None


_ALIASES = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}
_GIT_PREFIXES = ("git@", "git://", "git+", "https://github.com/", "https://gitlab.com/")


def expand_url(src: str) -> str | None:
    """The URL git fetches for a Copier `_src_path`; None when Copier would not see a git template.

    The rules of Copier's `get_repo` (gh:/gl: aliases, `git+` prefix, `.git` suffix, a local repository
    root), re-stated here so that `aiapp status` does not import Copier; a test keeps them in step.
    """
    url = src
    for alias, base in _ALIASES.items():
        if url.startswith(alias):
            rest = url.removeprefix(alias).lstrip("/")
            url = base + rest + ("" if rest.endswith(".git") else ".git")
    if url.endswith(".git") or url.startswith(_GIT_PREFIXES):
        if url.startswith("git+"):
            return url.removeprefix("git+")
        if url.startswith("https://") and not url.endswith(".git"):
            return f"{url}.git"
        return url
    path = Path(url).expanduser()
    if path.is_dir() and git_ok("rev-parse", "--is-inside-work-tree", cwd=path):
        top = git("rev-parse", "--show-toplevel", cwd=path).strip()
        if Path(top).resolve() == path.resolve():
            return path.as_posix()
    return None


@dataclass(frozen=True)
class Target:
    """The version apps are updated to: the ref given to Copier, its commit, and Copier's name for it."""

    ref: str
    commit: str
    describe: str


@dataclass
class TemplateRepo:
    """One template source, readable with git: its tags, commits and ancestry."""

    src: str
    git_dir: Path
    fetch_url: str | None = None  # set for a remote source, mirrored into git_dir
    _resolved: dict[str, str | None] = field(default_factory=dict)
    _targets: dict[str | None, Target] = field(default_factory=dict)
    _configs: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def resolve(self, ref: str) -> str | None:
        """The commit of a tag, branch, hash or `git describe` string (Copier's `_commit`), or None."""
        if ref not in self._resolved:
            out = git(
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                f"{ref}^{{commit}}",
                cwd=self.git_dir,
                check=False,
            ).strip()
            self._resolved[ref] = out or None
        return self._resolved[ref]

    def latest_tag(self) -> str | None:
        """The highest PEP 440 release tag (no pre-releases), as Copier picks it; None without tags."""
        from generator.template.source import latest_release_tag

        return latest_release_tag(git("tag", "--list", cwd=self.git_dir).split())

    def target(self, ref: str | None) -> Target:
        """The version to update to: `ref`, or the latest release tag (HEAD when there is no tag)."""
        if ref not in self._targets:
            name = ref or self.latest_tag() or "HEAD"
            commit = self.resolve(name)
            if commit is None:
                raise AiappError(f"the template {self.src} has no version {name!r}")
            describe = git("describe", "--tags", "--always", commit, cwd=self.git_dir).strip()
            self._targets[ref] = Target(ref=name, commit=commit, describe=describe)
        return self._targets[ref]

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Whether commit `older` is in the history of `newer`."""
        return git_ok("merge-base", "--is-ancestor", older, newer, cwd=self.git_dir)

    def config(self, commit: str) -> dict[str, Any] | None:
        """The template's copier.yml at `commit` with the files it includes, parsed as Copier parses it;
        None when it is missing or cannot be read (callers then leave the decision to Copier)."""
        if commit not in self._configs:
            self._configs[commit] = self._load_config(commit)
        return self._configs[commit]

    def _load_config(self, commit: str) -> dict[str, Any] | None:
        import yaml

        from generator.template.questions import IncludeReader, parse_copier_yml, tree_includes

        def blob(path: str) -> str | None:
            return git("show", f"{commit}:{path}", cwd=self.git_dir, check=False) or None

        readers: list[IncludeReader] = []

        def include(pattern: str) -> list[str]:
            if not readers:  # the tree is listed once, and only for a copier.yml that includes files
                listed = git("ls-tree", "-r", "--name-only", "-z", commit, cwd=self.git_dir, check=False)
                readers.append(tree_includes(listed.split("\0"), blob))
            return readers[0](pattern)

        for name in ("copier.yml", "copier.yaml"):
            text = blob(name)
            if not text:
                continue
            try:
                return parse_copier_yml(text, name, include)
            except (ValueError, yaml.YAMLError):
                return None
        return None

    def version(self, commit: str) -> Version | None:
        """The PEP 440 version Copier gives the template at `commit` (None when it has no tag).

        `git describe --tags`: `v0.2.0` is 0.2.0, `v0.2.0-3-gabc1234` is 0.2.0.post3.dev0+abc1234 (the
        form Copier gets from dunamai); only a tag that is itself a version counts.
        """
        from packaging.version import InvalidVersion, Version

        described = git("describe", "--tags", "--long", commit, cwd=self.git_dir, check=False).strip()
        match = re.fullmatch(r"(?P<tag>.+)-(?P<count>\d+)-g(?P<hash>[0-9a-f]+)", described)
        if match is None:
            return None
        count = int(match["count"])
        try:
            base = Version(match["tag"])
        except InvalidVersion:
            return None
        if not count:
            return base
        return Version(f"{base.public}.post{count}.dev0+{match['hash']}")


class TemplateRepos:
    """The template sources of one run, each opened once (and mirrored once when remote)."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._repos: dict[str, TemplateRepo | AiappError] = {}

    def get(self, src: str) -> TemplateRepo:
        """The repository of a `_src_path`; an AiappError saying why it cannot be reached."""
        if src not in self._repos:
            try:
                self._repos[src] = self._open(src)
            except AiappError as error:
                self._repos[src] = error
        repo = self._repos[src]
        if isinstance(repo, AiappError):
            raise repo
        return repo

    def _open(self, src: str) -> TemplateRepo:
        url = expand_url(src)
        if url is None:
            if not Path(src).expanduser().exists():
                raise AiappError(f"the template {src} does not exist")
            raise AiappError(f"the template {src} is not a git repository")
        local = Path(url).expanduser()
        if local.is_dir():
            return TemplateRepo(src=src, git_dir=local)
        mirror = self._workdir / f"template-{len(self._repos)}.git"
        try:
            git("clone", "--mirror", "--quiet", "--", url, str(mirror))
        except GitError as error:
            raise AiappError(f"the template {src} cannot be fetched: {error.message}") from None
        return TemplateRepo(src=src, git_dir=mirror, fetch_url=url)

    def git_config(self) -> list[tuple[str, str]]:
        """`url.<mirror>.insteadOf <url>` for every mirrored source: Copier's fetches read the mirror."""
        pairs: list[tuple[str, str]] = []
        for repo in self._repos.values():
            if isinstance(repo, TemplateRepo) and repo.fetch_url:
                pairs.append((f"url.{repo.git_dir}.insteadOf", repo.fetch_url))
        return pairs


@contextmanager
def template_repos() -> Iterator[TemplateRepos]:
    """TemplateRepos whose mirrors live in a temporary directory removed at the end."""
    workdir = Path(tempfile.mkdtemp(prefix="aiapp-templates-"))
    try:
        yield TemplateRepos(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def git_config_env(pairs: Sequence[tuple[str, str]]) -> Iterator[None]:
    """Extra git configuration for every git process started inside, Copier's included.

    GIT_CONFIG_COUNT/KEY/VALUE (git ≥ 2.31) are appended to any the caller already set. Copier runs git
    through plumbum, which copies the environment when it is imported, so its copy is changed too.
    """
    if not pairs:
        yield
        return
    start = int(os.environ.get("GIT_CONFIG_COUNT", "0") or "0")
    extra = {"GIT_CONFIG_COUNT": str(start + len(pairs))}
    for index, (key, value) in enumerate(pairs, start):
        extra[f"GIT_CONFIG_KEY_{index}"] = key
        extra[f"GIT_CONFIG_VALUE_{index}"] = value
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        from plumbum import local

        with local.env(**extra):
            yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
