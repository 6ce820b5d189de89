"""The peers of network policy rules (whom a policy lets in, where it lets its pods go), read once per
policy into its summary for the rules across objects (rules/peers.py, rules/exposure.py).

Cilium (docs.cilium.io, "Layer 3 examples" and "Using Kubernetes constructs in policy"): a namespaced
policy's `fromEndpoints`/`toEndpoints` selector matches pods of the policy's own namespace unless it names
`k8s:io.kubernetes.pod.namespace`; a cluster-wide policy's selector matches pods of every namespace.
Kubernetes NetworkPolicy: a peer without `namespaceSelector` selects pods of the policy's namespace
(rules/netpol.py). Peers by address (`toCIDR`, `ipBlock`) or entity are not pods and are left out here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.policy.k8s import mapping, sequence
from generator.policy.model import K8sObject, Peer, YamlPath
from generator.policy.rules.netpol import namespaces_of, rule_ports
from generator.policy.selectors import peer_namespaces, policy_specs

_FIELDS = (("ingress", "fromEndpoints", "fromEntities"), ("egress", "toEndpoints", "toEntities"))


def _cilium_ports(rule: dict[str, Any]) -> tuple[str, ...] | None:
    if "toPorts" not in rule:
        return None
    return tuple(
        str(mapping(port).get("port"))
        for entry in sequence(rule.get("toPorts"))
        for port in sequence(mapping(entry).get("ports"))
    )


def cilium_peers(obj: K8sObject) -> Iterator[Peer]:
    """The endpoint peers of every rule of a Cilium policy (its `spec` and each of its `specs`)."""
    for base, spec in policy_specs(obj):
        for direction, field, entities in _FIELDS:
            for index, rule in enumerate(sequence(spec.get(direction))):
                rule = mapping(rule)
                ports = _cilium_ports(rule)
                named = tuple(str(entity) for entity in sequence(rule.get(entities)))
                if named:
                    yield Peer(direction, (*base, direction, index, entities), None, {}, ports, named)
                for position, selector in enumerate(sequence(rule.get(field))):
                    if isinstance(selector, dict):
                        path: YamlPath = (*base, direction, index, field, position)
                        yield Peer(direction, path, peer_namespaces(selector, obj), selector, ports)


def netpol_peers(obj: K8sObject) -> Iterator[Peer]:
    """The pod peers (`podSelector`, `namespaceSelector`) of every rule of a Kubernetes NetworkPolicy."""
    spec = mapping(obj.data.get("spec"))
    for direction, field in (("ingress", "from"), ("egress", "to")):
        for index, rule in enumerate(sequence(spec.get(direction))):
            rule = mapping(rule)
            ports = rule_ports(rule)
            shown_ports = None if ports is None else tuple(sorted(ports))
            if not sequence(rule.get(field)):  # no peer: every source or destination
                yield Peer(direction, ("spec", direction, index), None, {}, shown_ports)
            for position, peer in enumerate(sequence(rule.get(field))):
                peer = mapping(peer)
                if "ipBlock" in peer or not peer:
                    continue
                names = namespaces_of(peer, obj.namespace)
                selector = mapping(peer.get("podSelector"))
                yield Peer(
                    direction,
                    ("spec", direction, index, field, position),
                    None if names is None else tuple(sorted(names)),
                    selector,
                    shown_ports,
                )
