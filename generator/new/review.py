"""The wizard's last step: every answer shown once, then write, change one answer by name, or cancel.

Only the essential questions are prompted for (copier.yml's `_wizard_asks`); the others take defaults
computed from them and from the cluster profile. This step is where a person sees those defaults and
changes any of them, so that nothing is decided out of sight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from generator.new.interview import Prompter, interview
from generator.template.answers import Given, Resolution, show_as
from generator.template.questions import Question, is_asked

# copier.yml's setting that names the questions the wizard asks (Copier ignores unknown `_` settings).
ASKS_SETTING = "_wizard_asks"
WRITE, CHANGE, CANCEL = "write", "change", "cancel"


def essential(config: dict[str, object]) -> list[str] | None:
    """The questions a person is asked; None for a template version without the setting (all asked)."""
    names = config.get(ASKS_SETTING)
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return None
    return names


def summary(questions: Sequence[Question], resolution: Resolution) -> list[str]:
    """The answers that will be recorded, one per line, in question order; `*` marks a default."""
    by_name = {question.name: question for question in questions}
    width = max((len(name) for name in resolution.asked), default=0)
    derived = set(resolution.derived)
    lines = ["Summary (* computed from your answers and the cluster profile; change any by name)" if derived
             else "Summary"]  # fmt: skip
    for name in resolution.asked:
        mark = "*" if name in derived else " "
        lines.append(f" {mark}{name:<{width}}  {show_as(by_name[name], resolution.context[name])}")
    return lines


def decide(prompter: Prompter, count: int, dest: Path) -> str:
    """Write, change an answer, or cancel."""
    choices = [
        ("Yes, write them", WRITE),
        ("Change an answer (by its name in the summary)", CHANGE),
        ("No, write nothing", CANCEL),
    ]
    return str(prompter.select(f"Write these {count} files into {dest}?", choices, WRITE))


def change(
    questions: Sequence[Question],
    given: Given,
    resolution: Resolution,
    prompter: Prompter,
    asks: list[str] | None,
    extra: Callable[..., str | None] | None = None,
) -> Resolution:
    """Ask one answer by name, then work out the rest again: the person's other answers are kept, the
    defaults follow the new answer (a new model gets a new PVC size), new questions are asked."""
    by_name = {question.name: question for question in questions}
    names = list(resolution.asked)
    while True:
        typed = prompter.text("Which answer? (its name in the summary)", "").strip()
        if typed in by_name and is_asked(by_name[typed], resolution.context):
            break
        close = ", ".join([name for name in names if typed and typed in name][:5])
        prompter.say(f"  ✗ {typed!r} is not an answer of this app" + (f": {close}?" if close else ""))
    from generator.new.interview import ask

    question = by_name[typed]
    value = ask(list(questions), question, resolution.context[typed], resolution.context, prompter, extra)
    derived = set(resolution.derived)
    pinned = {name: resolution.context[name] for name in resolution.asked if name not in derived}
    pinned[typed] = value
    rest = Given(
        values={k: v for k, v in given.values.items() if k != typed},
        sources={k: v for k, v in given.sources.items() if k != typed},
    )
    return interview(questions, rest, prompter, extra=extra, essential=asks, pinned=pinned)
