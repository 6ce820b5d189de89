"""`aiapp new`: gather the answers (prompts or flags), show what will be written, then write it safely.

The order of every run: answers given up front are typed and checked (preset < answers file < --set);
the destination is checked before any question; the remaining answers come from the prompts or the
defaults; Copier renders into a temporary directory; the summary and the real file list are shown; only
after the confirmation (or at once, non-interactively) is the tree moved into place.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from generator import sizing
from generator.answers import Resolution, gather, resolve_given, show
from generator.errors import UsageError
from generator.questions import Question, load_questions
from generator.scaffold import check_destination, install, next_steps, plan, staged

if TYPE_CHECKING:
    from generator.interview import Prompter


@dataclass
class NewOptions:
    """The `aiapp new` command line, parsed."""

    dest: Path | None = None
    preset: str | None = None
    answers_file: Path | None = None
    sets: list[str] = field(default_factory=list)
    dry_run: bool = False
    show: bool = False
    force: bool = False
    register: bool = False
    template: str | None = None
    vcs_ref: str | None = None
    interactive: bool = False
    prompter: Prompter | None = None


def out(text: str = "") -> None:
    print(text, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def summary(questions: list[Question], resolution: Resolution) -> list[str]:
    """The answers that will be recorded, one per line, in question order."""
    width = max((len(name) for name in resolution.asked), default=0)
    lines = ["Summary"]
    lines += [f"  {name:<{width}}  {show(resolution.context[name])}" for name in resolution.asked]
    return lines


def _answers(options: NewOptions, questions: list[Question]) -> Resolution:
    from generator.presets import load_preset

    given = gather(
        questions,
        preset=load_preset(options.preset) if options.preset else None,
        preset_name=options.preset,
        answers_file=options.answers_file,
        sets=options.sets,
    )
    if options.dest is not None:
        check_destination(options.dest, options.force)
    if options.interactive:
        from generator.interview import interview

        return interview(questions, given, _prompter(options), extra=partial(_free_default_dest, options))
    return resolve_given(questions, given, explain=partial(sizing.hint, questions))


def _free_default_dest(options: NewOptions, name: str, value: object) -> str | None:
    """Without DEST the app goes to ./APP_NAME: refuse a name whose directory is taken, at the prompt."""
    if name != "app_name" or options.dest is not None or not value:
        return None
    try:
        check_destination(Path(str(value)), options.force)
    except UsageError as error:
        return f"{error.message} (pass DEST to write elsewhere, or --force)"
    return None


def _prompter(options: NewOptions) -> Prompter:
    if options.prompter is None:
        from generator.interview import TerminalPrompter

        options.prompter = TerminalPrompter()
    return options.prompter


def run_new(options: NewOptions) -> int:
    """Run `aiapp new`; the exit code (0 written or dry run, 1 declined at the confirmation)."""
    from generator.template_source import resolve_template_source

    if options.show and not options.dry_run:
        raise UsageError("--show needs --dry-run")
    questions = load_questions()
    resolution = _answers(options, questions)
    for note in resolution.notes:
        err(f"note: {note}")
    dest = options.dest or Path(str(resolution.context["app_name"]))
    check_destination(dest, options.force)
    src = resolve_template_source(options.template, dest=dest)
    if options.interactive:
        out()
        for line in summary(questions, resolution):
            out(line)
    report = sizing.report(questions, resolution.context)
    if report:
        out()
        for line in report:
            out(line)
    if options.interactive:
        out()
        out("Rendering with Copier...")
    near = None if options.dry_run else dest
    with staged(src, resolution.copier_data(), near=near, vcs_ref=options.vcs_ref) as stage:
        for warning in stage.warnings:
            err(f"copier: {warning}")
        files = stage.files
        if options.dry_run:
            out(f"Dry run: {len(files)} files would be written into {dest} (nothing written):")
            for line in plan(stage, dest):
                out(line)
            if options.show:
                for name in files:
                    out(f"\n--- {dest / name}")
                    out((stage.root / name).read_text(encoding="utf-8").rstrip("\n"))
            if options.register:
                from generator.kustomization import register

                out(register(dest, write=False))
            return 0
        if options.interactive:
            out(f"Files to write into {dest} ({len(files)}):")
            for line in plan(stage, dest):
                out(line)
            if not _prompter(options).confirm(f"Write these {len(files)} files into {dest}?", True):
                err("Cancelled: nothing was written.")
                return 1
        kept = install(stage, dest)
    written = len(files) - len(kept)
    out()
    out(f"Wrote {written} files into {dest.resolve()}.")
    for name in kept:
        out(f"  kept your {name} (the template creates it only once)")
    registered = None
    if options.register:
        from generator.kustomization import register

        registered = register(dest)
    for line in next_steps(dest, questions, resolution.context, registered):
        out(line)
    return 0
