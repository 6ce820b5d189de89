"""YAML answers typed on the command line, read as YAML 1.2 reads them or refused.

PyYAML implements YAML 1.1, whose plain scalars change meaning silently: `017` is 15 (octal), `1:30` is 90
(base 60), `yes`/`off` are booleans, `1_000` is 1000; YAML 1.2's core schema (yaml.org/spec/1.2.2,
10.3.2) reads `017` as 17 and the others as text. A value the two versions read differently is refused
with its text, so the answer rendered is always the one typed.

The same texts come back on every answer set (copier.yml's rendered defaults are long flow mappings):
each text is parsed once per process (a bounded cache, a fresh copy handed out), which took resolving one
answer set from about 50 ms to a few ms.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

import yaml

from generator.errors import cut
from generator.reader.yamldoc import same, yaml12

# Texts longer than this are parsed every time (a cache of a few hundred short texts stays small).
CACHED_CHARS = 16_384


def load(text: str) -> Any:
    """`text` as YAML; ValueError naming the first plain scalar YAML 1.1 reads differently from 1.2."""
    if len(text) > CACHED_CHARS:
        return _load(text)
    return copy.deepcopy(_cached_load(text))


@lru_cache(maxsize=512)
def _cached_load(text: str) -> Any:
    return _load(text)


# libyaml's loader when PyYAML has it: the same resolver as SafeLoader, about ten times faster (the
# answers' defaults are parsed here; `aiapp new` must stay as fast as `copier copy`).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(text: str) -> Any:
    node = yaml.compose(text, Loader=_LOADER)
    if node is not None:
        _refuse_1_1(node)
    return yaml.load(text, Loader=_LOADER)


def _refuse_1_1(node: yaml.Node) -> None:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.ScalarNode):
            if not current.style:  # plain: None from PyYAML, "" from libyaml
                refuse = _refuse_plain if len(current.value) <= 256 else _refuse_plain.__wrapped__
                refuse(current.value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            stack.extend(part for pair in current.value for part in pair)


@lru_cache(maxsize=4096)
def _refuse_plain(value: str) -> None:
    """Refuse one plain scalar that YAML 1.1 and 1.2 read differently (a pass is cached, not a refusal)."""
    old, new = yaml.safe_load(value), yaml12(value)
    if not same(old, new):
        raise ValueError(
            f"{cut(value)!r} is {old!r} in YAML 1.1 but {new!r} in YAML 1.2: quote it to keep it as text"
        )
