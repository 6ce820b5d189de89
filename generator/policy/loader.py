"""From the paths on the command line to Kubernetes objects: discovery, reading, kustomize builds.

Every problem with the input becomes a finding (never a traceback), and the other inputs are still read.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from generator.cluster import gitops
from generator.policy import kustomize
from generator.policy.config import Config, Limits
from generator.policy.k8s import KUSTOMIZE_API, mapping
from generator.policy.model import Build, Finding, K8sObject, Origin
from generator.policy.paths import shown
from generator.policy.registry import rule
from generator.policy.yamlio import AliasLimitError, DuplicateKeyError, document_line, parse_documents
from generator.reader.files import NotRegularError, TooLargeError, file_type, read_bytes

YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIX = ".json"
MANIFEST_SUFFIXES = (*YAML_SUFFIXES, JSON_SUFFIX)
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
    # For a file inside a kustomization directory that no build of the run includes: that kustomization.
    unbuilt: str | None = None
    # The namespace a Flux Kustomization or an Argo CD Application gives the unit's objects (gitops.py).
    target: gitops.Target | None = None


@dataclass
class Discovery:
    """The units to check and what the user should know about how they were found."""

    units: list[Unit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plain_kustomizations: list[str] = field(default_factory=list)


@dataclass
class _Walk:
    """Everything under the given paths, before deciding what is built and what is read as it is."""

    # Kustomization directories, outermost first.
    kustomizations: list[Path] = field(default_factory=list)
    # Those not inside another one (for the note when they cannot be built).
    outermost: list[Path] = field(default_factory=list)
    # (file, default namespace, the nearest kustomization directory at or above it, if any).
    files: list[tuple[str, str | None, Path | None]] = field(default_factory=list)
    charts: list[Path] = field(default_factory=list)
    missing: list[Unit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def input_finding(rule_id: str, file: str, line: int, message: str) -> Finding:
    """A finding about the input itself (no object)."""
    found = rule(rule_id)
    return Finding(found.id, found.severity, message, file, line, "", found.fix_hint)


def _kustomization_namespace(directory: Path) -> str | None:
    kfile = kustomize.kustomization_file(directory)
    if kfile is None:
        return None
    namespace = mapping(kustomize.read_kustomization(str(kfile))).get("namespace")
    return str(namespace) if namespace else None


def _walk(
    directory: Path, namespace: str | None, enclosing: Path | None, found: _Walk, config: Config
) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as error:
        found.missing.append(Unit("missing", str(directory), reason=error.strerror or str(error)))
        return
    names = {entry.name for entry in entries}
    if any(name in names for name in kustomize.KUSTOMIZATION_FILES):
        found.kustomizations.append(directory)
        if enclosing is None:
            found.outermost.append(directory)
        enclosing = directory
        namespace = _kustomization_namespace(directory) or namespace
    if HELM_CHART_FILE in names:
        found.charts.append(directory)
        return
    subdirectories = []
    for entry in entries:
        if entry.name.startswith(".") or (config.exclude and config.excluded(entry.path)):
            continue
        if entry.is_dir(follow_symlinks=False):
            subdirectories.append(Path(entry.path))
        elif entry.name.endswith(MANIFEST_SUFFIXES) and entry.name not in kustomize.KUSTOMIZATION_FILES:
            found.files.append((entry.path, namespace, enclosing))
    for subdirectory in subdirectories:
        _walk(subdirectory, namespace, enclosing, found, config)


@dataclass
class _Builds:
    """The kustomizations to build (those no other one includes) and every file their builds read."""

    roots: list[str] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)
    chart_homes: set[str] = field(default_factory=set)
    # Kustomization directories whose file does not parse: what they include is unknown.
    unreadable: set[str] = field(default_factory=set)

    def covers(self, path: str) -> bool:
        """Whether a build reads the file (or it lies in a Helm chart home a build renders)."""
        return path in self.consumed or any(path.startswith(home + os.sep) for home in self.chart_homes)


def _plan_builds(directories: list[Path]) -> _Builds:
    """Build each kustomization that no other kustomization of the run includes: a child listed by its
    parent is checked through the parent's build, once; one that nothing lists is built on its own.

    Directories come outermost first, so a parent's tree is read before its children, which it covers.
    """
    trees: dict[str, tuple[Path, kustomize.Tree]] = {}
    covered: set[str] = set()
    for directory in directories:
        real = os.path.realpath(directory)
        if real not in covered:
            found = kustomize.tree(real)
            trees[real] = (directory, found)
            covered |= found.dirs
    included = {child for _, found in trees.values() for child in found.dirs if child != found.root}
    plan = _Builds()
    for root, (directory, found) in trees.items():
        if root in included:
            continue
        plan.roots.append(str(directory))
        plan.consumed |= found.consumed
        plan.chart_homes |= found.chart_homes
        plan.unreadable |= found.unreadable
    return plan


def _real_file(file: str, directories: dict[str, str]) -> str:
    """The file's path with its directory resolved (as the kustomize trees name files)."""
    directory, name = os.path.split(file)
    if directory not in directories:
        directories[directory] = os.path.realpath(directory)
    return os.path.join(directories[directory], name)


def discover(paths: Sequence[str], build: bool, config: Config | None = None) -> Discovery:
    """The units for the given paths: files as given, directories recursively (hidden entries skipped).

    With `build` and a kustomize tool installed, each outermost kustomization is built as one unit, and
    every other YAML file under the paths that no build reads is still read as it is (a Secret left
    beside a kustomization leaks whether or not it is deployed), marked as outside any build. Otherwise
    all files are read as they are, with a kustomization's `namespace:` as their default namespace.
    """
    config = config or Config()
    walk = _Walk()
    for raw in paths:
        path = Path(raw).absolute()
        if config.exclude and config.excluded(os.path.normpath(path)):
            found_note = f"{raw} is excluded by {config.file}: not checked"
            walk.notes.append(found_note)
            continue
        if path.is_dir():
            _walk(path, None, None, walk, config)
        elif path.exists() or path.is_symlink():
            if path.name != ANSWERS_FILE:
                walk.files.append((str(path), _kustomization_namespace(path.parent), None))
        else:
            walk.missing.append(Unit("missing", str(path)))
    found = Discovery(notes=list(walk.notes))
    targets = _gitops_targets(paths, [file for file, _, _ in walk.files], config.limits)
    can_build = build and kustomize.tool() is not None
    plan = _plan_builds(walk.kustomizations) if can_build else _Builds()
    found.units.extend(
        Unit("kustomization", root, target=gitops.target_for(root, targets)) for root in plan.roots
    )
    kustomization_files: dict[Path, str | None] = {}
    directories: dict[str, str] = {}
    for file, namespace, enclosing in walk.files:
        if plan.consumed and plan.covers(_real_file(file, directories)):
            continue
        unbuilt = None
        if can_build and enclosing is not None:
            if enclosing not in kustomization_files:
                readable = os.path.realpath(enclosing) not in plan.unreadable
                kfile = kustomize.kustomization_file(enclosing)
                kustomization_files[enclosing] = str(kfile) if readable and kfile else None
            unbuilt = kustomization_files[enclosing]
        target = gitops.target_for(file, targets) if targets else None
        found.units.append(Unit("file", file, namespace, unbuilt=unbuilt, target=target))
    found.units.extend(walk.missing)
    found.units = list(dict.fromkeys(found.units))  # a path given twice (or inside a given directory)
    for chart in dict.fromkeys(walk.charts):
        if not plan.covers(os.path.join(os.path.realpath(chart), "")):
            found.notes.append(
                f"skipped Helm chart {chart}: check its rendered output (`helm template`) instead"
            )
    if not can_build:
        found.plain_kustomizations = [str(directory) for directory in dict.fromkeys(walk.outermost)]
    if found.plain_kustomizations and build:
        count = len(found.plain_kustomizations)
        found.notes.append(
            f"neither `kustomize` nor `kubectl` is on PATH: {count} kustomization director"
            f"{'y was' if count == 1 else 'ies were'} read as plain files, without patches, name prefixes "
            f"or generators (first: {found.plain_kustomizations[0]}); install kubectl to build them"
        )
    return found


def _gitops_targets(paths: Sequence[str], files: list[str], limits: Limits) -> list[gitops.Target]:
    """The Flux Kustomizations and Argo CD Applications of the run's files, and of the files beside each
    directory given (an app's `ks.yaml` sits next to its `app/` directory)."""
    beside = []
    for raw in paths:
        path = Path(raw).absolute()
        # Not above the repository: a checked repository root has no ks.yaml of its own beside it.
        if path.is_dir() and path.parent != path and gitops.repository_root(str(path)) != str(path):
            try:
                beside += [
                    entry.path
                    for entry in sorted(os.scandir(path.parent), key=lambda entry: entry.name)
                    if entry.name.endswith(YAML_SUFFIXES) and entry.is_file(follow_symlinks=False)
                ]
            except OSError:
                continue

    def read(file: str) -> list[Any] | None:
        text, _ = _read_text(file, limits)
        if text is None or not gitops.mentions_gitops(text):
            return None
        docs, _ = _parse(text, file, limits)
        return docs

    return gitops.find_targets(dict.fromkeys([*files, *beside]), read)


@dataclass
class Loaded:
    """The objects of a unit and the findings about its input."""

    objects: list[K8sObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files: int = 0


def load(unit: Unit, limits: Limits | None = None) -> Loaded:
    """Read a unit; problems become findings."""
    limits = limits or Limits()
    if unit.kind == "missing":
        message = f"cannot read {unit.path}: {unit.reason}"
        return Loaded(findings=[input_finding("AIA001", unit.path, 1, message)])
    if unit.kind == "kustomization":
        return _place(_load_kustomization(Path(unit.path), limits), unit.target)
    loaded = _load_file(unit.path, unit.namespace, limits)
    _place(loaded, unit.target)
    if unit.unbuilt is not None and loaded.objects:
        message = (
            f"not part of any kustomize build: {shown(unit.unbuilt)} does not include this file (directly "
            "or through a base), so it is not deployed with it; its objects were checked as written"
        )
        loaded.findings.append(input_finding("AIA008", unit.path, 1, message))
    return loaded


def _place(loaded: Loaded, target: gitops.Target | None) -> Loaded:
    """Give the objects the namespace their GitOps controller applies them in."""
    if target is not None:
        for obj in loaded.objects:
            obj.namespace = gitops.namespace_of(obj.kind, obj.namespace, target)
    return loaded


def conflicts(text: str) -> list[tuple[int, int | None]]:
    """(line of `<<<<<<<`, line of `>>>>>>>` or None) of each unresolved merge conflict in a text.

    git, `copier update` and `aiapp update` write the markers at the start of a line; `=======` alone is
    not taken for one (a heading underline in a block scalar looks the same).
    """
    if "<<<<<<<" not in text and ">>>>>>>" not in text:
        return []
    found: list[tuple[int, int | None]] = []
    start: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        marker = line[:7]
        if marker not in ("<<<<<<<", ">>>>>>>") or line[7:8] not in ("", " "):
            continue
        if marker == "<<<<<<<":
            if start is not None:
                found.append((start, None))
            start = number
        else:
            found.append((start or number, number))
            start = None
    if start is not None:
        found.append((start, None))
    return found


def conflict_findings(text: str, file: str) -> list[Finding]:
    """AIA002 at each unresolved merge conflict of a file."""
    findings = []
    for first, last in conflicts(text):
        if last is None:
            where = "`<<<<<<<` without a closing `>>>>>>>`"
        elif last == first:
            where = "`>>>>>>>` without an opening `<<<<<<<`"
        else:
            where = f"`<<<<<<<` here, `>>>>>>>` at line {last}"
        findings.append(input_finding("AIA002", file, first, f"unresolved merge conflict marker: {where}"))
    return findings


def _read_text(file: str, limits: Limits) -> tuple[str | None, Finding | None]:
    """The text of a regular file of at most `limits.max_file_bytes` (the one bounded reader,
    generator/reader/files.py: a FIFO, a device or a symlink to one is never read); anything else is a
    finding."""
    try:
        raw = read_bytes(file, limits.max_file_bytes)
    except NotRegularError as error:
        return None, input_finding("AIA001", file, 1, f"{error.what}, not a manifest: skipped")
    except TooLargeError as error:
        return None, _too_large(file, error.size, limits)
    except OSError as error:
        return None, input_finding("AIA001", file, 1, f"cannot read the file: {error.strerror or error}")
    if b"\0" in raw[:_BINARY_PROBE]:
        return None, input_finding("AIA001", file, 1, "binary file, not YAML")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        return None, input_finding("AIA001", file, 1, f"not UTF-8 text (byte {error.start}): not YAML")


def _too_large(file: str, size: int, limits: Limits) -> Finding:
    message = (
        f"the file has {size:,} bytes, more than the {limits.max_file_bytes:,} the limit allows "
        "(check.limits.max_file_bytes): not read"
    )
    return input_finding("AIA001", file, 1, message)


def _parse(text: str, file: str, limits: Limits) -> tuple[list[Any] | None, Finding | None]:
    if file.endswith(JSON_SUFFIX):
        return _parse_json(text, file)
    try:
        return parse_documents(text, limits.max_alias_nodes), None
    except DuplicateKeyError as error:
        return None, input_finding(
            "AIA002", file, error.line, f"duplicate key {error.key!r}: kubectl rejects it"
        )
    except AliasLimitError as error:
        return None, input_finding("AIA002", file, 1, str(error))
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


def _parse_json(text: str, file: str) -> tuple[list[Any] | None, Finding | None]:
    """A JSON file is one document; one that is not an object (a list, a number) is other tools' data."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return None, input_finding("AIA002", file, error.lineno, f"invalid JSON: {error.msg}")
    except RecursionError:
        return None, input_finding("AIA002", file, 1, "invalid JSON: nested too deeply")
    return [data if isinstance(data, dict) else None], None


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


def _load_file(file: str, namespace: str | None, limits: Limits) -> Loaded:
    loaded = Loaded(files=1)
    text, problem = _read_text(file, limits)
    if problem is None and text is not None:
        markers = conflict_findings(text, file)
        if markers:
            loaded.findings.extend(markers)
            return loaded
        if not text.strip():
            problem = input_finding("AIA004", file, 1, "empty file: no YAML documents")
    docs: list[Any] | None = None
    if problem is None and text is not None:
        docs, problem = _parse(text, file, limits)
    if problem is not None or docs is None:
        loaded.findings.append(problem)  # type: ignore[arg-type]
        return loaded
    if file.endswith(JSON_SUFFIX) and docs == [None]:
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


def _source_index(found: kustomize.Tree, parsed: dict[str, list[Any]]) -> kustomize.SourceIndex:
    """The source objects of a kustomization by kind and name, and its generated objects."""
    index = kustomize.SourceIndex()
    for file in found.resources:
        for position, doc, _ in _object_documents(parsed.get(file) or [], file):
            if doc is not None:
                for item, origin in _expand(doc, Origin(file, position)):
                    name = mapping(item.get("metadata")).get("name")
                    index.add(str(item.get("kind")), str(name), kustomize.Source(origin, item))
    for kfile, data in found.kustomizations:
        index.add_generators(kfile, data)
    return index


@dataclass
class _Sources:
    """What a build would read, read first by aiapp's own bounded reader.

    `parsed` are the YAML documents of its manifests and patches; `markers` the
    AIA002 findings of merge conflicts; `refusal` why the build must not run (a file too large or no
    regular file, an alias bomb or absurd nesting, which kustomize would expand without limit).
    """

    parsed: dict[str, list[Any]] = field(default_factory=dict)
    markers: list[Finding] = field(default_factory=list)
    refusal: str | None = None


def _read_sources(found: kustomize.Tree, limits: Limits) -> _Sources:
    """The text of every file the build reads, and AIA002 for each merge conflict left in one.

    Conflict markers are looked for first: kustomize would fail on them with a raw YAML error.
    """
    sources = _Sources()
    yaml_files = {*found.resources, *found.patch_files, *(kfile for kfile, _ in found.kustomizations)}
    for file in sorted(found.consumed):
        unread = _unreadable(file, limits)
        if unread is not None:
            sources.refusal = sources.refusal or f"{shown(file)} {unread}"
            continue
        text, problem = _read_text(file, limits)
        if problem is not None or text is None:
            continue
        sources.markers.extend(conflict_findings(text, file))
        if file in yaml_files and not file.endswith(JSON_SUFFIX):
            try:
                sources.parsed[file] = parse_documents(text, limits.max_alias_nodes)
            except AliasLimitError:
                sources.refusal = sources.refusal or (
                    f"{shown(file)}: its YAML aliases expand beyond the limit (check.limits.max_alias_nodes)"
                )
            except RecursionError:
                sources.refusal = sources.refusal or f"{shown(file)}: nested too deeply"
            except yaml.YAMLError:
                pass  # kustomize reports it, with its own words
    return sources


def _unreadable(file: str, limits: Limits) -> str | None:
    """Why kustomize must not read a file: no regular file (it would block or read forever), or larger
    than the limit (it would hold all of it in memory)."""
    try:
        info = os.stat(file)
    except OSError as error:
        return f"cannot be read: {error.strerror or error}"
    if not stat.S_ISREG(info.st_mode):
        return f"is {file_type(info.st_mode)}"
    if info.st_size > limits.max_file_bytes:
        return (
            f"has {info.st_size:,} bytes, more than the {limits.max_file_bytes:,} the limit allows "
            "(check.limits.max_file_bytes)"
        )
    return None


def _build_context(found: kustomize.Tree, kfile: str) -> Build:
    modifiers = found.modifiers
    patch_files = [*found.patch_files.items(), *((path, path) for path in modifiers)]
    return Build(kfile, tuple(modifiers), tuple(patch_files), tuple(found.changers()))


def _load_kustomization(directory: Path, limits: Limits, visiting: frozenset[str] = frozenset()) -> Loaded:
    """Build a kustomization and map its objects to their sources; when it cannot be built, check its
    parts on their own (see _load_parts), so that one broken app hides no other app's findings.

    It is not built when kustomize would use the network, loop, block or expand without bound: a remote
    resource or base, a kustomization that lists itself, a FIFO or device, an alias bomb.
    """
    kfile = str(kustomize.kustomization_file(directory) or directory)
    loaded = Loaded(files=1)
    found = kustomize.tree(directory)
    visiting = visiting | {found.root}
    sources = _read_sources(found, limits)
    if sources.markers:
        loaded.findings.extend(sources.markers)
        return loaded
    fetched = [*found.remote, *(found.pulls if kustomize.helm() is not None else [])]
    if fetched:
        return _load_parts(directory, limits, _remote_message(fetched), visiting, "AIA013")
    if found.irregular:
        listed = ", ".join(shown(path) for path in found.irregular[:3])
        return _load_parts(
            directory, limits, f"not built: it reads {listed}, which is not a regular file", visiting
        )
    if found.cycles:
        kfile_of, _, entry = found.cycles[0].rpartition(": ")
        message = (
            f"not built: it includes itself (through `{entry}` in {shown(kfile_of)}); kustomize would "
            "recurse until it crashes"
        )
        return _load_parts(directory, limits, message, visiting)
    if sources.refusal is not None:
        return _load_parts(directory, limits, f"not built: {sources.refusal}", visiting)
    if found.helm and kustomize.helm() is None:
        return _load_parts(directory, limits, None, visiting)
    result = kustomize.build(
        directory, bool(found.helm), seconds=limits.build_seconds, memory_mb=limits.build_memory_mb
    )
    if result.error is not None:
        return _load_parts(directory, limits, f"kustomize build failed: {result.error}", visiting)
    try:
        docs = parse_documents(result.output, limits.max_alias_nodes)
    except (yaml.YAMLError, RecursionError) as error:
        loaded.findings.append(input_finding("AIA005", kfile, 1, f"kustomize printed invalid YAML: {error}"))
        return loaded
    index = _source_index(found, sources.parsed)
    loaded.files += len(found.resources)
    build = _build_context(found, kfile)
    fallback = Origin(kfile, None, (), 1)
    for doc in docs:
        if not isinstance(doc, dict) or not doc.get("kind"):
            continue
        name = str(mapping(doc.get("metadata")).get("name", ""))
        source = index.find(str(doc["kind"]), name)
        origin = source.origin if source is not None else fallback
        source_dir = os.path.dirname(origin.file) if source is not None else str(directory)
        obj = K8sObject(doc, origin, _namespace(doc, None), source_dir, build)
        if source is not None:
            obj.source, obj.generated = source.data, source.generated
        loaded.objects.append(obj)
    return loaded


def _remote_message(entries: list[str]) -> str:
    shown_entries = ", ".join(dict.fromkeys(entries[:3]))
    more = f" and {len(entries) - 3} more" if len(entries) > 3 else ""
    return (
        f"not built: it fetches {shown_entries}{more} over the network, which `aiapp check` never uses; "
        "the remote objects are not checked"
    )


_NOT_BUILT = ("AIA005", "AIA013")


def _load_parts(
    directory: Path,
    limits: Limits,
    error: str | None,
    visiting: frozenset[str] = frozenset(),
    rule_id: str = "AIA005",
) -> Loaded:
    """A kustomization that is not built as a whole: each kustomization it lists is built (or taken
    apart) on its own, and the manifest files it lists are read as written.

    `error` is why the build failed or was not run (None: it has `helmCharts:` and helm is not installed,
    which its AIA012 note says), reported as `rule_id`. `visiting` are the kustomizations being taken
    apart above this one (a kustomization that lists itself is not taken apart twice). The failure is
    reported on this kustomization only when none of the ones it lists fails on its own: a parent
    listing a broken app fails because of that app, which is reported.
    """
    kfile = str(kustomize.kustomization_file(directory) or directory)
    loaded = Loaded(files=1)
    data = kustomize.read_kustomization(kfile) or {}
    namespace = str(data["namespace"]) if data.get("namespace") else None
    dirs, files = kustomize.children(kfile)
    child_failed = False
    for child in dirs:
        if os.path.realpath(child) in visiting:
            continue
        part = _load_kustomization(child, limits, visiting)
        child_failed |= any(item.rule_id in _NOT_BUILT for item in part.findings)
        loaded.objects.extend(part.objects)
        loaded.findings.extend(part.findings)
        loaded.files += part.files
    for file in files:
        part = _load_file(file, namespace, limits)
        loaded.objects.extend(part.objects)
        loaded.findings.extend(part.findings)
        loaded.files += part.files
    if error is not None and not child_failed:
        loaded.findings.append(
            input_finding(rule_id, kfile, 1, f"{error}\n(the files it lists were checked as written)")
        )
    if data.get("helmCharts") and kustomize.helm() is None:
        charts = ", ".join(
            str(mapping(chart).get("name", "?")) for chart in data["helmCharts"] if isinstance(chart, dict)
        )
        message = (
            f"helmCharts ({charts}) not rendered: helm is not installed, so only the files this "
            "kustomization lists were checked, as written (install helm to build it with --enable-helm)"
        )
        loaded.findings.append(input_finding("AIA012", kfile, 1, message))
    return loaded
