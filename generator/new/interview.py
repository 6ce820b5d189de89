"""The interactive part of `aiapp new`: copier.yml's questions, asked in a terminal.

Every question, help text, default, condition and rule comes from copier.yml through
`generator.template.questions`; the wizard only decides how to ask (text, yes/no, select, checkbox), refuses a
value that breaks its rule with the rule's own message, and adds the sizing help after the GPU answers.
The prompts go through a small `Prompter` protocol so tests can drive the logic without a terminal;
`TerminalPrompter` is the questionary implementation (imported only when a person is at the keyboard).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from generator.new import sizing
from generator.template.answers import (
    Given,
    Resolution,
    invalid,
    one_line,
    safe_default,
    show_as,
    unused_note,
)
from generator.template.questions import (
    Question,
    check,
    default_for,
    help_for,
    is_asked,
    offered,
    reevaluate,
)
from generator.template.questions import typed as typed_as

# "Change the model or GPU answers" asks again from this question to gpu_memory_gib.
REWIND_TO = "model_name"
REWIND = "rewind"
# extra(name, value, answers so far): a reason to refuse the answer that copier.yml does not know.
ExtraRule = Callable[[str, Any, Mapping[str, Any]], "str | None"]


class Prompter(Protocol):
    """How the wizard asks; the answers are raw (a text prompt returns the text, typed later)."""

    def text(self, message: str, default: str, edit: bool = False) -> str:
        """The typed text; Enter alone accepts `default`. With `edit`, `default` is offered as text to
        change (a refused answer), otherwise typing replaces it."""
        ...

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

    def text(self, message: str, default: str, edit: bool = False) -> str:
        if edit or not default:
            return str(self._ask(self._q.text(message, default=default)))
        from generator.runtime.prompts import placeholder_text

        answer = str(self._ask(placeholder_text(message, default)))
        return answer if answer else default

    def confirm(self, message: str, default: bool) -> bool:
        # auto_enter=False: `y` or `n` then Enter, as at every other prompt (with questionary's default,
        # the key alone answers, and the Enter that follows answers the next question).
        return bool(self._ask(self._q.confirm(message, default=default, auto_enter=False)))

    def select(self, message: str, choices: Sequence[tuple[str, Any]], default: Any) -> Any:
        options = [self._q.Choice(title=label, value=value) for label, value in choices]
        values = [value for _, value in choices]
        return self._ask(self._q.select(message, options, default=default if default in values else None))

    def checkbox(self, message: str, choices: Sequence[tuple[str, Any]], default: Sequence[Any]) -> list[Any]:
        options = [
            self._q.Choice(title=label, value=value, checked=value in default) for label, value in choices
        ]
        with _echo_selections():
            question = self._q.checkbox(message, options, instruction="(space to select, enter to confirm)")
        return list(self._ask(question))

    def say(self, text: str = "") -> None:
        print(text, flush=True)


@contextmanager
def _echo_selections() -> Iterator[None]:
    """Make an answered questionary checkbox show the selected labels ("OpenAI, Anthropic"), not its own
    "done (2 selections)".

    questionary has no option for it: the prompt line of the checkbox being built is wrapped while it is
    built (and only then). If questionary changes how it builds the layout, its own text is shown.
    """
    from questionary.prompts import common

    build = common.create_inquirer_layout

    def layout(ic: Any, get_prompt_tokens: Callable[[], list[tuple[str, str]]], **kwargs: Any) -> Any:
        def tokens() -> list[tuple[str, str]]:
            shown = get_prompt_tokens()
            if not getattr(ic, "is_answered", False):
                return shown
            try:
                labels = [str(choice.title) for choice in ic.get_selected_values()]
            except Exception:  # a questionary that works differently: keep its own text
                return shown
            kept = [token for token in shown if token[0] != "class:answer"]
            return [*kept, ("class:answer", ", ".join(labels) or "(none)")]

        return build(ic, tokens, **kwargs)

    common.create_inquirer_layout = layout
    try:
        yield
    finally:
        common.create_inquirer_layout = build


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
        rule = extra(question.name, value, context)
    return one_line(rule) if rule else None


def ask(
    questions: Sequence[Question],
    question: Question,
    default: Any,
    context: dict[str, Any],
    prompter: Prompter,
    extra: ExtraRule | None = None,
) -> Any:
    """Ask one question until the answer keeps its rule; the refused text is offered again to edit.

    A text prompt shows the default as it would be typed (a YAML question's list as `[a, b]`) and parses
    the answer like the question's type (YAML for a YAML question).
    """
    message = help_for(question, context)
    typed: str | None = None  # the refused text, offered again as it was typed
    while True:
        if question.multiselect:
            value: Any = prompter.checkbox(message, offered(question, context), default or [])
        elif question.choices:
            value = prompter.select(message, offered(question, context), default)
        elif question.type == "bool":
            value = prompter.confirm(message, bool(default))
        else:
            if typed is not None:
                typed = prompter.text(message, typed, edit=True)
            else:
                typed = prompter.text(message, "" if default is None else show_as(question, default))
            try:
                value = typed_as(question, typed)
            except ValueError as error:
                prompter.say(f"  ✗ {one_line(str(error))}")
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
    questions: Sequence[Question],
    question: Question,
    context: dict[str, Any],
    prompter: Prompter,
    quiet: bool = False,
) -> dict[str, Any] | str | None:
    """Sizing help after the GPU answers: a report, or the does-not-fit dialog. `quiet`: the report only
    when the model does not fit (the summary shows it once, before writing)."""
    misfit = question.name == sizing.FIT and sizing.fit_problem(questions, context[sizing.FIT], context)
    if quiet and not misfit:
        return None
    if question.name == sizing.GPU and context.get(sizing.SERVES) and not context[sizing.GPU]:
        prompter.say()
        for line in sizing.report(questions, context):
            prompter.say(line)
        prompter.say()
    elif question.name == sizing.FIT and sizing.fit_problem(questions, context[sizing.FIT], context):
        return _fit_dialog(questions, context, prompter)
    elif sizing.last_gpu_question(questions, question.name, context):
        prompter.say()
        for line in sizing.report(questions, context):
            prompter.say(line)
        note = sizing.tensor_parallel_note(context)
        if note:
            prompter.say(f"  note: {note}")
        prompter.say()
    return None


def _one_answer(question: Question, context: dict[str, Any], extra: ExtraRule | None = None) -> Any | None:
    """The only answer a yes/no question can take here (the other breaks its rule), else None: such a
    question is not worth a prompt (a vLLM image serves a model, on a GPU; a namespace that another app
    creates is not created again)."""
    if question.type != "bool" or question.choices:
        return None
    valid = [
        value
        for value in (True, False)
        if check(question, value, context) is None
        and (extra is None or extra(question.name, value, context) is None)
    ]
    return valid[0] if len(valid) == 1 else None


def _derived(question: Question, context: dict[str, Any], extra: ExtraRule | None) -> tuple[bool, Any]:
    """(True, value) when a question outside the essential ones needs no person: its default keeps its
    rule (else it is asked: a model outside the catalogue has no size)."""
    only = _one_answer(question, context, extra)
    if only is not None:
        return True, only
    value = safe_default(question, context)
    if value is None or check(question, value, context) is not None:
        return False, value
    if extra is not None and extra(question.name, value, context) is not None:
        return False, value
    return True, value


def interview(
    questions: Sequence[Question],
    given: Given,
    prompter: Prompter,
    extra: ExtraRule | None = None,
    essential: Collection[str] | None = None,
    pinned: Mapping[str, Any] | None = None,
) -> Resolution:
    """Ask the questions Copier would ask, in copier.yml's order; given answers are not asked again.

    A given answer that breaks its rule is shown with the rule and asked (the person is there to fix
    it). Computed questions and the cluster profile (given from .aiapp.yml) are never asked.
    `extra(name, value)` may refuse an answer for a reason outside copier.yml (the destination that
    a default DEST would take is not empty).

    With `essential` (copier.yml's `_wizard_asks`), only those are asked, plus any other whose default
    breaks its rule; the rest take their default and are listed in `Resolution.derived` for the summary.
    A yes/no question with one valid answer is never asked. `pinned` are the person's earlier answers
    (a pass after "change an answer"): used without a prompt while they keep their rule.
    """
    qs = list(questions)
    index = {question.name: position for position, question in enumerate(qs)}
    context: dict[str, Any] = {}
    asked: dict[str, None] = {}
    derived: dict[str, None] = {}
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
        if question.cluster:  # the profile, given (never asked)
            context[name] = given.values[name] if name in given.values else default_for(question, context)
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
        only = _one_answer(question, context, extra) if essential is not None else None
        optional = essential is not None and name not in essential
        if name in given.values and name not in again:
            value = given.values[name]
            rule = _problem(qs, question, value, context, extra)
            source, text = given.sources[name], show_as(question, value)
            if rule is None:
                prompter.say(f"  {help_for(question, context)}: {text} (from {source})")
            else:
                prompter.say(f"  ✗ {name} = {text!r} (from {source}): {rule}")
                value = ask(qs, question, value, context, prompter, extra)
        elif pinned is not None and name in pinned and name not in again:
            value = pinned[name]  # the person's earlier answer, kept while it keeps its rule
            if _problem(qs, question, value, context, extra) is not None:
                value = ask(qs, question, value, context, prompter, extra)
        elif only is not None:
            value = only
            derived[name] = None
        elif optional and (found := _derived(question, context, extra))[0]:
            value = found[1]
            derived[name] = None
        else:
            default = previous[name] if name in previous else safe_default(question, context)
            value = ask(qs, question, default, context, prompter, extra)
        context[name] = value
        asked[name] = None
        previous[name] = value
        step = _after(qs, question, context, prompter, quiet=essential is not None)
        if step == REWIND:
            position = index[REWIND_TO]
            again.update(q.name for q in qs[position : index[sizing.FIT] + 1])
            for later in qs[position:]:
                context.pop(later.name, None)
                asked.pop(later.name, None)
                derived.pop(later.name, None)
        elif isinstance(step, dict):
            context = reevaluate(context, step, qs)
            previous.update(step)
            for changed in step:  # chosen in the fit dialog: the person's answer now
                derived.pop(changed, None)
            _after(qs, question, context, prompter)
    final = [name for name in asked if is_asked(qs[index[name]], context)]
    # Given answers to questions that are not asked have no effect: say so, as a scripted run does.
    notes = [
        unused_note(question, given.sources[question.name])
        for question in qs
        if question.name in given.values
        and not question.computed
        and not question.cluster
        and not is_asked(question, context)
    ]
    return Resolution(
        context=context,
        asked=final,
        given=dict(given.values),
        notes=notes,
        given_sources=dict(given.sources),
        derived=[name for name in final if name in derived],
    )
