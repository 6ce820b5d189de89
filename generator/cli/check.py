"""`aiapp check`: the house rules as a policy and schema gate for any manifests (see docs/rules.md)."""

from __future__ import annotations

import re
import sys
from typing import Annotated

import typer

from generator.cli import COMMANDS
from generator.cli._common import friendly
from generator.errors import UsageError

REPORT_FORMATS = ("text", "json", "sarif", "github")
LIST_FORMATS = ("text", "json", "markdown")
_K8S_VERSION = re.compile(r"^v?\d+\.\d+(\.\d+)?$")


def _color() -> bool:
    import os

    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _list_rules(output_format: str) -> None:
    from generator.policy import docs

    if output_format not in LIST_FORMATS:
        raise UsageError(f"--list-rules prints {', '.join(LIST_FORMATS)}, not {output_format!r}")
    text = {"text": docs.table_text, "json": docs.table_json, "markdown": docs.markdown}[output_format]()
    typer.echo(text, nl=not text.endswith("\n"))


def _minor(version: str) -> tuple[int, int]:
    """`1.32.4` → (1, 32)."""
    major, minor = version.lstrip("v").split(".")[:2]
    return int(major), int(minor)


def _check_schema_version(k8s_version: str) -> None:
    """A version outside the schemas kubernetes-validate ships is a usage error, not a finding per object.

    An older version has no schemas at all; a newer one would silently be validated against the newest
    schemas, which know nothing of the fields that version added or removed.
    """
    from kubernetes_validate.utils import all_versions

    shipped = sorted({_minor(version) for version in all_versions()})
    if not shipped:
        raise UsageError("--k8s-version: kubernetes-validate ships no schemas; reinstall it")
    oldest, newest = shipped[0], shipped[-1]
    supported = f"{oldest[0]}.{oldest[1]} to {newest[0]}.{newest[1]}"
    if not oldest <= _minor(k8s_version) <= newest:
        raise UsageError(
            f"--k8s-version {k8s_version}: kubernetes-validate has no schemas for Kubernetes {k8s_version} "
            f"(supported: {supported})"
        )


def register(app: typer.Typer) -> None:
    """Add the command(s) of this module to the app."""

    @app.command("check", short_help=COMMANDS["check"])
    @friendly
    def check(
        paths: Annotated[
            list[str] | None,
            # Described in the docstring: typer 0.29 prints an argument's Python type (`<list[str]>`) next
            # to its name in the Arguments section, whatever its metavar.
            typer.Argument(metavar="PATH", hidden=True, show_default=False),
        ] = None,
        output_format: Annotated[
            str,
            typer.Option(
                "--format",
                "-f",
                metavar="FORMAT",
                help="text, json, sarif or github (with --list-rules: text, json, markdown).",
            ),
        ] = "text",
        strict: Annotated[
            bool, typer.Option("--strict", help="Warnings fail the check too (exit 1).")
        ] = False,
        schemas: Annotated[
            bool,
            typer.Option("--schemas", help="Also validate every object against its schema (core and CRDs)."),
        ] = False,
        k8s_version: Annotated[
            str | None,
            typer.Option(
                "--k8s-version",
                metavar="VERSION",
                help="Kubernetes version of the core schemas (default 1.32); implies --schemas.",
            ),
        ] = None,
        schema_location: Annotated[
            str | None,
            typer.Option(
                "--schema-location",
                metavar="LOCATION",
                help="CRD schemas: a directory or a kubeconform-style URL template (default "
                "$AIAPP_SCHEMA_LOCATION); implies --schemas.",
            ),
        ] = None,
        no_build: Annotated[
            bool,
            typer.Option(
                "--no-build", help="Read kustomization directories as plain files instead of building them."
            ),
        ] = False,
        jobs: Annotated[
            int,
            typer.Option(
                "--jobs", "-j", metavar="N", help="Worker processes for large trees (0: one per CPU)."
            ),
        ] = 0,
        baseline: Annotated[
            str | None,
            typer.Option(
                "--baseline",
                metavar="FILE",
                help="Report only findings the baseline FILE does not record; list its entries that no "
                "longer occur.",
            ),
        ] = None,
        write_baseline: Annotated[
            str | None,
            typer.Option(
                "--write-baseline",
                metavar="FILE",
                help="Record today's findings in FILE (by rule, object and field) and exit 0.",
            ),
        ] = None,
        show_suppressed: Annotated[
            bool,
            typer.Option(
                "--show-suppressed", help="Also list the findings suppressed on their object or baselined."
            ),
        ] = False,
        config_file: Annotated[
            str | None,
            typer.Option(
                "--config",
                metavar="FILE",
                help="The .aiapp.yml whose `check:` section applies (default: the nearest one above the "
                "paths).",
            ),
        ] = None,
        limit: Annotated[
            list[str] | None,
            typer.Option(
                "--limit",
                metavar="NAME=N",
                help="Raise (or lower) a limit: max_file_bytes, max_alias_nodes, build_seconds, "
                "build_memory_mb (a repository's check.limits may only lower them).",
            ),
        ] = None,
        verbose: Annotated[
            bool,
            typer.Option("--verbose", "-v", help="Print the configuration in effect, with its reasons."),
        ] = False,
        list_rules: Annotated[bool, typer.Option("--list-rules", help="Print the rules and exit.")] = False,
    ) -> None:
        """Check manifests against the AI apps house rules (and schemas); exit 1 on errors.

        PATH...: YAML files and directories (recursive; kustomization directories are built).
        """
        if list_rules:
            _list_rules(output_format)
            return
        if output_format not in REPORT_FORMATS:
            raise UsageError(f"--format must be one of {', '.join(REPORT_FORMATS)}, not {output_format!r}")
        if not paths:
            raise UsageError("give at least one file or directory to check, e.g. `aiapp check .`")
        if k8s_version is not None and not _K8S_VERSION.match(k8s_version):
            raise UsageError(f"--k8s-version must look like 1.32, not {k8s_version!r}")
        if jobs < 0:
            raise UsageError("--jobs must be 0 (one per CPU) or more")
        if baseline is not None and write_baseline is not None:
            raise UsageError("give --baseline or --write-baseline, not both")

        import os
        from pathlib import Path

        missing = [path for path in paths if not os.path.lexists(path)]
        if missing:
            raise UsageError(f"{missing[0]}: no such file or directory", hint="give files or directories")

        from generator.policy import Options, check_paths
        from generator.policy import baseline as baselines
        from generator.policy import config as settings
        from generator.policy.report import render

        if config_file is not None and not Path(config_file).is_file():
            raise UsageError(f"--config {config_file}: no such file")
        config = settings.load(
            Path(config_file) if config_file is not None else settings.find(settings.common_parent(paths))
        )
        config = settings.command_line_limits(config, limit or [])
        if verbose:
            for line in config.describe():
                typer.echo(line, err=True)
        options = Options(
            schemas=schemas or k8s_version is not None or schema_location is not None,
            k8s_version=(k8s_version or "1.32").lstrip("v"),
            schema_location=schema_location,
            build=not no_build,
            jobs=jobs,
            config=config,
        )
        if options.schemas:
            _check_schema_version(options.k8s_version)
        report = check_paths(paths, options)
        if output_format != "github":
            for note in report.notes:
                typer.echo(f"warning: {note}", err=True)
        if write_baseline is not None:
            count = baselines.write(report, Path(write_baseline))
            typer.echo(f"Wrote {count} finding(s) to the baseline {write_baseline}.", err=True)
            return
        if baseline is not None:
            baselines.apply(report, Path(baseline))
        typer.echo(
            render(
                report,
                output_format,
                color=_color() and output_format == "text",
                show_suppressed=show_suppressed,
            )
        )
        if report.failed(strict):
            raise typer.Exit(1)
