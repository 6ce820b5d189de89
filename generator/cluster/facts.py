"""The cluster facts the rules check against: the profile's (generator/cluster/profile.py), evaluated
by copier.yml's own expressions (`generator.template.questions.resolve`), so the checker and the
template always agree on the storage class, the secret store, the shared services and the GPU nodes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from generator.cluster.profile import PROFILE_QUESTION, Profile, find_profile, merge

NAME_LABEL = "app.kubernetes.io/name"


@dataclass(frozen=True)
class GpuPool:
    """One pool of GPU nodes (the profile's `gpu.pools`): how its pods select and tolerate its nodes, and
    its size when the profile gives it (None: unknown)."""

    name: str
    node_selector: tuple[tuple[str, str], ...]
    tolerations: tuple[tuple[tuple[str, str], ...], ...]
    runtime_class: str | None = None
    gpus_per_node: int | None = None
    gpu_memory_gib: int | None = None
    nodes: int | None = None
    interconnect: str | None = None

    @property
    def capacity(self) -> int | None:
        """GPUs in the pool; None unless the profile gives both the GPUs per node and the nodes."""
        if self.gpus_per_node is None or self.nodes is None:
            return None
        return self.gpus_per_node * self.nodes


@dataclass(frozen=True)
class Cluster:
    """The facts of the standard cluster that the house rules refer to."""

    storage_class: str
    secret_store: str
    gpu_resource: str
    gpu_node_label: str
    backup_tier_label: str
    backup_tiers: tuple[str, ...]
    critical_tier: str
    gateway_namespace: str
    gateway_entities: tuple[str, ...]
    kube_dns_namespace: str
    kube_dns_app: str
    qdrant_service: str
    qdrant_namespace: str
    qdrant_port: int
    qdrant_name_label: str
    qdrant_url: str
    litellm_service: str
    litellm_namespace: str
    litellm_port: int
    litellm_name_label: str
    litellm_url: str
    providers: tuple[tuple[str, str], ...]
    model_hub_names: tuple[str, ...]
    model_hub_patterns: tuple[str, ...]
    # The shared services as pods: the labels that select them and the port they listen on (Cilium
    # matches the pod port after DNAT; the URLs above use the Service port).
    qdrant_selector: tuple[tuple[str, str], ...] = ()
    qdrant_target_port: int = 0
    qdrant_api_key_item: str | None = None
    litellm_selector: tuple[tuple[str, str], ...] = ()
    litellm_target_port: int = 0
    # GPU nodes: the labels a GPU pod selects, the taints it tolerates, its RuntimeClass (None: default).
    gpu_node_selector: tuple[tuple[str, str], ...] = ()
    gpu_tolerations: tuple[tuple[tuple[str, str], ...], ...] = ()
    gpu_runtime_class: str | None = None
    # Every GPU pool, the default (whose selector, tolerations and RuntimeClass are the three above) first.
    gpu_pools: tuple[GpuPool, ...] = ()
    secret_store_kind: str = "ClusterSecretStore"
    secret_store_api_version: str = "external-secrets.io/v1"
    # Where Prometheus runs, when it scrapes apps (None: no scraping).
    monitoring_namespace: str | None = None
    # The Gateway app routes attach to: name (in gateway_namespace) and listener (None: any listener).
    gateway_name: str = "gateway"
    gateway_section: str | None = None
    gateway_domain: str = ""
    # Stakater Reloader installed (Secret changes restart pods); namespaces created by the platform.
    reloader: bool = False
    namespaces_managed: bool = False
    bootstrap_image: str = ""
    # Mechanisms (docs/cluster.md): how volumes are backed up, which engine enforces network policies,
    # how apps are exposed. Each list below starts with the scalar fact above it (the default).
    backup_mechanism: str = "tier-label"
    velero_namespace: str = "velero"
    default_volumes_to_fs_backup: bool = False
    policy_engine: str = "cilium"
    ingress_kind: str = "gateway-api"
    ingress_class: str | None = None
    ingress_annotations: tuple[tuple[str, str], ...] = ()
    # Every Gateway a route may attach to: (namespace, name, listener or None), the default first.
    gateways: tuple[tuple[str, str, str | None], ...] = ()
    storage_classes: tuple[str, ...] = ()
    # Every secret store an ExternalSecret may name: (kind, name, apiVersion), the default first.
    secret_stores: tuple[tuple[str, str, str], ...] = ()
    # copier.yml's house_limits, which its validators read too: Qdrant's own ports (AIA401), the shortest
    # route timeout that lets an LLM answer stream (AIA901), namespaces apps never own (AIA907), the
    # image-name marker of a vLLM server (AIA801-AIA804).
    qdrant_ports: tuple[int, ...] = ()
    streaming_floor_seconds: int = 0
    system_namespaces: tuple[str, ...] = ()
    vllm_marker: str = ""

    @property
    def all_storage_classes(self) -> tuple[str, ...]:
        """Every StorageClass a PVC may use, the default first."""
        return self.storage_classes or (self.storage_class,)

    @property
    def all_secret_stores(self) -> tuple[tuple[str, str, str], ...]:
        """Every secret store an ExternalSecret may read: (kind, name, apiVersion), the default first."""
        return self.secret_stores or (
            (self.secret_store_kind, self.secret_store, self.secret_store_api_version),
        )

    @property
    def all_gateways(self) -> tuple[tuple[str, str, str | None], ...]:
        """Every Gateway a route may attach to: (namespace, name, listener or None), the default first."""
        return self.gateways or ((self.gateway_namespace, self.gateway_name, self.gateway_section),)

    def values(self) -> dict[str, Any]:
        """The constants by name, for formatting fix hints and rule documentation."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values["storage_classes"] = ", ".join(self.all_storage_classes)
        values["secret_stores"] = ", ".join(f"{kind} {name}" for kind, name, _ in self.all_secret_stores)
        values["secret_store_api_versions"] = ", ".join(
            dict.fromkeys(version for _, _, version in self.all_secret_stores)
        )
        values["gateways"] = ", ".join(
            f"{namespace}/{name}" + (f" (listener {section})" if section else "")
            for namespace, name, section in self.all_gateways
        )
        values["gateway_namespaces"] = ", ".join(
            dict.fromkeys(namespace for namespace, _, _ in self.all_gateways)
        )
        values["ingress_annotations"] = ", ".join(f"{k}={v}" for k, v in self.ingress_annotations)
        values["backup_tiers"] = ", ".join(self.backup_tiers)
        values["monitoring_namespace"] = self.monitoring_namespace or "none"
        values["gateway_entities"] = ", ".join(self.gateway_entities)
        values["qdrant_ports"] = ", ".join(map(str, self.qdrant_ports))
        values["system_namespaces"] = ", ".join(self.system_namespaces)
        values["providers"] = ", ".join(host for _, host in self.providers)
        values["model_hub_names"] = ", ".join(self.model_hub_names)
        values["model_hub_patterns"] = ", ".join(self.model_hub_patterns)
        for name in ("qdrant_selector", "litellm_selector", "gpu_node_selector"):
            values[name] = ", ".join(f"{key}={value}" for key, value in getattr(self, name))
        values["gpu_pools"] = ", ".join(
            pool.name
            + (f" ({pool.nodes} x {pool.gpus_per_node} GPUs)" if pool.capacity else " (size unknown)")
            for pool in self.gpu_pools
        )
        values["gpu_tolerations"] = "; ".join(
            ", ".join(f"{key}={value}" for key, value in toleration) for toleration in self.gpu_tolerations
        )
        return values

    def service_hosts(self, service: str, namespace: str) -> frozenset[str]:
        """The DNS names that reach a Service from another namespace (the short name only works inside)."""
        return frozenset(
            {
                f"{service}.{namespace}",
                f"{service}.{namespace}.svc",
                f"{service}.{namespace}.svc.cluster.local",
            }
        )


def _pairs(mapping: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(key), str(value)) for key, value in dict(mapping).items())


def _pool(pool: dict[str, Any]) -> GpuPool:
    return GpuPool(
        name=str(pool["name"]),
        node_selector=_pairs(pool["node_selector"]),
        tolerations=tuple(_pairs(toleration) for toleration in pool["tolerations"]),
        runtime_class=pool["runtime_class"] or None,
        gpus_per_node=pool["gpus_per_node"],
        gpu_memory_gib=pool["gpu_memory_gib"],
        nodes=pool["nodes"],
        interconnect=pool["interconnect"],
    )


@cache
def _cluster(facts_json: str) -> Cluster:
    """The Cluster for a validated, complete profile (its JSON text is the cache key)."""
    from generator.template.questions import resolve

    values = resolve({PROFILE_QUESTION: json.loads(facts_json)})
    facts = values["cluster_facts"]
    backup = facts["backup"]
    tiers = (str(backup["tiers"]["critical"]), str(backup["tiers"]["cache"]))
    qdrant_selector = _pairs(values["qdrant_selector"])
    litellm_selector = _pairs(values["litellm_selector"])
    node_selector = _pairs(values["gpu_node_selector"])
    limits = values["house_limits"]
    return Cluster(
        storage_class=values["storage_class"],
        secret_store=values["secret_store"],
        gpu_resource=values["gpu_resource"],
        gpu_node_label=node_selector[0][0] if node_selector else "",
        backup_tier_label=values["backup_tier_label"],
        backup_tiers=tiers,
        critical_tier=tiers[0],
        gateway_namespace=values["gateway_namespace"],
        gateway_entities=tuple(values["gateway_entities"]),
        kube_dns_namespace=values["kube_dns"]["namespace"],
        kube_dns_app=values["kube_dns"]["k8s_app"],
        qdrant_service=values["qdrant_service"],
        qdrant_namespace=values["qdrant_namespace"],
        qdrant_port=int(values["qdrant_port"]),
        qdrant_name_label=dict(qdrant_selector).get(NAME_LABEL, ""),
        qdrant_url=values["qdrant_url"],
        litellm_service=values["litellm_service"],
        litellm_namespace=values["litellm_namespace"],
        litellm_port=int(values["litellm_port"]),
        litellm_name_label=dict(litellm_selector).get(NAME_LABEL, ""),
        litellm_url=values["litellm_url"],
        providers=tuple((name, spec["host"]) for name, spec in values["providers"].items()),
        model_hub_names=tuple(values["model_hub_hosts"]["names"]),
        model_hub_patterns=tuple(values["model_hub_hosts"]["patterns"]),
        qdrant_selector=qdrant_selector,
        qdrant_target_port=int(values["qdrant_target_port"]),
        qdrant_api_key_item=values["qdrant_api_key_item"] or None,
        litellm_selector=litellm_selector,
        litellm_target_port=int(values["litellm_target_port"]),
        gpu_node_selector=node_selector,
        gpu_tolerations=tuple(_pairs(toleration) for toleration in values["gpu_tolerations"]),
        gpu_runtime_class=values["gpu_runtime_class"] or None,
        gpu_pools=tuple(_pool(pool) for pool in facts["gpu"]["pools"]),
        secret_store_kind=values["secret_store_kind"],
        secret_store_api_version=values["external_secrets_api_version"],
        monitoring_namespace=values["monitoring_namespace"] or None,
        gateway_name=values["gateway_name"],
        gateway_section=values["gateway_section"] or None,
        gateway_domain=values["gateway_domain"],
        reloader=bool(values["reloader"]),
        namespaces_managed=bool(values["namespaces_managed"]),
        bootstrap_image=values["bootstrap_image"],
        backup_mechanism=backup["mechanism"],
        velero_namespace=backup["velero_namespace"],
        default_volumes_to_fs_backup=bool(backup["default_volumes_to_fs_backup"]),
        policy_engine=facts["network"]["policy_engine"],
        ingress_kind=facts["ingress"]["kind"],
        ingress_class=facts["ingress"]["class"] or None,
        ingress_annotations=_pairs(facts["ingress"]["annotations"]),
        gateways=tuple(
            (gateway["namespace"], gateway["name"], gateway["section"] or None)
            for gateway in facts["gateway"]["gateways"]
        ),
        storage_classes=tuple(facts["storage_classes"]),
        secret_stores=tuple(
            (store["kind"], store["name"], store["api_version"]) for store in facts["secret_stores"]
        ),
        qdrant_ports=tuple(int(port) for port in limits["qdrant_ports"]),
        streaming_floor_seconds=int(limits["streaming_timeout_floor_seconds"]),
        system_namespaces=tuple(str(name) for name in limits["system_namespaces"]),
        vllm_marker=str(limits["vllm_marker"]),
    )


def cluster(profile: Profile | None = None) -> Cluster:
    """The facts of a profile (default: copier.yml's defaults); cached per profile."""
    return _cluster((profile or Profile(merge({}))).key())


@cache
def profile_for_directory(directory: Path) -> Profile:
    """The profile that governs `directory`: the nearest `.aiapp.yml` with `cluster:`, else the defaults.

    Cached for the process (a check reads each directory's once); `forget_profiles()` starts over.
    """
    return find_profile(directory)


def forget_profiles() -> None:
    """Drop the cached profiles (after `.aiapp.yml` changed, in a long-lived process or a test)."""
    profile_for_directory.cache_clear()
    _cluster_in.cache_clear()


@cache
def _cluster_in(directory: Path) -> Cluster:
    return cluster(profile_for_directory(directory))


def cluster_at(path: str) -> Cluster:
    """The facts for a path given on the command line (a directory, or a file in one)."""
    where = Path(path).absolute()
    return _cluster_in(where if where.is_dir() else where.parent)


def cluster_for(file: str) -> Cluster:
    """The facts a manifest is checked against: the profile of the GitOps repository it is in.

    Never an app's own answers: `.copier-answers.yml` records what an app was rendered with, and an
    app cannot relax a house rule for itself by recording other facts; only the profile (or a reasoned
    suppression) can. A file outside any repository with a profile gets the defaults.
    """
    if not file or file.startswith("<"):
        return _cluster_in(Path.cwd().absolute())
    return _cluster_in(Path(file).absolute().parent)
