"""YAML answers typed on the command line, read as YAML 1.2 reads them or refused.

PyYAML implements YAML 1.1, whose plain scalars change meaning silently: `017` is 15 (octal), `1:30` is 90
(base 60), `yes`/`off` are booleans, `1_000` is 1000; YAML 1.2's core schema (yaml.org/spec/1.2.2,
10.3.2) reads `017` as 17 and the others as text. A value the two versions read differently is refused
with its text, so the answer rendered is always the one typed.
"""

from __future__ import annotations

from typing import Any

import yaml

from generator.errors import cut
from generator.reader.yamldoc import same, yaml12


def load(text: str) -> Any:
    """`text` as YAML; ValueError naming the first plain scalar YAML 1.1 reads differently from 1.2."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is not None:
        _refuse_1_1(node)
    return yaml.safe_load(text)


def _refuse_1_1(node: yaml.Node) -> None:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.ScalarNode):
            if current.style is None:
                old, new = yaml.safe_load(current.value), yaml12(current.value)
                if not same(old, new):
                    raise ValueError(
                        f"{cut(current.value)!r} is {old!r} in YAML 1.1 but {new!r} in YAML 1.2: "
                        "quote it to keep it as text"
                    )
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            stack.extend(part for pair in current.value for part in pair)
