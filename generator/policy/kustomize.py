"""Kustomize: find the tool, build a directory, and map built objects back to their source files."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from generator.policy.k8s import mapping, sequence
from generator.policy.model import Origin
from generator.policy.yamlio import parse_documents
from generator.reader.files import MAX_TEXT_BYTES, read_bytes

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Defaults of check.limits.build_seconds / build_memory_mb (generator/policy/config.py): a real build
# takes well under a second and a few tens of MB; a hostile one (an alias bomb kustomize expands, a
# kustomization that lists itself) takes gigabytes or minutes.
BUILD_SECONDS = 60
BUILD_MEMORY_MB = 1024
_KUBECTL_ERROR = re.compile(r'err="(?P<message>(?:[^"\\]|\\.)*)"')
# klog writes a multi-line value as `err=<` then the lines indented by a tab, then ` >`.
_KUBECTL_BLOCK = re.compile(r"err=<\n(?P<message>.*?)\n\s*>\s*$", re.DOTALL | re.MULTILINE)
# Where a Go program's crash report turns into stack traces (`runtime stack:`, `goroutine 1 [running]:`):
# nothing a person reads past that point; and the runtime's register lines (`runtime: sp=...`) before it.
_GO_TRACE = re.compile(r"^(?:runtime stack:|goroutine \d+ .*\[.*\]:)")
_GO_REGISTERS = re.compile(r"^runtime: (?:sp|g|pc|lr|fp)[ =:]")
# A build error is kept whole (a `helmCharts:` error spans the chart's config), up to this much.
ERROR_LINES = 20
ERROR_CHARS = 2000
# What kustomize fetches instead of reading a local file: git clones (kustomize's repospec.go,
# parseHostSpec: `git::`, `gh:`, `ssh://`, `https://`, `http://`, `git@`, `github.com:`/`github.com/`,
# Azure's `_git/`, and `file://` clones), and files over HTTP(S) (its loader's IsRemoteFile). See
# kubernetes-sigs/kustomize examples/remoteBuild.md.
_REMOTE_PREFIXES = (
    *("git::", "gh:", "ssh://", "https://", "http://", "git@", "github.com:", "github.com/", "file://"),
)


def remote(entry: object) -> bool:
    """Whether kustomize would fetch this entry over the network (or clone it) instead of reading a file."""
    if not isinstance(entry, str):
        return False
    text = entry.strip().lower()
    return text.startswith(_REMOTE_PREFIXES) or "://" in text or "_git/" in text


def kustomization_file(directory: Path) -> Path | None:
    """The kustomization file of a directory, if it has one."""
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def irregular_kustomization_file(directory: Path) -> Path | None:
    """A kustomization file name that is there but no regular file (a FIFO, a device, a dangling or
    device symlink): kustomize would block on it or read forever, so the directory is not built."""
    if kustomization_file(directory) is not None:
        return None
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if os.path.lexists(candidate):
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


def _bounded(memory_mb: int) -> Callable[[], None]:
    """The child's limits, set between fork and exec: its heap (RLIMIT_DATA, which counts a Go program's
    anonymous memory, unlike RLIMIT_AS, which the Go runtime's address-space reservation alone exceeds)
    and no core dump. helm, run by kustomize, inherits them."""

    def limit() -> None:
        import resource

        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return limit


def build(
    directory: Path,
    enable_helm: bool = False,
    seconds: float = BUILD_SECONDS,
    memory_mb: int = BUILD_MEMORY_MB,
) -> BuildResult:
    """Run the build, bounded in time and memory; never raises for a failing build or a missing tool.

    The build runs in a session of its own, so that a timeout kills helm with it.
    """
    line = command(directory, enable_helm)
    if line is None:
        return BuildResult("", "neither `kustomize` nor `kubectl` is on PATH")
    name = " ".join(line[:-1])
    try:
        process = subprocess.Popen(
            line,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "KUBECTL_COMMAND_HEADERS": "false"},
            preexec_fn=_bounded(memory_mb),
            start_new_session=True,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return BuildResult("", f"`{name}` could not run: {error}")
    try:
        stdout, stderr = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        _kill_session(process)
        return BuildResult(
            "", f"`{name}` did not finish within {seconds:g} s (check.limits.build_seconds): stopped"
        )
    if process.returncode != 0:
        message = error_text(stderr) or f"exit code {process.returncode}"
        if _out_of_memory(stderr, process.returncode):
            message = (
                f"`{name}` ran out of the {memory_mb:,} MB it may use (check.limits.build_memory_mb): "
                f"stopped ({message.splitlines()[0]})"
            )
        return BuildResult("", message.replace(f"{directory}/", "").replace(str(directory), "."))
    return BuildResult(stdout, None)


def _kill_session(process: subprocess.Popen[str]) -> None:
    """Kill the build and everything it started (helm), then reap it."""
    import signal

    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()
    process.communicate()


def _out_of_memory(stderr: str, returncode: int) -> bool:
    return "cannot allocate memory" in stderr or "out of memory" in stderr or returncode == -9


def error_text(stderr: str) -> str:
    """kustomize's error, whole: kubectl wraps it in a klog line (err="..." with escapes), kustomize
    prints `Error: ...`, and both may span lines (a `helmCharts:` entry is quoted in full). A Go crash
    keeps its first lines (`fatal error: stack overflow`), not its stack traces. Blank lines are dropped
    and a long error is cut after ERROR_LINES lines or ERROR_CHARS characters."""
    block = _KUBECTL_BLOCK.search(stderr)
    match = _KUBECTL_ERROR.search(stderr)
    if block:
        text = "\n".join(line.removeprefix("\t") for line in block.group("message").splitlines())
    elif match:
        text = match.group("message").replace("\\n", "\n").replace('\\"', '"').replace("\\t", "\t")
    else:
        text = _without_go_traces(stderr).strip()
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


def _without_go_traces(stderr: str) -> str:
    """The lines of a Go crash report before its first stack trace or register dump."""
    kept: list[str] = []
    for line in stderr.splitlines():
        if _GO_TRACE.match(line):
            break
        if not _GO_REGISTERS.match(line):
            kept.append(line)
    return "\n".join(kept)


def _local(entry: Any) -> bool:
    return isinstance(entry, str) and not remote(entry)


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
# Fields that add labels or annotations to every object (and selector) of the build.
LABELLING_FIELDS = ("labels", "commonLabels", "commonAnnotations")


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
    # Per kustomization directory: the kustomization file and the resource files its build includes,
    # its bases' included (which kustomizations can have changed an object of a given file).
    reach: dict[str, set[str]] = field(default_factory=dict)
    # Kustomization directories whose file does not parse (a conflict marker, a typo).
    unreadable: set[str] = field(default_factory=set)
    # Local entries that are neither a file nor a directory (a FIFO, a device, a symlink to one): the
    # build would hang or read forever, so it is not run.
    irregular: list[str] = field(default_factory=list)
    # Kustomization files with `helmCharts:` (rendered only with `--enable-helm` and helm installed).
    helm: list[str] = field(default_factory=list)
    # Entries kustomize would fetch over the network (remote bases and files, charts to pull): the build
    # is not run, `aiapp check` never uses the network.
    remote: list[str] = field(default_factory=list)
    # Helm charts kustomize would pull from their repository (with helm installed; without helm, AIA012).
    pulls: list[str] = field(default_factory=list)
    # `kustomization file: entry` of each entry that lists a kustomization being read (itself, or one
    # that lists it): kustomize recurses until its stack overflows.
    cycles: list[str] = field(default_factory=list)

    @property
    def modifiers(self) -> list[str]:
        """The kustomization files that patch, transform or generate (nearest the root first)."""
        return [kfile for kfile, data in self.kustomizations if any(data.get(f) for f in MODIFYING_FIELDS)]

    def changers(self) -> list[tuple[str, frozenset[str], frozenset[str]]]:
        """(kustomization file, the fields of it that change objects, the files whose objects it builds)
        of every kustomization that can change an object (nearest the root first)."""
        found = []
        for kfile, data in self.kustomizations:
            fields = frozenset(name for name in (*MODIFYING_FIELDS, *LABELLING_FIELDS) if data.get(name))
            if fields:
                found.append((kfile, fields, frozenset(self.reach.get(os.path.dirname(kfile), ()))))
        return found


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
        # Bounded (generator/reader): a regular file of at most MAX_TEXT_BYTES; aliases counted.
        documents = parse_documents(read_bytes(kfile, MAX_TEXT_BYTES).decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return None
    data = documents[0] if len(documents) == 1 else None
    return data if isinstance(data, dict) else None


def tree(directory: str | Path) -> Tree:
    """The files a kustomization directory includes, recursively (remote bases are not followed)."""
    found = Tree(os.path.realpath(directory))
    _collect(found.root, found, True, set(), ())
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


def _collect(directory: str, found: Tree, objects: bool, seen: set[str], stack: tuple[str, ...]) -> None:
    if directory in seen:
        return
    seen.add(directory)
    stack = (*stack, directory)
    kpath = kustomization_file(Path(directory))
    if kpath is None:
        odd = irregular_kustomization_file(Path(directory))
        if odd is not None:
            found.irregular.append(str(odd))
        return
    kfile = os.path.join(directory, kpath.name)
    data = read_kustomization(kfile)
    if data is None:
        found.unreadable.add(directory)
        data = {}
    found.dirs.add(directory)
    reached = found.reach.setdefault(directory, {kfile})
    found.consumed.add(kfile)
    found.kustomizations.append((kfile, data))

    def local(entry: Any) -> str | None:
        if remote(entry):
            found.remote.append(str(entry).strip())
            return None
        if not isinstance(entry, str) or "\n" in entry:
            return None
        return os.path.normpath(os.path.join(directory, entry))

    def descend(entry: Any, target: str, objects: bool) -> None:
        real = os.path.realpath(target)
        if real in stack:
            found.cycles.append(f"{kfile}: {entry}")
            return
        _collect(real, found, objects, seen, stack)

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
                descend(entry, target, objects)
                reached |= found.reach.get(os.path.realpath(target), set())
            elif kind == stat.S_IFREG:
                found.consumed.add(target)
                reached.add(target)
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
                descend(entry, target, False)
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
            pulled = _pulled_chart(mapping(chart), home)
            if pulled is not None:
                found.pulls.append(pulled)


def _pulled_chart(chart: dict[str, Any], home: str | None) -> str | None:
    """The repository a `helmCharts:` entry would be pulled from: kustomize runs `helm pull --repo`
    when the chart is not in the chart home as `NAME/` (its HelmChartInflationGenerator,
    chartExistsLocally), or as `NAME-VERSION/NAME/` (newer releases)."""
    repo, name = chart.get("repo"), chart.get("name")
    if not isinstance(repo, str) or not repo.strip() or not isinstance(name, str):
        return None
    if home is not None:
        candidates = [os.path.join(home, name), os.path.join(home, f"{name}-{chart.get('version')}", name)]
        if any(_kind(path) == stat.S_IFDIR for path in candidates):
            return None
    return f"{repo.strip()} (helm chart {name})"


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
