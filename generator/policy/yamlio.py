"""Line numbers found only when a finding needs them; the parsing itself is generator/reader/yamldoc.py.

Line numbers are not kept while reading: a file is composed a second time only when one of its objects
has a finding.
"""

from __future__ import annotations

from functools import lru_cache

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.policy.model import Origin, YamlPath
from generator.reader.yamldoc import (
    LOADER,
    MAX_ALIAS_NODES,
    AliasLimitError,
    DuplicateKeyError,
    parse_documents,
)

__all__ = [
    "MAX_ALIAS_NODES",
    "AliasLimitError",
    "DuplicateKeyError",
    "document_line",
    "locate",
    "parse_documents",
]


@lru_cache(maxsize=32)
def _composed(file: str) -> tuple[Node | None, ...]:
    with open(file, encoding="utf-8-sig") as handle:
        return tuple(yaml.compose_all(handle.read(), Loader=LOADER))


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
