"""`check.limits` in a checked repository only lowers the limits; `--limit` on the command line raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import UsageError
from generator.policy import config as settings
from tests.policy.test_hostile_inputs import _alias_bomb, run_bounded


def _write(tmp_path: Path, limits: str) -> Path:
    path = tmp_path / ".aiapp.yml"
    path.write_text(f"check:\n  limits:\n{limits}", encoding="utf-8")
    return path


def test_a_repository_may_lower_its_limits(tmp_path: Path) -> None:
    loaded = settings.load(_write(tmp_path, "    max_alias_nodes: 50\n    build_seconds: 10\n"))
    assert (loaded.limits.max_alias_nodes, loaded.limits.build_seconds) == (50, 10)
    assert loaded.limits.build_memory_mb == settings.Limits().build_memory_mb


@pytest.mark.parametrize("name", settings.LIMIT_NAMES)
def test_a_repository_cannot_raise_a_limit(tmp_path: Path, name: str) -> None:
    above = getattr(settings.Limits(), name) + 1
    with pytest.raises(UsageError) as raised:
        settings.load(_write(tmp_path, f"    {name}: {above}\n"))
    assert f"check.limits.{name} = {above:,} is above the default" in raised.value.message
    assert f"--limit {name}={above}" in raised.value.message


def test_the_command_line_raises_a_limit(tmp_path: Path) -> None:
    raised = settings.command_line_limits(settings.Config(), ["max_alias_nodes=1000000000"])
    assert raised.limits.max_alias_nodes == 1_000_000_000
    for bad in ("max_alias_nodes", "nope=3", "build_seconds=-1", "build_seconds=1.5"):
        with pytest.raises(UsageError):
            settings.command_line_limits(settings.Config(), [bad])


def test_a_hostile_repository_cannot_lift_the_alias_bomb_protection(tmp_path: Path) -> None:
    _alias_bomb(tmp_path)
    _write(tmp_path, "    max_alias_nodes: 1000000000000\n")
    result, seconds, _ = run_bounded(str(tmp_path))
    assert result.returncode == 2 and "is above the default" in result.stderr, result.stderr
    assert seconds < 5
