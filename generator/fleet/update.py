"""`aiapp update`: move every generated app under some paths to a template version, in one process.

Per app: cheap checks first with git alone (unresolved conflicts of the last update, version already
current, uncommitted changes, `--set` names, migrations that need trust; a dry run stops here), then
Copier's own `run_update` in-process for the apps that need it, so the merge is exactly Copier's (3-way,
inline conflict markers) and a plain `copier update` keeps working on the same apps.
What makes it fast is in fleet_git.py (each template fetched once) and fleet_speedups.py (each template
version checked out, parsed and compiled once).

Copier marks a conflicted file as unmerged in the git index; git then refuses `write-tree`, which the
next app's update needs. So the unmerged entries of an app with conflicts are parked (staged as they
were before the update) until the run ends, then put back: the final index is what Copier left.

Ctrl-C (`_CtrlC`): the first lets the app being written finish and stops before the next one; the second
aborts that app and restores it. Every app gets a line either way (`interrupted`, `not started`).
"""

from __future__ import annotations

import contextlib
import io
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import AiappError
from generator.fleet.apps import (
    ANSWERS_FILE,
    App,
    conflict_files,
    find_apps,
    load_app,
    short_list,
    uncommitted_files,
    unresolved_conflicts,
)
from generator.fleet.git import (
    GitError,
    Target,
    TemplateRepo,
    TemplateRepos,
    git,
    git_config_env,
    template_repos,
)
from generator.runtime.interrupts import hold_for_tests, shielded_children
from generator.template.questions import PROFILE_QUESTION
from generator.template.source import ENV_TEMPLATE, SETTINGS_FILE, configured_sources, normalise_source

if TYPE_CHECKING:
    from packaging.version import Version

TRUST_HINT = (
    f"the template runs migrations: pass --trust, or name it as the template of this GitOps repository "
    f"(`template:` in {SETTINGS_FILE}, or ${ENV_TEMPLATE}); see docs/updating.md"
)
KEPT_HINT = (
    "move your changes out of the kept files (into local/, or the file the template renamed them to), "
    "delete the kept files, and commit"
)
CONFLICTS_HINT = (
    "resolve the conflict markers (<<<<<<< before updating) in the listed files, `git add` them and "
    "commit, then run aiapp update again"
)
# Copier's names of unsafe features, as the report says them.
_FEATURES = {"jinja_extensions": "Jinja extensions", "migrations": "migrations", "tasks": "tasks"}
# Copier's message for a question without a default and without an answer (`--defaults` mode).
_REQUIRED = re.compile(r'Question "(?P<name>[^"]+)" is required')


class Outcome(StrEnum):
    """What happened to one app."""

    UPDATED = "updated"
    CURRENT = "current"
    WOULD_UPDATE = "would update"
    WOULD_FAIL = "would fail"  # dry run: the update is known to fail (e.g. migrations without trust)
    CONFLICTS = "conflicts"
    KEPT = "kept"  # updated, but files the user edited and the new version deletes or renames were kept
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # Ctrl-C while it was written: restored to its last commit (or said not)
    NOT_STARTED = "not started"  # Ctrl-C before its turn: untouched


# Outcomes whose app has files changed by this run (and not restored).
WRITTEN = frozenset({Outcome.UPDATED, Outcome.KEPT, Outcome.CONFLICTS})


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
    # The cluster facts that change (`key.path: recorded -> profile`): the profile is re-applied.
    drift: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Updated, current or (dry run) updatable: exit code 0."""
        return self.outcome in {Outcome.UPDATED, Outcome.CURRENT, Outcome.WOULD_UPDATE}

    @property
    def line(self) -> str:
        """`PATH: updated from X to Y`, `already current`, `conflicts (files)` or `failed (why)`."""
        facts = (
            f" ({len(self.drift)} cluster fact{'s' * (len(self.drift) != 1)} from the profile)"
            if self.drift
            else ""
        )
        same = self.old == self.new
        text = {
            Outcome.UPDATED: (
                f"cluster facts re-applied at {self.new}"
                if same
                else f"updated from {self.old} to {self.new}"
            )
            + facts,
            Outcome.CURRENT: "already current",
            Outcome.WOULD_UPDATE: (
                f"would re-apply the cluster facts at {self.new}"
                if same
                else f"would update from {self.old} to {self.new}"
            )
            + facts,
            Outcome.WOULD_FAIL: f"would fail ({self.reason})",
            Outcome.CONFLICTS: f"conflicts ({short_list(self.files)})",
            Outcome.KEPT: f"updated from {self.old} to {self.new}, but kept your edited "
            f"{short_list(self.files)}, which the new version deletes or renames",
            Outcome.FAILED: f"failed ({self.reason})",
            Outcome.INTERRUPTED: f"interrupted ({self.reason})",
            Outcome.NOT_STARTED: "not started (Ctrl-C)",
        }[self.outcome]
        return f"{self.app.label}: {text}"


@dataclass(frozen=True)
class UpdateOptions:
    """The options of `aiapp update`."""

    vcs_ref: str | None = None
    dry_run: bool = False
    trust: bool = False
    # `--set KEY=VALUE`: answers given to Copier for every app that is updated (typed by its question).
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Plan:
    app: App
    repo: TemplateRepo
    target: Target
    trusted: bool
    # The answers given to Copier: `--set` values, and the profile when the repository has one.
    data: Mapping[str, object] = field(default_factory=dict)
    drift: tuple[str, ...] = ()


class _CtrlC:
    """SIGINT during a run. While an app is checked (nothing written yet) Ctrl-C stops at once; while it
    is written the first Ctrl-C only asks to stop after it, the second aborts it; anywhere else (the
    report, a restore, the clean-up) it is noted and the run stops before the next app."""

    def __init__(self) -> None:
        self.count = 0
        self.checking = False
        self.writing: App | None = None

    def __call__(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.checking:
            raise KeyboardInterrupt
        if self.writing is None:
            return
        if self.count == 1:
            print(
                f"\nCtrl-C: stopping after {self.writing.label} (Ctrl-C again to abort it and restore it)",
                file=sys.__stderr__,  # Copier's output is redirected while it runs (_quiet)
                flush=True,
            )
            return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """This handler for the block (main thread only: Python handles signals there)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    @contextlib.contextmanager
    def phase(self, *, checking: bool = False, writing: App | None = None) -> Iterator[None]:
        self.checking, self.writing = checking, writing
        try:
            yield
        finally:
            self.checking, self.writing = False, None


def update_fleet(
    paths: Sequence[Path], options: UpdateOptions, report: Callable[[UpdateResult], None]
) -> list[UpdateResult]:
    """Update every app under `paths`; `report` gets each app's result as soon as it is known.

    Git processes never see Ctrl-C (shielded_children) except while an app is only checked: Copier
    ignores the failure of some of its git commands, so a killed one could pass for a finished update.
    """
    apps = find_apps(paths)
    results: list[UpdateResult] = []
    ctrl_c = _CtrlC()
    with (
        ctrl_c.installed(),
        shielded_children(),
        template_repos() as repos,
        contextlib.ExitStack() as stack,
    ):
        parked: _ParkedConflicts | None = None
        for app in apps:
            planned: _Plan | UpdateResult = UpdateResult(app, Outcome.NOT_STARTED)
            if not ctrl_c.count:
                try:
                    with ctrl_c.phase(checking=True), _children_reachable():
                        planned = _plan(app, repos, options)
                except KeyboardInterrupt:
                    pass  # nothing of this app was written: not started
            if isinstance(planned, _Plan):
                if parked is None:
                    from generator.fleet.speedups import copier_caches

                    stack.enter_context(copier_caches())
                    parked = stack.enter_context(_parked_conflicts())
                planned = _update(planned, repos, options, parked, ctrl_c)
            results.append(planned)
            report(planned)
    return results


@contextlib.contextmanager
def _children_reachable() -> Iterator[None]:
    """While an app is only checked, Ctrl-C may stop git at once (a long clone of a remote template)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _failed(app: App, reason: str, hint: str = "") -> UpdateResult:
    return UpdateResult(app, Outcome.FAILED, reason=reason, hint=hint)


def _blocked(app: App, options: UpdateOptions, reason: str, hint: str, old: str, new: str) -> UpdateResult:
    """An update known to fail before Copier runs: `failed`, or `would fail` in a dry run."""
    outcome = Outcome.WOULD_FAIL if options.dry_run else Outcome.FAILED
    return UpdateResult(app, outcome, old=old, new=new, reason=reason, hint=hint)


def _plan(app: App, repos: TemplateRepos, options: UpdateOptions) -> _Plan | UpdateResult:
    """The checks that need no Copier: an UpdateResult when the app is done or cannot be updated."""
    if app.problem or app.src_path is None or app.commit is None:
        return _failed(app, app.problem or "no template recorded")
    # Before "already current": an app whose last update left conflicts is at the new version already.
    conflicts = unresolved_conflicts(app.path)
    if conflicts:
        return _failed(
            app,
            f"unresolved conflicts in {short_list(conflicts)}; resolve them, commit, and run aiapp update "
            "again",
            CONFLICTS_HINT,
        )
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
    if PROFILE_QUESTION in options.data:
        return _failed(
            app,
            "--set cluster: the cluster facts come from the profile (`cluster:` in .aiapp.yml), not per app",
            "change the profile (docs/cluster.md), then run aiapp update",
        )
    try:
        data, drift = _profile_data(app, repo, target, options)
    except AiappError as error:
        return _failed(app, error.message, error.hint or "")
    if commit == target.commit and not drift:
        return UpdateResult(app, Outcome.CURRENT, old=app.commit, new=app.commit)
    if commit != target.commit and repo.is_ancestor(target.commit, commit):
        if options.vcs_ref is None:  # updated past the latest release (--vcs-ref main): as `status` says
            return UpdateResult(app, Outcome.CURRENT, old=app.commit, new=app.commit)
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
    unknown = _unknown_questions(repo, target, options.data)
    if unknown:
        return _blocked(
            app,
            options,
            f"--set {', '.join(unknown)}: not a question of the template at {target.describe} (unknown "
            "or computed)",
            "check the question names in the template's copier.yml (or CHANGELOG.md for renames)",
            app.commit,
            target.describe,
        )
    trusted = options.trust or normalise_source(app.src_path, app.path) in configured_sources(
        app.path, root=_repository_root(app.path)
    )
    features = [] if trusted else _unsafe_features(repo, commit, target.commit)
    if features and not _copier_trusts(app.src_path):
        return _blocked(
            app,
            options,
            _trust_reason(features),
            TRUST_HINT,
            app.commit,
            target.describe,
        )
    same = commit == target.commit
    if options.dry_run:
        return UpdateResult(
            app,
            Outcome.WOULD_UPDATE,
            old=app.commit,
            new=app.commit if same else target.describe,
            drift=drift,
        )
    return _Plan(app, repo, target, trusted, data, drift)


def _profile_data(
    app: App, repo: TemplateRepo, target: Target, options: UpdateOptions
) -> tuple[dict[str, object], tuple[str, ...]]:
    """The answers for Copier, with the repository's profile as the `cluster` answer, and the facts it
    changes. A repository without a profile, or a target version without the question, changes none:
    each app keeps the facts it recorded (as with plain `copier update`)."""
    from generator.cluster.facts import profile_for_directory
    from generator.cluster.profile import DEFAULTS_QUESTION, differences, validate

    data: dict[str, object] = dict(options.data)
    profile = profile_for_directory(app.path)
    config = repo.config(target.commit)
    if profile.file is None or config is None or PROFILE_QUESTION not in config:
        if app.cluster is not None:  # re-rendered by Copier: a hand-edited fact must pass the schema too
            validate(app.cluster, f"{app.path / ANSWERS_FILE} (its recorded `cluster:`)")
        return data, ()
    spec = config.get(DEFAULTS_QUESTION)
    known = spec.get("default") if isinstance(spec, dict) else None
    data[PROFILE_QUESTION] = profile.answer(known if isinstance(known, dict) else None)
    return data, tuple(differences(app.cluster, profile.facts))


def _repository_root(app_dir: Path) -> Path | None:
    """The GitOps repository's root: the only place whose `.aiapp.yml` is trusted (not one inside an app)."""
    try:
        return Path(git("rev-parse", "--show-toplevel", cwd=app_dir).strip())
    except GitError:
        return None


def _trust_reason(features: Sequence[str]) -> str:
    return (
        f"the template's {' and '.join(features)} need trust: pass --trust, or configure the template "
        f"in {SETTINGS_FILE}"
    )


def _unknown_questions(repo: TemplateRepo, target: Target, data: Mapping[str, str]) -> list[str]:
    """The `--set` keys that are not questions of the target version (none when copier.yml is unknown)."""
    if not data:
        return []
    config = repo.config(target.commit)
    if config is None:
        return []
    return [key for key in data if key.startswith("_") or not _is_question(config.get(key))]


def _is_question(details: object) -> bool:
    """A copier.yml entry a user answers: present, and not computed (`when: false`, as `aiapp new` says)."""
    if details is None:
        return False
    return not (isinstance(details, dict) and details.get("when") is False)


def _unsafe_features(repo: TemplateRepo, old: str, new: str) -> list[str]:
    """What makes Copier refuse this update without trust, read from copier.yml of both versions.

    Copier's own rule (`Worker._check_unsafe`): Jinja extensions or tasks in either version, or a
    migration of the new version whose `version` is in (old, new] (a migration without `version` runs on
    every update). Empty when a copier.yml cannot be read as plain YAML: Copier then decides.
    """
    old_config, new_config = repo.config(old), repo.config(new)
    if old_config is None or new_config is None:
        return []
    features: set[str] = set()
    for config in (old_config, new_config):
        if config.get("_jinja_extensions"):
            features.add(_FEATURES["jinja_extensions"])
        if config.get("_tasks"):
            features.add(_FEATURES["tasks"])
    if _migrations_in_range(new_config.get("_migrations"), repo.version(old), repo.version(new)):
        features.add(_FEATURES["migrations"])
    return sorted(features)


def _migrations_in_range(migrations: object, old: Version | None, new: Version | None) -> bool:
    from packaging.version import InvalidVersion, Version

    if not isinstance(migrations, list) or old is None or new is None:
        return False
    for migration in migrations:
        if not isinstance(migration, dict):
            return True  # a bare command: runs on every update
        if any(key in migration for key in ("before", "after")) and not (
            migration.get("before") or migration.get("after")
        ):
            continue  # the legacy format, without commands
        if "version" not in migration:
            return True
        try:
            version = Version(str(migration["version"]))
        except InvalidVersion:
            continue
        if old < version <= new:
            return True
    return False


def _copier_trusts(src: str) -> bool:
    """Whether Copier's settings file trusts `src` (`trust:`); False when that cannot be read."""
    try:
        from copier import load_settings
        from copier._settings import is_trusted_repository

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return is_trusted_repository(load_settings().trust, src)
    except Exception:  # a private name moved, or the settings file is broken: not trusted
        return False


def _update(
    plan: _Plan, repos: TemplateRepos, options: UpdateOptions, parked: _ParkedConflicts, ctrl_c: _CtrlC
) -> UpdateResult:
    """Copier's update of one app; on failure or a second Ctrl-C the app is restored to its last commit."""
    from copier import run_update

    app = plan.app
    assert app.src_path is not None and app.commit is not None
    top = Path(git("rev-parse", "--show-toplevel", cwd=app.path).strip())
    kept: list[Path] = []
    try:
        with (
            ctrl_c.phase(writing=app),
            _quiet(),
            git_config_env(repos.git_config()),
            _keeping_edited_files(kept, lambda: hold_for_tests(app.label, lambda: ctrl_c.count)),
        ):
            run_update(
                str(app.path),
                defaults=True,
                overwrite=True,
                quiet=True,
                unsafe=plan.trusted,
                # The commit, not the ref: Copier renders a local HEAD with its uncommitted changes and
                # records a commit that exists nowhere (copier/_vcs.py, clone); the dry run named this one.
                vcs_ref=plan.target.commit,
                conflict="inline",
                data=dict(plan.data),
            )
    except KeyboardInterrupt:
        return _interrupted(app, _rollback(app.path))
    except Exception as error:  # Copier raises many types; each becomes one report line
        reason, hint = _explain(error)
        rolled_back = _rollback(app.path)
        if ctrl_c.count:  # a Ctrl-C that reached a task's shell: interrupted, not broken
            return _interrupted(app, rolled_back)
        return _failed(app, reason if rolled_back else f"{reason}; restoring the app failed too", hint)
    new = load_app(app.path).commit or plan.target.describe
    with contextlib.suppress(GitError, OSError):  # then a later app may bring the files back: reported
        _stage_removals(app.path, top)
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
            hint=CONFLICTS_HINT,
            drift=plan.drift,
        )
    if kept:
        names = tuple(sorted(path.relative_to(app.path).as_posix() for path in kept))
        return UpdateResult(
            app, Outcome.KEPT, old=app.commit, new=new, files=names, hint=KEPT_HINT, drift=plan.drift
        )
    return UpdateResult(app, Outcome.UPDATED, old=app.commit, new=new, drift=plan.drift)


def _interrupted(app: App, restored: bool) -> UpdateResult:
    if restored:
        return UpdateResult(app, Outcome.INTERRUPTED, reason="Ctrl-C; restored to its last commit")
    return UpdateResult(
        app,
        Outcome.INTERRUPTED,
        reason="Ctrl-C; restoring it failed: run `git checkout HEAD -- . && git clean -fd .` in it",
    )


@contextlib.contextmanager
def _keeping_edited_files(kept: list[Path], before: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Copier deletes every file the old version rendered and the new one does not, edited or not
    (copier/_main.py, `_remove_old_files`, given `dircmp(old render, new render)`): an edited file is
    put back and listed in `kept`, so the edit is never dropped silently. Without that private name
    (a future Copier), nothing is kept here. `before` runs first (the tests' hold: the app is then
    half-written and Copier's temporary renders exist).
    """
    import copier._main as copier_main

    remove = getattr(copier_main, "_remove_old_files", None)
    if not callable(remove):
        yield
        return

    waiting = [before]

    def careful(prefix: Path, compared: Any, rm_common: bool = False) -> None:
        while waiting:  # once: Copier calls this again for subdirectories
            waiting.pop()()
        names = list(getattr(compared, "left_only", []))
        if rm_common:
            names += list(getattr(compared, "common_files", []))
        edited: dict[Path, bytes] = {}
        for name in names:
            mine, rendered = Path(prefix, name), Path(compared.left, name)
            with contextlib.suppress(OSError):
                if mine.is_file() and not mine.is_symlink() and rendered.is_file():
                    content = mine.read_bytes()
                    if content != rendered.read_bytes():
                        edited[mine] = content
        remove(prefix, compared, rm_common)
        for path, content in edited.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            kept.append(path)

    setattr(copier_main, "_remove_old_files", careful)  # noqa: B010 - a typed private name
    try:
        yield
    finally:
        setattr(copier_main, "_remove_old_files", remove)  # noqa: B010


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
        listed = re.search(r"unsafe features?: ([^.\n]+)", str(error))
        features = [name.strip() for name in listed[1].split(",")] if listed else ["migrations"]
        return _trust_reason([_FEATURES.get(name, name) for name in features]), TRUST_HINT
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
    required = _REQUIRED.search(text)
    if required:
        name = required["name"]
        return (
            f'question "{name}" has no answer and no default',
            f"answer it: aiapp update --set {name}=VALUE (its help is in the template's copier.yml; "
            "the value is typed like the question)",
        )
    return text, ""


def _stage_removals(app_dir: Path, top: Path) -> None:
    """Stage the deletion of the files the update removed from this app (renamed or dropped templates).

    Copier diffs the whole index (`git write-tree`) against its render of the next app (copier/_main.py,
    `_apply_update`, `diff-tree HEAD <write-tree>`, applied at the repository top with `git apply`): a
    file this app lost but the index still holds would come back as a "new file" patch. The app was
    clean before its update, so every deletion in it is the update's.
    """
    out = git("ls-files", "--deleted", "-z", "--", str(app_dir), cwd=top)
    removed = [name for name in out.split("\0") if name]
    if removed:
        git("rm", "--cached", "--quiet", "--", *removed, cwd=top)


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
