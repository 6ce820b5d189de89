"""YAML answers typed on the command line, read as YAML 1.2 reads them or refused.

PyYAML implements YAML 1.1, whose plain scalars change meaning silently: `017` is 15 (octal), `1:30` is 90
(base 60), `yes`/`off` are booleans, `1_000` is 1000; YAML 1.2's core schema (yaml.org/spec/1.2.2,
10.3.2) reads `017` as 17 and the others as text. A value the two versions read differently is refused
with its text, so the answer rendered is always the one typed.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# YAML 1.2 core schema resolution of plain scalars (yaml.org/spec/1.2.2, 10.3.2).
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
SHOWN = 80


def shown(text: str) -> str:
    """A value for a message: cut to about 80 characters, with its length when cut."""
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text)} characters)"


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
                old, new = yaml.safe_load(current.value), _core(current.value)
                if type(old) is not type(new) or repr(old) != repr(new):  # (nan != nan)
                    raise ValueError(
                        f"{shown(current.value)!r} is {old!r} in YAML 1.1 but {new!r} in YAML 1.2: "
                        "quote it to keep it as text"
                    )
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            stack.extend(part for pair in current.value for part in pair)


def _core(text: str) -> Any:
    """A plain scalar as YAML 1.2's core schema reads it."""
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return text.lower() == "true"
    if _INT.fullmatch(text):
        return int(text)
    if re.fullmatch(r"0o[0-7]+", text):
        return int(text[2:], 8)
    if re.fullmatch(r"0x[0-9a-fA-F]+", text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    lowered = text.lower().lstrip("+-")
    if lowered in (".inf", ".nan") and text.lstrip("+-") in (lowered, lowered.capitalize(), lowered.upper()):
        return float(text.replace(".", "", 1))
    return text
