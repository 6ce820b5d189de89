"""The questions of copier.yml, read from there (never written twice) and evaluated like Copier does.

Copier is the only renderer of files; this module only evaluates the small Jinja expressions of
copier.yml (defaults, `when` conditions, validators) so that the wizard and the checker can ask the same
questions, apply the same rules with the same messages, and know the cluster constants.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache, lru_cache
from pathlib import Path, PurePosixPath
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
    # Copier's extended choices `{value: V, validator: RULE}`: V is offered while RULE renders nothing.
    choice_rules: tuple[tuple[Any, str], ...] = ()

    @property
    def computed(self) -> bool:
        """Never asked: a fixed fact or a value computed from other answers."""
        return self.when is False

    @property
    def takes_list(self) -> bool:
        """A YAML question answered with a list (its default is one): typed as `a, b` or as YAML."""
        if self.type != "yaml" or self.computed:
            return False
        if isinstance(self.default, list):
            return True
        return isinstance(self.default, str) and self.default.lstrip("{ ").startswith("[")

    @property
    def cluster(self) -> bool:
        """The cluster profile: given from `.aiapp.yml` (or the defaults), never asked, never per app."""
        return self.name == PROFILE_QUESTION


def _choice_value(value: Any) -> Any:
    """A choice's value; Copier's extended form `{value: V, validator: RULE}` gives V."""
    return value["value"] if isinstance(value, Mapping) and "value" in value else value


def _choices(raw: Any) -> tuple[tuple[str, Any], ...] | None:
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        return tuple((str(label), _choice_value(value)) for label, value in raw.items())
    return tuple((str(value), value) for value in raw)


def _choice_rules(raw: Any) -> tuple[tuple[Any, str], ...]:
    """(value, validator) of the choices in Copier's extended form: a rule that renders text disables it."""
    if not isinstance(raw, Mapping):
        return ()
    return tuple(
        (value["value"], str(value["validator"]))
        for value in raw.values()
        if isinstance(value, Mapping) and "value" in value and value.get("validator")
    )


def offered(question: Question, context: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The choices Copier would let a person pick now: those whose validator renders nothing."""
    disabled = {value for value, rule in question.choice_rules if str(render(rule, context)).strip()}
    return tuple(choice for choice in question.choices or () if choice[1] not in disabled)


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
                choice_rules=_choice_rules(spec.get("choices")),
            )
        )
    return questions


# An `!include` pattern -> the texts of the files it names, in order (paths relative to the template root).
IncludeReader = Callable[[str], list[str]]
# copier.yml settings whose lists Copier concatenates across documents instead of keeping the last one.
_MERGED_SETTINGS = ("_exclude", "_jinja_extensions", "_secret_questions", "_skip_if_exists")


def parse_copier_yml(
    text: str, origin: str = "copier.yml", include: IncludeReader | None = None
) -> dict[str, Any]:
    """copier.yml's text as Copier's loader reads it (copier/_template.py, load_template_config): several
    YAML documents, `!include PATTERN` replaced by the documents of the files it names, later keys winning
    and the list settings concatenated. yaml.YAMLError when it is not YAML, ValueError when not a mapping.

    Copier's own loader is not imported here: `aiapp check` reads copier.yml's defaults and must not pay
    Copier's import (0.3 s); tests/test_copier_yml.py compares the two on every version of the template.
    Each text is parsed once per process (a multi-app `aiapp update`, the fuzz test's 1,200 `aiapp new`
    runs: ~35 ms a time otherwise); the result is built fresh on every call.
    """

    def expand(value: Any) -> Any:
        if isinstance(value, _Include):
            if include is None:
                raise ValueError(f"{origin}: `!include` is not supported here")
            path = PurePosixPath(value.pattern)
            if path.is_absolute() or ".." in path.parts:
                where = cut(value.pattern)
                raise ValueError(f"{origin}: `!include {where}` must be a path inside the template")
            return [expand(document) for part in include(value.pattern) for document in _documents(part)]
        if isinstance(value, dict):
            return {key: expand(item) for key, item in value.items()}
        if isinstance(value, list):
            return [expand(item) for item in value]
        return value

    documents = _flat(expand(list(_documents(text))))
    if not documents or not all(isinstance(document, dict) for document in documents):
        raise ValueError(f"{origin}: not a mapping")
    merged: dict[str, Any] = {}
    for document in documents:
        merged.update(document)
    for setting in _MERGED_SETTINGS:
        values = [value for document in documents for value in document.get(setting) or []]
        if any(setting in document for document in documents):
            merged[setting] = values
    return merged


@dataclass(frozen=True)
class _Include:
    """An `!include PATTERN` tag, resolved by parse_copier_yml against the version's files."""

    pattern: str


@lru_cache(maxsize=32)
def _documents(text: str) -> tuple[Any, ...]:
    """The YAML documents of one file, `!include` tags kept as _Include (cached: never mutate them)."""
    # The C loader when libyaml is there: ten times faster on copier.yml, same result.
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        """The safe loader plus Copier's `!include`."""

    def included(loader: Any, node: yaml.Node) -> _Include:
        if not isinstance(node, yaml.ScalarNode):
            raise ValueError("`!include` takes one path or glob pattern")
        return _Include(str(loader.construct_scalar(node)))

    Loader.add_constructor("!include", included)
    return tuple(yaml.load_all(text, Loader=Loader))


def _flat(items: Iterable[Any]) -> list[Any]:
    """Documents with the lists an `!include` made spliced in, empty documents dropped (Copier's lflatten)."""
    flat: list[Any] = []
    for item in items:
        if isinstance(item, list):
            flat.extend(_flat(item))
        elif item:
            flat.append(item)
    return flat


def disk_includes(root: Path) -> IncludeReader:
    """`!include` read from a template directory on disk, matched as Copier matches (Path.glob)."""
    top = root.resolve()

    def read(pattern: str) -> list[str]:
        texts = []
        for path in top.glob(pattern):
            resolved = path.resolve()
            if not resolved.is_relative_to(top) or not resolved.is_file():
                raise ValueError(f"`!include {cut(pattern)}` names {path}, outside the template")
            texts.append(resolved.read_text(encoding="utf-8"))
        return texts

    return read


def tree_includes(names: Iterable[str], read: Callable[[str], str | None]) -> IncludeReader:
    """`!include` read from a git tree: `names` are its file paths, `read(path)` a blob's text. A `*`, `?`
    or `[...]` matches within one path segment as in a glob; `**` is not supported (never used here)."""
    paths = sorted(names)

    def matches(path: str, pattern: str) -> bool:
        wanted, parts = PurePosixPath(pattern).parts, PurePosixPath(path).parts
        if len(wanted) != len(parts):
            return False
        return all(fnmatchcase(part, want) for part, want in zip(parts, wanted, strict=True))

    def texts(pattern: str) -> list[str]:
        if "**" in pattern:
            raise ValueError(f"`!include {cut(pattern)}`: `**` is not supported for a version read from git")
        return [text for path in paths if matches(path, pattern) and (text := read(path)) is not None]

    return texts


@cache
def load_copier_yml(path: Path | None = None) -> dict[str, Any]:
    """copier.yml (and the files it includes) as plain data."""
    where = path or copier_yml_path()
    return parse_copier_yml(where.read_text(encoding="utf-8"), str(where), disk_includes(where.parent))


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


def typed(question: Question, text: str) -> Any:
    """What a person typed (at a prompt, or `--set`), as the question's value: a list question takes
    `a, b` (or one item) as a list of texts, as the providers are typed, and YAML (`[a, 'b c']`) as YAML.
    Without this, `chat.example.com` is a YAML string that the list's rule refuses. Values from files
    (presets, answers files) are YAML already and go through `cast`, as Copier reads them."""
    stripped = text.strip()
    if not question.takes_list or stripped.startswith(("[", "{", "- ", "'", '"')) or "\n" in stripped:
        return cast(question, text)
    return [item.strip() for item in stripped.split(",") if item.strip()]


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


def help_for(question: Question, context: Mapping[str, Any]) -> str:
    """The help text as Copier shows it: rendered against the answers so far (Copier renders `help`)."""
    try:
        return str(render(question.help, context)).strip() or question.name
    except Exception:  # an answer it refers to is not known yet: the text as written
        return question.help or question.name


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
