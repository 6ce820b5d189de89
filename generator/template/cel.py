"""The CEL rules of a CRD schema (`x-kubernetes-validations`), evaluated as the API server does on create.

kubeconform-style catalogs keep the rules only as annotations; the API server enforces them (Gateway API's
HTTPRoute alone has over a hundred). Semantics follow the apiextensions-apiserver (k8s.io/apiextensions-
apiserver `pkg/apiserver/schema/cel/validation.go`, and the Kubernetes docs "Validation rules" of
CustomResourceDefinitions):

- `self` is the value at the rule's level; rules under `items` and `additionalProperties` run once per
  element. A rule runs only where its value is present, after the schema's defaults are applied (the
  server defaults a request before validating it: `group: ""` of a backendRef is there for the rules).
- Property names are escaped as the server exposes them (`namespace` → `__namespace__`, `-` → `__dash__`,
  ...); unknown fields are not visible, and at the root `metadata` holds only `name` and `generateName`.
- A rule that uses `oldSelf` is a transition rule: with no old object (create) the server skips it, unless
  it sets `optionalOldSelf: true`, in which case it runs with `oldSelf` = `optional.none()`.
- A rule that is false reports `messageExpression` (when it evaluates to a non-empty one-line string),
  else `message`, else `failed rule: RULE`, at the rule's level plus its `fieldPath`, with its `reason`.
  A rule that fails to evaluate (no such key, index out of range) reports `ERROR evaluating rule: RULE`.

The evaluator is Google's CEL C++ runtime (`cel-expr-python`, chosen by measurement: docs/performance.md)
with the strings, optional and bindings extensions, which cover every rule in the catalog. A rule it cannot
compile (a Kubernetes library function it lacks, such as `isURL` or `quantity`), or whose operands it types
differently from the server, is returned as `Unevaluated` for an info note, never passed in silence.
The library is imported with the first rule compiled: `aiapp --help` and checks without `--schemas` never
load it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

YamlPath = tuple[str | int, ...]

# CEL's reserved words, escaped as `__word__` when they are property names (Kubernetes docs, "Escaping").
_RESERVED = frozenset(
    {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if"}
    | {"import", "let", "loop", "package", "namespace", "return", "var"}
)
_ACCESSIBLE = re.compile(r"^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$")
_REASONS = {
    "FieldValueRequired": "Required value: ",
    "FieldValueForbidden": "Forbidden: ",
    "FieldValueDuplicate": "Duplicate value: ",
}
# CEL string literals (triple-quoted or not, raw or not): not code when looking for `oldSelf`.
_STRING = re.compile(
    r"[rR]?(?:'''[\s\S]*?'''" + r'|"""[\s\S]*?"""' + r"""|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
)
_OLD_SELF = re.compile(r"\boldSelf\b")
_FIELD_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\['((?:[^'\\]|\\.)*)'\]")


def escape(name: str) -> str | None:
    """The name a property has in CEL; None when CEL cannot reach it."""
    if name in _RESERVED:
        return f"__{name}__"
    if not _ACCESSIBLE.match(name):
        return None
    for text, escaped in (("__", "__underscores__"), (".", "__dot__"), ("-", "__dash__"), ("/", "__slash__")):
        name = name.replace(text, escaped)
    return name


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule that is false (or fails to evaluate) for a value: where, and the server's message."""

    path: YamlPath
    message: str


@dataclass(frozen=True, slots=True)
class Unevaluated:
    """A rule this evaluator cannot run: reported once, as information."""

    where: str
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled `x-kubernetes-validations` entry."""

    rule: str
    where: str
    program: Any
    problem: str | None
    message: str
    # What an evaluation error names the rule by: its message, else its expression (ruleErrorString).
    label: str
    message_program: Any
    field_path: YamlPath
    prefix: str
    transition: bool


@dataclass
class Node:
    """The rules at one level of a schema and the levels below that have rules (no others)."""

    rules: tuple[Rule, ...] = ()
    properties: tuple[tuple[str, str, Node], ...] = ()
    items: Node | None = None
    additional: Node | None = None
    # A string below has a format the server types (timestamp, duration, bytes) and this evaluator does not.
    loose: bool = False


class _Runtime:
    """The CEL environment, built on first use (the C++ library takes 15 ms to import)."""

    def __init__(self) -> None:
        from cel_expr_python import cel
        from cel_expr_python.ext import ext_bindings, ext_optional, ext_strings

        def environment(*names: str) -> Any:
            return cel.NewEnv(
                variables={name: cel.Type.DYN for name in names},
                extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional(), ext_bindings.ExtBindings()],
            )

        self.env = environment("self")
        # Declares oldSelf too: a rule that compiles only here is a transition rule (the compiler decides).
        self.transition_env = environment("self", "oldSelf")
        self.error_type = cel.Type.ERROR
        self.programs: dict[str, Any] = {}

    def compile(self, expression: str) -> Any:
        """A program, compiled once per process; raises with the compiler's message."""
        program = self.programs.get(expression)
        if program is None:
            program = self.programs[expression] = self.env.compile(expression)
        return program

    def uses_old_self(self, expression: str) -> bool:
        """Whether a rule that failed to compile with `self` alone reads `oldSelf`."""
        try:
            self.transition_env.compile(expression)
        except Exception:
            # The compiler cannot tell (a transition rule that also calls a missing function): look for
            # the identifier outside string literals.
            return bool(_OLD_SELF.search(_STRING.sub("", expression)))
        return True


_RUNTIME: _Runtime | None = None


def runtime() -> _Runtime:
    global _RUNTIME
    if _RUNTIME is None:
        _RUNTIME = _Runtime()
    return _RUNTIME


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0].removeprefix("INVALID_ARGUMENT: ").removeprefix("ERROR: <input>:") if text else repr(error)


def _field_path(text: str) -> YamlPath:
    """`.testMap.foo` or `.list['a.b']` → path parts (the rule's relative `fieldPath`)."""
    parts: list[str | int] = []
    for match in _FIELD_PATH_TOKEN.finditer(text or ""):
        name = match.group(1) if match.group(1) is not None else match.group(2).replace("\\'", "'")
        parts.append(name)
    return tuple(parts)


def compile_rule(spec: Mapping[str, Any], where: str) -> Rule:
    """Compile one rule (and its messageExpression); the problem says why it cannot run here."""
    expression = str(spec.get("rule", ""))
    message = str(spec.get("message") or "").strip()
    text = message or expression.strip()
    env = runtime()
    program, problem, transition = None, None, False
    try:
        program = env.compile(expression)
    except Exception as error:
        if not env.uses_old_self(expression):
            problem = f"the evaluator cannot compile it: {_first_line(error)}"
        elif spec.get("optionalOldSelf") is True:
            try:
                program = env.compile(f"cel.bind(oldSelf, optional.none(), ({expression}))")
            except Exception as bound_error:
                problem = f"the evaluator cannot compile it: {_first_line(bound_error)}"
        else:
            transition = True
    message_program = None
    if spec.get("messageExpression"):
        try:
            message_program = env.compile(str(spec["messageExpression"]))
        except Exception:
            message_program = None  # the server compiled it; here `message` stands in
    return Rule(
        rule=expression,
        where=where,
        program=program,
        problem=problem,
        message=message or f"failed rule: {text}",
        label=text,
        message_program=message_program,
        field_path=_field_path(str(spec.get("fieldPath") or "")),
        prefix=_REASONS.get(str(spec.get("reason") or ""), ""),
        transition=transition,
    )


def plan(schema: Mapping[str, Any], where: str = "") -> Node | None:
    """The levels of the schema that carry rules, compiled; None when there are none."""
    if not isinstance(schema, Mapping):
        return None
    node = Node()
    node.rules = tuple(
        compile_rule(spec, where or ".")
        for spec in schema.get("x-kubernetes-validations", ())
        if isinstance(spec, Mapping)
    )
    children = []
    for name, sub in (schema.get("properties") or {}).items():
        escaped = escape(name)
        child = plan(sub, f"{where}.{name}")
        if child is not None and escaped is not None:
            children.append((name, escaped, child))
    node.properties = tuple(children)
    node.items = plan(schema["items"], f"{where}[]") if isinstance(schema.get("items"), Mapping) else None
    additional = schema.get("additionalProperties")
    node.additional = plan(additional, f"{where}{{}}") if isinstance(additional, Mapping) else None
    if not (node.rules or node.properties or node.items or node.additional):
        return None
    node.loose = bool(node.rules) and _typed_formats(schema)
    return node


_TYPED_FORMATS = ("date-time", "date", "duration", "byte")


def _typed_formats(schema: Any) -> bool:
    """Whether a string at or below this level has `format: date-time`, `date`, `duration` or `byte`."""
    if isinstance(schema, Mapping):
        if schema.get("type") == "string" and schema.get("format") in _TYPED_FORMATS:
            return True
        return any(_typed_formats(value) for key, value in schema.items() if key != "description")
    if isinstance(schema, list):
        return any(_typed_formats(item) for item in schema)
    return False


_SHAPES: dict[int, tuple[Mapping[str, Any], dict[str, tuple[str, Any]], list[tuple[str, str, Any]]]] = {}


def _shape(schema: Mapping[str, Any]) -> tuple[dict[str, tuple[str, Any]], list[tuple[str, str, Any]]]:
    """The properties CEL can reach (name → escaped name, schema) and those with a default, once per
    schema level (catalog schemas live as long as the process; the entry keeps its schema alive)."""
    entry = _SHAPES.get(id(schema))
    if entry is None or entry[0] is not schema:
        fields: dict[str, tuple[str, Any]] = {}
        defaults: list[tuple[str, str, Any]] = []
        for name, sub in schema["properties"].items():
            escaped = escape(name)
            if escaped is not None and isinstance(sub, Mapping):
                fields[name] = (escaped, sub)
                if "default" in sub:
                    defaults.append((name, escaped, sub))
        entry = _SHAPES[id(schema)] = (schema, fields, defaults)
    return entry[1], entry[2]


def to_cel(schema: Mapping[str, Any], value: Any, root: bool = False) -> Any:
    """The value as the API server hands it to CEL: defaults applied, names escaped, unknown fields out,
    integers in `number` fields as doubles."""
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        if properties is None and not isinstance(additional, Mapping):
            return value
        converted: dict[str, Any] = {}
        if isinstance(additional, Mapping):
            converted = {key: to_cel(additional, item) for key, item in value.items() if item is not None}
        if properties:
            fields, defaults = _shape(schema)
            for name, item in value.items():
                known = fields.get(name)
                if known is not None and item is not None:
                    converted[known[0]] = to_cel(known[1], item)
            for name, escaped, sub in defaults:
                if value.get(name) is None:
                    converted[escaped] = to_cel(sub, copy.deepcopy(sub["default"]))
        if root or schema.get("x-kubernetes-embedded-resource"):
            for name in ("apiVersion", "kind"):
                if isinstance(value.get(name), str):
                    converted[name] = value[name]
            metadata = value.get("metadata")
            if isinstance(metadata, dict):
                names = [key for key in ("name", "generateName") if isinstance(metadata.get(key), str)]
                converted["metadata"] = {key: metadata[key] for key in names}
        return converted
    if isinstance(value, list):
        items = schema.get("items")
        return [to_cel(items, item) for item in value] if isinstance(items, Mapping) else value
    if schema.get("type") == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _message(rule: Rule, value: Any) -> str:
    """messageExpression when it gives a non-empty single line, else message (the server's fallback)."""
    if rule.message_program is not None:
        try:
            text = rule.message_program.eval(data={"self": value}).value()
        except Exception:
            text = None
        if isinstance(text, str) and text.strip() and "\n" not in text.strip():
            return text.strip()
    return rule.message


def evaluate(
    node: Node, value: Any, path: YamlPath, out: list[Violation], skipped: list[Unevaluated]
) -> None:
    """Run the rules at `node` on `value` (already converted by to_cel), then the levels below."""
    error_type = runtime().error_type
    for rule in node.rules:
        if rule.transition:
            continue
        if rule.program is None:
            skipped.append(Unevaluated(rule.where, rule.rule, rule.problem or "not compiled"))
            continue
        result = rule.program.eval(data={"self": value})
        outcome = result.value()
        if outcome is True:
            continue
        if outcome is False:
            out.append(Violation((*path, *rule.field_path), rule.prefix + _message(rule, value)))
        elif result.type() != error_type:
            skipped.append(Unevaluated(rule.where, rule.rule, f"it gives {str(outcome)[:80]!r}, not a bool"))
        elif "No matching overloads" in str(outcome) and node.loose:
            # The server would see a timestamp, duration or bytes where this evaluator has a string.
            reason = f"a formatted string is a plain string here: {str(outcome)[:120]}"
            skipped.append(Unevaluated(rule.where, rule.rule, reason))
        elif "No matching overloads" in str(outcome):
            # The server rejects the object then too (an int-or-string of the wrong kind, say).
            signature = "call arguments did not match a supported operator, function or macro signature"
            out.append(Violation(path, f"'{outcome}': {signature} for rule: {rule.label}"))
        else:
            out.append(Violation(path, f"{outcome} evaluating rule: {rule.label}"))
    if isinstance(value, dict):
        for name, escaped, child in node.properties:
            if escaped in value:
                evaluate(child, value[escaped], (*path, name), out, skipped)
        if node.additional is not None:
            for key, item in value.items():
                evaluate(node.additional, item, (*path, key), out, skipped)
    elif isinstance(value, list) and node.items is not None:
        for index, item in enumerate(value):
            evaluate(node.items, item, (*path, index), out, skipped)


class CelRules:
    """The CEL rules of one CRD schema, compiled once."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.root = plan(schema)

    def check(self, obj: Mapping[str, Any]) -> tuple[list[Violation], list[Unevaluated]]:
        """Violations of `obj` (the paths are the object's own keys), and the rules that could not run."""
        violations: list[Violation] = []
        skipped: list[Unevaluated] = []
        if self.root is not None:
            evaluate(self.root, to_cel(self.schema, dict(obj), root=True), (), violations, skipped)
        return violations, skipped
