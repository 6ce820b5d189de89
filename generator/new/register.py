"""`--register`: add the new app to its parent kustomization.yaml, keeping every comment and blank line.

A YAML round-trip would drop comments and reflow the file, so this is a careful line-based insert into
the top-level `resources:` list: block style (indented or not) or a one-line flow list. The new entry is
written in the style of the existing ones (`- ./app`, `- app/`, quoted). Before anything is written,
`clash` finds a sibling app with the same name and namespace, which kustomize would refuse to build.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import UsageError
from generator.reader.files import read_text
from generator.reader.yamldoc import load_document

NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_KEY = re.compile(r"^resources:[ \t]*(#.*)?$")
_FLOW = re.compile(r"^resources:[ \t]*\[(?P<items>[^\]]*)\][ \t]*(?P<comment>#.*)?$")
_ITEM = re.compile(r"^(?P<indent>[ \t]*)-[ \t]+(?P<value>.*?)[ \t]*$")
_QUOTES = "'\""


class RegisterError(ValueError):
    """The file's `resources:` cannot be edited safely by a line-based insert."""


def find(directory: Path) -> Path | None:
    """The kustomization file of a directory, if it has one."""
    for name in NAMES:
        if (directory / name).is_file():
            return directory / name
    return None


def _bare(value: str) -> str:
    """An entry without its comment (as written: quotes, `./` and a trailing slash kept)."""
    return re.sub(r"(^|[ \t]+)#.*$", "", value).strip()


def _plain(value: str) -> str:
    """An entry without its comment, quotes, `./` prefix and trailing slash, for comparison."""
    return _bare(value).strip(_QUOTES).removeprefix("./").rstrip("/")


def _quoted(value: str) -> bool:
    return len(value) > 1 and value[0] == value[-1] and value[0] in _QUOTES


def styled(entry: str, written: Sequence[str]) -> str:
    """`entry` written like most of the existing entries that name a sibling directory.

    `./alpha` makes `./entry`, `alpha/` makes `entry/`, `'alpha'` makes `'entry'`. Entries that point
    elsewhere (`../base`, `sub/dir`) or name a file (`app.yaml`) do not count.
    """
    siblings = [
        _bare(raw)
        for raw in written
        if _plain(raw) and "/" not in _plain(raw) and not _plain(raw).endswith((".yaml", ".yml", ".json"))
    ]
    if not siblings:
        return entry
    half = len(siblings) / 2
    unquoted = [raw.strip(_QUOTES) for raw in siblings]
    text = entry
    if sum(raw.startswith("./") for raw in unquoted) > half:
        text = f"./{text}"
    if sum(raw.endswith("/") for raw in unquoted) > half:
        text = f"{text}/"
    quotes = [raw[0] for raw in siblings if _quoted(raw)]
    if len(quotes) > half and len(set(quotes)) == 1:
        text = f"{quotes[0]}{text}{quotes[0]}"
    return text


def _entries(text: str) -> list[str] | None:
    """The raw entries of the top-level resources list (None when there is no such list)."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        flow = _FLOW.match(line)
        if flow:
            return [item.strip() for item in flow["items"].split(",") if item.strip()]
        if _KEY.match(line):
            items = []
            for later in lines[number + 1 :]:
                match = _ITEM.match(later)
                if match:
                    items.append(match["value"])
                elif later.strip() and not later.strip().startswith("#"):
                    break
            return items
    return None


def entry_for(text: str, name: str) -> str:
    """How `name` would be written in this kustomization's resources (the style of its entries)."""
    return styled(name, _entries(text) or [])


def add_resource(text: str, entry: str) -> tuple[str, bool]:
    """`text` with `entry` in its top-level resources; False when the entry is there already.

    The entry is written in the style of the existing ones. A sorted list stays sorted; otherwise the
    entry goes after the last item.
    """
    lines = text.splitlines(keepends=True)
    for number, line in enumerate(lines):
        flow = _FLOW.match(line.rstrip("\r\n"))
        if flow:
            items = [item.strip() for item in flow["items"].split(",") if item.strip()]
            if entry in {_plain(item) for item in items}:
                return text, False
            comment = f"  {flow['comment']}" if flow["comment"] else ""
            ending = line[len(line.rstrip("\r\n")) :] or "\n"
            lines[number] = f"resources: [{', '.join([*items, styled(entry, items)])}]{comment}{ending}"
            return "".join(lines), True
        if _KEY.match(line.rstrip("\r\n")):
            return _add_to_block(lines, number, entry)
        if line.startswith("resources:"):
            raise RegisterError("its resources: list is not a block or one-line list")
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    lines.append(f"resources:\n  - {entry}\n")
    return "".join(lines), True


def _add_to_block(lines: list[str], key: int, entry: str) -> tuple[str, bool]:
    items: list[tuple[int, str, str, str]] = []  # line number, indent, plain value, as written
    for number in range(key + 1, len(lines)):
        stripped = lines[number].strip()
        match = _ITEM.match(lines[number].rstrip("\r\n"))
        if match:
            items.append((number, match["indent"], _plain(match["value"]), match["value"]))
        elif stripped and not stripped.startswith("#"):
            if lines[number][:1] in (" ", "\t") and items:
                raise RegisterError("an entry of its resources: list spans several lines")
            break
    if entry in {value for _, _, value, _ in items}:
        return "".join(lines), False
    indent = items[0][1] if items else "  "
    values = [value for _, _, value, _ in items]
    at = items[-1][0] + 1 if items else key + 1
    if values and values == sorted(values):
        later = [number for number, _, value, _ in items if value > entry]
        if later:
            at = later[0]
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    lines.insert(at, f"{indent}- {styled(entry, [written for *_, written in items])}\n")
    return "".join(lines), True


def listed_in(dest: Path) -> Path | None:
    """The parent kustomization when it already lists `dest` (an app written again with --force)."""
    path = find(dest.resolve().parent)
    if path is None:
        return None
    try:
        entries = _entries(read_kustomization(path)) or []
    except UsageError:
        return None
    return path if dest.resolve().name in {_plain(entry) for entry in entries} else None


def register(dest: Path, *, write: bool = True) -> str:
    """Add `dest` to its parent's kustomization; a sentence saying what was done (or why not).

    With `write=False` nothing is changed and the sentence says what would be done (a dry run).
    """
    parent = dest.resolve().parent
    path = find(parent)
    entry = dest.resolve().name
    if path is None:
        return (
            f"No kustomization.yaml in {parent}: nothing registered "
            f"(add {entry} to the kustomization that deploys it)."
        )
    try:
        text = read_kustomization(path)
    except UsageError as error:
        return f"Not registered: {error.message}; add `- {entry}` to its resources by hand."
    written = entry_for(text, entry)
    try:
        updated, added = add_resource(text, entry)
    except RegisterError as error:
        return f"Not registered: {path} {error}; add `- {written}` to its resources by hand."
    if not added:
        return f"Already registered: {path} lists {entry}."
    if not write:
        return f"Would register: add {written} to the resources of {path}."
    handle, temp = tempfile.mkstemp(prefix=".aiapp-", dir=parent)
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
        stream.write(updated)
    os.chmod(temp, path.stat().st_mode & 0o7777)
    os.replace(temp, path)
    return f"Registered: added {written} to the resources of {path}."


@dataclass(frozen=True)
class Clash:
    """Another app next to DEST that renders objects with the same names in the same namespace."""

    path: Path
    app_name: str
    namespace: str
    kustomization: Path
    listed: bool

    def describe(self, dest: Path) -> str:
        """One sentence: which app clashes, and why kustomize would refuse the parent."""
        where = f"listed in {self.kustomization}" if self.listed else f"next to {dest}"
        return (
            f"app_name {self.app_name!r} in namespace {self.namespace!r} is already used by "
            f"{self.path} ({where}): the parent kustomization would hold two "
            f"Deployment/{self.app_name}.{self.namespace}"
        )


def read_kustomization(path: Path) -> str:
    """The text of the parent kustomization, read bounded (generator/reader): a UsageError (exit 2, one
    line) for a FIFO, a device, an oversized file or bytes that are not UTF-8."""
    return read_text(path, "the parent kustomization")


def check_parent(dest: Path) -> None:
    """With --register, before anything is written: the parent kustomization can be read and edited
    (a UsageError naming it otherwise: an alias bomb, a FIFO, a file nested too deeply, not YAML)."""
    parent = dest.resolve().parent
    for name in NAMES:  # a FIFO or a device under the name is refused here, not passed over as "none"
        if os.path.lexists(parent / name):
            load_document(parent / name, "the parent kustomization")
            return


def _load_yaml(path: Path, what: str) -> Any:
    """A sibling's file, read bounded; None when it cannot be read (it then clashes with nothing)."""
    try:
        return load_document(path, what)
    except UsageError:
        return None


def _siblings(target: Path) -> tuple[Path | None, str | None, dict[Path, bool]]:
    """The parent kustomization of `target` (or None), the namespace it forces on every app (or None), and
    the sibling directories that may be apps: those it lists, then the others next to `target` (value:
    whether it lists them). `target` itself is left out."""
    parent = target.parent
    if not parent.is_dir():
        return None, None, {}
    path = find(parent)
    data = _load_yaml(path, "the parent kustomization") if path is not None else None
    data = data if isinstance(data, dict) else {}
    forced = data.get("namespace") if isinstance(data.get("namespace"), str) else None
    resources = data.get("resources")
    listed: dict[Path, bool] = {}
    for entry in resources if isinstance(resources, list) else []:
        if isinstance(entry, str) and "://" not in entry:
            candidate = (parent / entry).resolve()
            if candidate.is_dir():
                listed[candidate] = True
    for child in sorted(parent.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            listed.setdefault(child.resolve(), False)
    listed.pop(target, None)
    return path, forced, listed


def _sibling_answers(candidate: Path, answers_file: str) -> dict[str, Any] | None:
    """A sibling's answers, read bounded; None when it has none or they cannot be read (not an app)."""
    answers_path = candidate / answers_file
    answers = _load_yaml(answers_path, "the answers file") if answers_path.is_file() else None
    return answers if isinstance(answers, dict) else None


def namespace_owner(dest: Path, namespace: str, answers_file: str = ".copier-answers.yml") -> Path | None:
    """A sibling app (a directory next to DEST, or listed in the parent kustomization) that creates
    `namespace` (its answers say create_namespace: true); None when none does.

    Two apps that both render the Namespace break the parent kustomization ("may not add resource with an
    already registered id: Namespace.v1.[noGrp]/ai"): the first app owns it.
    """
    _, forced, siblings = _siblings(dest.resolve())
    for candidate in siblings:
        answers = _sibling_answers(candidate, answers_file)
        if answers is None or answers.get("create_namespace") is not True:
            continue
        if (forced or answers.get("namespace")) == (forced or namespace):
            return candidate
    return None


def clash(
    dest: Path, app_name: str, namespace: str, answers_file: str = ".copier-answers.yml"
) -> Clash | None:
    """A sibling app (listed in the parent kustomization, or a directory next to DEST) with this app's
    name and namespace, read from its answers file; None when there is none (or no parent kustomization).

    A `namespace:` at the top of the parent kustomization puts every app in that namespace, so then the
    names alone clash.
    """
    path, forced, siblings = _siblings(dest.resolve())
    if path is None:
        return None
    for candidate, is_listed in siblings.items():
        answers = _sibling_answers(candidate, answers_file)
        if answers is None or answers.get("app_name") != app_name:
            continue
        theirs = forced or answers.get("namespace")
        if theirs == (forced or namespace):
            return Clash(candidate, app_name, str(theirs), path, is_listed)
    return None
