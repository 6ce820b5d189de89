"""Summaries of objects for the rules that look across objects (they travel back from worker processes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from generator.cluster.capacity import Demand, demand
from generator.cluster.facts import Cluster
from generator.policy.k8s import (
    LEADER,
    LWS_GROUP_INDEX_LABEL,
    LWS_KIND,
    LWS_NAME_LABEL,
    LWS_WORKER_INDEX_LABEL,
    NETWORK_POLICY_KINDS,
    WORKER,
    WORKLOAD_KINDS,
    Pod,
    claim_templates,
    containers,
    group_size,
    mapping,
    name_tokens,
    pods_of,
    sequence,
)
from generator.policy.k8s import labels as labels_of
from generator.policy.model import K8sObject, Summary
from generator.policy.peers import cilium_peers, netpol_peers
from generator.policy.rules.serving import admits_litellm, api_ports, is_model_server, served_engine
from generator.policy.selectors import default_deny, egress_facts, policy_specs
from generator.policy.suppress import Suppressions

SPEC_KINDS = frozenset(
    {"Service", "HTTPRoute", "ServiceMonitor", "PodDisruptionBudget", "Schedule", "BackendTrafficPolicy"}
)
# Objects that make Services the repository does not declare: a Flux HelmRelease renders its chart's, an
# Argo CD Application applies another source's manifests.
SERVICE_MAKERS = frozenset({"HelmRelease", "Application"})
SUMMARY_KINDS = (
    WORKLOAD_KINDS
    | NETWORK_POLICY_KINDS
    | SPEC_KINDS
    | SERVICE_MAKERS
    | {"PersistentVolumeClaim", "NetworkPolicy", "Ingress"}
)
MODEL_MOUNT = "/models"
# Kubernetes' own API groups (networking.k8s.io, rbac.authorization.k8s.io, ...) and kustomize's.
KUBERNETES_GROUPS = ("k8s.io", "kustomize.config.k8s.io")


def _llm(pod: Any, cluster: Cluster) -> bool:
    """A model server (GPU, model volume) or an LLM client (LiteLLM variables): its answers stream."""
    for container in containers(pod, init=False):
        resources = mapping(container.data.get("resources"))
        if any(cluster.gpu_resource in mapping(resources.get(part)) for part in ("requests", "limits")):
            return True
        if any(
            mapping(mount).get("mountPath") == MODEL_MOUNT
            for mount in sequence(container.data.get("volumeMounts"))
        ):
            return True
        if any(
            "LITELLM" in name_tokens(str(mapping(env).get("name", "")))
            for env in sequence(container.data.get("env"))
        ):
            return True
    return False


def _custom(obj: K8sObject) -> bool:
    """An object of an operator's API group (dotted, not Kubernetes' own `*.k8s.io`)."""
    group = obj.api_version.rpartition("/")[0]
    return "." in group and not group.endswith(KUBERNETES_GROUPS)


def summarize(
    obj: K8sObject, own: Suppressions, cluster: Cluster, in_scope: bool = True, shared: str = ""
) -> list[Summary]:
    """The facts cross-object rules need, for workloads (one summary per pod role), Cilium policies and
    PVCs; none for other objects."""
    kind = obj.kind

    def summary(**facts: Any) -> Summary:
        return Summary(
            kind,
            obj.name,
            obj.namespace,
            obj.ref,
            obj.origin,
            own.rules,
            in_scope,
            shared,
            reasons=own.reasons,
            **facts,
        )

    if kind not in SUMMARY_KINDS:
        return [summary(custom=True)] if _custom(obj) else []
    if kind == "Schedule" and not obj.api_version.startswith("velero.io/"):
        return []
    if kind == "BackendTrafficPolicy" and not obj.api_version.startswith("gateway.envoyproxy.io/"):
        return []
    if kind == "Ingress":
        metadata = mapping(obj.data.get("metadata"))
        annotations = {str(k): str(v) for k, v in mapping(metadata.get("annotations")).items()}
        return [
            summary(spec=mapping(obj.data.get("spec")), labels=labels_of(metadata), annotations=annotations)
        ]
    if kind in SERVICE_MAKERS:  # only where its Services land (HelmRelease: targetNamespace, else its own)
        spec = mapping(obj.data.get("spec"))
        target = spec.get("targetNamespace") or mapping(spec.get("destination")).get("namespace")
        return [summary(spec={"targetNamespace": str(target)} if target else {})]
    if kind == "NetworkPolicy":  # Kubernetes' (rules/netpol.py); Cilium's kinds below
        if not obj.api_version.startswith("networking.k8s.io/"):
            return []
        return [summary(spec=mapping(obj.data.get("spec")), peers=tuple(netpol_peers(obj)))]
    if kind in SPEC_KINDS:
        labels = {str(k): str(v) for k, v in mapping(mapping(obj.data.get("metadata")).get("labels")).items()}
        return [summary(spec=mapping(obj.data.get("spec")), labels=labels)]
    if kind == "PersistentVolumeClaim":
        tier = mapping(mapping(obj.data.get("metadata")).get("labels")).get(cluster.backup_tier_label)
        return [
            summary(
                tier=None if tier is None else str(tier),
                spec=mapping(obj.data.get("spec")),
                labels=labels_of(obj.data.get("metadata")),
            )
        ]
    if kind in NETWORK_POLICY_KINDS:
        specs = [
            (base, spec) for base, spec in policy_specs(obj) if isinstance(spec.get("endpointSelector"), dict)
        ]
        return [
            summary(
                selectors=tuple(spec["endpointSelector"] for _, spec in specs),
                selector_paths=tuple((*base, "endpointSelector") for base, _ in specs),
                egress=tuple(egress_facts(spec, base, cluster) for base, spec in specs),
                ingress_deny=tuple(default_deny(spec, "ingress") for _, spec in specs),
                cluster_wide=kind == "CiliumClusterwideNetworkPolicy",
                admits_litellm=admits_litellm(obj, cluster),
                peers=tuple(cilium_peers(obj)),
            )
        ]
    gpu = demand(obj.data, cluster.gpu_resource, cluster.gpu_pools)
    if kind == LWS_KIND:
        return _group(obj, cluster, summary, gpu)
    pods = pods_of(obj)
    if not pods:
        return []
    replicas = mapping(obj.data.get("spec")).get("replicas")
    return [_workload(obj, pods[0], cluster, summary, gpu, replicas if isinstance(replicas, int) else None)]


def _workload(
    obj: K8sObject,
    pod: Pod,
    cluster: Cluster,
    summary: Callable[..., Summary],
    gpu: Demand | None,
    replicas: int | None,
    role: str = "",
    added: dict[str, str] | None = None,
    ports: tuple[str, ...] = (),
    spec: dict[str, Any] | None = None,
) -> Summary:
    """The summary of the pods made from one pod template; `added`: the labels a controller adds."""
    tier_label = cluster.backup_tier_label
    claims: list[tuple[str, str | None]] = []
    for volume in sequence(pod.spec.get("volumes")):
        claim = mapping(mapping(volume).get("persistentVolumeClaim")).get("claimName")
        if claim is not None:
            claims.append((str(claim), None))
    for template, _ in claim_templates(obj):
        metadata = mapping(template.get("metadata"))
        tier = mapping(metadata.get("labels")).get(tier_label)
        claims.append((str(metadata.get("name", "")), None if tier is None else str(tier)))
    pod_labels = {**pod.labels, **(added or {})}
    worker = role == WORKER
    engine, api_key = served_engine(obj, pod, cluster, worker)
    return summary(
        pod_labels=pod_labels,
        pod_labels_path=pod.labels_path if "labels" in pod.metadata else pod.metadata_path,
        service_account=str(
            pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount") or "default"
        ),
        claims=tuple(claims),
        pod_tier=pod_labels.get(tier_label),
        replicas=replicas,
        llm=_llm(pod, cluster),
        model_server=is_model_server(obj, pod, cluster, worker),
        engine=engine,
        api_key=api_key,
        gpu=gpu,
        role=role,
        ports=ports,
        spec=spec,
    )


def _group(
    obj: K8sObject, cluster: Cluster, summary: Callable[..., Summary], gpu: Demand | None
) -> list[Summary]:
    """A LeaderWorkerSet: its leaders (the leader template, else the worker template) and, when a group
    has more than one pod, its workers, each with the labels the LWS controller adds (name, group index,
    worker index 0 for the leader, 1.. for workers: api/leaderworkerset/v1/leaderworkerset_types.go).
    The GPUs of the whole set go on the leaders' summary only (one demand per set)."""
    pods = pods_of(obj)
    if not pods:
        return [summary(gpu=gpu)] if gpu else []
    size = group_size(obj)
    groups = mapping(obj.data.get("spec")).get("replicas", 1)
    groups = groups if isinstance(groups, int) and not isinstance(groups, bool) else None
    ports = api_ports(obj, pods[0], cluster)
    added = {LWS_NAME_LABEL: obj.name, LWS_GROUP_INDEX_LABEL: "0"}
    # How the controller names the group's headless Services (AIA808).
    network = {"networkConfig": mapping(mapping(obj.data.get("spec")).get("networkConfig"))}
    leader_labels = {**added, LWS_WORKER_INDEX_LABEL: "0"}
    found = [_workload(obj, pods[0], cluster, summary, gpu, groups, LEADER, leader_labels, ports, network)]
    if size is None or size > 1:
        workers = None if groups is None or size is None else groups * (size - 1)
        found.append(
            _workload(
                obj,
                pods[-1],
                cluster,
                summary,
                None,
                workers,
                WORKER,
                {**added, LWS_WORKER_INDEX_LABEL: "1"},
                ports,
            )
        )
    return found
