"""The console script answers `--help` and `--version` without Typer, with the same facts as Typer."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from generator import __version__
from generator.cli import COMMANDS, app, root_help


def run(*args: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(int('typer' in sys.modules)))\n"
        "from generator.cli import main\n"
        "main()\n"
    )
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)


def test_fast_help_lists_every_command_without_importing_typer() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert result.stdout == root_help() + "\n0\n", "help printed, typer not imported"
    for name, summary in COMMANDS.items():
        assert f"  {name} " in result.stdout and summary in result.stdout


def test_fast_version() -> None:
    assert run("--version").stdout == f"aiapp {__version__}\n0\n"


def test_typer_app_has_exactly_the_commands_of_the_table() -> None:
    registered = {command.name: command for command in app.registered_commands}
    assert set(registered) == set(COMMANDS)
    for name, command in registered.items():
        assert command.short_help == COMMANDS[name]
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())  # Typer wraps to the terminal width
    for name, summary in COMMANDS.items():
        assert f"{name} {summary}" in text


def test_other_arguments_go_to_typer() -> None:
    result = run("presets")
    assert result.returncode == 0 and "rag-cpu-qdrant" in result.stdout and result.stdout.endswith("1\n")


def test_version_is_the_latest_changelog_release() -> None:
    """`aiapp --version`, the package metadata and the newest `## vX.Y.Z` heading of CHANGELOG.md agree."""
    import re
    import tomllib

    from tests.conftest import ROOT

    releases = re.findall(r"^## v(\d+\.\d+\.\d+)$", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert releases and __version__ == releases[0] == project["version"]


def test_a_reader_that_goes_away_ends_the_output_quietly() -> None:
    """`aiapp --help | head -1`: the pipe closes early; no BrokenPipeError traceback, exit 128 + SIGPIPE."""
    code = (
        "import os, sys\n"
        "read, write = os.pipe()\n"
        "os.close(read)\n"  # nobody reads: the first write that reaches the pipe fails with EPIPE
        "os.dup2(write, 1)\n"
        "sys.argv = ['aiapp', '--help']\n"
        "from generator.cli import main\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 141, result.stderr
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
