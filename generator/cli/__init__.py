"""The `aiapp` command line. Thin: each command module parses options and calls the library.

Only Typer and the standard library are imported here; copier, questionary, jinja2 and the schema
validators are imported inside the commands that need them, so `aiapp --help` stays fast.
"""

from __future__ import annotations

import typer

from generator import __version__
from generator.cli import check, new, status, update

app = typer.Typer(
    name="aiapp",
    help="Scaffold AI applications for the GitOps cluster, keep them current, and check them "
    "against the house rules.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aiapp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Show the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Scaffold AI applications for the GitOps cluster."""


for _module in (new, update, status, check):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
