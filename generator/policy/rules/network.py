"""Network rules: every workload has a CiliumNetworkPolicy; DNS, namespaces and ingress done right."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from generator.cluster.facts import Cluster
from generator.policy.k8s import NETWORK_POLICY_KINDS, mapping, sequence
from generator.policy.model import Hit, K8sObject, Severity, Summary
from generator.policy.registry import object_rule, set_rule
from generator.policy.selectors import NAMESPACE_KEY, match_labels, policy_specs, raw_key, selects

SECTION = "Network Policy Pattern"
APP_LABEL = "app.kubernetes.io/name"
DNS_PORT = "53"


@set_rule(
    id="AIA601",
    slug="workload-without-network-policy",
    title="Every workload is selected by a CiliumNetworkPolicy",
    severity=Severity.ERROR,
    family="network",
    section=SECTION,
    quote="  endpointSelector:\n    matchLabels:\n      app.kubernetes.io/name: <app>",
    why="Without a policy selecting its pods, a workload accepts traffic from anywhere and reaches "
    "anything. Only policies in the same run are seen: check an app's whole directory (or the repository), "
    "not a single file.",
    fix="Add a CiliumNetworkPolicy in the workload's namespace whose endpointSelector.matchLabels are a "
    "subset of the pod template labels (e.g. app.kubernetes.io/name: <app>).",
)
def workload_without_network_policy(
    summaries: Sequence[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    del cluster
    by_namespace: dict[str | None, list[dict[str, Any]]] = {}
    cluster_wide: list[dict[str, Any]] = []
    for summary in summaries:
        if summary.kind in NETWORK_POLICY_KINDS:
            target = cluster_wide if summary.cluster_wide else by_namespace.setdefault(summary.namespace, [])
            target.extend(summary.selectors)
    for summary in summaries:
        if summary.pod_labels is None:
            continue
        candidates = by_namespace.get(summary.namespace, []) + cluster_wide
        if any(
            selects(selector, summary.pod_labels, summary.namespace, summary.service_account)
            for selector in candidates
        ):
            continue
        shown = ", ".join(f"{key}={value}" for key, value in summary.pod_labels.items()) or "none"
        where = f'namespace "{summary.namespace}"' if summary.namespace else "the same namespace (none set)"
        count = len(by_namespace.get(summary.namespace, []))
        seen = f"; {count} policy selector(s) there match other pods" if count else ""
        yield (
            summary,
            Hit(
                summary.pod_labels_path,
                f"no CiliumNetworkPolicy in {where} selects these pods (labels: {shown}){seen}",
            ),
        )


def _selects_kube_dns(rule: Any, cluster: Cluster) -> bool:
    return any(
        match_labels(selector).get("k8s-app") == cluster.kube_dns_app
        for selector in sequence(mapping(rule).get("toEndpoints"))
    )


def _has_dns_proxy(rule: Any) -> bool:
    for to_port in sequence(mapping(rule).get("toPorts")):
        ports = {str(mapping(port).get("port")) for port in sequence(mapping(to_port).get("ports"))}
        if DNS_PORT in ports and sequence(mapping(mapping(to_port).get("rules")).get("dns")):
            return True
    return False


@object_rule(
    id="AIA602",
    slug="egress-without-dns-rule",
    title="Policies with egress rules allow DNS to kube-dns with a DNS rule",
    severity=Severity.ERROR,
    family="network",
    section=SECTION,
    quote="  egress:\n  - toEndpoints:",
    why="Once a policy has any egress rule, all other egress is denied, DNS included: the pod cannot "
    "resolve names. The DNS rule (`rules: dns:` on port 53) also routes lookups through Cilium's DNS proxy, "
    "without which toFQDNs rules never match.",
    fix="Add an egress rule to kube-dns: `toEndpoints: [{{matchLabels: {{k8s:io.kubernetes.pod.namespace: "
    '{kube_dns_namespace}, k8s:k8s-app: {kube_dns_app}}}}}]` with `toPorts: [{{ports: [{{port: "53", '
    'protocol: UDP}}, {{port: "53", protocol: TCP}}], rules: {{dns: [{{matchPattern: "*"}}]}}}}]`.',
    kinds=sorted(NETWORK_POLICY_KINDS),
)
def egress_without_dns_rule(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    for base, spec in policy_specs(obj):
        egress = sequence(spec.get("egress"))
        if not egress:
            continue
        dns_rules = [index for index, rule in enumerate(egress) if _selects_kube_dns(rule, cluster)]
        if not dns_rules:
            yield Hit(
                (*base, "egress"),
                f"the policy has {len(egress)} egress rule(s) but none allows DNS to kube-dns "
                f"({cluster.kube_dns_namespace}, k8s-app={cluster.kube_dns_app}) on port 53",
            )
        elif not any(_has_dns_proxy(egress[index]) for index in dns_rules):
            yield Hit(
                (*base, "egress", dns_rules[0]),
                "the egress rule to kube-dns has no `rules: dns:` section on port 53, so toFQDNs rules "
                "never match",
            )


def _targets(cluster: Cluster) -> list[tuple[dict[str, str], str, str]]:
    """(labels that select its pods, namespace, description) of the shared services apps talk to."""
    return [
        (dict(cluster.qdrant_selector), cluster.qdrant_namespace, "the shared Qdrant"),
        (dict(cluster.litellm_selector), cluster.litellm_namespace, "LiteLLM"),
        ({"k8s-app": cluster.kube_dns_app}, cluster.kube_dns_namespace, "kube-dns"),
    ]


def _selects_target(labels: dict[str, str], target: dict[str, str]) -> bool:
    """A selector aimed at a shared service: it names every label of the service's own selector."""
    return bool(target) and all(labels.get(key) == value for key, value in target.items())


@object_rule(
    id="AIA603",
    slug="cross-namespace-selector",
    title="Selectors of shared services in other namespaces carry the namespace label",
    severity=Severity.ERROR,
    family="network",
    section=f"{SECTION}; Qdrant Integration Pattern",
    quote="k8s:io.kubernetes.pod.namespace: gateway",
    why="In a namespaced policy, an endpoint selector without `k8s:io.kubernetes.pod.namespace` only matches "
    "pods of the policy's own namespace. The shared Qdrant and LiteLLM run in namespace "
    "{qdrant_namespace}/{litellm_namespace} and kube-dns in {kube_dns_namespace}, so a selector without "
    "(or with the wrong) namespace silently matches nothing.",
    fix="Add `k8s:io.kubernetes.pod.namespace: <namespace of the target>` to the selector's matchLabels "
    "({qdrant_namespace} for Qdrant, {litellm_namespace} for LiteLLM, {kube_dns_namespace} for kube-dns).",
    kinds=sorted(NETWORK_POLICY_KINDS),
)
def cross_namespace_selector(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    targets = _targets(cluster)
    for base, spec in policy_specs(obj):
        for direction in ("egress", "ingress", "egressDeny", "ingressDeny"):
            for index, rule in enumerate(sequence(spec.get(direction))):
                for field in ("toEndpoints", "fromEndpoints"):
                    for position, selector in enumerate(sequence(mapping(rule).get(field))):
                        labels = match_labels(selector)
                        path = (*base, direction, index, field, position, "matchLabels")
                        for target, namespace, what in targets:
                            if not _selects_target(labels, target):
                                continue
                            shown = ", ".join(f"{key}={value}" for key, value in target.items())
                            written = labels.get(NAMESPACE_KEY)
                            if written is not None:
                                if written != namespace:
                                    yield Hit(
                                        (*path, raw_key(selector, NAMESPACE_KEY) or NAMESPACE_KEY),
                                        f'{field} selects {what} in namespace "{written}", but it runs in '
                                        f'"{namespace}"',
                                    )
                            elif obj.kind != "CiliumClusterwideNetworkPolicy" and obj.namespace != namespace:
                                own = f'"{obj.namespace}"' if obj.namespace else "(not set in the manifest)"
                                yield Hit(
                                    path,
                                    f"{field} selects {what} ({shown}) without "
                                    f"k8s:io.kubernetes.pod.namespace, so it only matches the policy's own "
                                    f'namespace {own}; {what} runs in "{namespace}"',
                                )


def _service_ports(cluster: Cluster) -> list[tuple[dict[str, str], str, int, int, str]]:
    """(selector, namespace, Service port, pod port, description) of the shared services."""
    return [
        (
            dict(cluster.qdrant_selector),
            cluster.qdrant_namespace,
            cluster.qdrant_port,
            cluster.qdrant_target_port,
            "the shared Qdrant",
        ),
        (
            dict(cluster.litellm_selector),
            cluster.litellm_namespace,
            cluster.litellm_port,
            cluster.litellm_target_port,
            "LiteLLM",
        ),
    ]


@object_rule(
    id="AIA605",
    slug="shared-service-pod-port",
    title="Egress to a shared service allows its pods' port",
    severity=Severity.ERROR,
    family="network",
    section=f"{SECTION}; Qdrant Integration Pattern",
    quote='        app.kubernetes.io/name: litellm\n    ports:\n    - port: "4000"',
    why="Cilium enforces policy on the backend pod after the Service's address translation, so `toPorts` "
    "must name the pod's port (LiteLLM {litellm_target_port}, Qdrant {qdrant_target_port}), while the app's "
    "URL uses the Service port (LiteLLM {litellm_port}, Qdrant {qdrant_port}). A rule that allows only the "
    "Service port drops every connection when the two differ.",
    fix="List the pod port in the rule's toPorts ({litellm_target_port} for LiteLLM, {qdrant_target_port} "
    "for Qdrant).",
    kinds=sorted(NETWORK_POLICY_KINDS),
)
def shared_service_pod_port(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    services = _service_ports(cluster)
    for base, spec in policy_specs(obj):
        for index, rule in enumerate(sequence(spec.get("egress"))):
            rule = mapping(rule)
            if "toPorts" not in rule:
                continue  # no port restriction: every port is allowed
            ports = {
                str(mapping(port).get("port"))
                for entry in sequence(rule.get("toPorts"))
                for port in sequence(mapping(entry).get("ports"))
            }
            for selector in sequence(rule.get("toEndpoints")):
                labels = match_labels(selector)
                for target, namespace, port, target_port, what in services:
                    written = labels.get(NAMESPACE_KEY, obj.namespace)
                    if not _selects_target(labels, target) or written != namespace:
                        continue
                    if str(target_port) not in ports:
                        allowed = ", ".join(sorted(ports)) or "none"
                        yield Hit(
                            (*base, "egress", index, "toPorts"),
                            f"egress to {what} allows port {allowed}, but Cilium matches its pods' port "
                            f"{target_port} after the Service's translation (the Service port {port} is for "
                            "the URL)",
                        )


def _describe(value: Any) -> str:
    items = sequence(value)
    return ", ".join(str(item) for item in items[:3]) + (", ..." if len(items) > 3 else "")


@object_rule(
    id="AIA604",
    slug="ingress-not-from-gateway",
    title="Ingress only from the gateway namespace",
    severity=Severity.ERROR,
    family="network",
    section=SECTION,
    quote="  ingress:\n  - fromEndpoints:\n    - matchLabels:\n"
    "        k8s:io.kubernetes.pod.namespace: gateway",
    why="Apps are reached through the gateway only; any other ingress peer (another namespace, an "
    "entity such as world or cluster, a CIDR, or a rule without a peer, which allows every source) opens "
    "the app beyond it. The gateway's own entities ({gateway_entities}: Cilium's Gateway API Envoy) are "
    "the gateway too. Shared services that apps call (Qdrant, LiteLLM) suppress this rule with a reason.",
    fix="Allow ingress only `fromEndpoints: [{{matchLabels: {{k8s:io.kubernetes.pod.namespace: "
    '"{gateway_namespace}"}}}}]` (and `fromEntities: [{gateway_entities}]`); remove other peers.',
    kinds=sorted(NETWORK_POLICY_KINDS),
)
def ingress_not_from_gateway(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    gateway = cluster.gateway_namespace
    for base, spec in policy_specs(obj):
        for index, rule in enumerate(sequence(spec.get("ingress"))):
            if not isinstance(rule, dict):
                continue
            path = (*base, "ingress", index)
            others = [key for key in rule if str(key).startswith("from") and key != "fromEndpoints"]
            for key in others:
                entities = set(map(str, sequence(rule[key])))
                if key == "fromEntities" and entities <= set(cluster.gateway_entities):
                    continue
                yield Hit(
                    (*path, key), f"ingress {key} [{_describe(rule[key])}]: only the gateway may reach apps"
                )
            endpoints = rule.get("fromEndpoints")
            if endpoints is None:
                if not others:
                    yield Hit(path, "ingress rule has no from* peer, so it allows every source")
                continue
            for position, selector in enumerate(sequence(endpoints)):
                namespace = match_labels(selector).get(NAMESPACE_KEY)
                if namespace != gateway:
                    origin = f'namespace "{namespace}"' if namespace else "the policy's own namespace"
                    yield Hit(
                        (*path, "fromEndpoints", position),
                        f'ingress fromEndpoints selects pods in {origin}; only namespace "{gateway}" '
                        "may reach apps",
                    )
