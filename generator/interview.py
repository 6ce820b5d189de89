"""The interactive part of `aiapp new`: copier.yml's questions, asked in a terminal.

Every question, help text, default, condition and rule comes from copier.yml through
`generator.questions`; the wizard only decides how to ask (text, yes/no, select, checkbox), refuses a
value that breaks its rule with the rule's own message, and adds the sizing help after the GPU answers.
The prompts go through a small `Prompter` protocol so tests can drive the logic without a terminal;
`TerminalPrompter` is the questionary implementation (imported only when a person is at the keyboard).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from generator import sizing
from generator.answers import Given, Resolution, invalid, one_line, safe_default, show
from generator.questions import Question, cast, check, default_for, is_asked, reevaluate

# "Change the model or GPU answers" asks again from this question to gpu_memory_gib.
REWIND_TO = "model_name"
REWIND = "rewind"
ExtraRule = Callable[[str, Any], "str | None"]


class Prompter(Protocol):
    """How the wizard asks; the answers are raw (a text prompt returns the text, typed later)."""

    def text(self, message: str, default: str) -> str: ...

    def confirm(self, message: str, default: bool) -> bool: ...

    def select(self, message: str, choices: Sequence[tuple[str, Any]], default: Any) -> Any: ...

    def checkbox(
        self, message: str, choices: Sequence[tuple[str, Any]], default: Sequence[Any]
    ) -> list[Any]: ...

    def say(self, text: str = "") -> None: ...


class TerminalPrompter:
    """questionary prompts; Ctrl-C and Ctrl-D raise KeyboardInterrupt (the CLI says nothing was written)."""

    def __init__(self) -> None:
        import questionary

        self._q = questionary

    def _ask(self, question: Any) -> Any:
        try:
            return question.unsafe_ask()
        except EOFError:
            raise KeyboardInterrupt from None

    def text(self, message: str, default: str) -> str:
        return str(self._ask(self._q.text(message, default=default)))

    def confirm(self, message: str, default: bool) -> bool:
        return bool(self._ask(self._q.confirm(message, default=default)))

    def select(self, message: str, choices: Sequence[tuple[str, Any]], default: Any) -> Any:
        options = [self._q.Choice(title=label, value=value) for label, value in choices]
        values = [value for _, value in choices]
        return self._ask(self._q.select(message, options, default=default if default in values else None))

    def checkbox(self, message: str, choices: Sequence[tuple[str, Any]], default: Sequence[Any]) -> list[Any]:
        options = [
            self._q.Choice(title=label, value=value, checked=value in default) for label, value in choices
        ]
        return list(
            self._ask(self._q.checkbox(message, options, instruction="(space to select, enter to confirm)"))
        )

    def say(self, text: str = "") -> None:
        print(text, flush=True)


def _problem(
    questions: Sequence[Question],
    question: Question,
    value: Any,
    context: dict[str, Any],
    extra: ExtraRule | None = None,
) -> str | None:
    """The rule a typed answer breaks; a model that does not fit is handled after the prompt instead."""
    rule = check(question, value, context)
    if rule and question.name == sizing.FIT and sizing.fit_problem(questions, value, context):
        return None
    if rule is None and extra is not None:
        rule = extra(question.name, value)
    return one_line(rule) if rule else None


def ask(
    questions: Sequence[Question],
    question: Question,
    default: Any,
    context: dict[str, Any],
    prompter: Prompter,
    extra: ExtraRule | None = None,
) -> Any:
    """Ask one question until the answer keeps its rule; the refused text is offered again to edit."""
    message = question.help or question.name
    while True:
        if question.multiselect:
            value: Any = prompter.checkbox(message, question.choices or (), default or [])
        elif question.choices:
            value = prompter.select(message, question.choices, default)
        elif question.type == "bool":
            value = prompter.confirm(message, bool(default))
        else:
            raw = prompter.text(message, "" if default is None else show(default))
            try:
                value = cast(question, raw)
            except ValueError as error:
                prompter.say(f"  ✗ {error}")
                default = raw
                continue
        rule = _problem(questions, question, value, context, extra)
        if rule is None:
            return value
        prompter.say(f"  ✗ {rule}")
        default = value


def _fit_dialog(
    questions: Sequence[Question], context: dict[str, Any], prompter: Prompter
) -> dict[str, Any] | str:
    """The model does not fit: show the sizing, then offer what would fit, or a way back to the model."""
    problem = sizing.fit_problem(questions, context[sizing.FIT], context) or ""
    prompter.say()
    for line in sizing.report(questions, context):
        prompter.say(line)
    prompter.say(f"  ✗ {problem}")
    options: list[tuple[str, Any]] = [
        (option.label, option.changes) for option in sizing.alternatives(questions, context)
    ]
    if not options:
        prompter.say("  No other precision or GPU count fits on these GPUs.")
    options.append(("Change the model or GPU answers", REWIND))
    choice: dict[str, Any] | str = prompter.select(
        "The model does not fit. What now?", options, options[0][1]
    )
    return choice


def _after(
    questions: Sequence[Question], question: Question, context: dict[str, Any], prompter: Prompter
) -> dict[str, Any] | str | None:
    """Sizing help after the GPU answers: a report, or the does-not-fit dialog."""
    if question.name == sizing.GPU and context.get(sizing.SERVES) and not context[sizing.GPU]:
        prompter.say()
        for line in sizing.report(questions, context):
            prompter.say(line)
        prompter.say()
    elif question.name == sizing.FIT:
        if sizing.fit_problem(questions, context[sizing.FIT], context):
            return _fit_dialog(questions, context, prompter)
        prompter.say()
        for line in sizing.report(questions, context):
            prompter.say(line)
        prompter.say()
    return None


def interview(
    questions: Sequence[Question], given: Given, prompter: Prompter, extra: ExtraRule | None = None
) -> Resolution:
    """Ask every question Copier would ask, in copier.yml's order; given answers are not asked again.

    A given answer that breaks its rule is shown with the rule and asked (the person is there to fix
    it). Computed questions are never asked; the cluster constants only after `customize_cluster`.
    `extra(name, value)` may refuse an answer for a reason outside copier.yml (the destination that
    a default DEST would take is not empty).
    """
    qs = list(questions)
    index = {question.name: position for position, question in enumerate(qs)}
    context: dict[str, Any] = {}
    asked: dict[str, None] = {}
    previous: dict[str, Any] = {}
    again: set[str] = set()
    position = 0
    while position < len(qs):
        question = qs[position]
        position += 1
        name = question.name
        if question.computed:
            context[name] = default_for(question, context)
            continue
        if not is_asked(question, context):
            if name in given.values:
                rule = check(question, given.values[name], context)
                if rule:
                    raise invalid(question, given.values[name], given.sources[name], rule)
                context[name] = given.values[name]
            else:
                context[name] = safe_default(question, context)
            continue
        if name in given.values and name not in again:
            value = given.values[name]
            rule = _problem(qs, question, value, context, extra)
            if rule is None:
                prompter.say(f"  {question.help or name}: {show(value)} (from {given.sources[name]})")
            else:
                prompter.say(f"  ✗ {name} = {show(value)!r} (from {given.sources[name]}): {rule}")
                value = ask(qs, question, value, context, prompter, extra)
        else:
            default = previous[name] if name in previous else safe_default(question, context)
            value = ask(qs, question, default, context, prompter, extra)
        context[name] = value
        asked[name] = None
        previous[name] = value
        step = _after(qs, question, context, prompter)
        if step == REWIND:
            position = index[REWIND_TO]
            again.update(q.name for q in qs[position : index[sizing.FIT] + 1])
            for later in qs[position:]:
                context.pop(later.name, None)
                asked.pop(later.name, None)
        elif isinstance(step, dict):
            context = reevaluate(context, step, qs)
            previous.update(step)
            _after(qs, question, context, prompter)
    final = [name for name in asked if is_asked(qs[index[name]], context)]
    return Resolution(context=context, asked=final, given=dict(given.values))
