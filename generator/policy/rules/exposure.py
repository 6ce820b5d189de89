"""AIA805: a model server reachable from anything but LiteLLM.

Apps reach models through LiteLLM only. A model server (vLLM, Ollama, llama.cpp: rules/serving.py) is
exposed past it when
- an HTTPRoute or an Ingress sends traffic to its Service while the server requires no API key (vLLM's
  `--api-key`/VLLM_API_KEY, llama.cpp's `--api-key`/LLAMA_API_KEY; Ollama has none): whoever reaches the
  gateway uses the model;
- a network policy selecting its pods admits pods that are neither LiteLLM's nor the gateway's nor the
  monitoring namespace's: another app calls the model directly, key or not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from generator.cluster.facts import Cluster
from generator.policy.k8s import LWS_NAME_LABEL, mapping
from generator.policy.model import Hit, Peer, Severity, Summary
from generator.policy.registry import set_rule
from generator.policy.rules import netpol
from generator.policy.rules.backends import backends, routes
from generator.policy.rules.cilium_labels import unknown_key
from generator.policy.rules.serving import ENGINE_NAMES
from generator.policy.selectors import NAMESPACE_KEY, match_labels, selects


def _selected_by(service: Summary, workload: Summary) -> bool:
    selector = {str(k): str(v) for k, v in mapping(mapping(service.spec).get("selector")).items()}
    labels = workload.pod_labels or {}
    return bool(selector) and workload.namespace == service.namespace and selector.items() <= labels.items()


# Entities that include the gateway's traffic (Cilium's Envoy arrives as `ingress`, the profile's
# gateway entities; world, cluster and all include every source).
_OPEN_ENTITIES = frozenset({"world", "cluster", "all"})


def _gateway_reaches(policies: list[Summary], cluster: Cluster) -> bool:
    """Whether the gateway may reach pods these policies select (no policy: nothing isolates them)."""
    if not policies:
        return True
    gateways = {namespace for namespace, _, _ in cluster.all_gateways}
    entities = _OPEN_ENTITIES | set(cluster.gateway_entities)
    for policy in policies:
        for peer in policy.peers:
            if peer.direction != "ingress":
                continue
            if peer.entities:
                if entities.intersection(peer.entities):
                    return True
            elif peer.namespaces is None or gateways.intersection(peer.namespaces):
                return True
    return False


def _route_hits(
    summaries: Sequence[Summary], servers: list[Summary], policies: list[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    services = {(s.namespace, s.name): s for s in summaries if s.kind == "Service"}
    engine = cluster.policy_engine
    for route in routes(summaries):
        for backend in backends(route):
            service = services.get((backend.namespace, backend.name))
            if service is None:
                continue
            for server in servers:
                if server.api_key or not _selected_by(service, server):
                    continue
                selecting = [] if engine == "none" else list(_policies_selecting(server, policies, engine))
                if not _gateway_reaches(selecting, cluster):
                    continue  # the server's policies keep the gateway out: the route reaches nothing
                engine = ENGINE_NAMES.get(server.engine, server.engine)
                why = "Ollama has no API key" if server.engine == "ollama" else "it requires no API key"
                door = "the gateway" if route.kind == "HTTPRoute" else "the Ingress controller"
                yield (
                    route,
                    Hit(
                        backend.path,
                        f'{route.kind} exposes Service "{backend.name}", the {engine} server {server.ref}, '
                        f"and {why}: whoever reaches {door} uses the model past LiteLLM",
                    ),
                )
                break


def _policies_selecting(server: Summary, policies: list[Summary], engine: str) -> Iterator[Summary]:
    labels = server.pod_labels or {}
    for policy in policies:
        if engine == "kubernetes" and policy.kind == netpol.KIND and policy.namespace == server.namespace:
            selector = mapping(policy.spec).get("podSelector")
            if isinstance(selector, dict) and selects(selector, labels, server.namespace, ""):
                yield policy
        elif engine == "cilium" and policy.kind != netpol.KIND:
            if not (policy.cluster_wide or policy.namespace == server.namespace):
                continue
            if any(selects(s, labels, server.namespace, server.service_account) for s in policy.selectors):
                yield policy


def _admitted(peer: Peer, cluster: Cluster) -> bool:
    """Whether an ingress peer is LiteLLM's pods, a gateway namespace or the monitoring namespace."""
    if peer.entities:
        return True  # entities are AIA604's to judge (world, cluster) and AIA606's (host)
    if peer.namespaces is None:
        return False
    allowed = {namespace for namespace, _, _ in cluster.all_gateways}
    if cluster.monitoring_namespace:
        allowed.add(cluster.monitoring_namespace)
    if set(peer.namespaces) <= allowed:
        return True
    litellm = dict(cluster.litellm_selector)
    return (
        peer.namespaces == (cluster.litellm_namespace,)
        and bool(litellm)
        and bool({k: v for k, v in match_labels(peer.selector).items() if k != NAMESPACE_KEY})
        and selects(peer.selector, litellm, cluster.litellm_namespace, "default")
    )


def _own_group(peer: Peer, server: Summary) -> bool:
    """A peer that is the server's own LeaderWorkerSet (its pods' `leaderworkerset.sigs.k8s.io/name`, in
    its namespace): the ranks of one multi-node engine talk to each other, they do not call the API."""
    group = (server.pod_labels or {}).get(LWS_NAME_LABEL)
    selector = match_labels(peer.selector)
    return (
        group is not None
        and peer.namespaces == (server.namespace,)
        and selector.get(LWS_NAME_LABEL) == group
        and not peer.selector.get("matchExpressions")
    )


def _admits_nobody(peer: Peer) -> bool:
    """A Cilium selector with a key Cilium never sets matches no pod (AIA610 reports it)."""
    return any(unknown_key(str(key)) for key in mapping(peer.selector.get("matchLabels")))


def _describe(peer: Peer) -> str:
    labels = ", ".join(f"{k}={v}" for k, v in match_labels(peer.selector).items() if k != NAMESPACE_KEY)
    pods = f"pods {labels}" if labels else "every pod"
    if peer.namespaces is None:
        return f"{pods} of every namespace"
    return f"{pods} of namespace {', '.join(peer.namespaces)}"


@set_rule(
    id="AIA805",
    slug="model-server-reachable-past-litellm",
    title="A model server is reachable only through LiteLLM (or the gateway, with an API key)",
    severity=Severity.ERROR,
    family="serving",
    section="LiteLLM API Gateway Pattern > Application Usage",
    quote="Never connect applications directly to LLM providers - use LiteLLM",
    why="LiteLLM holds the keys, budgets and rate limits of every model, so a model server (vLLM, Ollama, "
    "llama.cpp) that other callers reach bypasses all three. Reported: an HTTPRoute or Ingress to the "
    "server's Service when the server requires no API key (vLLM `--api-key` or VLLM_API_KEY, llama.cpp "
    "`--api-key` or LLAMA_API_KEY; Ollama has no API key, so a route to it is always reported), and an "
    "ingress peer of a policy selecting the server that is neither LiteLLM's pods ({litellm_namespace}, "
    "{litellm_selector}) nor a gateway ({gateway_namespaces}) or monitoring namespace: another app's pods, "
    "of its namespace or another. The pods of the server's own LeaderWorkerSet (selected by "
    "`leaderworkerset.sigs.k8s.io/name`) are its other ranks, not callers. Cilium policies under "
    "`network.policy_engine: cilium`, NetworkPolicies under `kubernetes`. A peer of another namespace is "
    "also ingress beyond the gateway (AIA604).",
    fix="Route apps to the model through LiteLLM ({litellm_url}): admit only LiteLLM's pods in the server's "
    "policy, and give a route to the server an API key (`--api-key` from a Secret) or remove it.",
)
def model_server_reachable_past_litellm(
    summaries: Sequence[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    servers = [s for s in summaries if s.engine and s.pod_labels is not None]
    if not servers:
        return
    engine = cluster.policy_engine
    policies = [s for s in summaries if s.peers or s.selectors or s.kind == netpol.KIND]
    yield from _route_hits(summaries, servers, policies, cluster)
    reported: set[tuple[str, tuple[str | int, ...]]] = set()
    for server in servers:
        for policy in _policies_selecting(server, policies, engine):
            for peer in policy.peers:
                if peer.direction != "ingress" or _admitted(peer, cluster) or _admits_nobody(peer):
                    continue
                if _own_group(peer, server):
                    continue
                if (policy.ref, peer.path) in reported:
                    continue
                reported.add((policy.ref, peer.path))
                engine_name = ENGINE_NAMES.get(server.engine, server.engine)
                yield (
                    policy,
                    Hit(
                        peer.path,
                        f"the policy admits {_describe(peer)} to the {engine_name} server {server.ref}: "
                        "they can call the model directly, past LiteLLM",
                    ),
                )
