"""Fast YAML reading, and line numbers found only when a finding needs them.

Documents are composed with libyaml and converted to plain data by a small converter (about twice as
fast as PyYAML's constructor, and it reports duplicate keys, which kubectl rejects). Line numbers are not
kept: a file is composed a second time only when one of its objects has a finding.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.policy.model import Origin, YamlPath

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


# The default of `check.limits.max_alias_nodes` (generator/policy/config.py repeats it for the docs).
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


_LOADER = _make_loader()


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
    for node in yaml.compose_all(text, Loader=_LOADER):
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


@lru_cache(maxsize=32)
def _composed(file: str) -> tuple[Node | None, ...]:
    with open(file, encoding="utf-8-sig") as handle:
        return tuple(yaml.compose_all(handle.read(), Loader=_LOADER))


def document_line(file: str, doc: int) -> int:
    """The first line of a document of a file (1 when it cannot be composed)."""
    return locate(Origin(file, doc), ())


def locate(origin: Origin, path: YamlPath, offset: int | None = None) -> int:
    """The 1-based line of `path` inside the object at `origin`.

    Walks as deep as the path exists: a finding about a missing field points at its parent. `offset` is
    a character offset in the string at the end of the path, used for block scalars (`|`).
    """
    if origin.doc is None:
        return origin.line
    try:
        documents = _composed(origin.file)
        node = documents[origin.doc]
    except (OSError, UnicodeDecodeError, yaml.YAMLError, IndexError, RecursionError):
        return origin.line
    if node is None:
        return origin.line
    line = node.start_mark.line + 1
    complete = True
    for part in (*origin.prefix, *path):
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == str(part):
                    line, node = key_node.start_mark.line + 1, value_node
                    break
            else:
                complete = False
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            complete = False
        if not complete:
            break
    if complete and offset is not None and isinstance(node, ScalarNode) and node.style == "|":
        line = node.start_mark.line + 2 + node.value[:offset].count("\n")
    return line


def clear_cache() -> None:
    """Forget composed files (tests rewrite files in place)."""
    _composed.cache_clear()
