"""The `aiapp` command line. Thin: each command module parses options, calls one function of a capability
(`generator.new`, `generator.fleet`, `generator.policy`) and maps its errors to exit codes.

May import: anything in `generator`; nothing imports it.

This package module stays import-light: `aiapp --help` and `aiapp --version` are answered from the table
below without importing Typer (whose import alone takes ~0.1 s); everything else goes to the Typer app
in `generator.cli.commands`, and copier, questionary, jinja2 and the schema validators are imported only
inside the commands that need them.
"""

from __future__ import annotations

import sys
from typing import Any

from generator import __version__

SUMMARY = (
    "Scaffold AI applications for the GitOps cluster, keep them current, and check them against the "
    "house rules."
)
# Each command's one-line summary, shown by `aiapp --help` (the Typer app registers them as short help).
COMMANDS: dict[str, str] = {
    "init": "Write the cluster profile (.aiapp.yml `cluster:`): defaults, --detect, --set or prompts.",
    "new": "Create a new app: the wizard, or --preset/--answers-file/--set for scripts.",
    "presets": "List the presets: named answer sets for `aiapp new --preset`.",
    "update": "Update every generated app under the paths to the latest template version.",
    "status": "Show the template version of every app; --check fails when one is behind.",
    "check": "Check manifests against the house rules and schemas: a gate for CI and commit hooks.",
}
ROOT_OPTIONS = {"--version": "Show the version and exit.", "--help": "Show this message and exit."}


def root_help() -> str:
    """The top-level help text."""
    width = max(map(len, [*COMMANDS, *ROOT_OPTIONS]))
    lines = ["Usage: aiapp [OPTIONS] COMMAND [ARGS]...", "", f"  {SUMMARY}", "", "Options:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in ROOT_OPTIONS.items()]
    lines += ["", "Commands:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in COMMANDS.items()]
    return "\n".join(lines)


def main() -> None:
    """Console-script entry point; Ctrl-C at any moment (start-up included) is one line and exit 130."""
    import signal

    # Until a command starts (Python and Typer importing, arguments parsed) nothing can be half-written:
    # Ctrl-C then ends at once with the usual line (Click would print "Aborted!" and exit 1). Commands
    # put Python's own handler back (cli/_common.friendly) to clean up after themselves.
    signal.signal(signal.SIGINT, _interrupted_at_start)
    try:
        _main()
    except KeyboardInterrupt:
        print("\nInterrupted: nothing was written.", file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    except BrokenPipeError:
        # The reader went away (`aiapp --help | head -1`): end quietly like other command-line tools, with
        # 128 + SIGPIPE, and keep Python from failing again when it flushes stdout at exit.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(141) from None


def _interrupted_at_start(signum: int, frame: object) -> None:
    import os

    sys.stderr.write("\nInterrupted: nothing was written.\n")
    sys.stderr.flush()
    os._exit(130)


def _main() -> None:
    arguments = sys.argv[1:]
    if arguments == ["--help"]:
        print(root_help())
        return
    if arguments == ["--version"]:
        print(f"aiapp {__version__}")
        return
    from generator.cli.commands import app

    app()


def __getattr__(name: str) -> Any:
    """`generator.cli.app`: the Typer app, imported on first use (tests drive it with CliRunner)."""
    if name == "app":
        from generator.cli.commands import app

        return app
    raise AttributeError(name)
