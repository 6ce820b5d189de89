"""From the paths on the command line to Kubernetes objects: discovery, reading, kustomize builds.

Every problem with the input becomes a finding (never a traceback), and the other inputs are still read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from generator.policy import kustomize
from generator.policy.k8s import KUSTOMIZE_API, mapping
from generator.policy.model import Finding, K8sObject, Origin
from generator.policy.registry import rule
from generator.policy.yamlio import DuplicateKeyError, document_line, parse_documents

YAML_SUFFIXES = (".yaml", ".yml")
ANSWERS_FILE = ".copier-answers.yml"
HELM_CHART_FILE = "Chart.yaml"
_BINARY_PROBE = 8192


@dataclass(frozen=True, slots=True)
class Unit:
    """One thing to check: a file, a kustomization directory to build, or a path that does not exist."""

    kind: Literal["file", "kustomization", "missing"]
    path: str
    namespace: str | None = None
    reason: str = "no such file or directory"


@dataclass
class Discovery:
    """The units to check and what the user should know about how they were found."""

    units: list[Unit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plain_kustomizations: list[str] = field(default_factory=list)


def input_finding(rule_id: str, file: str, line: int, message: str) -> Finding:
    """A finding about the input itself (no object)."""
    found = rule(rule_id)
    return Finding(found.id, found.severity, message, file, line, "", found.fix_hint)


def _kustomization_namespace(directory: Path) -> str | None:
    kfile = kustomize.kustomization_file(directory)
    if kfile is None:
        return None
    try:
        data = yaml.load(
            kfile.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    namespace = mapping(data).get("namespace")
    return str(namespace) if namespace else None


def _walk(
    directory: Path, namespace: str | None, build: bool, found: Discovery, inside: bool = False
) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as error:
        found.units.append(Unit("missing", str(directory), reason=error.strerror or str(error)))
        return
    names = {entry.name for entry in entries}
    if any(name in names for name in kustomize.KUSTOMIZATION_FILES):
        if build:
            found.units.append(Unit("kustomization", str(directory)))
            return
        if not inside:
            found.plain_kustomizations.append(str(directory))
        inside = True
        namespace = _kustomization_namespace(directory) or namespace
    if HELM_CHART_FILE in names:
        found.notes.append(
            f"skipped Helm chart {directory}: check its rendered output (`helm template`) instead"
        )
        return
    subdirectories = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            subdirectories.append(Path(entry.path))
        elif entry.name.endswith(YAML_SUFFIXES) and entry.name not in kustomize.KUSTOMIZATION_FILES:
            found.units.append(Unit("file", entry.path, namespace))
    for subdirectory in subdirectories:
        _walk(subdirectory, namespace, build, found, inside)


def discover(paths: Sequence[str], build: bool) -> Discovery:
    """The units for the given paths: files as given, directories recursively (hidden entries skipped).

    A directory with a kustomization is built as one unit when `build` is true and a kustomize tool is
    installed; otherwise its files are read as they are, with its `namespace:` as the default namespace.
    """
    found = Discovery()
    can_build = build and kustomize.tool() is not None
    for raw in paths:
        path = Path(raw).absolute()
        if path.is_dir():
            _walk(path, None, can_build, found)
        elif path.exists() or path.is_symlink():
            if path.name != ANSWERS_FILE:
                found.units.append(Unit("file", str(path), _kustomization_namespace(path.parent)))
        else:
            found.units.append(Unit("missing", str(path)))
    found.units = list(dict.fromkeys(found.units))  # a path given twice (or inside a given directory)
    if found.plain_kustomizations and build:
        count = len(found.plain_kustomizations)
        found.notes.append(
            f"neither `kustomize` nor `kubectl` is on PATH: {count} kustomization director"
            f"{'y was' if count == 1 else 'ies were'} read as plain files, without patches, name prefixes "
            f"or generators (first: {found.plain_kustomizations[0]}); install kubectl to build them"
        )
    return found


@dataclass
class Loaded:
    """The objects of a unit and the findings about its input."""

    objects: list[K8sObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files: int = 0


def load(unit: Unit) -> Loaded:
    """Read a unit; problems become findings."""
    if unit.kind == "missing":
        message = f"cannot read {unit.path}: {unit.reason}"
        return Loaded(findings=[input_finding("AIA001", unit.path, 1, message)])
    if unit.kind == "kustomization":
        return _load_kustomization(Path(unit.path))
    return _load_file(unit.path, unit.namespace)


def _read_text(file: str) -> tuple[str | None, Finding | None]:
    try:
        with open(file, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        return None, input_finding("AIA001", file, 1, f"cannot read the file: {error.strerror or error}")
    if b"\0" in raw[:_BINARY_PROBE]:
        return None, input_finding("AIA001", file, 1, "binary file, not YAML")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        return None, input_finding("AIA001", file, 1, f"not UTF-8 text (byte {error.start}): not YAML")


def _parse(text: str, file: str) -> tuple[list[Any] | None, Finding | None]:
    try:
        return parse_documents(text), None
    except DuplicateKeyError as error:
        return None, input_finding(
            "AIA002", file, error.line, f"duplicate key {error.key!r}: kubectl rejects it"
        )
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        message = f"invalid YAML: {error.problem or error.context}"
        if error.context and error.problem:
            started = f" started at line {error.context_mark.line + 1}" if error.context_mark else ""
            message += f" ({error.context.removeprefix('while ')}{started})"
        return None, input_finding("AIA002", file, line, message)
    except yaml.YAMLError as error:
        return None, input_finding("AIA002", file, 1, f"invalid YAML: {error}")
    except RecursionError:
        return None, input_finding("AIA002", file, 1, "invalid YAML: nested too deeply")


def _object_documents(docs: list[Any], file: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(index, object or None, problem) for each document that is meant as a Kubernetes object."""
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            yield index, None, f"document {index + 1} is a {_type_name(doc)}, not a mapping"
            continue
        api_version, kind = doc.get("apiVersion"), doc.get("kind")
        if api_version is None and kind is None:
            continue
        if not isinstance(api_version, str) or not api_version or not isinstance(kind, str) or not kind:
            has, lacks = ("kind", "apiVersion") if kind else ("apiVersion", "kind")
            yield index, None, f"document {index + 1} has {has} but no valid {lacks}"
            continue
        if api_version.startswith(KUSTOMIZE_API):
            continue
        yield index, doc, None


def _type_name(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _expand(doc: dict[str, Any], origin: Origin) -> Iterator[tuple[dict[str, Any], Origin]]:
    """A `kind: *List` document yields its items; any other document itself."""
    items = doc.get("items")
    if str(doc.get("kind", "")).endswith("List") and isinstance(items, list):
        for position, item in enumerate(items):
            if isinstance(item, dict) and item.get("kind"):
                yield item, Origin(origin.file, origin.doc, ("items", position))
        return
    yield doc, origin


def _namespace(doc: dict[str, Any], default: str | None) -> str | None:
    namespace = mapping(doc.get("metadata")).get("namespace")
    return str(namespace) if namespace else default


def _load_file(file: str, namespace: str | None) -> Loaded:
    loaded = Loaded(files=1)
    text, problem = _read_text(file)
    if problem is None and text is not None and not text.strip():
        problem = input_finding("AIA004", file, 1, "empty file: no YAML documents")
    docs: list[Any] | None = None
    if problem is None and text is not None:
        docs, problem = _parse(text, file)
    if problem is not None or docs is None:
        loaded.findings.append(problem)  # type: ignore[arg-type]
        return loaded
    if all(doc is None for doc in docs):
        loaded.findings.append(
            input_finding("AIA004", file, 1, "no YAML documents (only comments or separators)")
        )
        return loaded
    directory = os.path.dirname(file)
    for index, doc, message in _object_documents(docs, file):
        if doc is None:
            loaded.findings.append(input_finding("AIA003", file, document_line(file, index), str(message)))
            continue
        for item, origin in _expand(doc, Origin(file, index)):
            loaded.objects.append(K8sObject(item, origin, _namespace(item, namespace), directory))
    return loaded


def _source_index(directory: Path) -> tuple[kustomize.SourceIndex, int]:
    """The source objects of a kustomization by kind and name, and the number of source files."""
    index = kustomize.SourceIndex()
    files = kustomize.source_files(directory)
    for file in files:
        text, problem = _read_text(str(file))
        if problem is not None or text is None:
            continue
        docs, problem = _parse(text, str(file))
        for position, doc, _ in _object_documents(docs or [], str(file)):
            if doc is not None:
                for item, origin in _expand(doc, Origin(str(file), position)):
                    name = mapping(item.get("metadata")).get("name")
                    index.add(str(item.get("kind")), str(name), origin)
    return index, len(files)


def _load_kustomization(directory: Path) -> Loaded:
    kfile = str(kustomize.kustomization_file(directory) or directory)
    loaded = Loaded(files=1)
    result = kustomize.build(directory)
    if result.error is not None:
        loaded.findings.append(input_finding("AIA005", kfile, 1, f"kustomize build failed: {result.error}"))
        return loaded
    try:
        docs = parse_documents(result.output)
    except (yaml.YAMLError, RecursionError) as error:
        loaded.findings.append(input_finding("AIA005", kfile, 1, f"kustomize printed invalid YAML: {error}"))
        return loaded
    index, sources = _source_index(directory)
    loaded.files += sources
    fallback = Origin(kfile, None, (), 1)
    for doc in docs:
        if not isinstance(doc, dict) or not doc.get("kind"):
            continue
        name = str(mapping(doc.get("metadata")).get("name", ""))
        origin = index.find(str(doc["kind"]), name) or fallback
        source_dir = os.path.dirname(origin.file) if origin is not fallback else str(directory)
        loaded.objects.append(K8sObject(doc, origin, _namespace(doc, None), source_dir))
    return loaded
