"""Kustomize: find the tool, build a directory, and map built objects back to their source files."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from generator.policy.k8s import mapping, sequence
from generator.policy.model import Origin
from generator.policy.yamlio import parse_documents

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
BUILD_TIMEOUT_SECONDS = 300
_KUBECTL_ERROR = re.compile(r'err="(?P<message>(?:[^"\\]|\\.)*)"')
# klog writes a multi-line value as `err=<` then the lines indented by a tab, then ` >`.
_KUBECTL_BLOCK = re.compile(r"err=<\n(?P<message>.*?)\n\s*>\s*$", re.DOTALL | re.MULTILINE)
# A build error is kept whole (a `helmCharts:` error spans the chart's config), up to this much.
ERROR_LINES = 20
ERROR_CHARS = 2000


def kustomization_file(directory: Path) -> Path | None:
    """The kustomization file of a directory, if it has one."""
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


@cache
def tool() -> tuple[str, ...] | None:
    """The build command: `kustomize build` when installed, else `kubectl kustomize`, else None."""
    if shutil.which("kustomize"):
        return ("kustomize", "build")
    if shutil.which("kubectl"):
        return ("kubectl", "kustomize")
    return None


@cache
def helm() -> str | None:
    """The helm binary that `--enable-helm` runs to render `helmCharts:` (None: not installed)."""
    return shutil.which("helm")


@dataclass(frozen=True)
class BuildResult:
    """The YAML stream a build printed, or the error it failed with."""

    output: str
    error: str | None


def command(directory: Path, enable_helm: bool = False) -> list[str] | None:
    """The build command line; `--enable-helm` renders `helmCharts:` with helm (both kustomize and
    `kubectl kustomize` take the flag, kubernetes-sigs/kustomize#4435)."""
    found = tool()
    if found is None:
        return None
    return [*found, *(["--enable-helm"] if enable_helm else []), str(directory)]


def build(directory: Path, enable_helm: bool = False) -> BuildResult:
    """Run the build; never raises for a failing build or a missing tool."""
    line = command(directory, enable_helm)
    if line is None:
        return BuildResult("", "neither `kustomize` nor `kubectl` is on PATH")
    try:
        result = subprocess.run(
            line,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            check=False,
            env={**os.environ, "KUBECTL_COMMAND_HEADERS": "false"},
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return BuildResult("", f"`{' '.join(line[:-1])}` could not run: {error}")
    if result.returncode != 0:
        message = error_text(result.stderr) or f"exit code {result.returncode}"
        return BuildResult("", message.replace(f"{directory}/", "").replace(str(directory), "."))
    return BuildResult(result.stdout, None)


def error_text(stderr: str) -> str:
    """kustomize's error, whole: kubectl wraps it in a klog line (err="..." with escapes), kustomize
    prints `Error: ...`, and both may span lines (a `helmCharts:` entry is quoted in full). Blank lines
    are dropped and a long error is cut after ERROR_LINES lines or ERROR_CHARS characters."""
    block = _KUBECTL_BLOCK.search(stderr)
    match = _KUBECTL_ERROR.search(stderr)
    if block:
        text = "\n".join(line.removeprefix("\t") for line in block.group("message").splitlines())
    elif match:
        text = match.group("message").replace("\\n", "\n").replace('\\"', '"').replace("\\t", "\t")
    else:
        text = stderr.strip()
        if text.startswith("error: ") or "\nError: " in "\n" + text:
            text = text[text.find("rror: ") + len("rror: ") :]
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    kept: list[str] = []
    size = 0
    for line in lines[:ERROR_LINES]:
        if size + len(line) > ERROR_CHARS:
            break
        kept.append(line)
        size += len(line) + 1
    if len(kept) < len(lines):
        kept.append(f"... ({len(lines) - len(kept)} more lines)")
    return "\n".join(kept)


def _local(entry: Any) -> bool:
    return isinstance(entry, str) and "://" not in entry and not entry.startswith(("git@", "github.com/"))


# Kustomization fields that change the built objects: a built value that differs from its source line was
# set by one of them.
MODIFYING_FIELDS = (
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "images",
    "replicas",
    "replacements",
    "transformers",
    "configMapGenerator",
    "secretGenerator",
    "generators",
)
GENERATORS = (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret"))


@dataclass
class Tree:
    """What a kustomization reads, found without building it: its own files and those of its bases.

    Paths are strings, with the directories of kustomizations resolved (symlinks followed). `resources`
    are the manifest files whose objects the build prints; `consumed` is every local file the build reads
    (resources, kustomization files, patches, generator inputs, configurations); `patch_files` are the
    patch and transformer files, each with the kustomization file that names it.
    """

    root: str
    kustomizations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)
    dirs: set[str] = field(default_factory=set)
    chart_homes: set[str] = field(default_factory=set)
    patch_files: dict[str, str] = field(default_factory=dict)
    # Kustomization directories whose file does not parse (a conflict marker, a typo).
    unreadable: set[str] = field(default_factory=set)
    # Local entries that are neither a file nor a directory (a FIFO, a device, a symlink to one): the
    # build would hang or read forever, so it is not run.
    irregular: list[str] = field(default_factory=list)
    # Kustomization files with `helmCharts:` (rendered only with `--enable-helm` and helm installed).
    helm: list[str] = field(default_factory=list)

    @property
    def modifiers(self) -> list[str]:
        """The kustomization files that patch, transform or generate (nearest the root first)."""
        return [kfile for kfile, data in self.kustomizations if any(data.get(f) for f in MODIFYING_FIELDS)]


def read_kustomization(kfile: str) -> dict[str, Any] | None:
    """A kustomization file as a mapping (None when it cannot be read or parsed); read once per version."""
    try:
        info = os.stat(kfile)
    except OSError:
        return None
    return _read_kustomization(kfile, info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=4096)
def _read_kustomization(kfile: str, mtime: int, size: int) -> dict[str, Any] | None:
    try:
        with open(kfile, encoding="utf-8") as handle:
            documents = parse_documents(handle.read())
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return None
    data = documents[0] if len(documents) == 1 else None
    return data if isinstance(data, dict) else None


def tree(directory: str | Path) -> Tree:
    """The files a kustomization directory includes, recursively (remote bases are not followed)."""
    found = Tree(os.path.realpath(directory))
    _collect(found.root, found, True, set())
    return found


def children(kfile: str) -> tuple[list[Path], list[str]]:
    """(kustomization directories, manifest files) that a kustomization lists directly in `resources`
    (and `bases`, `components`): what is checked one by one when its build fails."""
    directory = os.path.dirname(kfile)
    dirs: list[Path] = []
    files: list[str] = []
    data = read_kustomization(kfile) or {}
    for name in ("resources", "bases", "components"):
        for entry in sequence(data.get(name)):
            if not _local(entry) or "\n" in entry:
                continue
            target = os.path.normpath(os.path.join(directory, entry))
            kind = _kind(target)
            if kind == stat.S_IFDIR and kustomization_file(Path(target)) is not None:
                dirs.append(Path(target))
            elif kind == stat.S_IFREG:
                files.append(target)
    return dirs, files


def _kind(path: str) -> int:
    """stat's file type bits of a path (0 when it does not exist)."""
    try:
        return stat.S_IFMT(os.stat(path).st_mode)
    except (OSError, ValueError):
        return 0


def _collect(directory: str, found: Tree, objects: bool, seen: set[str]) -> None:
    if directory in seen:
        return
    seen.add(directory)
    kpath = kustomization_file(Path(directory))
    if kpath is None:
        return
    kfile = os.path.join(directory, kpath.name)
    data = read_kustomization(kfile)
    if data is None:
        found.unreadable.add(directory)
        data = {}
    found.dirs.add(directory)
    found.consumed.add(kfile)
    found.kustomizations.append((kfile, data))

    def local(entry: Any) -> str | None:
        if not _local(entry) or "\n" in entry:
            return None
        return os.path.normpath(os.path.join(directory, entry))

    def read(entry: Any, patch: bool = False) -> None:
        target = local(entry)
        if target is not None and _kind(target) == stat.S_IFREG:
            found.consumed.add(target)
            if patch:
                found.patch_files.setdefault(target, kfile)

    for name in ("resources", "bases", "components"):
        for entry in sequence(data.get(name)):
            target = local(entry)
            kind = _kind(target) if target is not None else 0
            if target is None or not kind:
                continue
            if kind not in (stat.S_IFDIR, stat.S_IFREG):
                found.irregular.append(target)
            if kind == stat.S_IFDIR:
                _collect(os.path.realpath(target), found, objects, seen)
            elif kind == stat.S_IFREG:
                found.consumed.add(target)
                if objects:
                    found.resources.append(target)
    for entry in sequence(data.get("patchesStrategicMerge")):
        read(entry, patch=True)
    for name in ("patches", "patchesJson6902", "replacements"):
        for entry in sequence(data.get(name)):
            read(mapping(entry).get("path"), patch=name != "replacements")
    for name in ("transformers", "generators", "validators"):
        for entry in sequence(data.get(name)):
            target = local(entry)
            if target is not None and _kind(target) == stat.S_IFDIR:
                _collect(os.path.realpath(target), found, False, seen)
            else:
                read(entry, patch=name == "transformers")
    for name, _ in GENERATORS:
        for entry in sequence(data.get(name)):
            generator = mapping(entry)
            for source in sequence(generator.get("files")):
                if isinstance(source, str):
                    read(source.rpartition("=")[2])
            for source in [*sequence(generator.get("envs")), generator.get("env")]:
                read(source)
    for name in ("configurations", "crds"):
        for entry in sequence(data.get(name)):
            read(entry)
    read(mapping(data.get("openapi")).get("path"))
    if data.get("helmCharts"):
        found.helm.append(kfile)
        home = local(mapping(data.get("helmGlobals")).get("chartHome") or "charts")
        if home is not None:
            found.chart_homes.add(home)
        for chart in sequence(data.get("helmCharts")):
            read(mapping(chart).get("valuesFile"))


@dataclass(frozen=True, slots=True)
class Source:
    """Where a built object was written: a document of a resource file, or a generator entry."""

    origin: Origin
    data: dict[str, Any]
    generated: bool = False


class SourceIndex:
    """Finds the source of a built object by kind and name (name prefixes and hash suffixes allowed)."""

    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], Source] = {}
        self._by_kind: dict[str, list[tuple[str, Source]]] = {}

    def add(self, kind: str, name: str, source: Source) -> None:
        self._exact.setdefault((kind, name), source)
        self._by_kind.setdefault(kind, []).append((name, source))

    def add_generators(self, kfile: str, data: dict[str, Any]) -> None:
        """The objects of configMapGenerator and secretGenerator entries, at their entry."""
        for name, kind in GENERATORS:
            for position, entry in enumerate(sequence(data.get(name))):
                generated = mapping(entry).get("name")
                if generated:
                    origin = Origin(kfile, 0, (name, position))
                    self._by_kind.setdefault(kind, []).append((str(generated), Source(origin, entry, True)))

    def find(self, kind: str, name: str) -> Source | None:
        exact = self._exact.get((kind, name))
        if exact is not None:
            return exact
        candidates = [
            (len(source), found.generated, found)
            for source, found in self._by_kind.get(kind, [])
            if source in name
        ]
        return max(candidates, key=lambda item: item[:2])[2] if candidates else None
