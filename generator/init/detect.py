"""`aiapp init --detect`: read a GitOps repository's manifests and propose the cluster profile's facts.

Every proposal names the file it came from, so the engineer can judge it before anything is written.
What is looked for: the LiteLLM and Qdrant Deployments/StatefulSets and the Services in front of them
(namespace, the Service's selector, port and target port, Qdrant's API-key environment variable and the
ExternalSecret entry behind it), GPU workloads (resource name, node selector, tolerations, RuntimeClass),
the ExternalSecrets (API version, store), the Gateways (namespace and name), PVCs (storage class) and
Prometheus (namespace). Facts that are not found keep the defaults, and the report says so.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.init import mechanisms
from generator.init.pools import propose_pools

# The long-running workloads whose pods say how the cluster runs apps (a LeaderWorkerSet's: a multi-node
# model server on a GPU pool).
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "LeaderWorkerSet"}
SKIPPED_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv"}
MAX_FILE_BYTES = 2_000_000
SERVICES = ("litellm", "qdrant")
QDRANT_KEY_ENV = "QDRANT__SERVICE__API_KEY"


@dataclass(frozen=True)
class Manifest:
    """One object of the repository: its data, file, and the namespace it lands in."""

    data: dict[str, Any]
    file: Path
    namespace: str | None

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def name(self) -> str:
        return str(_map(self.data.get("metadata")).get("name", ""))


@dataclass(frozen=True)
class Proposal:
    """A fact found in the repository: its dotted key, value and where it was read."""

    key: str
    value: Any
    file: Path


@dataclass
class Detection:
    """What `--detect` found, and what it looked for in vain."""

    proposals: list[Proposal] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def propose(self, key: str, value: Any, file: Path) -> None:
        self.proposals.append(Proposal(key, value, file))

    def not_found(self, key: str, reason: str) -> None:
        """A key the repository does not show: said, with the default that stays (never silently)."""
        from generator.cluster.profile import merge

        default: Any = merge({})
        for part in key.split("."):
            default = default.get(part) if isinstance(default, dict) else None
        shown = (
            json.dumps(default)
            if isinstance(default, (dict, list, bool)) or default is None
            else str(default)
        )
        self.missing.append(f"{key} ({reason}): kept the default {shown}")

    def given(self) -> dict[str, Any]:
        """The proposals as a (partial) profile."""
        profile: dict[str, Any] = {}
        for proposal in self.proposals:
            section, _, key = proposal.key.partition(".")
            if key:
                profile.setdefault(section, {})[key] = proposal.value
            else:
                profile[section] = proposal.value
        return profile


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _documents(path: Path) -> list[Any]:
    """The YAML documents of a file, read by the bounded reader; [] for anything it refuses (a FIFO, a
    device, a file over MAX_FILE_BYTES, an alias bomb, absurd nesting, invalid YAML)."""
    import yaml

    from generator.reader.files import read_bytes
    from generator.reader.yamldoc import parse_documents

    try:
        return parse_documents(read_bytes(path, MAX_FILE_BYTES).decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return []


def manifests(repo: Path) -> Iterator[Manifest]:
    """Every Kubernetes object in the YAML files under `repo` (unreadable files are skipped), in the
    namespace its kustomization, Flux Kustomization (`targetNamespace`) or Argo CD Application gives it."""
    from generator.cluster import gitops

    read: list[tuple[Path, str | None, list[Any]]] = []
    for directory, subdirs, files in os.walk(repo):
        subdirs[:] = sorted(name for name in subdirs if name not in SKIPPED_DIRS and not name.startswith("."))
        folder = Path(directory)
        namespace = _kustomize_namespace(folder, repo)
        for name in sorted(files):
            path = folder / name
            if path.suffix not in (".yaml", ".yml") or name.startswith("."):
                continue
            read.append((path, namespace, _documents(path)))
    documents = {str(path): docs for path, _, docs in read}
    targets = gitops.find_targets(documents, documents.get)
    for path, namespace, docs in read:
        target = gitops.target_for(str(path), targets) if targets else None
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") and doc.get("apiVersion"):
                own = _map(doc.get("metadata")).get("namespace")
                written = str(own) if own else namespace
                yield Manifest(doc, path, gitops.namespace_of(str(doc["kind"]), written, target))


def _kustomize_namespace(folder: Path, repo: Path) -> str | None:
    """The `namespace:` of the nearest kustomization at or above `folder` (inside the repository)."""
    for directory in [folder, *folder.parents]:
        for name in ("kustomization.yaml", "kustomization.yml"):
            path = directory / name
            if os.path.lexists(path):
                documents = _documents(path)
                data = documents[0] if len(documents) == 1 else None
                if isinstance(data, dict) and data.get("namespace"):
                    return str(data["namespace"])
        if directory == repo:
            break
    return None


def _pod(obj: Manifest) -> dict[str, Any]:
    return _map(mechanisms.pod_template(obj.kind, obj.data).get("spec"))


def _pod_labels(obj: Manifest) -> dict[str, str]:
    labels = _map(_map(mechanisms.pod_template(obj.kind, obj.data).get("metadata")).get("labels"))
    return {str(key): str(value) for key, value in labels.items()}


def _containers(obj: Manifest) -> list[dict[str, Any]]:
    return [_map(item) for item in _list(_pod(obj).get("containers"))]


def _is(service: str, obj: Manifest) -> bool:
    """A workload of the shared service: named after it or running its image."""
    images = " ".join(str(container.get("image", "")) for container in _containers(obj))
    return service in obj.name.lower() or f"/{service}" in images.lower() or images.startswith(service)


def _detect_service(service: str, objects: list[Manifest], detection: Detection) -> None:
    workload = next((obj for obj in objects if obj.kind in WORKLOADS and _is(service, obj)), None)
    if workload is None:
        detection.not_found(service, f"no Deployment or StatefulSet of {service}")
        return
    labels = _pod_labels(workload)
    front = next(
        (
            obj
            for obj in objects
            if obj.kind == "Service"
            and obj.namespace == workload.namespace
            and _map(_map(obj.data.get("spec")).get("selector"))
            and all(labels.get(str(k)) == str(v) for k, v in _map(obj.data["spec"]["selector"]).items())
        ),
        None,
    )
    found = detection.proposals
    if workload.namespace:
        found.append(Proposal(f"{service}.namespace", workload.namespace, workload.file))
    container_ports = {
        str(port.get("name")): port.get("containerPort")
        for container in _containers(workload)
        for port in map(_map, _list(container.get("ports")))
    }
    if front is not None:
        spec = _map(front.data.get("spec"))
        found.append(Proposal(f"{service}.service", front.name, front.file))
        found.append(
            Proposal(
                f"{service}.selector",
                {str(k): str(v) for k, v in _map(spec.get("selector")).items()},
                front.file,
            )
        )
        port = _map((_list(spec.get("ports")) or [{}])[0])
        if isinstance(port.get("port"), int):
            found.append(Proposal(f"{service}.port", port["port"], front.file))
            target = port.get("targetPort", port["port"])
            if isinstance(target, str):
                target = container_ports.get(target)
            if isinstance(target, int):
                found.append(Proposal(f"{service}.target_port", target, front.file))
    else:
        detection.not_found(f"{service}.service", f"no Service selects the {workload.name} pods")
        selector = _map(_map(_map(workload.data.get("spec")).get("selector")).get("matchLabels"))
        if selector:
            found.append(
                Proposal(f"{service}.selector", {str(k): str(v) for k, v in selector.items()}, workload.file)
            )
    if service == "qdrant":
        _detect_qdrant_key(workload, objects, detection)


def _detect_qdrant_key(workload: Manifest, objects: list[Manifest], detection: Detection) -> None:
    """Qdrant requires a key when its pods set QDRANT__SERVICE__API_KEY: find the Bitwarden item behind it."""
    for container in _containers(workload):
        for env in map(_map, _list(container.get("env"))):
            if env.get("name") != QDRANT_KEY_ENV:
                continue
            ref = _map(_map(env.get("valueFrom")).get("secretKeyRef"))
            item = _remote_key(objects, workload.namespace, str(ref.get("name", "")), str(ref.get("key", "")))
            if item:
                detection.proposals.append(Proposal("qdrant.api_key_item", item[0], item[1]))
            else:
                detection.missing.append(
                    f"qdrant.api_key_item (Qdrant requires an API key, {workload.file}: name its Bitwarden "
                    "item with --set qdrant.api_key_item=ITEM)"
                )
            return


def _remote_key(
    objects: list[Manifest], namespace: str | None, secret: str, key: str
) -> tuple[str, Path] | None:
    for obj in objects:
        if obj.kind != "ExternalSecret" or obj.namespace != namespace:
            continue
        spec = _map(obj.data.get("spec"))
        if str(_map(spec.get("target")).get("name", obj.name)) != secret:
            continue
        for entry in map(_map, _list(spec.get("data"))):
            if entry.get("secretKey") == key:
                remote = _map(entry.get("remoteRef")).get("key")
                if remote:
                    return str(remote), obj.file
    return None


def _gpu_pod(obj: Manifest) -> tuple[str, dict[str, Any]] | None:
    for container in _containers(obj):
        resources = _map(container.get("resources"))
        for section in ("limits", "requests"):
            for key in _map(resources.get(section)):
                if "gpu" in str(key).lower():
                    return str(key), _pod(obj)
    return None


def _detect_gpu(objects: list[Manifest], detection: Detection) -> list[Manifest]:
    for obj in objects:
        if obj.kind not in WORKLOADS:
            continue
        found = _gpu_pod(obj)
        if found is None:
            continue
        resource, pod = found
        detection.proposals.append(Proposal("gpu.resource", resource, obj.file))
        selector = _map(pod.get("nodeSelector"))
        if selector:
            detection.proposals.append(
                Proposal("gpu.node_selector", {str(k): str(v) for k, v in selector.items()}, obj.file)
            )
        tolerations = [
            {
                key: str(value)
                for key, value in _map(item).items()
                if key in ("key", "operator", "value", "effect")
            }
            for item in _list(pod.get("tolerations"))
            if _map(item).get("key")
        ]
        if tolerations:
            for toleration in tolerations:
                toleration.setdefault("operator", "Equal")
            detection.proposals.append(Proposal("gpu.tolerations", tolerations, obj.file))
        if pod.get("runtimeClassName"):
            detection.proposals.append(Proposal("gpu.runtime_class", str(pod["runtimeClassName"]), obj.file))
        return [obj]
    detection.not_found("gpu", "no workload requests a GPU")
    return []


def _most_common(values: list[tuple[Any, Path]]) -> tuple[Any, Path] | None:
    if not values:
        return None
    top, _ = Counter(str(value) for value, _ in values).most_common(1)[0]
    return next((value, file) for value, file in values if str(value) == top)


def _detect_others(objects: list[Manifest], detection: Detection) -> None:
    found = detection.proposals
    prometheus = _most_common(
        [(obj.namespace, obj.file) for obj in objects if obj.kind == "Prometheus" and obj.namespace]
    )
    if prometheus:
        found.append(Proposal("monitoring.namespace", prometheus[0], prometheus[1]))
    elif not mechanisms.monitoring(objects, detection.propose):
        detection.not_found("monitoring.namespace", "no Prometheus or kube-prometheus-stack chart")


def detect(repo: Path) -> Detection:
    """The facts the repository's manifests show (see the module docstring)."""
    objects = list(manifests(repo))
    detection = Detection()
    for service in SERVICES:
        _detect_service(service, objects, detection)
    gpu_pods = _detect_gpu(objects, detection)
    mechanisms.gpu_nodes(objects, gpu_pods, detection.propose, detection.not_found)
    every_gpu_pod = [(_pod(obj), obj.file) for obj in objects if obj.kind in WORKLOADS and _gpu_pod(obj)]
    propose_pools(
        every_gpu_pod, detection.proposals, detection.propose, detection.not_found, detection.missing
    )
    _detect_others(objects, detection)
    mechanisms.lists(objects, detection.propose, detection.not_found)
    mechanisms.gateways(objects, detection.propose, detection.not_found)
    mechanisms.backups(objects, detection.propose, detection.not_found)
    mechanisms.policy_engine(objects, detection.propose, detection.not_found)
    mechanisms.ingress(objects, detection.propose, detection.not_found)
    return detection
