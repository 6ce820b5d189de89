"""Answers given up front (a preset, an answers file, `--set`) and the non-interactive resolution.

The rules are copier.yml's validators, evaluated by `generator.template.questions`; this module only decides
where a value comes from and turns a broken rule into one line that names the question, the value and
the rule, so a CI log says exactly what to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import UsageError, cut, quoted
from generator.template.questions import (
    PROFILE_QUESTION,
    Question,
    cast,
    check,
    default_for,
    is_asked,
    typed,
)

Explain = Callable[[Question, Any, Mapping[str, Any]], "str | None"]


@dataclass
class Given:
    """Answers known before any prompt, typed like their questions, with where each came from."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    # Given values that were left out, and why (printed as `note:` lines).
    notes: list[str] = field(default_factory=list)


@dataclass
class Resolution:
    """Every value as copier.yml computes it, and which questions were asked (in order)."""

    context: dict[str, Any]
    asked: list[str]
    given: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    given_sources: dict[str, str] = field(default_factory=dict)
    # Asked questions that took their default without a prompt (the wizard's summary lists them).
    derived: list[str] = field(default_factory=list)

    def copier_data(self) -> dict[str, Any]:
        """The data handed to Copier: every asked answer, and the cluster profile when one was given.

        A given answer to a question that is not asked (its `when` is false) is dropped, with a note:
        Copier would still hand it to the templates (it validates `--data` values of skipped questions and
        renders with them), and an answer the person was told is unused must not reach a manifest.
        """
        data = {name: self.given[name] for name in self.given if name == PROFILE_QUESTION}
        data.update({name: self.context[name] for name in self.asked})
        return data


def one_line(text: str) -> str:
    """Validator messages are folded YAML; collapse any stray whitespace so errors stay one line."""
    return " ".join(text.split())


def show(value: Any) -> str:
    """A value as a user would type it: 8 rather than 8.0, a list as a, b."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(show(item) for item in value) if value else "(none)"
    return str(value)


def _plain_item(item: Any) -> bool:
    """A list item that `a, b` typing gives back unchanged: a text without commas, quotes or edges."""
    return (
        isinstance(item, str)
        and bool(item)
        and item == item.strip()
        and not any(mark in item for mark in ",\n'\"")
        and not item.startswith(("[", "{", "- "))
    )


def show_as(question: Question, value: Any) -> str:
    """A value as it is typed at the question's prompt: YAML questions in YAML flow style (`[a, b]`)."""
    if question.type not in ("yaml", "json") or question.multiselect:
        return show(value)
    if question.takes_list and isinstance(value, list) and value and all(_plain_item(item) for item in value):
        return ", ".join(value)  # typed back as it is shown
    if question.type == "json":
        import json

        return json.dumps(value)
    import yaml

    text: str = yaml.safe_dump(value, default_flow_style=True, width=1_000_000, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def unused_note(question: Question, source: str) -> str:
    """The note for a given answer whose question is not asked (its condition is false)."""
    return f"{question.name} ({source}) is not used: it applies only when {condition(question)}; dropped"


def settable(questions: Sequence[Question]) -> list[str]:
    """Names a user may answer: every question except the computed ones and the cluster profile."""
    return [question.name for question in questions if not question.computed and not question.cluster]


def parse_sets(items: Sequence[str]) -> dict[str, str]:
    """`--set key=value` options as raw strings (typed later, by their questions)."""
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects key=value, got {quoted(item)}")
        values[key.strip()] = value
    return values


def load_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """A small YAML mapping from a file people hand to aiapp (answers, presets, `.copier-answers.yml`),
    read by the one bounded reader (generator/reader/yamldoc.py): a UsageError (exit 2, one line) for
    anything but a regular file of plain values in one mapping. Empty is an empty mapping."""
    from generator.reader.yamldoc import load_mapping

    return {str(key): value for key, value in load_mapping(path, what).items()}


def load_answers_file(path: Path) -> dict[str, Any]:
    """A YAML mapping of answers; keys starting with `_` (Copier metadata) are ignored."""
    data = load_yaml_mapping(path, "the answers file")
    return {key: value for key, value in data.items() if not key.startswith("_")}


def _choices_of(questions: Sequence[Question], data: Mapping[str, Any]) -> dict[str, Any]:
    """An answers file without the answers that were that app's own defaults (its host name, its
    secret-store items, its collection, all made from its name): the new app derives its own.

    The defaults are worked out as Copier did for that app, from its answers and its recorded cluster
    facts; an answer that cannot be compared (a default that does not render) is kept.
    """
    context: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    for question in questions:
        name = question.name
        if name in data:
            try:
                value = cast(question, data[name])
                own = question.default is not None and default_for(question, context) == value
            except Exception:  # a value or default of another version: keep the answer as given
                value, own = data[name], False
            context[name] = value
            if not own or question.cluster:
                kept[name] = data[name]
        else:
            context[name] = safe_default(question, context)
    kept.update({key: value for key, value in data.items() if key not in context})  # unknown: refused later
    return kept


def gather(
    questions: Sequence[Question],
    *,
    preset: Mapping[str, Any] | None = None,
    preset_name: str | None = None,
    answers_file: Path | None = None,
    sets: Sequence[str] = (),
    template: str | None = None,
) -> Given:
    """Merge the answers given up front, lowest precedence first: preset < answers file < --set.

    `questions` are those of the template version that will be rendered (`template` names it, `SRC at
    REF`): a key it does not know is refused, rather than silently dropped by Copier.
    """
    by_name = {question.name: question for question in questions}
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if preset is not None:
        layers.append((f"preset {preset_name}", preset))
    if answers_file is not None:
        layers.append((str(answers_file), _choices_of(questions, load_answers_file(answers_file))))
    layers.append(("--set", parse_sets(sets)))
    given = Given()
    for source, data in layers:
        for key, raw in data.items():
            question = by_name.get(key)
            if question is None:
                version = f": the template {template} does not ask it" if template else ""
                raise UsageError(
                    f"unknown question {quoted(key)} (from {source}){version}",
                    hint=f"known questions: {', '.join(settable(questions))}",
                )
            if question.computed:
                raise UsageError(
                    f"{key} is computed by the template from other answers and cannot be set (from {source})"
                )
            if question.cluster and answers_file is not None and source == str(answers_file):
                # Another app's .copier-answers.yml records the facts it was rendered with: the profile
                # of this repository (or the defaults) decides them for the new app.
                given.notes.append(
                    f"{key} (from {source}) is not used: the cluster facts come from the GitOps "
                    "repository's profile (.aiapp.yml; the defaults without one)"
                )
                continue
            if question.cluster:
                raise UsageError(
                    f"{key} (from {source}): the cluster facts come from the GitOps repository's profile, "
                    "not from an app's answers",
                    hint="write them in the `cluster:` section of .aiapp.yml (aiapp init; docs/cluster.md)",
                )
            try:
                given.values[key] = typed(question, raw) if source == "--set" else cast(question, raw)
            except (ValueError, TypeError) as error:
                problem = cut(one_line(str(error)), 200)
                message = f"{key} = {quoted(raw)} (from {source}) has the wrong type: {problem}"
                raise UsageError(message) from None
            given.sources[key] = source
    return given


def condition(question: Question) -> str:
    """A question's `when` as readable text: `serves_model and gpu` rather than the Jinja braces."""
    text = str(question.when).strip()
    if text.startswith("{{") and text.endswith("}}"):
        text = text[2:-2].strip()
    return text


def safe_default(question: Question, context: Mapping[str, Any]) -> Any:
    """The default, or None when it cannot be computed yet (it refers to an unanswered question)."""
    try:
        return default_for(question, context)
    except Exception:  # a Jinja or cast error on a value that is never used
        return None


def invalid(question: Question, value: Any, source: str, rule: str) -> UsageError:
    """The one-line error for a value that breaks its question's rule."""
    origin = "the default" if source == "default" else f"from {source}"
    return UsageError(f"{question.name} = {quoted(show(value))} ({origin}): {one_line(rule)}")


def resolve_given(
    questions: Sequence[Question],
    given: Given,
    *,
    explain: Explain | None = None,
) -> Resolution:
    """Resolve every question without prompting: given answers, else defaults, each checked.

    Stricter than Copier on purpose: Copier checks only the answers it is given, this also checks the
    defaults it would use (a default GPU that cannot hold the model is refused here, not in the cluster).
    `explain(question, value, context)` may add a hint to a broken rule (the sizing alternatives).
    """
    context: dict[str, Any] = {}
    asked: list[str] = []
    notes: list[str] = []
    for question in questions:
        name = question.name
        if question.computed:
            context[name] = default_for(question, context)
            continue
        if question.cluster:  # the profile, validated by its schema; passed to Copier as given
            context[name] = given.values[name] if name in given.values else default_for(question, context)
            continue
        is_on = is_asked(question, context)
        if name in given.values:
            value = given.values[name]
            source = given.sources[name]
            if not is_on:
                notes.append(unused_note(question, source))
        elif is_on:
            value = safe_default(question, context)
            source = "default"
            if value is None:
                raise UsageError(
                    f"{name} has no default and was not given: pass --set {name}=VALUE ({question.help})"
                )
        else:
            context[name] = safe_default(question, context)
            continue
        rule = check(question, value, context)
        if rule:
            extra = explain(question, value, context) if explain else None
            error = invalid(question, value, source, rule)
            if extra:
                error = UsageError(f"{error.message} {extra}")
            raise error
        context[name] = value
        if is_on:
            asked.append(name)
    return Resolution(
        context=context, asked=asked, given=dict(given.values), notes=notes, given_sources=dict(given.sources)
    )
