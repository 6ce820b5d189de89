"""Where a finding on a built object belongs when kustomize, not the source line, set the value.

A built object is mapped back to the source document it came from, but a patch, an `images:` entry or
another transformer may have changed the value a rule looked at: the source line then shows the good
value. Such a finding is moved to the patch when the value is written there (found by its text), or else
keeps the source line and names the kustomization that changed it. Objects of a configMapGenerator or
secretGenerator point at their entry (at the literal, for a literal's key).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from generator.policy.model import Build, Hit, K8sObject, Origin, YamlPath
from generator.policy.paths import shown
from generator.policy.yamlio import locate

_MISSING = object()
# Fields kustomize rewrites on every object (namespace, namePrefix): not a patch.
_RENAMED = (("metadata", "name"), ("metadata", "namespace"))
_SHORTEST_SEARCHED = 4


def _value(data: Any, path: YamlPath) -> Any:
    for part in path:
        present = (
            part in data
            if isinstance(data, dict)
            else isinstance(data, list) and (isinstance(part, int) and 0 <= part < len(data))
        )
        if not present:
            return _MISSING
        data = data[part]
    return data


def _same(source: Any, built: Any) -> bool:
    """The built value is the source value; mappings may have gained keys (commonLabels, annotations)."""
    if isinstance(source, dict) and isinstance(built, dict):
        return all(key in built and _same(value, built[key]) for key, value in source.items())
    if isinstance(source, list) and isinstance(built, list):
        return len(source) == len(built) and all(map(_same, source, built))
    return bool(source is built or source == built)


@lru_cache(maxsize=64)
def _lines(file: str) -> tuple[str, ...]:
    try:
        with open(file, encoding="utf-8-sig") as handle:
            return tuple(handle.read().splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def _written(build: Build, value: str) -> tuple[str, int, str] | None:
    """(file, line, kustomization naming it) of the only line of the patches that writes `value`."""
    pattern = re.compile(r"(?<![\w./:@-])" + re.escape(value) + r"(?![\w./:@-])")
    found: list[tuple[str, int, str]] = []
    for file, named_in in dict.fromkeys(build.patch_files):
        for number, line in enumerate(_lines(file), start=1):
            if not line.lstrip().startswith("#") and pattern.search(line):
                found.append((file, number, named_in))
    return found[0] if len(found) == 1 else None


def _generated(obj: K8sObject, path: YamlPath) -> tuple[str, int] | None:
    """The line of a generator literal (`KEY=value`) that a finding about data[KEY] is about."""
    if len(path) < 2 or path[0] not in ("data", "stringData") or obj.source is None:
        return None
    literals = obj.source.get("literals")
    if not isinstance(literals, list):
        return None
    for position, literal in enumerate(literals):
        if isinstance(literal, str) and literal.split("=", 1)[0].strip() == str(path[1]):
            origin = Origin(obj.origin.file, obj.origin.doc, (*obj.origin.prefix, "literals", position))
            return obj.origin.file, locate(origin, ())
    return None


def place(obj: K8sObject, hit: Hit) -> tuple[str, int, str]:
    """(file, line, message) of a finding on an object."""
    file, line = obj.origin.file, locate(obj.origin, hit.path, hit.offset)
    build = obj.build
    if build is None or obj.source is None:
        return file, line, hit.message
    if obj.generated:
        literal = _generated(obj, hit.path)
        return (*literal, hit.message) if literal else (file, line, hit.message)
    if hit.path[:2] in _RENAMED:
        return file, line, hit.message
    source, built = _value(obj.source, hit.path), _value(obj.data, hit.path)
    if _same(source, built):
        return file, line, hit.message
    if isinstance(built, str) and len(built) >= _SHORTEST_SEARCHED:
        written = _written(build, built)
        if written is not None:
            patch, patch_line, named_in = written
            where = "" if patch == named_in else f" named in {shown(named_in)}"
            return (
                patch,
                patch_line,
                (f"{hit.message} (value set by this patch{where}, over {shown(file)}:{line})"),
            )
    names = ", ".join(shown(kfile) for kfile in _changers(build, file, hit.path))
    if not names:
        return file, line, hit.message
    return file, line, f"{hit.message} (value set by a patch, transformer or generator in {names})"


# Which kustomization fields can change a field of an object, besides patches and transformers.
_GENERAL = frozenset({"patches", "patchesStrategicMerge", "patchesJson6902", "replacements", "transformers"})


def _fields_for(path: YamlPath) -> frozenset[str]:
    words = {str(part) for part in path}
    extra: set[str] = set()
    if words & {"labels", "selector", "matchLabels", "metadata"}:
        extra |= {"labels", "commonLabels"}
    if words & {"annotations", "metadata"}:
        extra.add("commonAnnotations")
    if "image" in words or "images" in words or "containers" in words or "initContainers" in words:
        extra.add("images")
    if "replicas" in words or path == ("spec",):
        extra.add("replicas")
    return _GENERAL | extra


def _changers(build: Build, file: str, path: YamlPath) -> list[str]:
    """The kustomization files that build objects of `file` and have a field that can change `path`
    (not every patching kustomization of the build: a sibling app's patch never touches this object)."""
    wanted = _fields_for(path)
    return [kfile for kfile, fields, reached in build.changers if file in reached and fields & wanted]


def clear_cache() -> None:
    """Forget patch files read (tests rewrite files in place)."""
    _lines.cache_clear()
