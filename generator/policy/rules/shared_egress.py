"""AIA609: egress aimed at a shared service (LiteLLM, Qdrant) that selects none of its pods.

Aimed at: the peer selects the service's namespace and one of its label values is the service's name or
a value of the profile's selector for it (`app.kubernetes.io/name: litellm` and `app: litellm` both aim at
LiteLLM). Its pods: the workloads of the run that are the service (selected by its Service, named in the
profile, or carrying the profile's labels); when the run holds none (the service is installed by a
chart elsewhere), the profile's labels stand for them. A selector that matches none of them lets no
packet through: for LiteLLM, every LLM call of the app is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from generator.cluster.facts import Cluster
from generator.policy.k8s import mapping
from generator.policy.model import Hit, Peer, Severity, Summary
from generator.policy.registry import set_rule
from generator.policy.roles import LITELLM, QDRANT
from generator.policy.rules import netpol
from generator.policy.selectors import NAMESPACE_KEY, SERVICE_ACCOUNT_KEY, match_labels, selects

_CILIUM_KEYS = ("io.cilium.", "io.kubernetes.")


@dataclass(frozen=True)
class _Service:
    what: str
    name: str
    namespace: str
    labels: dict[str, str]


def _services(cluster: Cluster) -> list[_Service]:
    return [
        _Service(QDRANT, cluster.qdrant_service, cluster.qdrant_namespace, dict(cluster.qdrant_selector)),
        _Service(LITELLM, cluster.litellm_service, cluster.litellm_namespace, dict(cluster.litellm_selector)),
    ]


def _wanted(peer: Peer) -> dict[str, str]:
    """The pod labels a peer requires (Cilium's namespace key left out)."""
    return {key: value for key, value in match_labels(peer.selector).items() if key != NAMESPACE_KEY}


def _aimed(peer: Peer, service: _Service) -> bool:
    if peer.direction != "egress" or peer.namespaces != (service.namespace,):
        return False
    wanted = _wanted(peer)
    if any(key.startswith(_CILIUM_KEYS) and key != SERVICE_ACCOUNT_KEY for key in wanted):
        return False  # namespace labels, cluster name: not the pods' own labels, not judged here
    names = {service.name, *service.labels.values()}
    return any(value in names for value in wanted.values())


def _pods(service: _Service, summaries: Sequence[Summary]) -> list[Summary]:
    """The run's workloads that are the service."""
    selectors = [
        {str(k): str(v) for k, v in mapping(mapping(s.spec).get("selector")).items()}
        for s in summaries
        if s.kind == "Service" and s.name == service.name and s.namespace == service.namespace
    ]
    found = []
    for workload in summaries:
        labels = workload.pod_labels
        if labels is None or workload.namespace != service.namespace:
            continue
        by_service = any(selector and selector.items() <= labels.items() for selector in selectors)
        by_profile = bool(service.labels) and service.labels.items() <= labels.items()
        if by_service or by_profile or workload.name == service.name:
            found.append(workload)
    return found


def _matches(peer: Peer, labels: dict[str, str], namespace: str, account: str) -> bool:
    return selects(peer.selector, labels, namespace, account)


def _engine_of(policy: Summary) -> str:
    return "kubernetes" if policy.kind == netpol.KIND else "cilium"


@set_rule(
    id="AIA609",
    slug="shared-service-selector-matches-nothing",
    title="Egress aimed at a shared service selects its pods",
    severity=Severity.ERROR,
    family="network",
    section="Network Policy Pattern; Qdrant Integration Pattern",
    quote="  - toEndpoints:\n    - matchLabels:\n        app.kubernetes.io/name: litellm",
    why="An egress peer aimed at LiteLLM ({litellm_namespace}, {litellm_selector}) or the shared Qdrant "
    "({qdrant_namespace}, {qdrant_selector}) that matches none of its pods allows nothing: the app's LLM "
    "or vector calls are dropped, silently (the commonest mistake is another label key than the pods "
    "carry, `app.kubernetes.io/name` against `app`). A peer is aimed at a service when it selects the "
    "service's namespace and one of its label values is the service's name or a value of the profile's "
    "selector. The pods compared with are the service's workloads in the run (selected by its Service, or "
    "carrying the profile's labels, or named like the service), else the profile's labels. Cilium policies "
    "under `network.policy_engine: cilium`, NetworkPolicies (`to` with a namespaceSelector) under "
    "`kubernetes`; nothing under `none`.",
    fix="Copy the pod template labels of the service's workload into the selector (and fix the profile's "
    "`litellm.selector`/`qdrant.selector` when it differs from the pods).",
)
def shared_service_selector_matches_nothing(
    summaries: Sequence[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    engine = cluster.policy_engine
    services = [service for service in _services(cluster) if service.labels or service.name]
    pods = {service.what: _pods(service, summaries) for service in services}
    for policy in summaries:
        if not policy.peers or _engine_of(policy) != engine:
            continue
        for peer in policy.peers:
            for service in services:
                if not _aimed(peer, service):
                    continue
                found = pods[service.what]
                if found:
                    if any(
                        _matches(peer, w.pod_labels or {}, service.namespace, w.service_account)
                        for w in found
                    ):
                        continue
                    shown = ", ".join(
                        f"{w.ref} has {', '.join(f'{k}={v}' for k, v in (w.pod_labels or {}).items())}"
                        for w in found[:2]
                    )
                elif service.labels and not _matches(peer, service.labels, service.namespace, "default"):
                    profile = ", ".join(f"{k}={v}" for k, v in service.labels.items())
                    shown = f"the profile says its pods carry {profile}"
                else:
                    continue
                wanted = ", ".join(f"{k}={v}" for k, v in _wanted(peer).items())
                dropped = "LLM calls" if service.what == LITELLM else "vector store calls"
                yield (
                    policy,
                    Hit(
                        peer.path,
                        f'egress to {service.what} selects {wanted} in namespace "{service.namespace}", '
                        f"which matches none of its pods ({shown}): the app's {dropped} are dropped",
                    ),
                )
