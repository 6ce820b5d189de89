"""Presets: named answer sets in generator/presets/NAME.yml, usable with `copier --data-file` too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.errors import UsageError
from generator.template.source import PRESETS_DIR


def preset_names() -> list[str]:
    """Every preset name, sorted."""
    return sorted(path.stem for path in PRESETS_DIR.glob("*.yml"))


def preset_path(name: str) -> Path:
    """The file of a preset; a UsageError naming the known presets when it does not exist."""
    path = PRESETS_DIR / f"{name}.yml"
    if not path.is_file():
        raise UsageError(f"unknown preset {name!r}", hint=f"known presets: {', '.join(preset_names())}")
    return path


def load_preset(name: str) -> dict[str, Any]:
    """The answers of a preset."""
    from generator.template.answers import load_yaml_mapping

    return load_yaml_mapping(preset_path(name), "the preset")


def preset_summary(name: str) -> str:
    """The preset's leading comment block, joined into one line: what it is for."""
    words = []
    for line in preset_path(name).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        words.append(line.lstrip("#").strip())
    return " ".join(word for word in words if word)
