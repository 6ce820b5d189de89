"""Turn the per-app cluster answers of templates before v0.2.0 into the `cluster` answer.

    python cluster_answers.py ANSWERS_FILE

Before v0.2.0 an app for another cluster answered `customize_cluster: true` and then flat questions
(`qdrant_namespace`, `gpu_node_label`, ...). Those questions are gone: the facts are one `cluster` answer
shaped like the `cluster:` section of `.aiapp.yml` (docs/cluster.md). Copier runs this at the `before`
stage of `copier update` / `aiapp update`, in the app's directory, with the Python that runs Copier:
standard library only. An app that answered `customize_cluster: true` gets a `cluster` answer holding
its recorded facts; every app loses the old keys (which the new template would otherwise ignore). An app
that already has a `cluster` answer keeps it. The file is replaced atomically.

The `cluster` answer is written as one line of JSON (valid YAML); Copier rewrites the file in its own
style after the update.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from typing import Any

# The old flat questions, in the order the old copier.yml asked them.
OLD_KEYS = (
    "customize_cluster",
    "storage_class",
    "secret_store",
    "external_secrets_api_version",
    "qdrant_service",
    "qdrant_namespace",
    "qdrant_port",
    "qdrant_name_label",
    "litellm_service",
    "litellm_namespace",
    "litellm_port",
    "litellm_name_label",
    "gateway_namespace",
    "gateway_entities",
    "gpu_node_label",
    "gpu_resource",
    "gpu_runtime_class",
    "part_of",
    "run_as_uid",
)
NAME_LABEL = "app.kubernetes.io/name"
_TOP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?:\s(.*))?$")


def scalar(text: str) -> Any:
    """A YAML scalar as Copier's `to_nice_yaml` writes the old answers (strings, ints, bools, lists)."""
    text = text.strip()
    if text in ("", "null", "~"):
        return None
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    if text.startswith(("'", '"', "[", "{")):
        if text.startswith("'"):
            return text[1:-1].replace("''", "'")
        try:
            return json.loads(text)
        except ValueError:
            inner = text[1:-1].strip()
            return [scalar(item) for item in inner.split(",")] if text.startswith("[") and inner else []
    return text


def top_level(text: str) -> dict[str, tuple[int, int, str]]:
    """Each top-level key: (first line, end line, text of its value) - block lists joined as flow lists."""
    lines = text.splitlines()
    found: dict[str, tuple[int, int, str]] = {}
    index = 0
    while index < len(lines):
        match = _TOP.match(lines[index])
        if not match:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and (lines[end].startswith((" ", "\t", "-")) or not lines[end].strip()):
            end += 1
        value = (match.group(2) or "").strip()
        items = [line.strip()[1:].strip() for line in lines[index + 1 : end] if line.strip().startswith("-")]
        if not value and items:
            value = json.dumps([scalar(item) for item in items])
        found[match.group(1)] = (index, end, value)
        index = end
    return found


def profile(old: dict[str, Any]) -> dict[str, Any]:
    """The `cluster` answer for the old flat answers (only the facts the app recorded)."""
    facts: dict[str, Any] = {}

    def put(section: str, key: str, value: Any) -> None:
        facts.setdefault(section, {})[key] = value

    for service in ("qdrant", "litellm"):
        if f"{service}_service" in old:
            put(service, "service", old[f"{service}_service"])
        if f"{service}_namespace" in old:
            put(service, "namespace", old[f"{service}_namespace"])
        if f"{service}_port" in old:
            put(service, "port", old[f"{service}_port"])
            put(service, "target_port", old[f"{service}_port"])  # one constant said both before
        if f"{service}_name_label" in old:
            put(service, "selector", {NAME_LABEL: old[f"{service}_name_label"]})
    if "gateway_namespace" in old:
        put("gateway", "namespace", old["gateway_namespace"])
    if "gateway_entities" in old:
        put("gateway", "entities", old["gateway_entities"])
    if "gpu_resource" in old:
        put("gpu", "resource", old["gpu_resource"])
        # The old template tolerated the taint named like the resource.
        put(
            "gpu", "tolerations", [{"key": old["gpu_resource"], "operator": "Exists", "effect": "NoSchedule"}]
        )
    if "gpu_node_label" in old:
        put("gpu", "node_selector", {old["gpu_node_label"]: "true"})
    if "gpu_runtime_class" in old:
        put("gpu", "runtime_class", old["gpu_runtime_class"] or None)
    if "storage_class" in old:
        facts["storage_class"] = old["storage_class"]
    store = {"secret_store": "name", "external_secrets_api_version": "api_version"}
    for name, key in store.items():
        if name in old:
            put("secret_store", key, old[name])
    for name in ("part_of", "run_as_uid"):
        if name in old:
            facts[name] = old[name]
    return facts


def migrate(text: str) -> str:
    """The answers text without the old keys, with a `cluster` answer when the app customised them."""
    keys = top_level(text)
    if not any(name in keys for name in OLD_KEYS):
        return text
    old = {name: scalar(keys[name][2]) for name in OLD_KEYS if name in keys}
    lines = text.splitlines(keepends=True)
    drop = {line for name in OLD_KEYS if name in keys for line in range(keys[name][0], keys[name][1])}
    kept = [line for number, line in enumerate(lines) if number not in drop]
    if old.get("customize_cluster") is True and "cluster" not in keys:
        facts = profile(old)
        if facts:
            kept.append(f"cluster: {json.dumps(facts, sort_keys=True)}\n")
    return "".join(kept)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} ANSWERS_FILE", file=sys.stderr)
        return 2
    path = argv[1]
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    migrated = migrate(text)
    if migrated == text:
        return 0
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".answers-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(migrated)
        os.chmod(temporary, os.stat(path).st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
