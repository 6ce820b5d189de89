"""YAML read one way: libyaml composition, a fast converter to plain data, aliases counted.

Documents are composed with libyaml and converted to plain data by a small converter (about twice as
fast as PyYAML's constructor, and it reports duplicate keys, which kubectl rejects). The size a document
would have once its aliases are expanded is counted before it is converted (an alias bomb is refused,
not expanded).

`parse_documents` reads manifests (Kubernetes' reading: YAML 1.1 scalars, as go-yaml). `load_mapping`
reads the small settings files people hand to aiapp (answers, `.aiapp.yml`, presets): one mapping,
size-capped, shallow, plain values only, and refused when a plain value would be read differently by
YAML 1.1 (PyYAML, Copier) and YAML 1.2 (`017`, `1:30`, `on`, `1e3`), naming it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.errors import UsageError
from generator.reader.files import problem as file_problem
from generator.reader.files import read_bytes

_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_BOOLS = {
    "yes": True,
    "true": True,
    "on": True,
    "y": True,
    "no": False,
    "false": False,
    "off": False,
    "n": False,
}


class DuplicateKeyError(yaml.YAMLError):
    """A mapping repeats a key: PyYAML keeps the last value silently, kubectl refuses the file."""

    def __init__(self, key: object, line: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key
        self.line = line


class AliasLimitError(yaml.YAMLError):
    """Aliases would expand a document beyond the limit (an alias bomb), or an anchor contains itself."""


# The default of `check.limits.max_alias_nodes` (generator/policy/config.py repeats it for the docs), and
# the cap of every settings file: anchors for a few shared blocks add tens or hundreds; a bomb billions.
MAX_ALIAS_NODES = 10_000


class _Fallback(Exception):
    """A node the fast converter leaves to PyYAML's constructor (merge keys, rare tags)."""


class _Constructor(yaml.constructor.SafeConstructor):
    """PyYAML's safe constructor, except that timestamps stay strings (as Kubernetes reads them)."""


def _timestamp_as_text(constructor: Any, node: Any) -> Any:
    return constructor.construct_scalar(node)


_Constructor.add_constructor(_TAG + "timestamp", _timestamp_as_text)
_constructor = _Constructor()
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_MAP, _SEQ = _TAG + "map", _TAG + "seq"


class _Resolver(yaml.resolver.BaseResolver):
    """The safe loader's implicit tags, without its per-node path bookkeeping (no path resolvers are used).

    Profiling showed PyYAML's resolver to be a third of the time spent composing with libyaml.
    """

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                if not value:
                    return _TAG + "null"
                for tag, regexp in _IMPLICIT.get(value[0], ()):
                    if regexp.match(value):
                        return str(tag)
            return _STR
        return _MAP if kind is MappingNode else _SEQ


def _make_loader() -> Any:
    """libyaml's parser with the constructor and resolver above."""
    try:
        from yaml._yaml import CParser
    except ImportError:  # pragma: no cover - PyYAML built without libyaml: correct, only slower
        return yaml.SafeLoader

    class _Loader(CParser, _Constructor, _Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Constructor.__init__(self)
            _Resolver.__init__(self)

    return _Loader


LOADER = _make_loader()


def _int(node: ScalarNode) -> Any:
    value = node.value
    if value.isdigit() and (value[0] != "0" or value == "0"):
        return int(value)
    return _constructor.construct_yaml_int(node)


def _float(node: ScalarNode) -> Any:
    return _constructor.construct_yaml_float(node)


_SCALARS: dict[str, Callable[[ScalarNode], Any]] = {
    _TAG + "int": _int,
    _TAG + "float": _float,
    _TAG + "bool": lambda node: _BOOLS[node.value.lower()],
    _TAG + "null": lambda node: None,
    # Kubernetes reads unquoted timestamps as strings, not dates.
    _TAG + "timestamp": lambda node: node.value,
}
_MERGE = _TAG + "merge"


def _convert(node: Node) -> Any:
    kind = node.__class__
    if kind is ScalarNode:
        if node.tag == _STR:
            return node.value
        scalar = _SCALARS.get(node.tag)
        if scalar is None:
            raise _Fallback
        return scalar(node)  # type: ignore[arg-type]
    if kind is MappingNode:
        result: dict[Any, Any] = {}
        pairs = node.value
        for key_node, value_node in pairs:
            if key_node.tag == _MERGE:
                raise _Fallback
            result[_convert(key_node)] = _convert(value_node)
        if len(result) != len(pairs):
            _raise_duplicate(pairs)
        return result
    if kind is SequenceNode:
        return [_convert(item) for item in node.value]
    raise _Fallback


def _raise_duplicate(pairs: list[tuple[Node, Node]]) -> None:
    seen: set[Any] = set()
    for key_node, _ in pairs:
        key = _convert(key_node)
        if key in seen:
            raise DuplicateKeyError(key, key_node.start_mark.line + 1)
        seen.add(key)


def _alias_nodes(root: Node, limit: int) -> None:
    """Raise AliasLimitError when aliases add more than `limit` nodes to a document, or loop.

    A composed document shares the node of an anchor among its aliases; counting each node once per
    path (memoised by node) gives the size the document would have once expanded, in time linear in
    its distinct nodes. go-yaml, which kubectl and kustomize use, refuses such documents too
    ("excessive aliasing").
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in open_nodes:
            raise AliasLimitError("an anchor contains an alias to itself (a recursive structure)")
        open_nodes.add(key)
        total = 1
        if isinstance(node, MappingNode):
            total += sum(size(key_node) + size(value_node) for key_node, value_node in node.value)
        elif isinstance(node, SequenceNode):
            total += sum(size(item) for item in node.value)
        open_nodes.discard(key)
        sizes[key] = total
        return total

    expanded = size(root)
    if expanded - len(sizes) > limit:
        raise AliasLimitError(
            f"YAML aliases expand a document to {expanded:,} nodes from {len(sizes):,} written, more than "
            f"the {limit:,} the limit allows (check.limits.max_alias_nodes): not read, an alias bomb?"
        )


def parse_documents(text: str, max_alias_nodes: int = MAX_ALIAS_NODES) -> list[Any]:
    """Every document of a YAML stream as plain data (None for an empty document).

    Raises yaml.YAMLError (DuplicateKeyError for a repeated key, AliasLimitError for aliases that expand
    beyond `max_alias_nodes`) and RecursionError for absurd nesting.
    """
    anchors = "&" in text
    documents = []
    for node in yaml.compose_all(text, Loader=LOADER):
        if node is None:
            documents.append(None)
            continue
        if anchors:
            _alias_nodes(node, max_alias_nodes)
        try:
            documents.append(_convert(node))
        except (_Fallback, TypeError):
            documents.append(_constructor.construct_document(node))
    return documents


# Settings files people hand to aiapp: a real one is a few hundred bytes to a few KB, no anchors to speak
# of, a few levels deep.
MAX_SETTINGS_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_SHOWN = 80
_PLAIN_TAGS = {_STR, _MAP, _SEQ, *(_TAG + name for name in ("int", "float", "bool", "null", "timestamp"))}
_SURROGATE = re.compile("[\ud800-\udfff]")

# YAML 1.2's core schema (yaml.org/spec/1.2.2, 10.3.2 Tag Resolution): what a plain scalar means there.
_CORE_NULL = re.compile(r"~|null|Null|NULL|")
_CORE_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_CORE_INT10 = re.compile(r"[-+]?[0-9]+")
_CORE_INT8 = re.compile(r"0o[0-7]+")
_CORE_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_CORE_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_CORE_NAN = re.compile(r"\.(nan|NaN|NAN)")


def yaml12(text: str) -> Any:
    """A plain scalar as YAML 1.2's core schema reads it."""
    if _CORE_NULL.fullmatch(text):
        return None
    if text in _CORE_BOOL:
        return _CORE_BOOL[text]
    if _CORE_INT10.fullmatch(text):
        return int(text, 10)
    if _CORE_INT8.fullmatch(text):
        return int(text[2:], 8)
    if _CORE_INT16.fullmatch(text):
        return int(text[2:], 16)
    if _CORE_FLOAT.fullmatch(text):
        return float(text)
    if _CORE_INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _CORE_NAN.fullmatch(text):
        return math.nan
    return text


def same(one: Any, other: Any) -> bool:
    """Whether two readings of a scalar are the same value (NaN is NaN)."""
    if isinstance(one, float) and isinstance(other, float) and math.isnan(one) and math.isnan(other):
        return True
    return type(one) is type(other) and bool(one == other)


def shown(value: Any, limit: int = MAX_SHOWN) -> str:
    """A value for a one-line message: its repr, cut to about `limit` characters with its length."""
    text = repr(value)
    if len(text) <= limit:
        return text
    length = len(value) if isinstance(value, str | list | dict) else len(text)
    cut = text[: limit - 3]
    return f"{cut}... ({length:,} characters)" if isinstance(value, str) else f"{cut}..."


class SettingsError(UsageError):
    """A settings file aiapp will not read (exit 2): the message names the file, line and value."""


def _strict(root: Node, max_depth: int) -> str | None:
    """The first problem of a composed settings document: too deep, an explicit tag other than the plain
    ones, a lone surrogate, or a plain value that YAML 1.1 and 1.2 read differently (None: none)."""
    pending: list[tuple[Node, int]] = [(root, 1)]
    seen: set[int] = set()
    while pending:
        node, depth = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        line = node.start_mark.line + 1
        if depth > max_depth:
            return f"line {line}: nested deeper than {max_depth} levels"
        if node.tag not in _PLAIN_TAGS:
            return f"line {line}: uses the YAML tag {node.tag} (plain values only)"
        if isinstance(node, ScalarNode):
            value = node.value
            if _SURROGATE.search(value):
                return f"line {line}: {shown(value)} holds a lone surrogate, not text"
            if not node.style:  # plain (libyaml's composer says '', PyYAML's None)
                old = _convert(node)
                new = yaml12(value)
                if not same(old, new):
                    return (
                        f"line {line}: {shown(value)} means {shown(old)} in YAML 1.1 (PyYAML, Copier) but "
                        f"{shown(new)} in YAML 1.2: quote it for the text, or write the value plainly"
                    )
        elif isinstance(node, MappingNode):
            pending.extend((part, depth + 1) for pair in node.value for part in pair)
        elif isinstance(node, SequenceNode):
            pending.extend((item, depth + 1) for item in node.value)
    return None


def load_mapping(
    path: Path,
    what: str,
    *,
    max_bytes: int = MAX_SETTINGS_BYTES,
    max_depth: int = MAX_DEPTH,
    max_alias_nodes: int = MAX_ALIAS_NODES,
) -> dict[str, Any]:
    """A small YAML mapping from a file people hand to aiapp (`what` names it in messages).

    A SettingsError (exit 2, one line naming the file) for anything else: not a regular file (a FIFO,
    a device), over `max_bytes`, not UTF-8, more than one document, aliases expanding beyond
    `max_alias_nodes`, nested deeper than `max_depth`, an explicit tag (`!!python/...`, `!!binary`), a
    duplicate key, a value YAML 1.1 and 1.2 read differently, or not a mapping. Empty is {}.
    """
    where = f"{what} {path}"
    try:
        raw = read_bytes(path, max_bytes)
    except OSError as error:
        raise SettingsError(f"{where} {file_problem(error)}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SettingsError(f"{where} is not UTF-8 text (byte {error.start})") from None
    try:
        nodes = list(yaml.compose_all(text, Loader=LOADER))
        if len(nodes) > 1:
            raise SettingsError(f"{where} holds {len(nodes)} YAML documents, not one mapping")
        root = nodes[0] if nodes else None
        if root is None:
            return {}
        _alias_nodes(root, max_alias_nodes)
        problem = _strict(root, max_depth)
        if problem is not None:
            raise SettingsError(f"{where}: {problem}")
        data = _convert(root)
    except (_Fallback, TypeError):
        message = f"{where} uses YAML merge keys (`<<`) or complex keys: plain values only"
        raise SettingsError(message) from None
    except (DuplicateKeyError, AliasLimitError, RecursionError, yaml.YAMLError) as error:
        raise _refusal(error, where, max_alias_nodes, f"nested deeper than {max_depth} levels") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{where} must be a mapping of keys to values, not a {type(data).__name__}")
    return data


def _refusal(error: BaseException, where: str, max_alias_nodes: int, too_deep: str) -> SettingsError:
    """The one-line refusal of a file the YAML reader stopped on (`where` names the file)."""
    if isinstance(error, DuplicateKeyError):
        return SettingsError(f"{where}: line {error.line}: the key {shown(error.key)} is given twice")
    if isinstance(error, AliasLimitError):
        return SettingsError(
            f"{where} expands to more than {max_alias_nodes:,} values through YAML aliases (a bomb?)"
        )
    if isinstance(error, RecursionError) or "maximum nesting depth" in str(error):
        return SettingsError(f"{where} is {too_deep}")
    return SettingsError(f"{where} is not YAML: {' '.join(str(error).split())[:200]}")


def load_document(
    path: Path, what: str, *, max_bytes: int = MAX_SETTINGS_BYTES, max_alias_nodes: int = MAX_ALIAS_NODES
) -> Any:
    """The one YAML document of a file aiapp reads but does not own (a parent kustomization.yaml), bounded
    like `load_mapping` (regular file, size, aliases, nesting, duplicate keys) without its rules for
    values: a SettingsError (exit 2, one line naming the file) otherwise. Empty is None."""
    from generator.reader.files import read_text

    where = f"{what} {path}"
    text = read_text(path, what, max_bytes)
    try:
        documents = parse_documents(text, max_alias_nodes)
    except (DuplicateKeyError, AliasLimitError, RecursionError, yaml.YAMLError) as error:
        raise _refusal(error, where, max_alias_nodes, "nested too deeply to read") from None
    if len(documents) > 1:
        raise SettingsError(f"{where} holds {len(documents)} YAML documents, not one")
    return documents[0] if documents else None
