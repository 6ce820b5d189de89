"""AIA610: label keys in Cilium selectors that Cilium never sets on an endpoint.

Cilium derives an endpoint's identity labels from the pod's own labels and a few keys of its own
(cilium/cilium, pkg/k8s/apis/cilium.io/const.go): `io.kubernetes.pod.namespace`, `io.kubernetes.pod.name`,
`io.cilium.k8s.policy.serviceaccount`, `io.cilium.k8s.policy.cluster`,
`io.cilium.k8s.policy.istiosidecarproxy` and `io.cilium.k8s.namespace.labels.<namespace label>`; the
policy's own labels (`io.cilium.k8s.policy.name`, `.uid`, `.namespace`, `.derived-from`) live in the same
prefix. Reserved identities are `reserved:<name>` (pkg/labels: host, remote-node, world, world-ipv4,
world-ipv6, cluster, health, init, kube-apiserver, ingress, overlay-to-encrypt, none, unmanaged,
unknown). Only keys in those prefixes can be judged: any other key may be a pod label.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from generator.cluster.facts import Cluster
from generator.policy.k8s import NETWORK_POLICY_KINDS, mapping, sequence
from generator.policy.model import Applies, Hit, K8sObject, Severity, YamlPath
from generator.policy.registry import object_rule
from generator.policy.selectors import policy_specs

NAMESPACE_LABELS = "io.cilium.k8s.namespace.labels."
KNOWN_KEYS = (
    "io.kubernetes.pod.namespace",
    "io.kubernetes.pod.name",
    "io.cilium.k8s.policy.serviceaccount",
    "io.cilium.k8s.policy.cluster",
    "io.cilium.k8s.policy.istiosidecarproxy",
    "io.cilium.k8s.policy.name",
    "io.cilium.k8s.policy.uid",
    "io.cilium.k8s.policy.namespace",
    "io.cilium.k8s.policy.derived-from",
)
RESERVED = (
    "host",
    "remote-node",
    "world",
    "world-ipv4",
    "world-ipv6",
    "cluster",
    "health",
    "init",
    "kube-apiserver",
    "ingress",
    "overlay-to-encrypt",
    "none",
    "unmanaged",
    "unknown",
)
_JUDGED = ("io.kubernetes.", "io.cilium.")
_SOURCES = ("k8s:", "any:", "container:", "unspec:")
_DIRECTIONS = ("ingress", "egress", "ingressDeny", "egressDeny")
_PEERS = ("fromEndpoints", "toEndpoints", "fromRequires", "toRequires")


def _selectors(spec: dict[str, Any], base: YamlPath) -> Iterator[tuple[YamlPath, Any]]:
    if "endpointSelector" in spec:
        yield (*base, "endpointSelector"), spec["endpointSelector"]
    for direction in _DIRECTIONS:
        for index, rule in enumerate(sequence(spec.get(direction))):
            for field in _PEERS:
                for position, selector in enumerate(sequence(mapping(rule).get(field))):
                    yield (*base, direction, index, field, position), selector


def _keys(selector: Any, path: YamlPath) -> Iterator[tuple[str, YamlPath]]:
    for key in mapping(mapping(selector).get("matchLabels")):
        yield str(key), (*path, "matchLabels", key)
    for index, expression in enumerate(sequence(mapping(selector).get("matchExpressions"))):
        written = mapping(expression).get("key")
        if written is not None:
            yield str(written), (*path, "matchExpressions", index, "key")


def _suggestion(key: str) -> str | None:
    """The known key closest to an unknown one, with the same source prefix; None if none is close."""
    source, _, bare = key.rpartition(":") if key.startswith(_SOURCES) else ("", "", key)
    prefix = f"{source}:" if source else ""
    if "namespace.label" in bare and not bare.startswith(NAMESPACE_LABELS):
        rest = bare.split("namespace.label", 1)[1].lstrip("s").lstrip(".")
        return f"{prefix}{NAMESPACE_LABELS}{rest}" if rest else None
    close = difflib.get_close_matches(bare, KNOWN_KEYS, n=1, cutoff=0.6)
    return f"{prefix}{close[0]}" if close else None


def unknown_key(key: str) -> tuple[str, str | None] | None:
    """(what is wrong, suggestion) for a key Cilium never sets; None for a key it sets or cannot judge."""
    if key.startswith("reserved:"):
        name = key[len("reserved:") :]
        if name in RESERVED:
            return None
        close = difflib.get_close_matches(name, RESERVED, n=1, cutoff=0.6)
        return f'"{name}" is no reserved identity', (f"reserved:{close[0]}" if close else None)
    bare = key.split(":", 1)[1] if key.startswith(_SOURCES) else key
    if not bare.startswith(_JUDGED) or bare in KNOWN_KEYS:
        return None
    if bare.startswith(NAMESPACE_LABELS) and len(bare) > len(NAMESPACE_LABELS):
        return None
    return "Cilium sets no label with this key on any endpoint", _suggestion(key)


@object_rule(
    id="AIA610",
    slug="cilium-unknown-label-key",
    title="Cilium selectors use only label keys Cilium sets",
    severity=Severity.ERROR,
    family="network",
    section="Network Policy Pattern",
    quote="k8s:io.kubernetes.pod.namespace: gateway",
    why="A selector that requires a label no endpoint carries matches nothing, silently: "
    "`k8s:io.kubernetes.podNamespace: gateway` admits no gateway pod, because the key Cilium sets is "
    "`io.kubernetes.pod.namespace`. Judged are the keys in Cilium's own prefixes (`io.kubernetes.`, "
    "`io.cilium.`, with or without a `k8s:`/`any:` source) and `reserved:` identities, against the keys "
    "Cilium sets (pkg/k8s/apis/cilium.io/const.go: the pod's namespace and name, its service account, "
    "cluster, the namespace's labels as `io.cilium.k8s.namespace.labels.<key>`) and its reserved "
    "identities; the pods' own labels (`app`, `k8s:app.kubernetes.io/name`) are never judged.",
    fix="Use the key Cilium sets (the finding names the closest one), e.g. "
    "`k8s:io.kubernetes.pod.namespace: <namespace>`.",
    applies=Applies.SCOPE,
    kinds=sorted(NETWORK_POLICY_KINDS),
)
def cilium_unknown_label_key(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    del cluster
    for base, spec in policy_specs(obj):
        for path, selector in _selectors(spec, base):
            for key, where in _keys(selector, path):
                problem = unknown_key(key)
                if problem is None:
                    continue
                what, suggestion = problem
                hint = f'; did you mean "{suggestion}"?' if suggestion else ""
                yield Hit(where, f'label key "{key}": {what}, so the selector matches nothing{hint}')
