"""`aiapp update`: update every generated app under the paths to a template version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from generator.cli import COMMANDS
from generator.cli._common import friendly

HELP = """Update every generated app under PATH... (default: .) to the latest template version.

PATH: directories to search; apps are found by their .copier-answers.yml. Prints one line per app:
`updated from X to Y`, `already current`, `conflicts (files)` or `failed (why)`; exits 1 when any app
has conflicts or failed. Each app must be committed in git (Copier merges the update with its local
edits, 3-way).

Ctrl-C: the first lets the app being written finish and stops before the next one, the second aborts
that app and restores it; the apps written, interrupted and not started are listed, exit code 130.
"""


def register(app: typer.Typer) -> None:
    """Add `update` to the app."""
    app.command("update", help=HELP, short_help=COMMANDS["update"])(update)


@friendly
def update(
    paths: Annotated[
        list[Path] | None,
        # Hidden from the argument list, which would print the Python type (`<list[Path]>`): the help
        # text above says what PATH is.
        typer.Argument(metavar="PATH", show_default=False, hidden=True),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Report what would be updated (from → to) or fail; change nothing."),
    ] = False,
    vcs_ref: Annotated[
        str | None,
        typer.Option(
            "--vcs-ref", metavar="REF", help="Template version (tag, branch or commit; default: latest tag)."
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="Answer a question for every app that is updated (repeatable; typed like the "
            "question): a new question without a default, or a new value for an existing one.",
        ),
    ] = None,
    trust: Annotated[
        bool,
        typer.Option(
            "--trust", help="Run the template's migrations even when it is not the configured template."
        ),
    ] = False,
) -> None:
    from generator.fleet.update import WRITTEN, Outcome, UpdateOptions, update_fleet

    data: dict[str, str] = {}
    if sets:
        from generator.template.answers import parse_sets

        data = parse_sets(sets)
    results = update_fleet(
        paths or [Path(".")],
        UpdateOptions(vcs_ref=vcs_ref, dry_run=dry_run, trust=trust, data=data),
        report=lambda result: typer.echo(result.line),
    )
    counts = {outcome: sum(r.outcome is outcome for r in results) for outcome in Outcome}
    parts = [f"{count} {outcome.value}" for outcome, count in counts.items() if count]
    typer.echo(f"{len(results)} app{'s' * (len(results) != 1)}: {', '.join(parts)}", err=True)
    for hint in dict.fromkeys(r.hint for r in results if r.hint and not r.ok):
        typer.echo(f"hint: {hint}", err=True)
    stopped = [r for r in results if r.outcome in {Outcome.INTERRUPTED, Outcome.NOT_STARTED}]
    if stopped:
        # Exactly what is on disk now: every app is in one list or has an unchanged line above.
        def labels(outcomes: set[Outcome]) -> str:
            return ", ".join(r.app.label for r in results if r.outcome in outcomes) or "none"

        typer.echo("Interrupted (Ctrl-C):", err=True)
        typer.echo(f"  written: {labels(set(WRITTEN))}", err=True)
        interrupted = [
            f"{r.app.label} ({r.reason.removeprefix('Ctrl-C; ')})"
            for r in stopped
            if r.outcome is Outcome.INTERRUPTED
        ]
        typer.echo(f"  interrupted: {', '.join(interrupted) or 'none'}", err=True)
        typer.echo(f"  not started: {labels({Outcome.NOT_STARTED})}", err=True)
        typer.echo(
            "hint: review and commit the written apps, then run aiapp update again for the rest", err=True
        )
        raise typer.Exit(130)
    if not all(r.ok for r in results):
        raise typer.Exit(1)
