"""The questions of copier.yml, read from there (never written twice) and evaluated like Copier does.

Copier is the only renderer of files; this module only evaluates the small Jinja expressions of
copier.yml (defaults, `when` conditions, validators) so that the wizard and the checker can ask the same
questions, apply the same rules with the same messages, and know the cluster constants.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from generator.errors import cut
from generator.template.source import copier_yml_path

if TYPE_CHECKING:
    from jinja2 import Environment, Template

    from generator.template.jinja_cache import ExpressionCache

SUPPORTED_TYPES = ("str", "int", "float", "bool", "yaml", "json")
# The question that records the cluster profile (generator/cluster/profile.py): given by aiapp, never asked.
PROFILE_QUESTION = "cluster"
# A number as YAML 1.2 writes one (Python's float() also takes `1_0` and non-ASCII digits).
_NUMBER = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?(inf|nan)")
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0", ""}


@dataclass(frozen=True)
class Question:
    """One question of copier.yml with its raw (unrendered) settings."""

    name: str
    type: str
    help: str
    default: Any
    when: Any
    validator: str | None
    choices: tuple[tuple[str, Any], ...] | None
    multiselect: bool

    @property
    def computed(self) -> bool:
        """Never asked: a fixed fact or a value computed from other answers."""
        return self.when is False

    @property
    def cluster(self) -> bool:
        """The cluster profile: given from `.aiapp.yml` (or the defaults), never asked, never per app."""
        return self.name == PROFILE_QUESTION


def _choices(raw: Any) -> tuple[tuple[str, Any], ...] | None:
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        return tuple((str(label), value) for label, value in raw.items())
    return tuple((str(value), value) for value in raw)


def parse_questions(data: Mapping[str, Any]) -> list[Question]:
    """Questions of a parsed copier.yml, in file order (settings starting with `_` are skipped)."""
    questions = []
    for name, spec in data.items():
        if name.startswith("_"):
            continue
        if not isinstance(spec, Mapping):
            spec = {"default": spec}
        questions.append(
            Question(
                name=name,
                type=str(spec.get("type", "yaml")),
                help=str(spec.get("help", "")),
                default=spec.get("default"),
                when=spec.get("when", True),
                validator=spec.get("validator"),
                choices=_choices(spec.get("choices")),
                multiselect=bool(spec.get("multiselect", False)),
            )
        )
    return questions


def parse_copier_yml(text: str, origin: str = "copier.yml") -> dict[str, Any]:
    """copier.yml's text as plain data (yaml.YAMLError when it is not YAML, ValueError when not a mapping).

    A process that reads the same version many times (`aiapp update` over many apps, the fuzz test's
    1,200 `aiapp new` runs) parses it once: ~35 ms each time otherwise; a fresh copy is handed out.
    """
    data = _parsed_copier_yml(text)
    if not isinstance(data, dict):
        raise ValueError(f"{origin}: not a mapping")
    return copy.deepcopy(data)


@lru_cache(maxsize=8)
def _parsed_copier_yml(text: str) -> Any:
    # The C loader when libyaml is there: ten times faster on copier.yml, same result.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


@cache
def load_copier_yml(path: Path | None = None) -> dict[str, Any]:
    """copier.yml as plain data."""
    where = path or copier_yml_path()
    return parse_copier_yml(where.read_text(encoding="utf-8"), str(where))


def load_questions(path: Path | None = None) -> list[Question]:
    """The questions of the template's copier.yml, in order."""
    return parse_questions(load_copier_yml(path))


@cache
def jinja_env() -> Environment:
    """A Jinja environment like the one Copier renders copier.yml expressions in: the same filters, and a
    loader rooted at the template root, so validators can `{% import 'includes/validate.jinja' as v %}`
    and defaults can include the model catalogue and the sizing macros (copier/_main.py, Worker.jinja_env:
    CopierTemplateLoader(template.local_abspath))."""
    from jinja2 import FileSystemLoader
    from jinja2.sandbox import SandboxedEnvironment

    # The bundled template's files: a copier.yml read from another version imports these too.
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(copier_yml_path().parent)),
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
        keep_trailing_newline=True,
    )


@cache
def _expressions() -> ExpressionCache:
    """The on-disk cache of compiled expressions, saved when the process ends."""
    import atexit

    from generator.template.jinja_cache import ExpressionCache

    expressions = ExpressionCache(jinja_env())
    atexit.register(expressions.save)
    return expressions


@cache
def _compiled(source: str) -> Template:
    """Each expression is compiled once (and across runs, see jinja_cache): the wizard evaluates the
    same rules many times."""
    return _expressions().template(source)


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render a string as a Jinja template against the answers so far; other values pass through."""
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return value
    return _compiled(value).render(**context)


def cast(question: Question, value: Any) -> Any:
    """Convert a raw value (a rendered default, a --set string) to the question's type.

    Raises ValueError with a message that names the expected type.
    """
    if question.multiselect:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                from generator.template.yaml12 import load

                value = load(text)
            else:
                value = [item.strip() for item in text.split(",") if item.strip()]
        if not isinstance(value, list):
            raise ValueError(f"expected a list of choices, got {value!r}")
        return [cast_scalar(question.type, item) for item in value]
    return cast_scalar(question.type, value)


def cast_scalar(type_name: str, value: Any) -> Any:
    """Convert one value to a Copier question type."""
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"expected true or false, got {value!r}")
    if type_name == "int":
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {value!r}")
        if isinstance(value, int):
            return value
        text = str(value).strip()
        # Digits only: Python's int() also takes `1_000` and non-ASCII digits, which YAML and Copier do not.
        if not re.fullmatch(r"[-+]?[0-9]+", text):
            raise ValueError(f"expected a whole number, got {cut(str(value))!r}")
        return int(text)
    if type_name == "float":
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        if isinstance(value, int | float):
            return float(value)
        text = str(value).strip()
        if not _NUMBER.fullmatch(text.lower()):
            raise ValueError(f"expected a number, got {cut(str(value))!r}")
        return float(text)
    if type_name in ("yaml", "json"):
        if not isinstance(value, str):
            return value
        from generator.template.yaml12 import load

        try:
            return load(value) if type_name == "yaml" else json.loads(value)
        except yaml.YAMLError as error:
            problem = " ".join(str(error).split("\n")[0].split())
            raise ValueError(f"expected {type_name.upper()}, got {cut(str(value))!r} ({problem})") from None
        except ValueError as error:
            raise ValueError(f"expected {type_name.upper()}: {error}") from None
    if isinstance(value, list | dict):
        # A YAML answers file's `[a, b]` for a text question: str() would render "['a', 'b']".
        raise ValueError(f"expected text, got a {'list' if isinstance(value, list) else 'mapping'}: quote it")
    return "" if value is None else str(value)


def is_asked(question: Question, context: Mapping[str, Any]) -> bool:
    """Whether Copier would ask this question given the answers so far."""
    when = render(question.when, context)
    if isinstance(when, str):
        return bool(cast_scalar("bool", when))
    return bool(when)


def default_for(question: Question, context: Mapping[str, Any]) -> Any:
    """The question's default, rendered against the answers so far and cast to its type."""
    raw = question.default
    if raw is None:
        return [] if question.multiselect else None
    if isinstance(raw, list | dict):
        return raw
    return cast(question, render(raw, context))


def check(question: Question, value: Any, context: Mapping[str, Any]) -> str | None:
    """The rule the value breaks (the validator's own message), or None when it is valid."""
    if question.choices is not None:
        allowed = [choice for _, choice in question.choices]
        values = value if question.multiselect else [value]
        for item in values:
            if item not in allowed:
                return f"must be one of: {', '.join(str(choice) for choice in allowed)}"
    if not question.validator:
        return None
    message = str(render(question.validator, {**context, question.name: value})).strip()
    return message or None


def resolve(answers: Mapping[str, Any], questions: list[Question] | None = None) -> dict[str, Any]:
    """Every question's value: the given answer, else the default, computed in file order."""
    context: dict[str, Any] = {}
    for question in questions if questions is not None else load_questions():
        if question.name in answers:
            context[question.name] = cast(question, answers[question.name])
        else:
            context[question.name] = default_for(question, context)
    return context


def reevaluate(
    context: Mapping[str, Any], changes: Mapping[str, Any], questions: list[Question]
) -> dict[str, Any]:
    """`context` with some answers changed and the computed values re-evaluated, in file order.

    Only the names already in `context` (or changed) are kept, so a partial context (the answers so far
    in the wizard) stays partial: "what if the precision were int4" without inventing later answers.
    """
    result: dict[str, Any] = {}
    for question in questions:
        name = question.name
        if name in changes:
            result[name] = cast(question, changes[name])
        elif name not in context:
            continue
        elif question.computed:
            result[name] = default_for(question, result)
        else:
            result[name] = context[name]
    return result
