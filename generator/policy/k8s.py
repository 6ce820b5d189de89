"""Small, forgiving accessors for Kubernetes objects: rules must never crash on odd input."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from generator.policy.model import K8sObject, YamlPath

# A LeaderWorkerSet (kubernetes-sigs/lws, api/leaderworkerset/v1/leaderworkerset_types.go) runs groups of
# pods from two templates: `spec.leaderWorkerTemplate.leaderTemplate` (optional: it defaults to the worker
# template) for the leader of each group, `.workerTemplate` for the other `size - 1` pods.
LWS_KIND = "LeaderWorkerSet"
LWS_API = "leaderworkerset.x-k8s.io/"
# The labels the LWS controller puts on every pod of a set (same file): the set's name, the group's
# index, and the pod's index in its group (0 for the leader, 1..size-1 for the workers).
LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
LWS_GROUP_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/group-index"
LWS_WORKER_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"
WORKLOAD_KINDS = frozenset(
    {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
        "Pod",
        LWS_KIND,
    }
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


# The pod roles of a LeaderWorkerSet; a template with both roles is the worker template that also makes
# the leaders (no `leaderTemplate`). The pod of any other workload has no role ("").
LEADER = "leader"
WORKER = "worker"
LEADER_AND_WORKER = "leader and worker"


@dataclass(frozen=True, slots=True)
class Pod:
    """The pod template of a workload (or the Pod itself), with paths for locating findings."""

    spec: dict[str, Any]
    spec_path: YamlPath
    metadata: dict[str, Any]
    metadata_path: YamlPath
    role: str = ""

    @property
    def leads(self) -> bool:
        """Whether pods of this template lead their group (every pod of a workload without groups)."""
        return self.role != WORKER

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


def pods_of(obj: K8sObject) -> tuple[Pod, ...]:
    """The pod templates of a workload (two for a LeaderWorkerSet with its own leader template, else
    one), or none for other kinds and templates that are not mappings. Computed once per object."""
    if "pods" not in obj.memo:
        obj.memo["pods"] = _group_pods(obj) if obj.kind == LWS_KIND else _pods(obj)
    pods: tuple[Pod, ...] = obj.memo["pods"]
    return pods


def _pods(obj: K8sObject) -> tuple[Pod, ...]:
    base = _template_path(obj.kind)
    if base is None:
        return ()
    pod = _template(obj.data, base)
    return () if pod is None else (pod,)


def _template(data: dict[str, Any], base: YamlPath, role: str = "") -> Pod | None:
    template = dig(data, *base) if base else data
    if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
        return None
    return Pod(
        spec=template["spec"],
        spec_path=(*base, "spec"),
        metadata=mapping(template.get("metadata")),
        metadata_path=(*base, "metadata"),
        role=role,
    )


LWS_TEMPLATE: YamlPath = ("spec", "leaderWorkerTemplate")


def _group_pods(obj: K8sObject) -> tuple[Pod, ...]:
    """The leader template then the worker template of a LeaderWorkerSet; the worker template alone (both
    roles) when there is no leader template. Only the LWS API group's kind: another group's
    `LeaderWorkerSet` is not known here."""
    if not obj.api_version.startswith(LWS_API):
        return ()
    leader = _template(obj.data, (*LWS_TEMPLATE, "leaderTemplate"), LEADER)
    worker = _template(obj.data, (*LWS_TEMPLATE, "workerTemplate"), WORKER)
    if leader is None:
        return () if worker is None else (replace(worker, role=LEADER_AND_WORKER),)
    return (leader,) if worker is None else (leader, worker)


def group_size(obj: K8sObject) -> int | None:
    """The pods of one group of a LeaderWorkerSet (`leaderWorkerTemplate.size`, default 1); None when it
    is not a whole number (a value kustomize or a chart fills in) or the object is not an LWS."""
    if obj.kind != LWS_KIND or not obj.api_version.startswith(LWS_API):
        return None
    size = mapping(dig(obj.data, *LWS_TEMPLATE)).get("size", 1)
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 1 else None


def claim_templates(obj: K8sObject) -> Iterator[tuple[dict[str, Any], YamlPath]]:
    """(claim template, its path) of a StatefulSet's `volumeClaimTemplates` or a LeaderWorkerSet's
    (`spec.leaderWorkerTemplate.volumeClaimTemplates`): one PVC per pod, named `<claim>-<pod>`, that the
    pod mounts as the volume named after the claim."""
    if obj.kind == "StatefulSet":
        base: YamlPath = ("spec", "volumeClaimTemplates")
    elif obj.kind == LWS_KIND and obj.api_version.startswith(LWS_API):
        base = (*LWS_TEMPLATE, "volumeClaimTemplates")
    else:
        return
    for index, template in enumerate(sequence(dig(obj.data, *base))):
        if isinstance(template, dict):
            yield template, (*base, index)


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
