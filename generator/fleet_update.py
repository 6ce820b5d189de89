"""`aiapp update`: move every generated app under some paths to a template version, in one process.

Per app: cheap checks first (version already current, uncommitted changes, unresolved conflicts) with
git alone, then Copier's own `run_update` in-process for the apps that need it, so the merge is exactly
Copier's (3-way, inline conflict markers) and a plain `copier update` keeps working on the same apps.
What makes it fast is in fleet_git.py (each template fetched once) and fleet_speedups.py (each template
version checked out, parsed and compiled once).

Copier marks a conflicted file as unmerged in the git index; git then refuses `write-tree`, which the
next app's update needs. So the unmerged entries of an app with conflicts are parked (staged as they
were before the update) until the run ends, then put back: the final index is what Copier left.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from generator.errors import AiappError
from generator.fleet import App, conflict_files, find_apps, load_app, short_list, uncommitted_files
from generator.fleet_git import (
    GitError,
    Target,
    TemplateRepo,
    TemplateRepos,
    git,
    git_config_env,
    template_repos,
)
from generator.template_source import ENV_TEMPLATE, SETTINGS_FILE, configured_sources, normalise_source

EXIT_INTERRUPTED = 130
TRUST_HINT = (
    f"the template runs migrations: pass --trust, or name it as the template of this GitOps repository "
    f"(`template:` in {SETTINGS_FILE}, or ${ENV_TEMPLATE}); see docs/updating.md"
)


class Outcome(StrEnum):
    """What happened to one app."""

    UPDATED = "updated"
    CURRENT = "current"
    WOULD_UPDATE = "would update"
    CONFLICTS = "conflicts"
    FAILED = "failed"


@dataclass(frozen=True)
class UpdateResult:
    """One app's line of the report."""

    app: App
    outcome: Outcome
    old: str = ""
    new: str = ""
    files: tuple[str, ...] = ()
    reason: str = ""
    hint: str = ""

    @property
    def ok(self) -> bool:
        """Updated, current or (dry run) updatable: exit code 0."""
        return self.outcome in {Outcome.UPDATED, Outcome.CURRENT, Outcome.WOULD_UPDATE}

    @property
    def line(self) -> str:
        """`PATH: updated from X to Y`, `already current`, `conflicts (files)` or `failed (why)`."""
        text = {
            Outcome.UPDATED: f"updated from {self.old} to {self.new}",
            Outcome.CURRENT: "already current",
            Outcome.WOULD_UPDATE: f"would update from {self.old} to {self.new}",
            Outcome.CONFLICTS: f"conflicts ({short_list(self.files)})",
            Outcome.FAILED: f"failed ({self.reason})",
        }[self.outcome]
        return f"{self.app.label}: {text}"


@dataclass(frozen=True)
class UpdateOptions:
    """The options of `aiapp update`."""

    vcs_ref: str | None = None
    dry_run: bool = False
    trust: bool = False


class Interrupted(AiappError):
    """Ctrl-C during an update: the app being updated was rolled back."""

    exit_code = EXIT_INTERRUPTED


@dataclass(frozen=True)
class _Plan:
    app: App
    repo: TemplateRepo
    target: Target


def update_fleet(
    paths: Sequence[Path], options: UpdateOptions, report: Callable[[UpdateResult], None]
) -> list[UpdateResult]:
    """Update every app under `paths`; `report` gets each app's result as soon as it is known."""
    apps = find_apps(paths)
    results: list[UpdateResult] = []
    with template_repos() as repos, contextlib.ExitStack() as stack:
        parked: _ParkedConflicts | None = None
        for app in apps:
            try:
                planned = _plan(app, repos, options)
            except KeyboardInterrupt:
                raise Interrupted(
                    f"interrupted before updating {app.label}",
                    hint="the apps reported above keep their updates; run aiapp update again for the rest",
                ) from None
            if isinstance(planned, _Plan):
                if parked is None:
                    from generator.fleet_speedups import copier_caches

                    stack.enter_context(copier_caches())
                    parked = stack.enter_context(_parked_conflicts())
                planned = _update(planned, repos, options, parked)
            results.append(planned)
            report(planned)
    return results


def _failed(app: App, reason: str, hint: str = "") -> UpdateResult:
    return UpdateResult(app, Outcome.FAILED, reason=reason, hint=hint)


def _plan(app: App, repos: TemplateRepos, options: UpdateOptions) -> _Plan | UpdateResult:
    """The checks that need no Copier: an UpdateResult when the app is done or cannot be updated."""
    if app.problem or app.src_path is None or app.commit is None:
        return _failed(app, app.problem or "no template recorded")
    try:
        repo = repos.get(app.src_path)
        target = repo.target(options.vcs_ref)
    except AiappError as error:
        return _failed(app, error.message, "check the template URL and that it has that version")
    commit = repo.resolve(app.commit)
    if commit is None:
        return _failed(
            app,
            f"its version {app.commit} is not in the template {app.src_path}",
            "the template history was rewritten: fix _commit in the answers file by hand",
        )
    if commit == target.commit:
        return UpdateResult(app, Outcome.CURRENT, old=app.commit, new=app.commit)
    if repo.is_ancestor(target.commit, commit):
        return _failed(app, f"it is at {app.commit}, newer than {target.describe}; Copier does not downgrade")
    try:
        dirty = uncommitted_files(app.path)
    except GitError as error:
        return _failed(
            app,
            f"not in a git repository ({error.message})",
            "Copier merges updates with git: commit the app to a git repository first",
        )
    if dirty:
        return _failed(
            app,
            f"uncommitted changes in {short_list(dirty)}",
            "commit or stash the changes of the listed apps, then run aiapp update again",
        )
    markers = conflict_files(app.path)
    if markers:
        return _failed(
            app,
            f"unresolved conflict markers in {short_list(markers)}",
            "resolve the conflicts of the last update and commit, then run aiapp update again",
        )
    if options.dry_run:
        return UpdateResult(app, Outcome.WOULD_UPDATE, old=app.commit, new=target.describe)
    return _Plan(app, repo, target)


def _update(
    plan: _Plan, repos: TemplateRepos, options: UpdateOptions, parked: _ParkedConflicts
) -> UpdateResult:
    """Copier's update of one app; on failure the app is restored to its committed state."""
    from copier import run_update

    app = plan.app
    assert app.src_path is not None and app.commit is not None
    trusted = options.trust or normalise_source(app.src_path, app.path) in configured_sources(app.path)
    top = Path(git("rev-parse", "--show-toplevel", cwd=app.path).strip())
    try:
        with _quiet(), git_config_env(repos.git_config()):
            run_update(
                str(app.path),
                defaults=True,
                overwrite=True,
                quiet=True,
                unsafe=trusted,
                vcs_ref=plan.target.ref,
                conflict="inline",
            )
    except KeyboardInterrupt:
        _rollback(app.path)
        raise Interrupted(
            f"interrupted while updating {app.label}: that app was restored",
            hint="the apps reported above keep their updates; run aiapp update again for the rest",
        ) from None
    except Exception as error:  # Copier raises many types; each becomes one report line
        reason, hint = _explain(error)
        rolled_back = _rollback(app.path)
        return _failed(app, reason if rolled_back else f"{reason}; restoring the app failed too", hint)
    new = load_app(app.path).commit or plan.target.describe
    conflicts = conflict_files(app.path)
    if conflicts:
        with contextlib.suppress(GitError):  # then a later app may fail at `git write-tree`, reported
            parked.park(top, app.path)
        return UpdateResult(
            app,
            Outcome.CONFLICTS,
            old=app.commit,
            new=new,
            files=tuple(conflicts),
            hint="resolve the conflict markers (<<<<<<< before updating) in the listed "
            "files, `git add` them, review and commit",
        )
    return UpdateResult(app, Outcome.UPDATED, old=app.commit, new=new)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Copier's own messages and warnings would interleave with the one-line-per-app report."""
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        yield


def _explain(error: Exception) -> tuple[str, str]:
    """A one-line reason and a hint for a Copier failure."""
    from copier.errors import TaskError, UnsafeTemplateError
    from plumbum import ProcessExecutionError

    if isinstance(error, UnsafeTemplateError):
        return "the template's migrations need trust", TRUST_HINT
    if isinstance(error, TaskError):
        command = error.cmd if isinstance(error.cmd, str) else " ".join(map(str, error.cmd))
        return (
            f"a migration failed: `{command}` exited with {error.returncode}",
            "fix the migration in the template",
        )
    if isinstance(error, ProcessExecutionError):
        lines = [line for line in str(error.stderr).splitlines() if line.strip()]
        git_says = lines[-1].removeprefix("fatal: ").strip() if lines else "a git command failed"
        return git_says, ""
    text = " ".join(str(error).split()) or type(error).__name__
    return text, ""


def _rollback(app_dir: Path) -> bool:
    """Put the app back to its last commit (it was clean before the update); False when git fails."""
    try:
        git("checkout", "--quiet", "HEAD", "--", ".", cwd=app_dir)
        git("clean", "-fdq", "--", ".", cwd=app_dir)
    except (GitError, OSError):
        return False
    return True


class _ParkedConflicts:
    """Unmerged index entries of updated apps, staged as before until the run ends."""

    def __init__(self) -> None:
        self._entries: dict[Path, list[str]] = {}

    def park(self, top: Path, app_dir: Path) -> None:
        """Replace the app's unmerged entries by its pre-update entry (stage 2, as Copier records it)."""
        out = git("ls-files", "-u", "-z", "--", str(app_dir), cwd=top)
        entries = [entry for entry in out.split("\0") if entry]
        if not entries:
            return
        self._entries.setdefault(top, []).extend(entries)
        lines: list[str] = []
        for path in dict.fromkeys(entry.split("\t", 1)[1] for entry in entries):
            lines.append(_remove(entries[0], path))
            for entry in entries:
                info, entry_path = entry.split("\t", 1)
                mode, sha, stage = info.split()
                if entry_path == path and stage == "2":
                    lines.append(f"{mode} {sha} 0\t{path}")
        _index_info(top, lines)

    def restore(self) -> None:
        """Put every parked unmerged entry back."""
        for top, entries in self._entries.items():
            paths = dict.fromkeys(entry.split("\t", 1)[1] for entry in entries)
            with contextlib.suppress(GitError, OSError):
                _index_info(top, [_remove(entries[0], path) for path in paths] + entries)
        self._entries.clear()


def _remove(sample: str, path: str) -> str:
    """An --index-info line that removes every stage of `path` (mode 0, a null id as long as the repo's)."""
    sha = sample.split()[1]
    return f"0 {'0' * len(sha)}\t{path}"


def _index_info(top: Path, lines: Sequence[str]) -> None:
    git("update-index", "-z", "--index-info", cwd=top, input="".join(f"{line}\0" for line in lines))


@contextlib.contextmanager
def _parked_conflicts() -> Iterator[_ParkedConflicts]:
    parked = _ParkedConflicts()
    try:
        yield parked
    finally:
        parked.restore()
