"""`--register`: add the new app to its parent kustomization.yaml, keeping every comment and blank line.

A YAML round-trip would drop comments and reflow the file, so this is a careful line-based insert into
the top-level `resources:` list: block style (indented or not) or a one-line flow list.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_KEY = re.compile(r"^resources:[ \t]*(#.*)?$")
_FLOW = re.compile(r"^resources:[ \t]*\[(?P<items>[^\]]*)\][ \t]*(?P<comment>#.*)?$")
_ITEM = re.compile(r"^(?P<indent>[ \t]*)-[ \t]+(?P<value>.*?)[ \t]*$")


class RegisterError(ValueError):
    """The file's `resources:` cannot be edited safely by a line-based insert."""


def find(directory: Path) -> Path | None:
    """The kustomization file of a directory, if it has one."""
    for name in NAMES:
        if (directory / name).is_file():
            return directory / name
    return None


def _plain(value: str) -> str:
    """An entry without its comment, quotes, `./` prefix and trailing slash, for comparison."""
    value = re.sub(r"[ \t]+#.*$", "", value).strip().strip("'\"")
    return value.removeprefix("./").rstrip("/")


def add_resource(text: str, entry: str) -> tuple[str, bool]:
    """`text` with `entry` in its top-level resources; False when the entry is there already.

    A sorted list stays sorted; otherwise the entry goes after the last item.
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
            lines[number] = f"resources: [{', '.join([*items, entry])}]{comment}{ending}"
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
    items: list[tuple[int, str, str]] = []  # line number, indent, plain value
    for number in range(key + 1, len(lines)):
        stripped = lines[number].strip()
        match = _ITEM.match(lines[number].rstrip("\r\n"))
        if match:
            items.append((number, match["indent"], _plain(match["value"])))
        elif stripped and not stripped.startswith("#"):
            if lines[number][:1] in (" ", "\t") and items:
                raise RegisterError("an entry of its resources: list spans several lines")
            break
    if entry in {value for _, _, value in items}:
        return "".join(lines), False
    indent = items[0][1] if items else "  "
    values = [value for _, _, value in items]
    at = items[-1][0] + 1 if items else key + 1
    if values and values == sorted(values):
        later = [number for number, _, value in items if value > entry]
        if later:
            at = later[0]
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    lines.insert(at, f"{indent}- {entry}\n")
    return "".join(lines), True


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
    text = path.read_text(encoding="utf-8")
    try:
        updated, added = add_resource(text, entry)
    except RegisterError as error:
        return f"Not registered: {path} {error}; add `- {entry}` to its resources by hand."
    if not added:
        return f"Already registered: {path} lists {entry}."
    if not write:
        return f"Would register: add {entry} to the resources of {path}."
    handle, temp = tempfile.mkstemp(prefix=".aiapp-", dir=parent)
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
        stream.write(updated)
    os.chmod(temp, path.stat().st_mode & 0o7777)
    os.replace(temp, path)
    return f"Registered: added {entry} to the resources of {path}."
