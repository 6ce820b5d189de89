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

from generator.policy.k8s import mapping
from generator.policy.model import Hit, Summary
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
