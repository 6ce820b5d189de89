"""Ctrl-C that never cuts a write or a clean-up in half.

Python raises KeyboardInterrupt wherever the main thread happens to be: in the middle of moving files
into place or of removing a temporary directory, that leaves half a result. `held()` postpones Ctrl-C
over such a block; `shielded_children()` keeps it away from the git processes started inside one;
`private_tempdir()` gathers a command's temporary files where one removal finds them all;
`termination_as_ctrl_c()` makes SIGTERM and SIGHUP (a service manager, a closed terminal) take the same
path as Ctrl-C, so the staging directory and the template clone go with them too.
Both act in the main thread only (the only one Python delivers signals to); elsewhere they do nothing.

May import: nothing from `generator` (see generator/runtime/__init__.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

Handler = Callable[[int, FrameType | None], object]
# Test-only: `AIAPP_TEST_HOLD=WHERE[:N]` pauses at WHERE until the N-th Ctrl-C (default 1), so the
# end-to-end tests interrupt at a known moment instead of guessing with sleeps.
TEST_HOLD = "AIAPP_TEST_HOLD"


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def held() -> Iterator[None]:
    """Ctrl-C inside the block is noted, not raised; it is raised (KeyboardInterrupt) when the block ends."""
    if not _main_thread():
        yield
        return
    noted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if noted:
        raise KeyboardInterrupt


@contextmanager
def shielded_children() -> Iterator[None]:
    """Ctrl-C reaches this process, but not the processes it starts inside the block.

    The terminal sends SIGINT to the whole foreground process group, so a git command that Copier runs
    would die half-way, and Copier ignores some of those failures (`git apply ... retcode=None` in
    `copier/_main.py`, `_apply_update`). A child inherits the signal mask of the thread that starts
    it, through fork and execve (sigprocmask(2), execve(2)): the main thread blocks SIGINT here, and a
    helper thread that does not block it receives the signal instead. Python then runs the handler in
    the main thread at its next bytecode, which is never while it waits for a child.
    """
    if not _main_thread():
        yield
        return
    done = threading.Event()
    receiver = threading.Thread(target=done.wait, name="aiapp-ctrl-c", daemon=True)
    receiver.start()  # before blocking: the thread keeps the unblocked mask
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        done.set()


def hold_for_tests(where: str, interrupts: Callable[[], int]) -> None:
    """Test-only: with `AIAPP_TEST_HOLD=WHERE[:N]`, say so on stderr and wait for the N-th Ctrl-C.

    `interrupts()` counts the Ctrl-C received so far; a handler may raise KeyboardInterrupt while this
    waits. Bounded (120 s) so that a broken test never hangs.
    """
    name, _, count = os.environ.get(TEST_HOLD, "").partition(":")
    if name != where:
        return
    wanted = int(count or "1")
    print(f"aiapp-test: holding at {where}", file=sys.__stderr__, flush=True)  # past redirect_stderr
    deadline = time.monotonic() + 120
    while interrupts() < wanted and time.monotonic() < deadline:
        time.sleep(0.02)


TERMINATING = (signal.SIGTERM, signal.SIGHUP)


def _as_ctrl_c(signum: int, frame: FrameType | None) -> object:
    """Hand SIGTERM/SIGHUP to whatever handles SIGINT at this moment: `held()` notes it, `aiapp update`
    counts it, Python's own handler raises KeyboardInterrupt (so `finally` blocks clean up)."""
    del signum
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        return handler(signal.SIGINT, frame)
    raise KeyboardInterrupt


@contextmanager
def termination_as_ctrl_c() -> Iterator[None]:
    """SIGTERM and SIGHUP inside the block act as Ctrl-C (their default action would end the process
    at once, skipping every clean-up: a hidden `.aiapp-new-*` beside DEST and a clone left in /tmp)."""
    if not _main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _as_ctrl_c) for signum in TERMINATING}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def private_tempdir() -> Iterator[None]:
    """Every temporary file of a command in one directory of its own, removed in full at the end.

    Copier cleans its temporary clones and renders up in `finally`/`__exit__` blocks, which a second
    Ctrl-C can cut short (and `Worker.__exit__` suppresses only `Exception`). Python's tempfile puts
    everything under `tempfile.tempdir` when it is set (the tempfile docs, `gettempdir`), so pointing it
    at a fresh directory collects them all; a Ctrl-C during the removal is ignored.
    """
    parent = tempfile.gettempdir()
    run = tempfile.mkdtemp(prefix="aiapp-run-", dir=parent)
    saved = tempfile.tempdir
    tempfile.tempdir = run
    try:
        yield
    finally:
        tempfile.tempdir = saved
        with contextlib.suppress(KeyboardInterrupt), held():
            shutil.rmtree(run, ignore_errors=True)
