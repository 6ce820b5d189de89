"""Cilium endpoint selectors: label keys with source prefixes, and the namespace pseudo-label."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.cluster.facts import Cluster
from generator.policy.k8s import mapping, sequence
from generator.policy.model import Egress, K8sObject, YamlPath

NAMESPACE_KEY = "io.kubernetes.pod.namespace"
SERVICE_ACCOUNT_KEY = "io.cilium.k8s.policy.serviceaccount"
# A peer key on the labels of the peer's namespace; the label Kubernetes gives every namespace: its name.
NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels."
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
_SOURCES = ("k8s:", "any:")
DNS_PORT = "53"


def normalize(key: str) -> str:
    """`k8s:app` and `any:app` select the Kubernetes label `app`."""
    for prefix in _SOURCES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def match_labels(selector: Any) -> dict[str, str]:
    """matchLabels with normalised keys and string values."""
    return {
        normalize(str(key)): str(value)
        for key, value in mapping(mapping(selector).get("matchLabels")).items()
    }


def peer_namespaces(selector: Any, obj: K8sObject) -> tuple[str, ...] | None:
    """The namespaces whose pods a Cilium `fromEndpoints`/`toEndpoints` selector of `obj` can match; None
    for any namespace (or ones chosen by their labels, unknown here).

    Cilium adds the policy's own namespace to a namespaced policy's peer selector unless the selector
    names the pod-namespace key (in matchLabels or matchExpressions) or a key on the namespace's labels
    (`io.cilium.k8s.namespace.labels.*`); a cluster-wide policy's selector spans every namespace
    (cilium/cilium pkg/k8s/apis/cilium.io/utils/utils.go, getEndpointSelector).
    """
    labels = match_labels(selector)
    expressions = [mapping(item) for item in sequence(mapping(selector).get("matchExpressions"))]
    keys = [normalize(str(item.get("key", ""))) for item in expressions]
    named: tuple[str, ...] | None = (labels[NAMESPACE_KEY],) if NAMESPACE_KEY in labels else None

    def narrowed(allowed: tuple[str, ...]) -> tuple[str, ...]:
        return allowed if named is None else tuple(name for name in named if name in allowed)

    for key, item in zip(keys, expressions, strict=True):
        if key == NAMESPACE_KEY and item.get("operator") == "In":
            named = narrowed(tuple(str(value) for value in sequence(item.get("values"))))
    by_label = labels.get(NAMESPACE_LABELS_PREFIX + NAMESPACE_NAME_LABEL)
    if by_label is not None:
        named = narrowed((by_label,))
    if named is not None:
        return named
    if any(key == NAMESPACE_KEY or key.startswith(NAMESPACE_LABELS_PREFIX) for key in [*labels, *keys]):
        return None  # namespaces chosen by a NotIn/Exists expression or by other labels of theirs
    if obj.kind == "CiliumClusterwideNetworkPolicy" or not obj.namespace:
        return None
    return (obj.namespace,)


def raw_key(selector: Any, wanted: str) -> str | None:
    """The key as written in matchLabels (`k8s:io.kubernetes.pod.namespace`) for a normalised key."""
    return next(
        (str(key) for key in mapping(mapping(selector).get("matchLabels")) if normalize(str(key)) == wanted),
        None,
    )


def selects(selector: Any, labels: dict[str, str], namespace: str | None, service_account: str) -> bool:
    """Whether an endpointSelector selects a pod with these labels in this namespace."""
    if not isinstance(selector, dict):
        return False

    def value_of(key: str) -> str | None:
        if key in (NAMESPACE_KEY, NAMESPACE_LABELS_PREFIX + NAMESPACE_NAME_LABEL):
            return namespace
        if key == SERVICE_ACCOUNT_KEY:
            return service_account
        return labels.get(key)

    for key, value in match_labels(selector).items():
        if value_of(key) != value:
            return False
    for expression in sequence(selector.get("matchExpressions")):
        expression = mapping(expression)
        actual = value_of(normalize(str(expression.get("key", ""))))
        values = [str(item) for item in sequence(expression.get("values"))]
        operator = expression.get("operator")
        if operator == "In" and actual not in values:
            return False
        if operator == "NotIn" and actual in values:
            return False
        if operator == "Exists" and actual is None:
            return False
        if operator == "DoesNotExist" and actual is not None:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def policy_specs(obj: K8sObject) -> Iterator[tuple[YamlPath, dict[str, Any]]]:
    """(path, spec) of a Cilium policy's `spec` and of each entry of its `specs` list."""
    if isinstance(obj.data.get("spec"), dict):
        yield ("spec",), obj.data["spec"]
    for index, spec in enumerate(sequence(obj.data.get("specs"))):
        if isinstance(spec, dict):
            yield ("specs", index), spec


def default_deny(spec: Any, direction: str) -> bool:
    """Whether a policy spec puts the endpoints it selects in default deny for `direction` (ingress or
    egress). Cilium's `enableDefaultDeny` (the CRD's field documentation, cilium.io/v2 Rule): when the
    direction's key is not set, true if the spec has rules for that direction (`ingress`/`ingressDeny`,
    `egress`/`egressDeny`), else false; `false` makes the policy only add allowances (an audit or
    allow-list baseline); the two directions are independent. An endpoint is in default deny when any
    policy selecting it says so."""
    explicit = mapping(mapping(spec).get("enableDefaultDeny")).get(direction)
    if isinstance(explicit, bool):
        return explicit
    return bool(sequence(mapping(spec).get(direction)) or sequence(mapping(spec).get(f"{direction}Deny")))


def selects_kube_dns(rule: Any, cluster: Cluster) -> bool:
    """Whether an egress rule's toEndpoints select kube-dns."""
    return any(
        match_labels(selector).get("k8s-app") == cluster.kube_dns_app
        for selector in sequence(mapping(rule).get("toEndpoints"))
    )


def has_dns_proxy(rule: Any) -> bool:
    """Whether an egress rule sends port-53 traffic through Cilium's DNS proxy (`rules: dns:`)."""
    for to_port in sequence(mapping(rule).get("toPorts")):
        ports = {str(mapping(port).get("port")) for port in sequence(mapping(to_port).get("ports"))}
        if DNS_PORT in ports and sequence(mapping(mapping(to_port).get("rules")).get("dns")):
            return True
    return False


def egress_facts(spec: dict[str, Any], base: YamlPath, cluster: Cluster) -> Egress:
    """What a policy spec says about egress, for the DNS rule across the policies selecting a pod."""
    egress = sequence(spec.get("egress"))
    dns = [index for index, rule in enumerate(egress) if selects_kube_dns(rule, cluster)]
    proxied = [index for index in dns if has_dns_proxy(egress[index])]
    fqdns = [index for index, rule in enumerate(egress) if sequence(mapping(rule).get("toFQDNs"))]
    return Egress(
        rules=len(egress),
        dns=bool(dns),
        dns_proxy=bool(proxied),
        fqdns=bool(fqdns),
        deny=default_deny(spec, "egress"),
        path=(*base, "egress"),
        dns_path=(*base, "egress", dns[0]) if dns else (),
        fqdn_path=(*base, "egress", fqdns[0], "toFQDNs") if fqdns else (),
    )
