"""Kubernetes `networking.k8s.io/v1` NetworkPolicy, for clusters whose profile says
`network.policy_engine: kubernetes` (docs/cluster.md).

Semantics, from the Kubernetes documentation (concepts/services-networking/network-policies and the
NetworkPolicySpec API reference): a policy selects pods of its own namespace by `podSelector` (`{}`: every
pod there); `policyTypes` unset means `Ingress`, plus `Egress` when the policy has egress rules; a pod is
isolated for a direction when at least one policy selecting it has that type, and then only the union of
the rules of those policies is allowed. A peer with `namespaceSelector` (and `podSelector`) selects pods of
other namespaces; the `kubernetes.io/metadata.name` label every namespace carries names one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from generator.cluster.facts import Cluster
from generator.policy.k8s import mapping, sequence
from generator.policy.model import Hit, K8sObject, Summary, YamlPath
from generator.policy.selectors import selects

KIND = "NetworkPolicy"
API_GROUP = "networking.k8s.io/"


def policy_types(spec: dict[str, object]) -> set[str]:
    """The directions a policy isolates (Kubernetes' defaulting when `policyTypes` is unset)."""
    written = spec.get("policyTypes")
    if isinstance(written, list):
        return {str(item) for item in written}
    return {"Ingress", "Egress"} if "egress" in spec else {"Ingress"}


def uncovered(summaries: Sequence[Summary]) -> Iterator[tuple[Summary, Hit]]:
    """Workloads whose pods no NetworkPolicy isolates for both ingress and egress (AIA601's check)."""
    policies: dict[str | None, list[Summary]] = {}
    for summary in summaries:
        if summary.kind == KIND:
            policies.setdefault(summary.namespace, []).append(summary)
    for workload in summaries:
        if workload.pod_labels is None or workload.kind == KIND:
            continue
        isolated: set[str] = set()
        for policy in policies.get(workload.namespace, []):
            spec = mapping(policy.spec)
            selector = spec.get("podSelector")
            if isinstance(selector, dict) and selects(selector, workload.pod_labels, workload.namespace, ""):
                isolated |= policy_types(spec)
        missing = [direction for direction in ("Ingress", "Egress") if direction not in isolated]
        if not missing:
            continue
        shown = ", ".join(f"{key}={value}" for key, value in workload.pod_labels.items()) or "none"
        where = f'namespace "{workload.namespace}"' if workload.namespace else "the same namespace (none set)"
        if len(missing) == 2:
            message = f"no NetworkPolicy in {where} selects these pods (labels: {shown})"
        else:
            message = (
                f"the NetworkPolicies in {where} that select these pods (labels: {shown}) do not isolate "
                f"{missing[0].lower()} (policyTypes), so it is open"
            )
        yield workload, Hit(workload.pod_labels_path, message)


NAME_LABEL = "kubernetes.io/metadata.name"


def namespaces_of(peer: dict[str, Any], own: str | None) -> set[str] | None:
    """The namespaces a peer selects: by the name label every namespace carries; None: every namespace
    (an empty namespaceSelector, or one by other labels, which this check cannot resolve)."""
    if "namespaceSelector" not in peer:
        return {own} if own else set()
    selector = mapping(peer.get("namespaceSelector"))
    name = mapping(selector.get("matchLabels")).get(NAME_LABEL)
    if name is not None:
        return {str(name)}
    for expression in sequence(selector.get("matchExpressions")):
        expression = mapping(expression)
        if expression.get("key") == NAME_LABEL and expression.get("operator") == "In":
            return {str(value) for value in sequence(expression.get("values"))}
    return None


def rule_ports(rule: dict[str, Any]) -> set[str] | None:
    """The ports a rule allows (None: every port)."""
    if not sequence(rule.get("ports")):
        return None
    return {str(mapping(port).get("port")) for port in sequence(rule.get("ports"))}


def allows_dns(spec: dict[str, Any], own: str | None, dns_namespace: str) -> bool:
    """Whether an egress rule of the policy allows port 53 to the DNS namespace (or anywhere)."""
    for rule in map(mapping, sequence(spec.get("egress"))):
        ports = rule_ports(rule)
        if ports is not None and "53" not in ports:
            continue
        peers = [mapping(peer) for peer in sequence(rule.get("to"))]
        if not peers:
            return True
        for peer in peers:
            if "ipBlock" in peer:
                return True  # the cluster's DNS address may be in the block
            names = namespaces_of(peer, own)
            if names is None or dns_namespace in names:
                return True
    return False


def ingress_peers(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    """AIA604 for a NetworkPolicy: ingress only from the gateway namespaces (and the monitoring namespace
    on named ports, LiteLLM's pods); pods of the policy's own namespace are left to the engineer."""
    spec = mapping(obj.data.get("spec"))
    allowed = {namespace for namespace, _, _ in cluster.all_gateways}
    if cluster.monitoring_namespace:
        allowed.add(cluster.monitoring_namespace)
    for index, rule in enumerate(sequence(spec.get("ingress"))):
        rule = mapping(rule)
        path: YamlPath = ("spec", "ingress", index)
        peers = sequence(rule.get("from"))
        if not peers:
            yield Hit(path, "ingress rule has no `from` peer, so it allows every source")
            continue
        for position, peer in enumerate(peers):
            peer = mapping(peer)
            where: YamlPath = (*path, "from", position)
            if "ipBlock" in peer:
                yield Hit((*where, "ipBlock"), "ingress from an ipBlock: only the gateway may reach apps")
                continue
            names = namespaces_of(peer, obj.namespace)
            if names is None:
                yield Hit(where, "ingress from pods of every namespace: only the gateway may reach apps")
                continue
            if "namespaceSelector" not in peer:
                continue  # the app's own namespace: a deliberate choice, as AIA605 says for Cilium
            litellm = dict(cluster.litellm_selector)
            pods = mapping(mapping(peer.get("podSelector")).get("matchLabels"))
            if (
                names == {cluster.litellm_namespace}
                and litellm
                and litellm.items() <= {(str(k), str(v)) for k, v in pods.items()}
            ):
                continue
            others = sorted(names - allowed)
            if others:
                shown = ", ".join(sorted(allowed))
                yield Hit(
                    where,
                    f'ingress from namespace "{others[0]}"; only the gateway namespace ({shown}) may reach '
                    "apps",
                )


def shared_service_egress(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    """AIA608 for a NetworkPolicy: egress to a shared service's namespace selects its pods and allows
    their port (NetworkPolicy, like Cilium, sees the pod port after the Service's translation)."""
    services = [
        (
            dict(cluster.qdrant_selector),
            cluster.qdrant_namespace,
            cluster.qdrant_target_port,
            "the shared Qdrant",
        ),
        (dict(cluster.litellm_selector), cluster.litellm_namespace, cluster.litellm_target_port, "LiteLLM"),
    ]
    spec = mapping(obj.data.get("spec"))
    for index, rule in enumerate(sequence(spec.get("egress"))):
        rule = mapping(rule)
        ports = rule_ports(rule)
        for peer in map(mapping, sequence(rule.get("to"))):
            if "namespaceSelector" not in peer:
                continue
            names = namespaces_of(peer, obj.namespace) or set()
            pods = {
                str(k): str(v)
                for k, v in mapping(mapping(peer.get("podSelector")).get("matchLabels")).items()
            }
            for selector, namespace, target_port, what in services:
                if names != {namespace} or not selector or not pods.items() <= selector.items() or not pods:
                    continue
                if ports is not None and str(target_port) not in ports:
                    allowed = ", ".join(sorted(ports)) or "none"
                    yield Hit(
                        ("spec", "egress", index, "ports"),
                        f"egress to {what} allows port {allowed}, but NetworkPolicy matches its pods' port "
                        f"{target_port} (the Service port is for the URL)",
                    )


def dns_gaps(summaries: Sequence[Summary], cluster: Cluster) -> Iterator[tuple[Summary, Hit]]:
    """AIA602 for NetworkPolicies: a policy with egress rules isolates its pods' egress, DNS included,
    unless it or another policy selecting the same pods (NetworkPolicies add up) allows port 53 to the
    DNS namespace."""
    policies = [s for s in summaries if s.kind == KIND]
    workloads = [s for s in summaries if s.pod_labels is not None and s.kind != KIND]

    def selected(policy: Summary) -> list[Summary]:
        selector = mapping(policy.spec).get("podSelector")
        if not isinstance(selector, dict):
            return []
        return [
            w
            for w in workloads
            if w.namespace == policy.namespace and selects(selector, w.pod_labels or {}, w.namespace, "")
        ]

    def dns(policy: Summary) -> bool:
        return allows_dns(mapping(policy.spec), policy.namespace, cluster.kube_dns_namespace)

    for policy in policies:
        spec = mapping(policy.spec)
        if "Egress" not in policy_types(spec) or not sequence(spec.get("egress")) or dns(policy):
            continue
        pods = selected(policy)
        others = [p for p in policies if p is not policy and p.namespace == policy.namespace and dns(p)]
        if pods and all(any(w in selected(other) for other in others) for w in pods):
            continue
        if not pods and any(not mapping(mapping(p.spec).get("podSelector")) for p in others):
            continue
        yield (
            policy,
            Hit(
                ("spec", "egress"),
                "the NetworkPolicy has egress rules but neither it nor another policy selecting its pods "
                f"allows port 53 to the DNS namespace ({cluster.kube_dns_namespace})",
            ),
        )
