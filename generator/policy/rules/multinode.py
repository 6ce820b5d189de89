"""Multi-node vLLM on a LeaderWorkerSet: a group that can start and recover, and a Service that sends
requests to the rank that serves them.

LeaderWorkerSet v1 (kubernetes-sigs/lws, api/leaderworkerset/v1/leaderworkerset_types.go):
`leaderWorkerTemplate.restartPolicy` RecreateGroupOnPodRestart (the default) or RecreateGroupAfterStart
recreate every pod of a group when one of its pods or containers restarts; None (and its deprecated name
Default) restart only the failed pod, as a StatefulSet does. `startupPolicy: LeaderReady` creates the
workers' StatefulSet only once the leader pod is Ready (LeaderCreated, the default: right after the leader
is created). vLLM (docs/serving/parallelism_scaling.md, "Running vLLM with MultiProcessing"): the rank-0
pod serves the API once every rank of the engine joined; a `--headless` worker serves nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from generator.cluster.facts import Cluster
from generator.policy.k8s import (
    LEADER,
    LWS_KIND,
    LWS_TEMPLATE,
    LWS_WORKER_INDEX_LABEL,
    group_size,
    mapping,
    pods_of,
    sequence,
)
from generator.policy.model import Hit, K8sObject, Severity, Summary
from generator.policy.registry import object_rule, set_rule
from generator.policy.rules.serving import serves_api, vllm_containers

# The restart policies that keep a group running with one pod restarted alone.
POD_ONLY_RESTARTS = frozenset({"None", "Default"})
# Probes that reach the server (an exec probe may test anything).
_SERVER_PROBES = ("httpGet", "tcpSocket", "grpc")


def _multinode_vllm(obj: K8sObject, cluster: Cluster) -> int | None:
    """The group size of a LeaderWorkerSet whose groups of several pods run vLLM; None otherwise."""
    size = group_size(obj)
    if size is None or size < 2:
        return None
    if not any(True for pod in pods_of(obj) for _ in vllm_containers(pod, cluster)):
        return None
    return size


def _waits_for_workers(obj: K8sObject, cluster: Cluster) -> str | None:
    """The leader container whose readiness (a readiness or startup probe on the server) needs the API,
    which vLLM serves only once the workers joined; None when the leader is Ready without them."""
    leader = pods_of(obj)[0]
    for container in vllm_containers(leader, cluster):
        if not serves_api(obj, leader, container, False):
            continue
        for field in ("readinessProbe", "startupProbe"):
            probe = mapping(container.data.get(field))
            if any(kind in probe for kind in _SERVER_PROBES):
                return f"the {field} of its {container.label}"
    return None


@object_rule(
    id="AIA806",
    slug="vllm-group-cannot-start-or-recover",
    title="A multi-node vLLM LeaderWorkerSet recreates its group on failure and creates its workers "
    "before the leader is Ready",
    severity=Severity.ERROR,
    family="serving",
    section=None,
    quote=None,
    why="The ranks of a multi-node vLLM engine (a LeaderWorkerSet of `size` > 1 running vLLM) wait for "
    "each other in collective calls. With `restartPolicy: None` (or its deprecated name `Default`) a lost "
    "pod is restarted alone, as a StatefulSet does: the ranks that kept running hang on the old one and "
    "the group never serves again; RecreateGroupOnPodRestart (the default) or RecreateGroupAfterStart "
    "recreate the whole group. With `startupPolicy: LeaderReady` the workers are created only once the "
    "leader is Ready, but a readiness or startup probe on the leader's vLLM server passes only once the "
    "server is up, which needs every worker: the workers are never created "
    "(kubernetes-sigs/lws api/leaderworkerset/v1/leaderworkerset_types.go; vLLM "
    "docs/serving/parallelism_scaling.md).",
    fix="Set `leaderWorkerTemplate.restartPolicy: RecreateGroupOnPodRestart` and `startupPolicy: "
    "LeaderCreated` (the defaults), or probe the leader with something that passes before the workers "
    "join.",
    kinds=[LWS_KIND],
)
def vllm_group_cannot_start_or_recover(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    size = _multinode_vllm(obj, cluster)
    if size is None:
        return
    spec = mapping(obj.data.get("spec"))
    policy = mapping(spec.get("leaderWorkerTemplate")).get("restartPolicy")
    if isinstance(policy, str) and policy in POD_ONLY_RESTARTS:
        yield Hit(
            (*LWS_TEMPLATE, "restartPolicy"),
            f"restartPolicy {policy} restarts a failed pod of the {size} vLLM ranks alone: the other ranks "
            "hang on the lost one and the group never serves again",
        )
    if spec.get("startupPolicy") == "LeaderReady":
        probe = _waits_for_workers(obj, cluster)
        if probe is not None:
            yield Hit(
                ("spec", "startupPolicy"),
                f"startupPolicy LeaderReady creates the workers once the leader is Ready, but {probe} "
                f"passes only once vLLM serves, which needs its {size - 1} worker(s): the workers "
                "are never created",
            )


def _targets(service: Summary) -> list[tuple[int, str]]:
    """(index, target port as text) of each port of a Service (targetPort, else port)."""
    found = []
    for index, port in enumerate(sequence(mapping(service.spec).get("ports"))):
        entry = mapping(port)
        target = entry.get("targetPort", entry.get("port"))
        if target is not None:
            found.append((index, str(target)))
    return found


def _selects(selector: dict[str, Any], labels: dict[str, str] | None) -> bool:
    wanted = {str(key): str(value) for key, value in selector.items()}
    return bool(wanted) and labels is not None and wanted.items() <= labels.items()


@set_rule(
    id="AIA807",
    slug="service-selects-vllm-workers",
    title="A Service to a multi-node vLLM server selects its leader only",
    severity=Severity.ERROR,
    family="serving",
    section=None,
    quote=None,
    why="Only the leader of a multi-node vLLM group serves the API; its workers (`--headless`, or Ray "
    "workers) listen on nothing, so a Service whose selector also matches them sends a share of the "
    "requests to pods that refuse them. The LWS controller labels every pod "
    "`leaderworkerset.sigs.k8s.io/worker-index` (0 for the leader); a selector without it, or without a "
    "label only the leader template has, matches the workers too. Only Services whose port targets the "
    "vLLM port are judged; a headless Service (clusterIP None, such as the one the controller creates "
    "for the group's DNS names) balances nothing.",
    fix='Add `leaderworkerset.sigs.k8s.io/worker-index: "0"` to the Service\'s selector.',
)
def service_selects_vllm_workers(
    summaries: Sequence[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    del cluster
    workers = [s for s in summaries if s.role == "worker" and s.ports and not s.model_server]
    if not workers:
        return
    for service in summaries:
        spec = mapping(service.spec)
        if service.kind != "Service" or spec.get("clusterIP") == "None":
            continue
        selector = mapping(spec.get("selector"))
        for worker in workers:
            if worker.namespace != service.namespace or not _selects(selector, worker.pod_labels):
                continue
            ports = [target for _, target in _targets(service) if target in worker.ports]
            if ports:
                yield (
                    service,
                    Hit(
                        ("spec", "selector"),
                        f"the selector matches the workers of the vLLM LeaderWorkerSet {worker.name}, which "
                        f'serve nothing on port {ports[0]}: add {LWS_WORKER_INDEX_LABEL}: "0"',
                    ),
                )
                break


@set_rule(
    id="AIA808",
    slug="service-takes-the-groups-name",
    title="No Service takes the name of a LeaderWorkerSet's headless Service",
    severity=Severity.ERROR,
    family="serving",
    section=None,
    quote=None,
    why="The LeaderWorkerSet controller gives the pods of a set the subdomain `<set name>` and creates a "
    "headless Service of that name for their DNS names (`LWS_LEADER_ADDRESS` is "
    "`<set>-<group>.<set>.<namespace>`), but only when no Service of that name exists "
    "(kubernetes-sigs/lws, CreateHeadlessServiceIfNotExists, with the default subdomainPolicy Shared). A "
    "Service of the repository with that name that is not headless keeps it from being created, and "
    "Kubernetes' DNS publishes pod names only under a headless Service: the workers never find the leader "
    "(vLLM's `--master-addr`, Ray's `--address`) and the group never starts. If the controller was first, "
    "applying the Service fails instead (a headless Service's clusterIP cannot change).",
    fix="Give the Service another name than the LeaderWorkerSet (aiapp names the set `<app>-group` and "
    "the Service `<app>`), and point its clients at that name.",
)
def service_takes_the_groups_name(
    summaries: Sequence[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    del cluster
    sets = {
        (summary.namespace, summary.name)
        for summary in summaries
        if summary.kind == LWS_KIND
        and summary.role == LEADER
        and mapping(mapping(summary.spec).get("networkConfig")).get("subdomainPolicy") != "UniquePerReplica"
    }
    for service in summaries:
        spec = mapping(service.spec)
        if service.kind != "Service" or spec.get("clusterIP") == "None":
            continue
        if (service.namespace, service.name) in sets:
            yield (
                service,
                Hit(
                    ("metadata", "name"),
                    f"the LeaderWorkerSet {service.name} needs this name for its headless Service: with this "
                    "Service in the way, its pods' DNS names do not resolve and the workers never reach the "
                    "leader",
                ),
            )
