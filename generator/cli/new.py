"""`aiapp new` (the wizard) and `aiapp presets`.

Only Typer is imported at module level: the wizard, copier, questionary and jinja2 are imported inside
the command bodies, so `aiapp --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from generator.cli import COMMANDS
from generator.cli._common import friendly

if TYPE_CHECKING:
    from generator.cluster.capacity import Demand

NEW_HELP = """Create a new app: ask copier.yml's questions, then render it with Copier.

The questions are those of the template version that is rendered (--template, --vcs-ref).

Interactive on a terminal (with --preset: its answers are kept, the rest is asked). Non-interactive
(scripts, CI) with --defaults or --answers-file, or when stdin is not a terminal. Answers: --set over
--answers-file over --preset over the defaults; every answer is checked with copier.yml's rules
before anything is written. DEST defaults to ./APP_NAME. Exit codes: 0 written (or dry run),
1 declined or failed, 2 invalid input, 130 Ctrl-C.
"""


def _gpu_in_use(root: Path) -> list[tuple[str, Demand]]:
    """The GPUs the workloads under `root` hold, as `aiapp check` reads them (imported when needed)."""
    from generator.policy.capacity import gpu_in_use

    return gpu_in_use(root)


def register(app: typer.Typer) -> None:
    """Add `new` and `presets` to the app."""
    app.command("new", help=NEW_HELP, short_help=COMMANDS["new"])(new)
    app.command("presets", short_help=COMMANDS["presets"])(presets)


@friendly
def new(
    dest: Annotated[
        Path | None,
        typer.Argument(metavar="DEST", help="Directory to create (default: ./APP_NAME).", show_default=False),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Use the default of every question not given.")
    ] = False,
    preset: Annotated[
        str | None,
        typer.Option("--preset", metavar="NAME", help="Start from a preset (see `aiapp presets`)."),
    ] = None,
    answers_file: Annotated[
        Path | None,
        typer.Option(
            "--answers-file", metavar="FILE", help="YAML answers (a .copier-answers.yml works too)."
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY=VALUE", help="Answer a question (repeatable; typed like the question)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the files it would write; write nothing.")
    ] = False,
    show: Annotated[bool, typer.Option("--show", help="With --dry-run: print their content too.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty destination.")] = False,
    register_app: Annotated[
        bool,
        typer.Option("--register", help="Add DEST to the parent directory's kustomization.yaml."),
    ] = False,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            metavar="SRC",
            help="Template source to render, ask the questions of, and record (git URL or path; default: "
            "$AIAPP_TEMPLATE, .aiapp.yml, or this checkout).",
        ),
    ] = None,
    vcs_ref: Annotated[
        str | None,
        typer.Option(
            "--vcs-ref",
            metavar="REF",
            envvar="AIAPP_TEMPLATE_REF",
            help="Template version to render and ask the questions of: a tag, branch or commit (default: "
            "the latest release tag; a checkout with uncommitted changes renders its last commit).",
        ),
    ] = None,
) -> None:
    from generator.errors import AiappError
    from generator.new.wizard import NewOptions, run_new

    options = NewOptions(
        dest=dest,
        preset=preset,
        answers_file=answers_file,
        sets=list(sets or []),
        dry_run=dry_run,
        show=show,
        force=force,
        register=register_app,
        template=template,
        vcs_ref=vcs_ref,
        # A preset on a terminal starts the wizard from its answers; --defaults or an answers file do not ask.
        interactive=not (defaults or answers_file) and sys.stdin.isatty(),
        gpu_in_use=_gpu_in_use,
    )
    try:
        code = run_new(options)
    except (AiappError, KeyboardInterrupt):
        raise
    except Exception as error:  # never a traceback, unless asked for
        if os.environ.get("AIAPP_DEBUG"):
            raise
        raise AiappError(
            f"unexpected error: {type(error).__name__}: {error}",
            hint="run again with AIAPP_DEBUG=1 for the traceback, and report it",
        ) from None
    if code:
        raise typer.Exit(code)


@friendly
def presets() -> None:
    """List the presets: named answer sets for `aiapp new --preset NAME`."""
    from generator.template.presets import preset_names, preset_summary

    names = preset_names()
    width = max((len(name) for name in names), default=0)
    for name in names:
        typer.echo(f"{name:<{width}}  {preset_summary(name)}")
