"""The documented exception to "use LiteLLM": direct provider hosts listed in the app's AGENTS.md.

The template records the exception in AGENTS.md, section "Exceptions to the patterns", as a list item
`**Direct provider access** to `host`, ...` followed by a `Reason:` line. That record is the exception:
the hosts it lists (with a reason) may appear in the manifests of that directory. The nearest AGENTS.md
up from the manifest's directory applies, as in the patterns' own inheritance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from generator.reader.files import MAX_TEXT_BYTES, read_bytes

AGENTS_FILE = "AGENTS.md"
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_HOST = re.compile(r"`([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)`")
_REASON = re.compile(r"^\s*Reason:\s*\S", re.MULTILINE)


@dataclass(frozen=True)
class DocumentedExceptions:
    """Provider hosts an AGENTS.md allows, and those it lists without a reason (not honoured)."""

    file: str | None
    hosts: frozenset[str]
    without_reason: frozenset[str]
    # The "**HTTPS egress to any public address**" item `aiapp new` writes when a NetworkPolicy, which
    # cannot name hosts, must open port 443 to the internet (AIA303).
    public_https: bool = False


NONE = DocumentedExceptions(None, frozenset(), frozenset())
PUBLIC_HTTPS = "https egress to any public address"


def _section_items(text: str) -> list[str]:
    """The list items of the "Exceptions" section, each with its continuation lines."""
    items: list[str] = []
    level = 0
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            if level and len(heading.group(1)) <= level:
                break
            if heading.group(2).strip().lower().startswith("exceptions"):
                level = len(heading.group(1))
            continue
        if not level:
            continue
        if line.startswith(("- ", "* ")):
            items.append(line)
        elif items and line.strip():
            items[-1] += "\n" + line
    return items


def parse_agents(text: str, file: str | None = None) -> DocumentedExceptions:
    """The direct-provider exceptions of an AGENTS.md text."""
    hosts: set[str] = set()
    without_reason: set[str] = set()
    public_https = False
    for item in _section_items(text):
        public_https |= PUBLIC_HTTPS in item.lower()
        if "direct provider access" not in item.lower():
            continue
        listed = {host.lower() for host in _HOST.findall(item)}
        (hosts if _REASON.search(item) else without_reason).update(listed)
    return DocumentedExceptions(file, frozenset(hosts), frozenset(without_reason - hosts), public_https)


@lru_cache(maxsize=4096)
def documented_exceptions(directory: str) -> DocumentedExceptions:
    """The exceptions of the nearest AGENTS.md at or above `directory` (stopping at a git root).

    Cached per directory, so a tree of apps reads each parent directory once.
    """
    folder = Path(directory)
    candidate = folder / AGENTS_FILE
    if candidate.is_file():
        try:  # bounded: a regular file of at most MAX_TEXT_BYTES (generator/reader)
            text = read_bytes(candidate, MAX_TEXT_BYTES).decode("utf-8", errors="replace")
        except OSError:
            return NONE
        return parse_agents(text, str(candidate))
    if (folder / ".git").exists() or folder.parent == folder:
        return NONE
    return documented_exceptions(str(folder.parent))
