"""Qdrant rules: apps never deploy their own Qdrant, and they connect to the shared one."""

from __future__ import annotations

from collections.abc import Iterator

from generator.cluster.facts import Cluster
from generator.policy.k8s import WORKLOAD_KINDS, containers, mapping, pods_of, sequence
from generator.policy.model import Hit, K8sObject, Severity, YamlPath
from generator.policy.registry import object_rule
from generator.policy.rules.providers import reaches, url_keys

SECTION = "Qdrant Integration Pattern"


def _image_repository(image: str) -> str:
    """`docker.io/qdrant/qdrant:v1.12.0@sha256:...` → `qdrant` (the last path component, no tag)."""
    last = image.split("@")[0].rsplit("/", 1)[-1]
    return last.split(":")[0].lower()


def _number(value: object) -> int | None:
    """A port number as written (a name or a malformed value is none)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _evidence(obj: K8sObject, cluster: Cluster) -> list[tuple[str, YamlPath]]:
    """What shows that the object runs or serves a Qdrant: (description, path), strongest first."""
    ports = {cluster.qdrant_port, *cluster.qdrant_ports}
    found: list[tuple[str, YamlPath]] = []
    pods = pods_of(obj)
    for pod in pods:
        for container in containers(pod):
            image = container.data.get("image")
            if isinstance(image, str) and _image_repository(image) == "qdrant":
                found.append((f"image {image}", (*container.path, "image")))
    for pod in pods:
        for container in containers(pod):
            for index, port in enumerate(sequence(container.data.get("ports"))):
                if _number(mapping(port).get("containerPort")) in ports:
                    found.append(
                        (f"container port {port['containerPort']}", (*container.path, "ports", index))
                    )
    if obj.kind == "Service":
        spec = mapping(obj.data.get("spec"))
        if spec.get("type") == "ExternalName":
            return []
        for index, port in enumerate(sequence(spec.get("ports"))):
            numbers = {_number(mapping(port).get("port")), _number(mapping(port).get("targetPort"))}
            if numbers & ports:
                shown = mapping(port).get("port")
                found.append((f"port {shown}", ("spec", "ports", index)))
    if "qdrant" in obj.name.lower().split("-"):
        found.append((f'name "{obj.name}"', ("metadata", "name")))
    return found


@object_rule(
    id="AIA401",
    slug="own-qdrant",
    title="Apps do not deploy their own Qdrant",
    severity=Severity.ERROR,
    family="qdrant",
    section=f"{SECTION} > Application Config; AI-DOMAIN ANTI-PATTERNS > Configuration",
    quote="Never create separate Qdrant instances - use shared cluster",
    why="One shared Qdrant ({qdrant_url}) is backed up (GFS) and monitored; a private copy is neither. "
    "Evidence: a `qdrant` image, a workload or Service named qdrant, or port {qdrant_port} or one of "
    "Qdrant's own ({qdrant_ports}). The "
    "shared Qdrant's own manifests (namespace {qdrant_namespace}) carry the suppression "
    '`aiapp/ignore: "AIA401: the shared Qdrant cluster"`.',
    fix="Remove the Qdrant workload and Service; connect to {qdrant_url} and use a collection of your own.",
    kinds=sorted(WORKLOAD_KINDS | {"Service"}),
)
def own_qdrant(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    evidence = _evidence(obj, cluster)
    if evidence:
        what = ", ".join(description for description, _ in evidence)
        yield Hit(evidence[0][1], f"{obj.kind} runs a Qdrant of its own ({what})")


@object_rule(
    id="AIA402",
    slug="qdrant-url-not-shared",
    title="Qdrant URLs point at the shared Qdrant",
    severity=Severity.ERROR,
    family="qdrant",
    section=f"{SECTION} > Application Config",
    quote="Connect to: `qdrant.ai.svc.cluster.local:6333`",
    why="Apps use the shared Qdrant; a Qdrant URL or host setting (QDRANT_URL, QDRANT_HOST, ...) that "
    "names another host points at a private or unknown instance.",
    fix="Set the value to {qdrant_url}.",
    kinds=sorted(WORKLOAD_KINDS | {"ConfigMap"}),
)
def qdrant_url_not_shared(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    for what, key, value, host, path in url_keys(obj, frozenset({"QDRANT"})):
        if not reaches(host, cluster.qdrant_service, cluster.qdrant_namespace, obj, cluster):
            yield Hit(path, f'{what} {key} is "{value}"; apps use the shared Qdrant at {cluster.qdrant_url}')
