"""Roles: which objects are the shared services themselves (the cluster's Qdrant and LiteLLM), not apps.

The cluster facts say where each shared service runs (namespace) and which labels select its pods. An
object in that namespace belongs to the service when it carries those labels, selects those pods (a
Service, a Cilium policy) or is one of them (a workload's pod template); an HTTPRoute belongs to the
service whose Service it sends traffic to, and a route in a gateway namespace to the gateway itself.
Rules that apply to apps only
(`Applies.APPS` in the registry) skip such objects: the shared Qdrant does not "run a Qdrant of its
own", LiteLLM holds the provider hosts, and both are called by every app namespace.
"""

from __future__ import annotations

from functools import cache

from generator.cluster.facts import Cluster
from generator.policy.k8s import NETWORK_POLICY_KINDS, labels, mapping, pods_of, sequence
from generator.policy.model import K8sObject
from generator.policy.selectors import match_labels, policy_specs, selects

QDRANT = "the shared Qdrant"
LITELLM = "LiteLLM"
GATEWAY = "the gateway"


@cache
def services(cluster: Cluster) -> tuple[tuple[str, str, dict[str, str]], ...]:
    """(name, namespace, pod labels) of each shared service the cluster facts describe."""
    return tuple(
        (name, namespace, dict(selector))
        for name, namespace, selector in (
            (QDRANT, cluster.qdrant_namespace, cluster.qdrant_selector),
            (LITELLM, cluster.litellm_namespace, cluster.litellm_selector),
        )
        if selector
    )


def _subset(small: dict[str, str], large: dict[str, str]) -> bool:
    return bool(small) and all(large.get(key) == value for key, value in small.items())


def _belongs(obj: K8sObject, namespace: str, wanted: dict[str, str]) -> bool:
    if _subset(wanted, labels(obj.data.get("metadata"))):
        return True
    pods = pods_of(obj)
    if pods:
        return any(_subset(wanted, pod.labels) for pod in pods)
    if obj.kind == "Service":
        selector = {str(k): str(v) for k, v in mapping(mapping(obj.data.get("spec")).get("selector")).items()}
        return _subset(selector, wanted)
    if obj.kind in NETWORK_POLICY_KINDS:
        return any(
            # A namespace-wide selector (`{}`) is a default for every pod there, not the service's own.
            match_labels(spec.get("endpointSelector"))
            and selects(spec.get("endpointSelector"), wanted, namespace, "default")
            for _, spec in policy_specs(obj)
        )
    return False


def _route_owner(obj: K8sObject, cluster: Cluster) -> str:
    """The shared service an HTTPRoute belongs to: the gateway's own routes live in the namespace of one
    of the profile's Gateways (an HTTP-to-HTTPS redirect, a dashboard); LiteLLM's and Qdrant's send
    traffic to their Service."""
    if obj.namespace is not None and obj.namespace in {namespace for namespace, _, _ in cluster.all_gateways}:
        return GATEWAY
    shared = {
        (cluster.litellm_namespace, cluster.litellm_service): LITELLM,
        (cluster.qdrant_namespace, cluster.qdrant_service): QDRANT,
    }
    for rule in sequence(mapping(obj.data.get("spec")).get("rules")):
        for ref in sequence(mapping(rule).get("backendRefs")):
            ref = mapping(ref)
            if ref.get("kind", "Service") != "Service":
                continue
            owner = shared.get((str(ref.get("namespace", obj.namespace)), str(ref.get("name"))))
            if owner:
                return owner
    return ""


def shared_service(obj: K8sObject, cluster: Cluster) -> str:
    """The shared service the object belongs to ("" for an app or anything else)."""
    if obj.kind == "HTTPRoute":
        return _route_owner(obj, cluster)
    for name, namespace, wanted in services(cluster):
        if obj.namespace == namespace and _belongs(obj, namespace, wanted):  # namespace first: cheap
            return name
    return ""
