"""Ctrl-C end to end: real `python -m generator` processes in their own process group (as a terminal's
Ctrl-C reaches aiapp and every git it runs), real git and Copier, interrupted at a known moment.

The moment is a test-only hold (`AIAPP_TEST_HOLD=WHERE[:N]`, generator/interrupts.py): the process prints
`aiapp-test: holding at WHERE` and waits for the N-th Ctrl-C. For `aiapp update` WHERE is an app, held
while it is half-written (the template's changes applied, Copier's temporary renders present).
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.upgrade.scaffold import (
    NEW_LABEL,
    ROOT,
    commit,
    edit,
    git,
    gitops_repo,
    pattern_change,
    release,
    template_repo,
)

APPS = (("apps/a", "chat-litellm"), ("apps/b", "rag-cpu-qdrant"), ("apps/c", "chat-litellm"))
TIMEOUT = 180  # generous: two cores shared with other test runs


class Run:
    """`python -m generator ARGS` in a new session; stderr read line by line to wait for markers."""

    def __init__(self, cwd: Path, tmpdir: Path, hold: str, *args: str, path: str | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if k not in {"AIAPP_TEMPLATE", "GIT_CONFIG_COUNT"}}
        env.update(
            PATH=path or os.environ["PATH"],
            PYTHONPATH=str(ROOT),
            TMPDIR=str(tmpdir),
            AIAPP_TEST_HOLD=hold,
            AIAPP_ALLOW_TEMP_TEMPLATE="1",
            COPIER_CACHE_DIR=str(tmpdir.parent / "copier-cache"),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "generator", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
        self.stderr: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stdout: list[str] = []
        # Both pipes read by threads (communicate() would race with them for stderr).
        self._readers = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        self._stdout.extend(line.rstrip("\n") for line in self.process.stdout)

    def wait_for(self, text: str) -> None:
        """Block until a stderr line contains `text`; fail (and kill the run) after TIMEOUT."""
        while True:
            try:
                line = self._lines.get(timeout=TIMEOUT)
            except queue.Empty:
                line = None
            if line is None:
                self.process.kill()
                pytest.fail(f"no stderr line with {text!r}; stderr so far: {self.stderr}")
            self.stderr.append(line)
            if text in line:
                return

    def ctrl_c(self) -> None:
        """SIGINT to the whole process group, as the terminal sends it."""
        os.killpg(self.process.pid, signal.SIGINT)

    def finish(self) -> tuple[int, list[str], list[str]]:
        """(exit code, stdout lines, stderr lines)."""
        try:
            self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            pytest.fail(f"still running after {TIMEOUT} s; stderr: {self.stderr}")
        for reader in self._readers:
            reader.join(timeout=TIMEOUT)
        while (line := self._lines.get(timeout=TIMEOUT)) is not None:
            self.stderr.append(line)
        return self.process.returncode, self._stdout, self.stderr


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A GitOps repository of three apps at v0.1.0; the template has released v0.2.0."""
    monkeypatch.delenv("AIAPP_TEMPLATE", raising=False)
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))
    tpl = template_repo(tmp_path / "tpl")
    repo = gitops_repo(tmp_path / "gitops", APPS, src=str(tpl))
    release(tpl, "v0.2.0", pattern_change)
    return repo


def fresh_tmpdir(tmp_path: Path) -> Path:
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    return tmpdir


def changed_apps(repo: Path) -> set[str]:
    """The apps with any change in git (work tree or index)."""
    lines = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    return {"/".join(line[3:].split("/")[:2]) for line in lines}


def version(repo: Path, app: str) -> object:
    return yaml.safe_load((repo / app / ".copier-answers.yml").read_text(encoding="utf-8"))["_commit"]


def assert_no_markers(repo: Path) -> None:
    assert "<<<<<<<" not in git(repo, "diff")
    assert not list(repo.rglob("*.rej"))


def test_first_ctrl_c_finishes_the_app_being_written_and_stops(fleet: Path, tmp_path: Path) -> None:
    tmpdir = fresh_tmpdir(tmp_path)
    run = Run(fleet, tmpdir, "apps/b", "update")
    run.wait_for("aiapp-test: holding at apps/b")
    run.ctrl_c()
    code, stdout, stderr = run.finish()

    assert code == 130, stderr
    assert stdout == [
        "apps/a: updated from v0.1.0 to v0.2.0",
        "apps/b: updated from v0.1.0 to v0.2.0",
        "apps/c: not started (Ctrl-C)",
    ]
    assert "Ctrl-C: stopping after apps/b (Ctrl-C again to abort it and restore it)" in stderr
    assert stderr[-5:] == [
        "Interrupted (Ctrl-C):",
        "  written: apps/a, apps/b",
        "  interrupted: none",
        "  not started: apps/c",
        "hint: review and commit the written apps, then run aiapp update again for the rest",
    ]
    assert changed_apps(fleet) == {"apps/a", "apps/b"}
    assert [version(fleet, app) for app, _ in APPS] == ["v0.2.0", "v0.2.0", "v0.1.0"]
    assert_no_markers(fleet)
    assert list(tmpdir.iterdir()) == []
    assert not any("Traceback" in line for line in stderr)


def test_second_ctrl_c_aborts_and_restores_the_app_being_written(fleet: Path, tmp_path: Path) -> None:
    tmpdir = fresh_tmpdir(tmp_path)
    run = Run(fleet, tmpdir, "apps/b:2", "update")
    run.wait_for("aiapp-test: holding at apps/b")
    run.ctrl_c()
    run.wait_for("Ctrl-C: stopping after apps/b")  # the first one is taken: now the second
    run.ctrl_c()
    code, stdout, stderr = run.finish()

    assert code == 130, stderr
    assert stdout == [
        "apps/a: updated from v0.1.0 to v0.2.0",
        "apps/b: interrupted (Ctrl-C; restored to its last commit)",
        "apps/c: not started (Ctrl-C)",
    ]
    assert stderr[-5:] == [
        "Interrupted (Ctrl-C):",
        "  written: apps/a",
        "  interrupted: apps/b (restored to its last commit)",
        "  not started: apps/c",
        "hint: review and commit the written apps, then run aiapp update again for the rest",
    ]
    assert changed_apps(fleet) == {"apps/a"}
    assert [version(fleet, app) for app, _ in APPS] == ["v0.2.0", "v0.1.0", "v0.1.0"]
    assert_no_markers(fleet)
    assert list(tmpdir.iterdir()) == []
    assert not any("Traceback" in line for line in stderr)


SLOW_APPLY = """#!{python}
# A git that pauses in its second `git apply` (apps/b) until the test says go.
import os, pathlib, sys, time
here = pathlib.Path({here!r})
if sys.argv[1:2] == ["apply"]:
    calls = len(list(here.glob("apply-*"))) + 1
    (here / f"apply-{{calls}}").touch()
    deadline = time.monotonic() + 120
    while calls == 2 and not (here / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
os.execv({git!r}, [{git!r}, *sys.argv[1:]])
"""


def test_a_git_command_running_at_the_first_ctrl_c_completes(fleet: Path, tmp_path: Path) -> None:
    """The terminal's Ctrl-C reaches the whole process group. Copier renders the new version over the app,
    then re-applies the app's own edits with `git apply`, whose exit status it ignores: a killed one
    would drop the edit of apps/b silently, and the app would still be reported updated."""
    deployment = fleet / "apps/b/deployment.yaml"
    edit(deployment, "  revisionHistoryLimit: 3\n", "  revisionHistoryLimit: 7\n")
    commit(fleet, "b: keep more history")
    shim = tmp_path / "bin"
    shim.mkdir()
    git_path = shutil.which("git")
    assert git_path is not None
    (shim / "git").write_text(SLOW_APPLY.format(python=sys.executable, here=str(shim), git=git_path))
    (shim / "git").chmod(0o755)
    tmpdir = fresh_tmpdir(tmp_path)
    run = Run(fleet, tmpdir, "", "update", path=f"{shim}{os.pathsep}{os.environ['PATH']}")
    deadline = time.monotonic() + TIMEOUT
    while not (shim / "apply-2").exists():  # apps/b's `git apply` is running (and waiting)
        assert time.monotonic() < deadline and run.process.poll() is None, run.stderr
        time.sleep(0.02)
    run.ctrl_c()  # pending in every process of the group once killpg returns: before the go below
    (shim / "go").touch()
    run.wait_for("Ctrl-C: stopping after apps/b")  # aiapp's handler runs once git has returned
    code, stdout, stderr = run.finish()

    assert code == 130, stderr
    assert stdout[1:] == ["apps/b: updated from v0.1.0 to v0.2.0", "apps/c: not started (Ctrl-C)"]
    assert "revisionHistoryLimit: 7" in deployment.read_text(encoding="utf-8")
    assert NEW_LABEL in deployment.read_text(encoding="utf-8")
    assert changed_apps(fleet) == {"apps/a", "apps/b"}
    assert list(tmpdir.iterdir()) == []


def test_interrupted_new_leaves_no_staging_or_temporary_directory(tmp_path: Path) -> None:
    tpl = template_repo(tmp_path / "tpl")
    tmpdir = fresh_tmpdir(tmp_path)
    parent = tmp_path / "apps"
    parent.mkdir()
    run = Run(parent, tmpdir, "new", "new", "--preset", "chat-litellm", "--template", str(tpl), "team-chat")
    run.wait_for("aiapp-test: holding at new")
    assert [p.name[:11] for p in parent.iterdir()] == [".aiapp-new-"]  # the staging directory, rendered
    run.ctrl_c()
    code, _stdout, stderr = run.finish()

    assert code == 130, stderr
    assert stderr[-1] == "Interrupted: nothing was written."
    assert list(parent.iterdir()) == []  # neither DEST nor the staging directory
    assert list(tmpdir.iterdir()) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_new_killed_by_sigterm_or_sighup_leaves_no_staging_or_clone(signum: int, tmp_path: Path) -> None:
    """A service manager's SIGTERM or a closed terminal's SIGHUP cleans up like Ctrl-C (their default
    action ended the process at once: a hidden `.aiapp-new-*` beside DEST, the clone in the temp dir)."""
    tpl = template_repo(tmp_path / "tpl")
    tmpdir = fresh_tmpdir(tmp_path)
    parent = tmp_path / "apps"
    parent.mkdir()
    run = Run(parent, tmpdir, "new", "new", "--preset", "chat-litellm", "--template", str(tpl), "team-chat")
    run.wait_for("aiapp-test: holding at new")
    assert [p.name[:11] for p in parent.iterdir()] == [".aiapp-new-"]
    assert list(tmpdir.iterdir())  # the run's temporary directory (the template clone) exists
    os.kill(run.process.pid, signum)
    code, _stdout, stderr = run.finish()

    assert code == 130, stderr
    assert stderr[-1] == "Interrupted: nothing was written."
    assert list(parent.iterdir()) == []
    assert list(tmpdir.iterdir()) == []
