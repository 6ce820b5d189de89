"""`aiapp init`: write the cluster profile of a GitOps repository (`cluster:` in its .aiapp.yml)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from generator.cli import COMMANDS
from generator.cli._common import friendly

HELP = """Write the cluster profile: the `cluster:` section of REPO/.aiapp.yml (docs/cluster.md).

The facts: the defaults, then what --detect finds in REPO's manifests (each proposal shown with its
file), then --set key.path=value, then the prompts on a terminal (not with --defaults). The profile is
checked against its schema before anything is written; after --detect or prompts, you are asked to
confirm (--yes writes without asking). Exit codes: 0 written, 1 declined, 2 invalid input.
"""


def register(app: typer.Typer) -> None:
    """Add `init` to the app."""
    app.command("init", help=HELP, short_help=COMMANDS["init"])(init)


@friendly
def init(
    repo: Annotated[
        Path, typer.Argument(metavar="REPO", help="The GitOps repository's root (default: .).")
    ] = Path("."),
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Do not prompt: the defaults, --detect and --set only.")
    ] = False,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY.PATH=VALUE", help="A fact, e.g. litellm.namespace=litellm (repeatable)."
        ),
    ] = None,
    detect: Annotated[
        bool, typer.Option("--detect", help="Propose the facts found in REPO's manifests.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Write without asking for a confirmation.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing cluster profile.")] = False,
) -> None:
    from generator.init.profile_file import InitOptions, run_init

    interactive = not defaults and sys.stdin.isatty()
    code = run_init(
        InitOptions(repo=repo, sets=sets or [], detect=detect, yes=yes, force=force, interactive=interactive)
    )
    if code:
        raise typer.Exit(code)
