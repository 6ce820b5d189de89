"""App objects beyond the patterns document: routes, ServiceMonitors, disruption budgets and replicas.

These rules look across objects (a route and its Service, a ServiceMonitor and its Services, a budget and
its pods), so they only see what the same run holds: check an app's whole directory.
Sources: Gateway API HTTPRoute timeouts (https://gateway-api.sigs.k8s.io/guides/http-timeouts, "0s"
disables the timeout) and Envoy's 15 s default route timeout (cilium/cilium#31514); prometheus-operator's
ServiceMonitor endpoints name a Service port; PodDisruptionBudget: minAvailable equal to the replicas, or
maxUnavailable 0, allows no voluntary eviction, so every drain blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from generator.cluster.facts import Cluster, cluster_for
from generator.policy.k8s import LWS_KIND, mapping, sequence
from generator.policy.model import Applies, Hit, Severity, Summary
from generator.policy.registry import set_rule

FAMILY = "apps"
RWO_MODES = frozenset({"ReadWriteOnce", "ReadWriteOncePod"})
SCALED_KINDS = frozenset({"Deployment", "ReplicaSet", "ReplicationController"})
_DURATION_PART = re.compile(r"(\d+)(h|ms|m|s)")
_DURATION = re.compile(r"^(\d+(h|ms|m|s)){1,4}$")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def seconds(duration: Any) -> float | None:
    """A Gateway API duration (GEP-2257: `1h30m`, `0s`, `500ms`) in seconds; None if malformed."""
    if not isinstance(duration, str) or not _DURATION.match(duration):
        return None
    return sum(int(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(duration))


def _of(summaries: Sequence[Summary], *kinds: str) -> list[Summary]:
    return [summary for summary in summaries if summary.kind in kinds]


def _matches(selector: dict[str, Any], labels: dict[str, str] | None) -> bool:
    """matchLabels (or a Service's plain selector) ⊆ labels; an empty selector matches nothing here."""
    wanted = {str(key): str(value) for key, value in selector.items()}
    return bool(wanted) and labels is not None and wanted.items() <= labels.items()


def _pods_of_service(service: Summary, workloads: list[Summary]) -> list[Summary]:
    selector = mapping(mapping(service.spec).get("selector"))
    return [w for w in workloads if w.namespace == service.namespace and _matches(selector, w.pod_labels)]


def _backends(route: Summary) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(rule index, backendRef index, backendRef) of every Service backend of an HTTPRoute."""
    for index, rule in enumerate(sequence(mapping(route.spec).get("rules"))):
        for position, ref in enumerate(sequence(mapping(rule).get("backendRefs"))):
            ref = mapping(ref)
            if ref.get("kind", "Service") == "Service" and ref.get("group", "") in ("", "core"):
                yield index, position, ref


def _service(ref: dict[str, Any], route: Summary, services: list[Summary]) -> Summary | None:
    namespace = ref.get("namespace", route.namespace)
    return next((s for s in services if s.name == ref.get("name") and s.namespace == namespace), None)


@set_rule(
    id="AIA901",
    slug="route-timeout-cuts-streams",
    title="Routes to model and chat apps have no request timeout short enough to cut a streamed answer",
    severity=Severity.ERROR,
    family=FAMILY,
    section=None,
    quote=None,
    why="Without `timeouts.request`, Cilium's Gateway API Envoy applies its 15 s default route timeout, "
    "which cuts streamed LLM responses mid-answer. A route rule whose backend is a model server (GPU, "
    'model volume at /models) or an LLM client (LITELLM_* variables) needs `request: "0s"` (no timeout) '
    "or at least {streaming_floor_seconds} s. A rule without its own `timeouts.request` may get it from an "
    "Envoy Gateway BackendTrafficPolicy (gateway.envoyproxy.io/v1alpha1) read in the same run: "
    "`timeout.http.requestTimeout` of a policy targeting the route, else of one targeting its Gateway "
    "(Envoy Gateway's HTTPTimeout: the time until the whole response is received; it becomes Envoy's route "
    'timeout, where "0s" disables it). Timeout policies of other implementations are not read.',
    fix='Set `timeouts: {{request: "0s"}}` on the rule (the `route_timeout` answer), or a duration of '
    "at least {streaming_floor_seconds}s.",
    # LiteLLM's own route streams answers to every client too.
    applies=Applies.SCOPE,
)
def route_timeout_cuts_streams(
    summaries: Sequence[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    services = _of(summaries, "Service")
    workloads = [s for s in summaries if s.pod_labels is not None]
    policies = _of(summaries, "BackendTrafficPolicy")
    for route in _of(summaries, "HTTPRoute"):
        rules = sequence(mapping(route.spec).get("rules"))
        streaming = set()
        for index, _, ref in _backends(route):
            service = _service(ref, route, services)
            if service is not None and any(w.llm for w in _pods_of_service(service, workloads)):
                streaming.add(index)
        policy = _policy_timeout(route, policies)
        for index in sorted(streaming):
            timeouts = mapping(mapping(rules[index]).get("timeouts"))
            path: tuple[str | int, ...] = ("spec", "rules", index)
            if "request" not in timeouts and policy is not None:
                owner, written = policy
                duration = seconds(written)
                if duration is not None and 0 < duration < cluster.streaming_floor_seconds:
                    yield (
                        route,
                        Hit(
                            path,
                            f"the backend streams LLM answers, but BackendTrafficPolicy {owner.name} sets "
                            f'timeout.http.requestTimeout "{written}" for this route, which cuts them; '
                            'use "0s"',
                        ),
                    )
                continue
            if "request" not in timeouts:
                yield (
                    route,
                    Hit(
                        path,
                        "the backend streams LLM answers, but the rule has no timeouts.request: "
                        "Envoy's 15 s default cuts them",
                    ),
                )
                continue
            value = seconds(timeouts["request"])
            if value is not None and 0 < value < cluster.streaming_floor_seconds:
                yield (
                    route,
                    Hit(
                        (*path, "timeouts", "request"),
                        f'timeouts.request "{timeouts["request"]}" cuts streamed LLM answers; use "0s"',
                    ),
                )


def _targets(policy: Summary) -> Iterator[tuple[str, str]]:
    """(kind, name) of the objects an Envoy Gateway policy targets (`targetRef` or `targetRefs`; the
    targets are in the policy's own namespace)."""
    spec = mapping(policy.spec)
    for ref in [spec.get("targetRef"), *sequence(spec.get("targetRefs"))]:
        ref = mapping(ref)
        if ref.get("group", "gateway.networking.k8s.io") == "gateway.networking.k8s.io" and ref.get("name"):
            yield str(ref.get("kind", "")), str(ref["name"])


def _policy_timeout(route: Summary, policies: list[Summary]) -> tuple[Summary, str] | None:
    """The Envoy Gateway BackendTrafficPolicy request timeout that applies to a route's rules without
    their own `timeouts.request`: a policy on the route wins over one on its Gateway (policy attachment:
    the more specific target overrides). Envoy Gateway's `timeout.http.requestTimeout` is the time until
    the whole response is received (gateway.envoyproxy.io/v1alpha1 HTTPTimeout) and becomes Envoy's route
    timeout, where 0s disables it (Envoy's RouteAction.timeout)."""

    def timeout(policy: Summary) -> str | None:
        value = mapping(mapping(mapping(policy.spec).get("timeout")).get("http")).get("requestTimeout")
        return None if value is None else str(value)

    parents = {
        (str(mapping(parent).get("namespace", route.namespace)), str(mapping(parent).get("name")))
        for parent in sequence(mapping(route.spec).get("parentRefs"))
        if mapping(parent).get("kind", "Gateway") == "Gateway"
    }
    on_route = on_gateway = None
    for policy in policies:
        value = timeout(policy)
        if value is None:
            continue
        for kind, name in _targets(policy):
            if kind == "HTTPRoute" and policy.namespace == route.namespace and name == route.name:
                on_route = (policy, value)
            elif kind == "Gateway" and (str(policy.namespace), name) in parents:
                on_gateway = on_gateway or (policy, value)
    return on_route or on_gateway


def _parent_problem(named: str, parent: dict[str, Any], facts: Cluster) -> tuple[str, tuple[str, ...]] | None:
    """Why a parentRef attaches to none of the profile's Gateways (message, field), or None."""
    listeners = [section for namespace, name, section in facts.all_gateways if f"{namespace}/{name}" == named]
    if not listeners:
        wanted = ", ".join(f"{namespace}/{name}" for namespace, name, _ in facts.all_gateways)
        plural = "s are" if len(facts.all_gateways) > 1 else " is"
        return f"parentRef names Gateway {named}; the cluster's gateway{plural} {wanted}", ()
    written = parent.get("sectionName")
    if written is None or None in listeners or written in listeners:
        return None
    shown = ", ".join(f'"{section}"' for section in listeners)
    return f'sectionName "{written}" is not the gateway listener {shown}', ("sectionName",)


@set_rule(
    id="AIA902",
    slug="route-wrong-parent-or-port",
    title="Routes attach to the cluster's gateway and reach a port their Service has",
    severity=Severity.ERROR,
    family=FAMILY,
    section=None,
    quote=None,
    why="A route whose parent is not one of the cluster's Gateways ({gateways}) is never "
    "accepted, and a backendRef whose port the Service does not expose gets no endpoints: either way the "
    "app is unreachable, silently (only the route's status says so). The shared services' own routes are "
    "not apps' routes and are skipped: those in a gateway namespace ({gateway_namespaces}: an HTTP-to-HTTPS "
    "redirect on another listener) and those to LiteLLM's or Qdrant's Service.",
    fix="parentRefs: [{{group: gateway.networking.k8s.io, kind: Gateway, namespace: {gateway_namespace}, "
    "name: {gateway_name}, sectionName: {gateway_section}}}] (or another Gateway of the profile: "
    "{gateways}); backendRefs port: one of the Service's ports.",
)
def route_wrong_parent_or_port(
    summaries: Sequence[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    del cluster
    services = _of(summaries, "Service")
    for route in _of(summaries, "HTTPRoute"):
        # The gateway of the cluster the route's app was rendered for (its recorded cluster answers).
        facts = cluster_for(route.origin.file)
        for index, parent in enumerate(sequence(mapping(route.spec).get("parentRefs"))):
            parent = mapping(parent)
            if parent.get("kind", "Gateway") != "Gateway":
                continue
            namespace = parent.get("namespace", route.namespace)
            path = ("spec", "parentRefs", index)
            hit = _parent_problem(f"{namespace}/{parent.get('name')}", parent, facts)
            if hit is not None:
                message, field = hit
                yield route, Hit((*path, *field), message)
        for index, position, ref in _backends(route):
            where = ("spec", "rules", index, "backendRefs", position)
            if "port" not in ref:
                yield route, Hit(where, f'backendRef to Service "{ref.get("name")}" has no port')
                continue
            service = _service(ref, route, services)
            ports = [
                mapping(port).get("port")
                for port in sequence(mapping(service.spec if service else {}).get("ports"))
            ]
            if service is not None and ref["port"] not in ports:
                shown = ", ".join(str(port) for port in ports) or "none"
                yield (
                    route,
                    Hit(
                        (*where, "port"),
                        f'Service "{service.name}" has no port {ref["port"]} (its ports: {shown})',
                    ),
                )


@set_rule(
    id="AIA903",
    slug="servicemonitor-port-missing",
    title="ServiceMonitors select a Service and scrape a port it names",
    severity=Severity.ERROR,
    family=FAMILY,
    section=None,
    quote=None,
    why="A ServiceMonitor endpoint names a Service port; when no Service in its namespace matches the "
    "selector, or none of them has a port of that name, Prometheus has no target and the app is "
    "silently unmonitored.",
    fix="Select the app's Service by its labels and set `endpoints[].port` to one of its named ports "
    "(e.g. http, or metrics for a separate metrics port).",
)
def servicemonitor_port_missing(
    summaries: Sequence[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    del cluster
    services = _of(summaries, "Service")
    for monitor in _of(summaries, "ServiceMonitor"):
        spec = mapping(monitor.spec)
        selector = mapping(mapping(spec.get("selector")).get("matchLabels"))
        selected = [s for s in services if s.namespace == monitor.namespace and _matches(selector, s.labels)]
        if not selected:
            yield monitor, Hit(("spec", "selector"), "selects no Service in its namespace")
            continue
        names = {
            str(mapping(port).get("name"))
            for s in selected
            for port in sequence(mapping(s.spec).get("ports"))
        }
        for index, endpoint in enumerate(sequence(spec.get("endpoints"))):
            port = mapping(endpoint).get("port")
            if port is not None and str(port) not in names:
                shown = ", ".join(sorted(names)) or "none"
                yield (
                    monitor,
                    Hit(
                        ("spec", "endpoints", index, "port"),
                        f'port "{port}" is not a named port of the selected Service(s) ({shown})',
                    ),
                )


def _budget_pods(budget: Summary, workloads: list[Summary]) -> list[Summary]:
    selector = mapping(mapping(mapping(budget.spec).get("selector")).get("matchLabels"))
    return [w for w in workloads if w.namespace == budget.namespace and _matches(selector, w.pod_labels)]


@set_rule(
    id="AIA904",
    slug="pdb-selects-nothing",
    title="PodDisruptionBudgets select pods",
    severity=Severity.ERROR,
    family=FAMILY,
    section=None,
    quote=None,
    why="A budget whose selector matches no workload's pods protects nothing during drains.",
    fix="Set `selector.matchLabels` to the labels of the workload's pod template "
    "(app.kubernetes.io/name and app.kubernetes.io/instance).",
)
def pdb_selects_nothing(summaries: Sequence[Summary], cluster: Cluster) -> Iterator[tuple[Summary, Hit]]:
    del cluster
    workloads = [s for s in summaries if s.pod_labels is not None]
    for budget in _of(summaries, "PodDisruptionBudget"):
        if not _budget_pods(budget, workloads):
            yield budget, Hit(("spec", "selector"), "selects no workload's pods in its namespace")


@set_rule(
    id="AIA905",
    slug="pdb-blocks-drain",
    title="PodDisruptionBudgets leave room for one eviction",
    severity=Severity.ERROR,
    family=FAMILY,
    section=None,
    quote=None,
    why="minAvailable equal to (or above) the replicas, minAvailable 100% or maxUnavailable 0 allows no "
    "voluntary eviction: every node drain (upgrades, maintenance) waits on it forever.",
    fix="Use `maxUnavailable: 1` (one pod at a time), with at least 2 replicas.",
)
def pdb_blocks_drain(summaries: Sequence[Summary], cluster: Cluster) -> Iterator[tuple[Summary, Hit]]:
    del cluster
    workloads = [s for s in summaries if s.pod_labels is not None]
    for budget in _of(summaries, "PodDisruptionBudget"):
        spec = mapping(budget.spec)
        if "maxUnavailable" in spec and str(spec["maxUnavailable"]) in ("0", "0%"):
            yield budget, Hit(("spec", "maxUnavailable"), "maxUnavailable 0 allows no eviction")
            continue
        minimum = spec.get("minAvailable")
        if minimum == "100%":
            yield budget, Hit(("spec", "minAvailable"), "minAvailable 100% allows no eviction")
        elif isinstance(minimum, int):
            # The pods of each workload it selects (a LeaderWorkerSet's leaders and workers together).
            pods: dict[str, int] = {}
            for workload in _budget_pods(budget, workloads):
                pods[workload.ref] = pods.get(workload.ref, 0) + (
                    1 if workload.replicas is None else workload.replicas
                )
            for ref, replicas in pods.items():
                if minimum >= replicas:
                    yield (
                        budget,
                        Hit(
                            ("spec", "minAvailable"),
                            f"minAvailable {minimum} with {replicas} replica(s) of {ref} allows no eviction",
                        ),
                    )
                    break


@set_rule(
    id="AIA906",
    slug="replicas-with-rwo-pvc",
    title="Workloads with a ReadWriteOnce PVC run one replica",
    severity=Severity.ERROR,
    family=FAMILY,
    section=None,
    quote=None,
    why="A ReadWriteOnce volume attaches to one node: the second replica of a Deployment sharing the "
    "claim stays Pending (or, on one node, two pods write the same files). GPU and model servers keep "
    "one replica with `strategy: Recreate`. The pods of a LeaderWorkerSet (its groups' leaders and "
    "workers, which a multi-node model spreads over several nodes) are counted together for a claim their "
    "templates mount; its volumeClaimTemplates give each pod its own.",
    fix="Set `replicas: 1` (and `strategy: Recreate`), or use a StatefulSet (or a LeaderWorkerSet's) "
    "volumeClaimTemplates for one volume per pod.",
)
def replicas_with_rwo_pvc(summaries: Sequence[Summary], cluster: Cluster) -> Iterator[tuple[Summary, Hit]]:
    del cluster
    rwo = {
        (claim.namespace, claim.name)
        for claim in _of(summaries, "PersistentVolumeClaim")
        if RWO_MODES & set(map(str, sequence(mapping(claim.spec).get("accessModes"))))
    }
    yield from _sets_sharing(summaries, rwo)
    for workload in summaries:
        if workload.kind not in SCALED_KINDS or (workload.replicas or 1) <= 1:
            continue
        shared = [name for name, _ in workload.claims if (workload.namespace, name) in rwo]
        if shared:
            yield (
                workload,
                Hit(
                    ("spec", "replicas"),
                    f"{workload.replicas} replicas share the ReadWriteOnce PVC {', '.join(shared)}",
                ),
            )


def _sets_sharing(
    summaries: Sequence[Summary], rwo: set[tuple[str | None, str]]
) -> Iterator[tuple[Summary, Hit]]:
    """LeaderWorkerSets whose pods (leaders and workers: one summary per role) mount one ReadWriteOnce
    PVC declared as a volume (a claim template is one PVC per pod, never a declared PVC)."""
    roles: dict[str, list[Summary]] = {}
    for summary in summaries:
        if summary.kind == LWS_KIND and summary.role:
            roles.setdefault(summary.ref, []).append(summary)
    for members in roles.values():
        mounting: dict[str, int] = {}
        for member in members:
            for name, _ in member.claims:
                if (member.namespace, name) in rwo:
                    mounting[name] = mounting.get(name, 0) + (
                        1 if member.replicas is None else member.replicas
                    )
        shared = [(name, pods) for name, pods in mounting.items() if pods > 1]
        if shared:
            name, pods = shared[0]
            yield (
                members[0],
                Hit(
                    ("spec", "leaderWorkerTemplate", "size"),
                    f"{pods} pods of the set share the ReadWriteOnce PVC {name}; a pod on another node "
                    "cannot attach it",
                ),
            )
