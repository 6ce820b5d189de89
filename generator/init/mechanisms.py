"""`aiapp init --detect` for the cluster's mechanisms and lists (issue 17): backups, the policy engine,
Ingress or Gateway API, every Gateway with its listener, every storage class and secret store, GPU taints
and node labels read from the workloads, and Prometheus from a kube-prometheus-stack chart.

Every key is either proposed with its file or reported as "not found: kept the default X".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

VELERO_GROUP = "velero.io/"
BACKUP_VOLUMES = "backup.velero.io/backup-volumes"
EXCLUDED_VOLUMES = "backup.velero.io/backup-volumes-excludes"
TIER_LABEL = "backup.velero.io/backup-tier"
MONITORING_CHART = "kube-prometheus-stack"


class Object(Protocol):
    """A manifest as detect.py reads it."""

    @property
    def data(self) -> dict[str, Any]: ...

    @property
    def file(self) -> Path: ...

    @property
    def namespace(self) -> str | None: ...

    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...


Propose = Callable[[str, Any, Path], None]
Missing = Callable[[str, str], None]


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def pod_template(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """A workload's pod template: a CronJob's job's, a LeaderWorkerSet's leader's (its worker template
    when it has none: kubernetes-sigs/lws, the leader defaults to it), else `spec.template`."""
    spec = _map(data.get("spec"))
    if kind == "CronJob":
        return _map(_map(_map(spec.get("jobTemplate")).get("spec")).get("template"))
    if kind == "LeaderWorkerSet":
        group = _map(spec.get("leaderWorkerTemplate"))
        return _map(group.get("leaderTemplate")) or _map(group.get("workerTemplate"))
    return _map(spec.get("template"))


def _pod(obj: Object) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metadata, spec) of a workload's pod template."""
    template = pod_template(obj.kind, obj.data)
    return _map(template.get("metadata")), _map(template.get("spec"))


def _ranked(values: Sequence[tuple[Any, Path]]) -> list[tuple[Any, Path]]:
    """Distinct values, the most used first, each with the first file it was seen in."""
    counts = Counter(repr(value) for value, _ in values)
    first: dict[str, tuple[Any, Path]] = {}
    for value, file in values:
        first.setdefault(repr(value), (value, file))
    return [first[key] for key, _ in counts.most_common()]


def _find_key(value: Any, key: str, depth: int = 0) -> Any:
    """The value of `key` anywhere in nested mappings (Helm values), or None."""
    if depth > 20:
        return None
    if isinstance(value, dict):
        if key in value:
            return value[key]
        for item in value.values():
            found = _find_key(item, key, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _find_key(item, key, depth + 1)
            if found is not None:
                return found
    return None


def backups(objects: Sequence[Object], propose: Propose, missing: Missing) -> None:
    """backup.mechanism from what the repository shows: Schedules, FSB annotations, tier labels."""
    schedules = [
        obj
        for obj in objects
        if obj.kind == "Schedule" and str(obj.data.get("apiVersion", "")).startswith(VELERO_GROUP)
    ]
    annotated = [
        obj
        for obj in objects
        if {BACKUP_VOLUMES, EXCLUDED_VOLUMES} & set(_map(_pod(obj)[0].get("annotations")))
    ]
    tiered = [obj for obj in objects if TIER_LABEL in _map(_map(obj.data.get("metadata")).get("labels"))]
    fs_default = next(
        (
            (value, obj.file)
            for obj in objects
            if (value := _find_key(obj.data, "defaultVolumesToFsBackup")) is not None
        ),
        None,
    )
    if schedules and not tiered:
        selecting = [
            obj for obj in schedules if _map(_map(obj.data.get("spec")).get("template")).get("labelSelector")
        ]
        propose("backup.mechanism", "schedules", (selecting or schedules)[0].file)
        if schedules[0].namespace:
            propose("backup.velero_namespace", schedules[0].namespace, schedules[0].file)
    elif annotated:
        propose("backup.mechanism", "pod-annotation", annotated[0].file)
    elif tiered:
        propose("backup.mechanism", "tier-label", tiered[0].file)
    else:
        missing("backup.mechanism", "no Velero Schedule, file-system backup annotation or backup-tier label")
    if fs_default is not None:
        propose(
            "backup.default_volumes_to_fs_backup",
            fs_default[0] is True or str(fs_default[0]) == "true",
            fs_default[1],
        )
    elif annotated:
        missing("backup.default_volumes_to_fs_backup", "no defaultVolumesToFsBackup in Velero's values")


def policy_engine(objects: Sequence[Object], propose: Propose, missing: Missing) -> None:
    cilium = next(
        (obj for obj in objects if obj.kind in ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy")),
        None,
    )
    plain = next(
        (
            obj
            for obj in objects
            if obj.kind == "NetworkPolicy"
            and str(obj.data.get("apiVersion", "")).startswith("networking.k8s.io/")
        ),
        None,
    )
    if cilium is not None:
        propose("network.policy_engine", "cilium", cilium.file)
    elif plain is not None:
        propose("network.policy_engine", "kubernetes", plain.file)
    else:
        missing("network.policy_engine", "no CiliumNetworkPolicy or NetworkPolicy")


def ingress(objects: Sequence[Object], propose: Propose, missing: Missing) -> None:
    routes = [obj for obj in objects if obj.kind == "HTTPRoute"]
    ingresses = [obj for obj in objects if obj.kind == "Ingress"]
    if routes:
        propose("ingress.kind", "gateway-api", routes[0].file)
    elif ingresses:
        propose("ingress.kind", "ingress", ingresses[0].file)
        classes = _ranked(
            [
                (str(_map(obj.data.get("spec")).get("ingressClassName")), obj.file)
                for obj in ingresses
                if _map(obj.data.get("spec")).get("ingressClassName")
            ]
        )
        if classes:
            propose("ingress.class", classes[0][0], classes[0][1])
        else:
            missing("ingress.class", "no Ingress names an ingressClassName")
    else:
        missing("ingress.kind", "no HTTPRoute or Ingress")


def _section(listeners: list[dict[str, Any]]) -> str | None:
    """The listener routes attach to when one fits: the only one, or the only HTTPS one."""
    named = [item for item in listeners if item.get("name")]
    if len(named) == 1:
        return str(named[0]["name"])
    https = [item for item in named if str(item.get("protocol", "")).upper() == "HTTPS"]
    return str(https[0]["name"]) if len(https) == 1 else None


def gateways(objects: Sequence[Object], propose: Propose, missing: Missing) -> None:
    found = [obj for obj in objects if obj.kind == "Gateway" and obj.namespace]
    if not found:
        missing("gateway.gateways", "no Gateway")
        return
    # The Gateway most routes attach to comes first (the default of `aiapp new`); on a tie, an internal
    # one (a new app is not published to the internet unless asked).
    used = Counter(
        (str(_map(parent).get("namespace", obj.namespace)), str(_map(parent).get("name")))
        for obj in objects
        if obj.kind == "HTTPRoute"
        for parent in _list(_map(obj.data.get("spec")).get("parentRefs"))
    )
    found.sort(key=lambda obj: (-used[(str(obj.namespace), obj.name)], "internal" not in obj.name.lower()))
    listed = []
    for obj in found:
        section = _section([_map(item) for item in _list(_map(obj.data.get("spec")).get("listeners"))])
        entry: dict[str, Any] = {"namespace": obj.namespace, "name": obj.name}
        if section:
            entry["section"] = section
        listed.append(entry)
    if len(listed) == 1:
        for key, value in listed[0].items():
            propose(f"gateway.{key}", value, found[0].file)
        if "section" not in listed[0]:
            propose("gateway.section", None, found[0].file)
    else:
        propose("gateway.gateways", listed, found[0].file)


def _claim_specs(obj: Object) -> list[dict[str, Any]]:
    """The PVC specs an object declares: a PVC's own, a StatefulSet's or a LeaderWorkerSet's claim
    templates (one PVC per pod)."""
    spec = _map(obj.data.get("spec"))
    if obj.kind == "PersistentVolumeClaim":
        return [spec]
    if obj.kind == "StatefulSet":
        templates = spec.get("volumeClaimTemplates")
    elif obj.kind == "LeaderWorkerSet":
        templates = _map(spec.get("leaderWorkerTemplate")).get("volumeClaimTemplates")
    else:
        return []
    return [_map(_map(template).get("spec")) for template in _list(templates)]


def lists(objects: Sequence[Object], propose: Propose, missing: Missing) -> None:
    """Every storage class the PVCs use and every store the ExternalSecrets read, the most used first."""
    classes = _ranked(
        [
            (str(claim["storageClassName"]), obj.file)
            for obj in objects
            for claim in _claim_specs(obj)
            if claim.get("storageClassName")
        ]
    )
    if len(classes) > 1:
        propose("storage_classes", [value for value, _ in classes], classes[0][1])
    elif classes:
        propose("storage_class", classes[0][0], classes[0][1])
    else:
        missing("storage_class", "no PVC or claim template names a storageClassName")
    secrets = [obj for obj in objects if obj.kind == "ExternalSecret"]
    stores = _ranked(
        [
            (
                (str(ref.get("kind", "SecretStore")), str(ref["name"]), str(obj.data.get("apiVersion"))),
                obj.file,
            )
            for obj in secrets
            if (ref := _map(_map(obj.data.get("spec")).get("secretStoreRef"))).get("name")
        ]
    )
    distinct = list(dict.fromkeys((kind, name) for (kind, name, _), _ in stores))
    if len(distinct) > 1:
        versions = {(kind, name): version for (kind, name, version), _ in reversed(stores)}
        listed = [
            {"kind": kind, "name": name, "api_version": versions[(kind, name)]} for kind, name in distinct
        ]
        propose("secret_stores", listed, stores[0][1])
    elif stores:
        (kind, name, version), file = stores[0]
        propose("secret_store.name", name, file)
        propose("secret_store.kind", kind, file)
        propose("secret_store.api_version", version, file)
    else:
        missing("secret_store", "no ExternalSecret names a secretStoreRef")


def gpu_nodes(
    objects: Sequence[Object], gpu_pods: Sequence[Object], propose: Propose, missing: Missing
) -> None:
    """GPU node labels from the GPU pods' node selectors or node affinity, taints from what the GPU pods
    or the DaemonSets (device plugins, exporters) tolerate; `[]` when GPU pods run without tolerations."""
    if not gpu_pods:
        return
    pod = _pod(gpu_pods[0])[1]
    file = gpu_pods[0].file
    if not _map(pod.get("nodeSelector")):
        terms = _list(
            _map(
                _map(_map(pod.get("affinity")).get("nodeAffinity")).get(
                    "requiredDuringSchedulingIgnoredDuringExecution"
                )
            ).get("nodeSelectorTerms")
        )
        for term in map(_map, terms):
            for expression in map(_map, _list(term.get("matchExpressions"))):
                values = _list(expression.get("values"))
                if expression.get("operator") == "In" and len(values) == 1:
                    propose("gpu.node_selector", {str(expression.get("key")): str(values[0])}, file)
                    break
            else:
                continue
            break
        else:
            missing("gpu.node_selector", "the GPU pods select no node label")
    if _list(pod.get("tolerations")):
        return  # detect.py proposed the GPU pods' own tolerations
    taints = _ranked(
        [
            (
                {
                    key: str(value)
                    for key, value in _map(item).items()
                    if key in ("key", "operator", "value", "effect")
                },
                obj.file,
            )
            for obj in objects
            if obj.kind == "DaemonSet"
            for item in _list(_pod(obj)[1].get("tolerations"))
            if "gpu" in str(_map(item).get("key", "")).lower()
        ]
    )
    if taints:
        propose("gpu.tolerations", [taints[0][0]], taints[0][1])
    else:
        propose("gpu.tolerations", [], file)


def monitoring(objects: Sequence[Object], propose: Propose) -> bool:
    """Prometheus's namespace from a kube-prometheus-stack HelmRelease or kustomize `helmCharts:` entry."""
    for obj in objects:
        spec = _map(obj.data.get("spec"))
        if obj.kind == "HelmRelease":
            chart = _map(_map(spec.get("chart")).get("spec")).get("chart") or _map(spec.get("chartRef")).get(
                "name"
            )
            namespace = spec.get("targetNamespace") or obj.namespace
            if chart == MONITORING_CHART and namespace:
                propose("monitoring.namespace", str(namespace), obj.file)
                return True
        elif obj.kind == "Kustomization" and str(obj.data.get("apiVersion", "")).startswith(
            "kustomize.config"
        ):
            for chart in map(_map, _list(obj.data.get("helmCharts"))):
                namespace = chart.get("namespace") or obj.data.get("namespace") or obj.namespace
                if chart.get("name") == MONITORING_CHART and namespace:
                    propose("monitoring.namespace", str(namespace), obj.file)
                    return True
    return False
