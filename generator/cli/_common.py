"""What every command shares: errors become one line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import functools
import signal
import sys
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from generator.errors import AiappError
from generator.runtime.interrupts import private_tempdir, termination_as_ctrl_c

P = ParamSpec("P")
R = TypeVar("R")

EXIT_INTERRUPTED = 130


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn AiappError and Ctrl-C into a message and an exit code (2 usage, 1 failure, 130 Ctrl-C); no
    temporary file of the command survives it, even when interrupted (SIGTERM and SIGHUP included)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)  # KeyboardInterrupt from here on
        try:
            with termination_as_ctrl_c(), private_tempdir():
                return func(*args, **kwargs)
        except AiappError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("\nInterrupted: nothing was written.", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def stderr_is_terminal() -> bool:
    """Colour and interactive prompts only on a terminal."""
    return sys.stderr.isatty()
