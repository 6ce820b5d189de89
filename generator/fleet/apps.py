"""The generated apps of a GitOps repository: finding them, their template version, their state.

An app is a directory with a `.copier-answers.yml` (Copier's answers file). Its `_src_path` says where
the template lives and `_commit` which version rendered it. `aiapp status` compares that version with the
template's latest release; `aiapp update` (fleet_update.py) moves apps forward.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from generator.errors import AiappError, UsageError
from generator.fleet.git import TemplateRepos, git, template_repos
from generator.reader.files import read_bytes

ANSWERS_FILE = ".copier-answers.yml"
# Directories never searched for apps: VCS metadata and dependency trees.
SKIPPED_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv"}
# Copier's inline conflict markers start with these; a `.rej` file is the other conflict mode.
# A file Copier merged is a manifest of a few KB; a larger one is not scanned for markers.
MAX_SCANNED_BYTES = 16 * 1024 * 1024
CONFLICT_MARKERS = (b"<<<<<<< ", b">>>>>>> ")
MAX_LISTED = 3


@dataclass(frozen=True)
class App:
    """A generated app: its directory and what its answers file says about the template."""

    path: Path
    src_path: str | None
    commit: str | None
    problem: str | None = None  # why it cannot be updated at all (unreadable answers, no _src_path ...)
    # The cluster facts the app recorded (the `cluster` answer); None when it recorded none.
    cluster: Any = None

    @property
    def label(self) -> str:
        """The path shown in reports: relative to the current directory when below it."""
        return display_path(self.path)


def display_path(path: Path) -> str:
    """`path` relative to the current directory when it is below it, else absolute."""
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return str(path)


def find_apps(paths: Sequence[Path]) -> list[App]:
    """Every app at or below `paths`, sorted by path, each once.

    The search goes on inside an app, so that an app nested in another one (rendered into a subdirectory
    of it) is updated and reported too; it skips hidden and dependency directories. A path that does not
    exist is a UsageError; no app at all is an AiappError, so a CI job pointed at the wrong directory
    fails instead of passing with nothing checked.
    """
    found: dict[Path, App] = {}
    for path in paths or [Path(".")]:
        if not path.exists():
            raise UsageError(f"{path} does not exist")
        for directory in _app_dirs(path.resolve()):
            found.setdefault(directory, load_app(directory))
    if not found:
        where = ", ".join(str(path) for path in paths) or "."
        raise AiappError(
            f"no generated app found under {where}",
            hint=f"an app is a directory with a {ANSWERS_FILE} written by `aiapp new` or `copier copy`",
        )
    return [found[key] for key in sorted(found)]


def _app_dirs(root: Path) -> Iterable[Path]:
    if root.is_file():
        if root.name == ANSWERS_FILE:
            yield root.parent
        return
    for directory, subdirs, files in os.walk(root):
        if ANSWERS_FILE in files:
            yield Path(directory)
        subdirs[:] = sorted(name for name in subdirs if name not in SKIPPED_DIRS and not name.startswith("."))


def load_app(directory: Path) -> App:
    """The app in `directory`, with `problem` set when its answers file cannot drive an update."""
    from generator.template.answers import load_yaml_mapping

    try:
        answers: dict[str, Any] = load_yaml_mapping(directory / ANSWERS_FILE, "the answers file")
    except UsageError as error:
        return App(directory, None, None, problem=error.message)
    src = answers.get("_src_path")
    commit = answers.get("_commit")
    src = str(src) if src else None
    commit = str(commit) if commit else None
    if src is None:
        return App(
            directory, None, commit, problem=f"{ANSWERS_FILE} has no _src_path: the template is unknown"
        )
    if commit is None:
        return App(
            directory,
            src,
            None,
            problem=f"{ANSWERS_FILE} has no _commit: it was rendered from a template that is not a git "
            "repository, so there is no version to update from",
        )
    return App(directory, src, commit, cluster=answers.get("cluster"))


def conflict_files(app_dir: Path) -> list[str]:
    """Files of the app holding conflict markers, or `.rej` rejects, relative to the app, sorted."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(app_dir):
        subdirs[:] = [name for name in subdirs if name != ".git"]
        for name in files:
            path = Path(directory, name)
            relative = path.relative_to(app_dir).as_posix()
            if name.endswith(".rej") or _has_markers(path):
                found.append(relative)
    return sorted(found)


def unmerged_files(app_dir: Path) -> list[str]:
    """Files of the app git holds as unmerged (Copier's record of a conflict), relative to the app.

    Empty when the app is not in a git repository.
    """
    out = git("ls-files", "--unmerged", "-z", "--", ".", cwd=app_dir, check=False)
    return sorted({entry.split("\t", 1)[1] for entry in out.split("\0") if "\t" in entry})


def unresolved_conflicts(app_dir: Path) -> list[str]:
    """What is left of an update's conflicts: files with markers, `.rej` files and unmerged files."""
    return sorted({*conflict_files(app_dir), *unmerged_files(app_dir)})


def _has_markers(path: Path) -> bool:
    """Conflict markers at the start of a line of a regular file (read bounded: a FIFO left in an app
    would block, a symlink to /dev/zero would be read forever; neither holds a conflict Copier wrote)."""
    try:
        data = read_bytes(path, MAX_SCANNED_BYTES)
    except OSError:
        return False
    return any(line.startswith(CONFLICT_MARKERS) for line in data.splitlines())


def short_list(items: Sequence[str]) -> str:
    """`a, b, c` or `a, b, c and 4 more`: report lines stay one line."""
    if len(items) <= MAX_LISTED:
        return ", ".join(items)
    return f"{', '.join(items[:MAX_LISTED])} and {len(items) - MAX_LISTED} more"


def uncommitted_files(app_dir: Path) -> list[str]:
    """Files of the app with uncommitted changes (untracked included), relative to the app."""
    prefix = git("rev-parse", "--show-prefix", cwd=app_dir).strip()
    out = git("status", "--porcelain", "-z", "--untracked-files=all", "--", ".", cwd=app_dir)
    files: list[str] = []
    entries = iter(out.split("\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        if entry[0] in "RC":
            next(entries, None)  # the rename's source path follows
        files.append(entry[3:].removeprefix(prefix))
    return sorted(set(files))


class State(StrEnum):
    """Where an app stands against the template's latest release (and the cluster profile)."""

    CURRENT = "current"
    DRIFT = "drift"  # at the latest release, but rendered with other cluster facts than the profile's
    BEHIND = "behind"
    AHEAD = "ahead"  # updated to a commit after the latest release (e.g. --vcs-ref main)
    CONFLICTS = "conflicts"
    UNKNOWN = "unknown"  # the template or the app's version cannot be found

    @property
    def fails_check(self) -> bool:
        """`aiapp status --check` fails on these."""
        return self in {State.BEHIND, State.CONFLICTS, State.UNKNOWN, State.DRIFT}


@dataclass(frozen=True)
class AppStatus:
    """One row of `aiapp status`."""

    app: App
    version: str
    latest: str
    state: State
    conflicts: tuple[str, ...] = ()
    detail: str = ""
    drift: tuple[str, ...] = ()  # `key.path: recorded -> profile` of every cluster fact that differs

    def as_json(self) -> dict[str, Any]:
        """The row for `--format json`."""
        return {
            "path": self.app.label,
            "template": self.app.src_path,
            "version": self.version or None,
            "latest": self.latest or None,
            "state": self.state.value,
            "conflicts": list(self.conflicts),
            "detail": self.detail or None,
            "cluster_drift": list(self.drift),
        }


def cluster_drift(app: App) -> tuple[list[str], bool]:
    """The cluster facts the app recorded that differ from its repository's profile, and whether the
    repository has a profile at all (without one, the defaults are compared and `aiapp update` leaves
    the app's own facts alone)."""
    from generator.cluster.facts import profile_for_directory
    from generator.cluster.profile import differences

    profile = profile_for_directory(app.path)
    return differences(app.cluster, profile.facts), profile.file is not None


def app_status(app: App, repos: TemplateRepos) -> AppStatus:
    """The state of one app; never raises for a problem of that app (it becomes `unknown`)."""
    row = _version_status(app, repos)
    if row.state is State.UNKNOWN:
        return row
    drift, profiled = cluster_drift(app)
    if not drift:
        return row
    shown = "; ".join(drift[:MAX_LISTED]) + ("; ..." if len(drift) > MAX_LISTED else "")
    if not profiled:
        note = f"own cluster facts, no profile: {shown}"
        return replace(row, detail="; ".join(filter(None, [row.detail, note])), drift=tuple(drift))
    note = f"cluster facts differ from the profile: {shown}"
    state = State.DRIFT if row.state is State.CURRENT else row.state
    return replace(row, state=state, detail="; ".join(filter(None, [row.detail, note])), drift=tuple(drift))


def _version_status(app: App, repos: TemplateRepos) -> AppStatus:
    """The state of one app's template version."""
    version = app.commit or ""
    conflicts = tuple(unresolved_conflicts(app.path))
    if app.problem or app.src_path is None or app.commit is None:
        return AppStatus(app, version, "", State.UNKNOWN, conflicts, app.problem or "")
    try:
        repo = repos.get(app.src_path)
        target = repo.target(None)
    except AiappError as error:
        return AppStatus(app, version, "", State.UNKNOWN, conflicts, error.message)
    if conflicts:
        return AppStatus(
            app,
            version,
            target.describe,
            State.CONFLICTS,
            conflicts,
            short_list(conflicts),
        )
    commit = repo.resolve(app.commit)
    if commit is None:
        return AppStatus(
            app,
            version,
            target.describe,
            State.UNKNOWN,
            (),
            f"version {app.commit} is not in the template {app.src_path}",
        )
    if commit == target.commit:
        return AppStatus(app, version, target.describe, State.CURRENT)
    if repo.is_ancestor(target.commit, commit):
        return AppStatus(app, version, target.describe, State.AHEAD)
    return AppStatus(app, version, target.describe, State.BEHIND)


def fleet_status(paths: Sequence[Path]) -> list[AppStatus]:
    """The status of every app under `paths` (each template source read once)."""
    apps = find_apps(paths)
    with template_repos() as repos:
        return [app_status(app, repos) for app in apps]
