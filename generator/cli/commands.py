"""The Typer app: the root options and every command module's commands."""

from __future__ import annotations

import typer

from generator import __version__
from generator.cli import ROOT_OPTIONS, SUMMARY, check, init, new, status, update

app = typer.Typer(
    name="aiapp",
    help=SUMMARY,
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
        False, "--version", help=ROOT_OPTIONS["--version"], callback=_version, is_eager=True
    ),
) -> None:
    """Scaffold AI applications for the GitOps cluster."""


for _module in (init, new, update, status, check):
    _module.register(app)
