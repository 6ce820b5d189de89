"""Small, forgiving accessors for Kubernetes objects: rules must never crash on odd input."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from generator.policy.model import K8sObject, YamlPath

WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "Pod"}
)
LONG_RUNNING_KINDS = WORKLOAD_KINDS - {"Job", "CronJob"}
NETWORK_POLICY_KINDS = frozenset({"CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"})
KUSTOMIZE_API = "kustomize.config.k8s.io/"


def mapping(value: Any) -> dict[str, Any]:
    """The value if it is a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    """The value if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def dig(value: Any, *keys: str | int) -> Any:
    """value[k1][k2]...; None as soon as a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def labels(metadata: Any) -> dict[str, str]:
    """Labels as strings (a YAML `true` label value is a schema error, but still compared as text)."""
    return {str(key): str(value) for key, value in mapping(mapping(metadata).get("labels")).items()}


@dataclass(frozen=True, slots=True)
class Pod:
    """The pod template of a workload (or the Pod itself), with paths for locating findings."""

    spec: dict[str, Any]
    spec_path: YamlPath
    metadata: dict[str, Any]
    metadata_path: YamlPath

    @property
    def labels(self) -> dict[str, str]:
        return labels(self.metadata)

    @property
    def labels_path(self) -> YamlPath:
        return (*self.metadata_path, "labels")


def _template_path(kind: str) -> YamlPath | None:
    if kind == "Pod":
        return ()
    if kind == "CronJob":
        return ("spec", "jobTemplate", "spec", "template")
    if kind in WORKLOAD_KINDS:
        return ("spec", "template")
    return None


def pod_of(obj: K8sObject) -> Pod | None:
    """The pod template of a workload, or None for other kinds or a template that is not a mapping."""
    if "pod" not in obj.memo:
        obj.memo["pod"] = _pod(obj)
    pod: Pod | None = obj.memo["pod"]
    return pod


def _pod(obj: K8sObject) -> Pod | None:
    base = _template_path(obj.kind)
    if base is None:
        return None
    template = dig(obj.data, *base) if base else obj.data
    if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
        return None
    return Pod(
        spec=template["spec"],
        spec_path=(*base, "spec"),
        metadata=mapping(template.get("metadata")),
        metadata_path=(*base, "metadata"),
    )


@dataclass(frozen=True, slots=True)
class Container:
    """A container or init container of a pod, with its path and a name for messages."""

    data: dict[str, Any]
    path: YamlPath
    init: bool

    @property
    def name(self) -> str:
        return str(self.data.get("name", "?"))

    @property
    def label(self) -> str:
        return f'{"init container" if self.init else "container"} "{self.name}"'


def containers(pod: Pod, init: bool = True) -> Iterator[Container]:
    """Init containers (when asked) then containers, skipping entries that are not mappings."""
    fields = ("initContainers", "containers") if init else ("containers",)
    for field in fields:
        for index, item in enumerate(sequence(pod.spec.get(field))):
            if isinstance(item, dict):
                yield Container(item, (*pod.spec_path, field, index), field == "initContainers")


def env_values(container: Container) -> Iterator[tuple[str, str, YamlPath]]:
    """(name, literal value, path of the value) of every env entry with a literal value."""
    for index, entry in enumerate(sequence(container.data.get("env"))):
        if isinstance(entry, dict) and isinstance(entry.get("value"), str):
            yield str(entry.get("name", "")), entry["value"], (*container.path, "env", index, "value")


_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>\d+))?(?:/.*)?$")


def url_host(value: str) -> str | None:
    """The host name of a URL or `host[:port][/path]` value, lowercased; None if it is not one."""
    text = value.strip()
    if not text or "$(" in text or "{{" in text:
        return None
    if "://" in text:
        try:
            host = urlsplit(text).hostname
        except ValueError:
            return None
        return host.lower() if host else None
    match = _HOST_PORT.match(text)
    return match.group("host").lower() if match else None


def is_wildcard_address(value: str) -> bool:
    """A listen address, not a server to call: the unspecified address of IPv4 or IPv6 (`0.0.0.0`,
    `::`, `[::]:11434`, `http://0.0.0.0:8080`) or `*`, with or without a port. A server binds to it; no
    client can connect to it."""
    text = value.strip()
    if text.startswith("*"):
        return text in ("*", "*:") or (text[1:2] == ":" and text[2:].isdigit())
    if "://" in text:
        try:
            host = urlsplit(text).hostname or ""
        except ValueError:
            return False
    elif text.startswith("["):
        host = text[1 : text.find("]")]
    elif text.count(":") > 1:
        host = text
    else:
        host = text.split("/", 1)[0].split(":", 1)[0]
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def name_tokens(name: str) -> list[str]:
    """An env var or config key split into upper-case words: `openai-api_base` → [OPENAI, API, BASE]."""
    return [token for token in re.split(r"[^A-Za-z0-9]+", name.upper()) if token]
