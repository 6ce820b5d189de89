"""The cluster profile: the `cluster:` section of the GitOps repository's `.aiapp.yml` (docs/cluster.md).

One profile per GitOps repository describes the cluster the apps run on: where the shared LiteLLM and
Qdrant live and how their pods are selected, how GPU nodes are labelled and tainted, which secret store
and external-secrets API the cluster serves. Its defaults are copier.yml's `cluster_defaults` (so plain
`copier copy --defaults` renders the same facts); a profile gives only what differs. Every value is
checked against `profile.schema.json` (shipped in the package) before anything uses it: names that end
up in manifests and in the shell commands of AGENTS.md can only be Kubernetes names, never shell.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from generator.errors import ProfileError

SCHEMA_FILE = Path(__file__).with_name("profile.schema.json")
# The copier.yml questions: the recorded profile, and the defaults it is merged with.
PROFILE_QUESTION = "cluster"
DEFAULTS_QUESTION = "cluster_defaults"
# copier.yml's computed facts: the profile merged with the defaults, then in one form (lists filled in).
MERGED_QUESTION = "cluster_merged"
FACTS_QUESTION = "cluster_facts"
MAX_SHOWN = 80


@dataclass(frozen=True)
class Profile:
    """Every cluster fact (defaults filled in), and the `.aiapp.yml` it came from (None: the defaults)."""

    facts: dict[str, Any]
    file: Path | None = None

    @property
    def source(self) -> str:
        """Where the facts come from, for messages."""
        return f"the cluster profile in {self.file}" if self.file else "the default cluster facts"

    def key(self) -> str:
        """A stable text of the facts (cache key, comparisons)."""
        return json.dumps(self.facts, sort_keys=True)

    def answer(self, known: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The facts as a valid profile (the `cluster` answer Copier records, the section `aiapp init`
        writes): each fact in one form, the scalar key for a list of one.

        `known` is the `cluster_defaults` of the template version that will render: a top-level fact
        it does not know is left out while it holds the default (an older version renders it anyway),
        and kept otherwise, for that version's validator to refuse by name.
        """
        facts = written(self.facts)
        if known is None:
            return facts
        default = defaults()
        return {key: value for key, value in facts.items() if key in known or value != default.get(key)}


@cache
def _defaults_text() -> str:
    from generator.template.questions import load_copier_yml

    spec = load_copier_yml().get(DEFAULTS_QUESTION)
    if not isinstance(spec, dict) or not isinstance(spec.get("default"), dict):
        raise ValueError(f"copier.yml has no `{DEFAULTS_QUESTION}` mapping")
    return json.dumps(spec["default"])


def defaults() -> dict[str, Any]:
    """The default facts: copier.yml's `cluster_defaults` (a fresh copy)."""
    data: dict[str, Any] = json.loads(_defaults_text())
    return data


def merge(given: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of a valid profile: copier.yml's own `cluster_facts`, evaluated for `given`.

    A section given in part keeps the defaults of its other keys; a map inside a section (a selector)
    or a list (tolerations) is replaced whole, never merged. A list of one Gateway, storage class or
    secret store and its scalar key are the same facts: both forms are filled in, so that comparing
    two profiles compares what they mean.
    """
    return copy.deepcopy(_merged(json.dumps(given, sort_keys=True)))


@cache
def _merged(given_json: str) -> dict[str, Any]:
    from generator.template.questions import load_questions, resolve

    wanted = (DEFAULTS_QUESTION, PROFILE_QUESTION, MERGED_QUESTION, FACTS_QUESTION)
    questions = [question for question in load_questions() if question.name in wanted]
    facts: dict[str, Any] = resolve({PROFILE_QUESTION: json.loads(given_json)}, questions)[FACTS_QUESTION]
    return facts


# Scalar keys and the list that may stand for them: a profile gives one form or the other.
_ALTERNATIVES: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = (
    ((), ("storage_class",), "storage_classes"),
    ((), ("secret_store",), "secret_stores"),
    (("gateway",), ("namespace", "name", "section"), "gateways"),
    (("gpu",), ("node_selector", "tolerations", "runtime_class"), "pools"),
)
# The pool a profile without `gpu.pools` stands for (copier.yml's cluster_facts), and the pool keys that
# only a list can give: a single pool with any of them is written as a list.
DEFAULT_POOL = "gpu"
POOL_SIZES = ("gpus_per_node", "gpu_memory_gib", "nodes", "interconnect")


def _scalar_form(plural: str, items: Any) -> bool:
    """Whether a list is written as its scalar keys: a list of one that says nothing more than they do."""
    if not isinstance(items, list) or len(items) != 1:
        return False
    if plural != "pools":
        return True
    pool = items[0]
    return (
        isinstance(pool, dict)
        and pool.get("name") == DEFAULT_POOL
        and all(pool.get(key) is None for key in POOL_SIZES)
    )


def written(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Merged facts in the form a profile gives them: a list of one as its scalar key, a longer list
    without the scalar keys (the list's first item); `merge(written(facts))` is `facts` again. A single
    GPU pool with a name or sizes of its own stays a list (the scalar keys cannot say them)."""
    result = copy.deepcopy(dict(facts))
    for section, scalars, plural in _ALTERNATIVES:
        node: Any = result
        for part in section:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or plural not in node:
            continue
        items = node.pop(plural)
        if isinstance(items, list) and not _scalar_form(plural, items):
            for key in scalars:
                node.pop(key, None)
            node[plural] = items
    return result


def _both_forms(given: Mapping[str, Any]) -> str | None:
    """The first place a profile gives both forms of a fact, as a message; None when there is none."""
    for section, scalars, plural in _ALTERNATIVES:
        node: Any = given
        for part in section:
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and plural in node and any(key in node for key in scalars):
            where = ".".join((PROFILE_QUESTION, *section))
            return (
                f"{where}: give {plural} or {'/'.join(scalars)}, not both "
                f"(the first item of {plural} is the default; {'/'.join(scalars)} stand for a list of one)"
            )
    return None


def _repeated_pool(given: Mapping[str, Any]) -> str | None:
    """A GPU pool name given twice, as a message (apps and findings name pools); None when there is none."""
    gpu = given.get("gpu")
    pools = gpu.get("pools") if isinstance(gpu, Mapping) else None
    names = [pool.get("name") for pool in pools or [] if isinstance(pool, Mapping)]
    repeated = next((name for index, name in enumerate(names) if name in names[:index]), None)
    if repeated is None:
        return None
    return f"{PROFILE_QUESTION}.gpu.pools: the pool name {_show(repeated)} is given twice (names are unique)"


@cache
def _validator() -> Any:
    """The schema's validator, where an integer is an int: JSON Schema counts 80.0 as an integer, which
    would render `port: 80.0` (a float Kubernetes refuses)."""
    from jsonschema import Draft202012Validator, validators

    def integer(checker: Any, instance: Any) -> bool:
        return isinstance(instance, int) and not isinstance(instance, bool)

    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", integer)
    strict = validators.extend(Draft202012Validator, type_checker=checker)  # type: ignore[no-untyped-call]
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return strict(schema)


def _not_text(value: Any, path: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], str] | None:
    """The path and value of the first string (key or value) that cannot be written as UTF-8 (a lone
    surrogate, from undecodable bytes on a command line)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _not_text(key, path) or _not_text(item, (*path, key))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _not_text(item, (*path, index))
            if found:
                return found
    return None


def validate(given: Any, where: str) -> None:
    """Refuse a profile that breaks the schema: one line naming the key path, the value and the rule.

    `where` names the file (or option) the profile came from.
    """
    broken = _not_text(given)
    if broken is not None:
        where_in, value = broken
        raise ProfileError(
            f"{where}: {_path(where_in)} = {_show(value)}: must be text (it holds a lone surrogate)",
            hint="see docs/cluster.md",
        )
    validator = _validator()
    errors = sorted(
        validator.iter_errors(given), key=lambda error: [str(part) for part in error.absolute_path]
    )
    if not errors:
        both = _both_forms(given) or _repeated_pool(given)
        if both:
            raise ProfileError(f"{where}: {both}", hint="see docs/cluster.md")
        return
    error = errors[0]
    path = _path(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        extra = [str(key) for key in error.instance if key not in known]
        raise ProfileError(
            f"{where}: {path}.{extra[0]}: unknown key (known here: {', '.join(known)})",
            hint="see docs/cluster.md for every key of the profile",
        )
    rule = _rule(validator.schema, list(error.absolute_schema_path)) or error.message
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = error.message.split("'")[1] if "'" in error.message else "a key"
        raise ProfileError(f"{where}: {path}: missing {missing}: {rule}", hint="see docs/cluster.md")
    target = _lookup(given, list(error.absolute_path))
    if isinstance(target, dict) and isinstance(error.instance, str) and error.instance not in target.values():
        shown = f"{path} (key {_show(error.instance)})"  # a bad key of a map (propertyNames)
    else:
        shown = f"{path} = {_show(error.instance)}"
    raise ProfileError(f"{where}: {shown}: {rule}", hint="see docs/cluster.md")


def _path(parts: Iterator[Any] | Any) -> str:
    text = PROFILE_QUESTION
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _lookup(data: Any, parts: list[Any]) -> Any:
    for part in parts:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _rule(schema: dict[str, Any], parts: list[Any]) -> str | None:
    """The `description` of the innermost schema on the path that has one (`$ref`s followed)."""
    nodes: list[Any] = [schema]
    node: Any = schema
    for part in parts:
        if isinstance(node, dict) and "$ref" in node and part not in node:
            node = _ref(schema, node["$ref"])
            nodes.append(node)
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            node = node[part]
        else:
            break
        nodes.append(node)
    for candidate in reversed(nodes):
        if isinstance(candidate, dict) and isinstance(candidate.get("description"), str):
            return str(candidate["description"])
    return None


def _ref(schema: dict[str, Any], ref: str) -> Any:
    node: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _show(value: Any) -> str:
    """A value on one line, as JSON (strings quoted, control characters escaped), cut to about 80
    characters with its length when long."""
    text = json.dumps(value, ensure_ascii=True, default=str)
    if len(text) <= MAX_SHOWN:
        return text
    length = len(value) if isinstance(value, str | list | dict) else len(text)
    unit = "items" if isinstance(value, list | dict) else "characters"
    return f"{text[: MAX_SHOWN - 3]}... ({length:,} {unit})"


def from_value(given: Any, file: Path | None, where: str | None = None) -> Profile:
    """The profile for a `cluster:` value: validated, then merged with the defaults."""
    validate(given, where or str(file or "cluster"))
    return Profile(merge(given), file)


def find_profile(start: Path) -> Profile:
    """The profile of the GitOps repository `start` belongs to: the nearest `.aiapp.yml` with `cluster:`
    at `start` or above; the defaults when there is none."""
    from generator.template.source import PROFILE_KEY, find_section

    found = find_section(start, PROFILE_KEY)
    if found is None:
        return Profile(merge({}))
    value, file = found
    return from_value(value, file)


def differences(recorded: Any, facts: Mapping[str, Any]) -> list[str]:
    """The facts an app recorded that differ from `facts`, as `key.path: recorded -> profile` lines.

    An app that recorded nothing renders with the template's defaults; a partial record is completed
    with them (as copier.yml does).
    """
    mine = merge(recorded if isinstance(recorded, Mapping) else {})
    changes = []
    for path, value in flatten(facts):
        old = _lookup(mine, path.split("."))
        if old != value:
            changes.append(f"{path}: {_show(old)} -> {_show(value)}")
    return changes


def flatten(facts: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted key, value) of every fact; maps inside a section (selectors) and lists stay whole."""
    items: list[tuple[str, Any]] = []
    for key, value in facts.items():
        if isinstance(value, Mapping) and not prefix:
            items += flatten(value, f"{key}.")
        else:
            items.append((f"{prefix}{key}", value))
    return items
