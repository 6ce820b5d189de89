"""Per-repository configuration of `aiapp check`: the `check:` section of `.aiapp.yml`.

    check:
      scope:                 # what the AI house rules govern (default: everything checked)
        paths: [apps/ai]     # relative to the .aiapp.yml; and/or
        namespaces: [rag, chat]
      exclude:               # never read
        - path: apps/legacy
          reason: retired app, deleted after the migration
      rules:                 # by id or slug, each with a reason (printed by --verbose)
        AIA705: {severity: warning, reason: batch jobs get limits from the namespace quota}
        AIA707: {disabled: true, reason: images are pinned by Renovate digests instead}
      limits:               # only lower than the defaults; `--limit NAME=N` raises them
        max_file_bytes: 4194304
        max_alias_nodes: 10000
        build_seconds: 60
        build_memory_mb: 1024

Like ruff's and kube-linter's configuration, every exception says why; a reason must say something.
Network policies are collected from every file read, whatever the scope: a policy may live far from the
workloads it selects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from generator.errors import UsageError
from generator.policy import kustomize
from generator.policy.model import Severity
from generator.policy.registry import get
from generator.policy.suppress import meaningful
from generator.template.source import SETTINGS_FILE

KEY = "check"
# A Kubernetes object is at most about 1.5 MiB in etcd; a manifest file several times that size is
# generated data or an accident, and reading it would cost hundreds of MB.
MAX_FILE_BYTES = 4 * 1024 * 1024
# Nodes that aliases may add to one document: anchors for a few shared blocks add tens or hundreds; an
# alias bomb adds billions.
MAX_ALIAS_NODES = 10_000
_SECTIONS = ("scope", "exclude", "rules", "limits")


@dataclass(frozen=True)
class RuleSetting:
    """A rule turned off or given another severity for the repository, and why."""

    rule_id: str
    reason: str
    disabled: bool = False
    severity: Severity | None = None


@dataclass(frozen=True)
class Limits:
    """Bounds on what one input may cost: bytes read per file, nodes added by YAML aliases, and the
    seconds and memory of one kustomize build.

    The defaults are ceilings for a checked repository: its `check.limits` may only lower them (the
    content under check must not lift the protection against itself); `--limit NAME=N` on the command
    line, chosen by whoever runs the check, may raise them.
    """

    max_file_bytes: int = MAX_FILE_BYTES
    max_alias_nodes: int = MAX_ALIAS_NODES
    build_seconds: int = kustomize.BUILD_SECONDS
    build_memory_mb: int = kustomize.BUILD_MEMORY_MB


LIMIT_NAMES = tuple(Limits.__dataclass_fields__)


def command_line_limits(config: Config, items: list[str]) -> Config:
    """The configuration with `--limit NAME=N` options applied (any positive whole number)."""
    values: dict[str, int] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or name not in LIMIT_NAMES:
            known = ", ".join(LIMIT_NAMES)
            raise UsageError(f"--limit expects NAME=N with NAME one of {known}, got {item[:80]!r}")
        if not raw.strip().isdigit() or int(raw) <= 0:
            raise UsageError(f"--limit {name}: {raw.strip()[:20]!r} is not a positive whole number")
        values[name] = int(raw)
    return replace(config, limits=replace(config.limits, **values)) if values else config


@dataclass(frozen=True)
class Config:
    """The `check:` settings, with paths made absolute (against the .aiapp.yml's directory)."""

    file: str | None = None
    scope_paths: tuple[str, ...] = ()
    scope_namespaces: tuple[str, ...] = ()
    exclude: tuple[tuple[str, str], ...] = ()
    rules: dict[str, RuleSetting] = field(default_factory=dict)
    limits: Limits = Limits()

    def excluded(self, path: str) -> bool:
        return any(_under(path, prefix) for prefix, _ in self.exclude)

    def path_in_scope(self, file: str) -> bool:
        """Whether a file lies under the scope's paths (always, when the scope names none)."""
        return not self.scope_paths or any(_under(file, prefix) for prefix in self.scope_paths)

    def in_scope(self, file: str, namespace: str | None) -> bool:
        """Whether an object is governed by the house rules: under the scope's paths and in its
        namespaces (a cluster-scoped object is outside a scope that names namespaces)."""
        if not self.path_in_scope(file):
            return False
        return not self.scope_namespaces or namespace in self.scope_namespaces

    def describe(self) -> list[str]:
        """What the configuration changes, for --verbose."""
        if self.file is None:
            return ["configuration: none (no `check:` in a .aiapp.yml); scope: everything checked"]
        lines = [f"configuration: {self.file}"]
        scope = [f"path {path}" for path in self.scope_paths]
        scope += [f"namespace {namespace}" for namespace in self.scope_namespaces]
        lines.append(f"scope: {', '.join(scope) if scope else 'everything checked'}")
        lines.extend(f"excluded: {path}: {reason}" for path, reason in self.exclude)
        for setting in self.rules.values():
            what = "disabled" if setting.disabled else f"severity {setting.severity}"
            lines.append(f"{setting.rule_id} {what}: {setting.reason}")
        limits = self.limits
        lines.append(
            f"limits: {limits.max_file_bytes} bytes per file, {limits.max_alias_nodes} alias nodes, "
            f"{limits.build_seconds} s and {limits.build_memory_mb} MB per build"
        )
        return lines


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip(os.sep) + os.sep)


def common_parent(paths: list[str] | tuple[str, ...]) -> Path:
    """The directory the checked paths share (where the search for `.aiapp.yml` starts)."""
    folders = [os.path.abspath(p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p))) for p in paths]
    try:
        return Path(os.path.commonpath(folders)) if folders else Path.cwd()
    except ValueError:
        return Path.cwd()


def find(start: Path) -> Path | None:
    """The nearest `.aiapp.yml` with a `check:` key at or above `start`."""
    from generator.template.source import read_settings

    start = start.absolute()
    for directory in [start, *start.parents]:
        path = directory / SETTINGS_FILE
        data = read_settings(path)
        if data is not None and KEY in data:
            return path
    return None


def load(path: Path | None) -> Config:
    """The configuration in a `.aiapp.yml` (the defaults for None); a malformed one is a usage error.

    The file is read by the one bounded reader (generator/reader/yamldoc.py), like every settings file.
    """
    if path is None:
        return Config()
    from generator.template.source import read_settings

    data = read_settings(path) or {}
    section = data.get(KEY)
    return _parse(section if section is not None else {}, path)


class _Reader:
    """Checks one value after another and names the key of the first problem."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> UsageError:
        return UsageError(f"{self.path}: {KEY}.{where} {problem}", hint="see docs/ci.md, Configuration")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, "must be a mapping")
        return {str(key): item for key, item in value.items()}

    def strings(self, value: Any, where: str) -> list[str]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) and item.strip() for item in items):
            raise self.fail(where, "must be a list of names")
        return [item.strip() for item in items]

    def reason(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not meaningful(value):
            raise self.fail(where, "needs a reason that says why (a few words, not one)")
        return " ".join(value.split())

    def known(self, value: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
        unknown = [key for key in value if key not in keys]
        if unknown:
            raise self.fail(where, f"has unknown key {unknown[0]!r} (known: {', '.join(keys)})")


def _parse(section: Any, path: Path) -> Config:
    read = _Reader(path)
    section = read.mapping(section, "")
    read.known(section, _SECTIONS, "")
    base = path.parent.absolute()

    def absolute(value: str) -> str:
        return os.path.normpath(base / value)

    scope = read.mapping(section.get("scope"), "scope")
    read.known(scope, ("paths", "namespaces"), "scope")
    excludes = []
    entries = section.get("exclude") or []
    if not isinstance(entries, list):
        raise read.fail("exclude", "must be a list of `{path: DIR, reason: why}`")
    for index, entry in enumerate(entries):
        where = f"exclude[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise read.fail(where, "must be `{path: DIR, reason: why}`")
        entry = read.mapping(entry, where)
        read.known(entry, ("path", "reason"), where)
        excludes.append((absolute(entry["path"]), read.reason(entry.get("reason"), f"{where}.reason")))
    settings: dict[str, RuleSetting] = {}
    for name, value in read.mapping(section.get("rules"), "rules").items():
        where = f"rules.{name}"
        found = get(name)
        if found is None:
            raise read.fail(where, "names no rule (see `aiapp check --list-rules`)")
        value = read.mapping(value, where)
        read.known(value, ("disabled", "severity", "reason"), where)
        disabled = value.get("disabled", False)
        severity = value.get("severity")
        if not isinstance(disabled, bool):
            raise read.fail(f"{where}.disabled", "must be true or false")
        if severity is not None and severity not in set(Severity):
            raise read.fail(f"{where}.severity", f"must be one of {', '.join(Severity)}")
        if not disabled and severity is None:
            raise read.fail(where, "must set `disabled: true` or a `severity`")
        settings[found.id] = RuleSetting(
            found.id,
            read.reason(value.get("reason"), f"{where}.reason"),
            disabled,
            Severity(severity) if severity is not None else None,
        )
    limits = read.mapping(section.get("limits"), "limits")
    read.known(limits, LIMIT_NAMES, "limits")
    numbers = {}
    ceilings = Limits()
    for name, value in limits.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise read.fail(f"limits.{name}", "must be a positive whole number")
        ceiling = getattr(ceilings, name)
        if value > ceiling:
            raise read.fail(
                f"limits.{name}",
                f"= {value:,} is above the default {ceiling:,}: a repository may only lower its limits "
                f"(raise them where the check runs: `aiapp check --limit {name}={value}`)",
            )
        numbers[name] = value
    return Config(
        file=str(path),
        scope_paths=tuple(absolute(item) for item in read.strings(scope.get("paths"), "scope.paths")),
        scope_namespaces=tuple(read.strings(scope.get("namespaces"), "scope.namespaces")),
        exclude=tuple(excludes),
        rules=settings,
        limits=Limits(**numbers),
    )
