"""`aiapp status`: the template version of every generated app, and whether it is behind."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from generator.cli import COMMANDS
from generator.cli._common import friendly

HELP = """Show the template version of every generated app under PATH... (default: .).

PATH: directories to search; apps are found by their .copier-answers.yml.

States: current, behind (a newer release exists), ahead (past the latest release), conflicts (conflict
markers left by an update), unknown (the template or the app's version cannot be found), drift (current,
but rendered with other cluster facts than the profile in .aiapp.yml: `aiapp update` re-applies it).
With --check, exit 1 when any app is behind, drifted, has conflicts or is unknown (for CI).

When the profile gives the size of its GPU pools (gpu.pools), a line per pool adds up the GPUs its
workloads request, as `aiapp check` does (rule AIA105), and what is left.
"""


class Format(StrEnum):
    """Output formats."""

    TABLE = "table"
    JSON = "json"


def register(app: typer.Typer) -> None:
    """Add `status` to the app."""
    app.command("status", help=HELP, short_help=COMMANDS["status"])(status)


def _pools(paths: list[Path]) -> list[str]:
    """A line per GPU pool of the first path's profile that gives its size (none otherwise)."""
    from generator.cluster.capacity import pool_usage
    from generator.cluster.facts import cluster
    from generator.cluster.profile import find_profile

    profile = find_profile(paths[0].absolute())
    pools = [pool for pool in cluster(profile).gpu_pools if pool.capacity is not None]
    if not pools or profile.file is None:
        return []
    from generator.policy.capacity import gpu_in_use

    return [use.text() for use in pool_usage(pools, gpu_in_use(profile.file.parent))]


@friendly
def status(
    paths: Annotated[
        list[Path] | None,
        # Hidden from the argument list, which would print the Python type (`<list[Path]>`): the help
        # text above says what PATH is.
        typer.Argument(metavar="PATH", show_default=False, hidden=True),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when any app is behind, has conflicts or is unknown.")
    ] = False,
    output: Annotated[
        Format, typer.Option("--format", metavar="table|json", help="Output format.")
    ] = Format.TABLE,
) -> None:
    from generator.fleet.apps import fleet_status

    rows = fleet_status(paths or [Path(".")])
    if output is Format.JSON:
        typer.echo(json.dumps([row.as_json() for row in rows], indent=2))
    else:
        table = [("PATH", "VERSION", "LATEST", "STATE")]
        for row in rows:
            state = row.state.value + (f" ({row.detail})" if row.detail else "")
            table.append((row.app.label, row.version or "-", row.latest or "-", state))
        widths = [max(len(line[column]) for line in table) for column in range(3)]
        for line in table:
            cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
            typer.echo("  ".join([*cells, line[3]]))
        for text in _pools(paths or [Path(".")]):
            typer.echo(text)
    failing = [row for row in rows if row.state.fails_check]
    if check and failing:
        typer.echo(
            f"{len(failing)} of {len(rows)} apps need attention: run `aiapp update` for the ones behind or "
            "drifted, resolve conflicts, fix unknown ones",
            err=True,
        )
        raise typer.Exit(1)
