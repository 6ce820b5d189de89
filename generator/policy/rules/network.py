"""Network rules: every workload has a CiliumNetworkPolicy; DNS, namespaces and ingress done right."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from generator.cluster.facts import Cluster
from generator.policy.k8s import LWS_NAME_LABEL, NETWORK_POLICY_KINDS, mapping, sequence
from generator.policy.model import Applies, Hit, K8sObject, Severity, Summary
from generator.policy.registry import object_rule, set_rule
from generator.policy.roles import services
from generator.policy.rules import netpol
from generator.policy.rules.cilium_labels import unknown_key
from generator.policy.selectors import (
    NAMESPACE_KEY,
    NAMESPACE_LABELS_PREFIX,
    SERVICE_ACCOUNT_KEY,
    match_labels,
    peer_namespaces,
    policy_specs,
    raw_key,
    selects,
)

SECTION = "Network Policy Pattern"
# The node entities: the local node, where the kubelet's probes come from, and the other nodes.
NODE_ENTITIES = frozenset({"host", "remote-node"})


def _every_pod(selector: Any) -> bool:
    """An endpointSelector without labels or expressions: every pod it may select."""
    return not mapping(selector).get("matchLabels") and not mapping(selector).get("matchExpressions")


@set_rule(
    id="AIA601",
    slug="workload-without-network-policy",
    title="Every workload is isolated by a network policy of the cluster's engine ({policy_engine})",
    severity=Severity.ERROR,
    family="network",
    section=SECTION,
    quote="  endpointSelector:\n    matchLabels:\n      app.kubernetes.io/name: <app>",
    why="Without a policy selecting its pods, a workload accepts traffic from anywhere and reaches "
    "anything. Policies are collected from every file of the run, wherever they live (a `policies/` tree "
    "counts), so check the repository, not a single file. A CiliumClusterwideNetworkPolicy that selects "
    "every pod (`endpointSelector: {{}}`, such as a cluster-wide DNS allowance) is a baseline for the "
    "whole cluster, not the workload's own policy, and does not count; nor does a policy with "
    "`enableDefaultDeny: {{ingress: false, egress: false}}`, which denies nothing. With the profile's "
    "`network.policy_engine: kubernetes`, `networking.k8s.io/v1` NetworkPolicies count instead, and they "
    "must isolate both ingress and egress (`policyTypes`, Kubernetes' defaulting); with `none` (a CNI "
    "without policies, such as flannel) the rule does not report.",
    fix="Add a CiliumNetworkPolicy (engine kubernetes: a NetworkPolicy with policyTypes [Ingress, Egress]) "
    "in the workload's namespace whose endpointSelector.matchLabels (podSelector) are a "
    "subset of the pod template labels (e.g. app.kubernetes.io/name: <app>).",
    applies=Applies.SCOPE,
)
def workload_without_network_policy(
    summaries: Sequence[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    if cluster.policy_engine == "none":
        return
    if cluster.policy_engine == "kubernetes":
        yield from netpol.uncovered(summaries)
        return
    found = coverage(summaries)
    for namespace, workloads in found.workloads.items():
        for summary in workloads:
            if any(
                not (policy.cluster_wide and _every_pod(policy.selectors[index])) and _isolates(policy, index)
                for policy, index in found.selecting.get(id(summary), [])
            ):
                continue
            labels = summary.pod_labels or {}
            shown = ", ".join(f"{key}={value}" for key, value in labels.items()) or "none"
            where = f'namespace "{namespace}"' if namespace else "the same namespace (none set)"
            count = sum(
                len(policy.selectors)
                for policy in found.policies
                if not policy.cluster_wide and policy.namespace == namespace
            )
            seen = f"; none of the {count} policy selector(s) there matches them" if count else ""
            yield (
                summary,
                Hit(
                    summary.pod_labels_path,
                    f"no CiliumNetworkPolicy in {where} selects these pods (labels: {shown}){seen}",
                ),
            )


def _isolates(policy: Summary, index: int) -> bool:
    """Whether a policy spec puts the pods it selects in default deny in some direction: one with
    `enableDefaultDeny` off both ways only adds allowances (Cilium's enableDefaultDeny)."""
    ingress = policy.ingress_deny[index] if index < len(policy.ingress_deny) else True
    egress = policy.egress[index].deny if index < len(policy.egress) else True
    return ingress or egress


class _Coverage:
    """Which policies select which workloads, by namespace (a Cilium policy selects pods of its own
    namespace; a cluster-wide one, pods of every namespace). Computed once per run for the rules below.

    Workloads are indexed by label, so that a selector with matchLabels is tried only on the pods that
    carry its first label (a repository of 1,000 apps has 1,000 policies).
    """

    def __init__(self, summaries: Sequence[Summary]) -> None:
        self.workloads: dict[str | None, list[Summary]] = {}
        self.policies: list[Summary] = []
        by_label: dict[tuple[str | None, str, str], list[Summary]] = {}
        everywhere: dict[tuple[str, str], list[Summary]] = {}
        for summary in summaries:
            if summary.kind in NETWORK_POLICY_KINDS:
                self.policies.append(summary)
            elif summary.pod_labels is not None:
                self.workloads.setdefault(summary.namespace, []).append(summary)
                for key, value in summary.pod_labels.items():
                    by_label.setdefault((summary.namespace, key, value), []).append(summary)
                    everywhere.setdefault((key, value), []).append(summary)
        # (policy index, spec index) → the workloads it selects; workload id → (policy, spec) selecting it.
        self.selected: dict[tuple[int, int], list[Summary]] = {}
        self.selecting: dict[int, list[tuple[Summary, int]]] = {}
        every: list[Summary] | None = None
        for number, policy in enumerate(self.policies):
            for index, selector in enumerate(policy.selectors):
                labels = match_labels(selector)
                first = next(((k, v) for k, v in labels.items() if k not in _SPECIAL_KEYS), None)
                if first is not None:
                    candidates = (
                        everywhere.get(first, [])
                        if policy.cluster_wide
                        else by_label.get((policy.namespace, *first), [])
                    )
                elif policy.cluster_wide:
                    if every is None:
                        every = [item for items in self.workloads.values() for item in items]
                    candidates = every
                else:
                    candidates = self.workloads.get(policy.namespace, [])
                chosen = [
                    workload
                    for workload in candidates
                    if selects(
                        selector, workload.pod_labels or {}, workload.namespace, workload.service_account
                    )
                ]
                self.selected[(number, index)] = chosen
                for workload in chosen:
                    self.selecting.setdefault(id(workload), []).append((policy, index))


_SPECIAL_KEYS = frozenset({NAMESPACE_KEY, SERVICE_ACCOUNT_KEY})
_LAST: list[tuple[Sequence[Summary], _Coverage]] = []


def coverage(summaries: Sequence[Summary]) -> _Coverage:
    """The coverage of this run's summaries (the rules of one run share it)."""
    if not _LAST or _LAST[0][0] is not summaries:
        _LAST[:] = [(summaries, _Coverage(summaries))]
    return _LAST[0][1]


@set_rule(
    id="AIA602",
    slug="egress-without-dns-rule",
    title="Pods with egress rules may resolve names, through the DNS proxy when they use toFQDNs",
    severity=Severity.ERROR,
    family="network",
    section=SECTION,
    quote="  egress:\n  - toEndpoints:",
    why="Once a policy with egress rules selects a pod, all other egress is denied, DNS included: the pod "
    "cannot resolve names unless a policy selecting it (this one, another one in its namespace or a "
    "cluster-wide one: Cilium allows the union) allows port 53 to kube-dns. toFQDNs rules only match names "
    "looked up through Cilium's DNS proxy, so a pod whose policies use toFQDNs also needs the `rules: dns:` "
    "section on that port; without toFQDNs, a plain port-53 rule is enough and is not reported. A policy "
    "with `enableDefaultDeny: {{egress: false}}` denies nothing by its egress rules and is not reported "
    "(Cilium's enableDefaultDeny, per direction). With "
    "`network.policy_engine: kubernetes`, the same for NetworkPolicies with egress rules: port 53 to the "
    "DNS namespace from it or another policy selecting the same pods.",
    fix="Add an egress rule to kube-dns: `toEndpoints: [{{matchLabels: {{k8s:io.kubernetes.pod.namespace: "
    '{kube_dns_namespace}, k8s:k8s-app: {kube_dns_app}}}}}]` with `toPorts: [{{ports: [{{port: "53", '
    'protocol: UDP}}, {{port: "53", protocol: TCP}}], rules: {{dns: [{{matchPattern: "*"}}]}}}}]`.',
    applies=Applies.SCOPE,
)
def egress_without_dns_rule(summaries: Sequence[Summary], cluster: Cluster) -> Iterator[tuple[Summary, Hit]]:
    if cluster.policy_engine == "kubernetes":
        yield from netpol.dns_gaps(summaries, cluster)
    found = coverage(summaries)

    def elsewhere(number: int, index: int, fact: str) -> bool:
        """Whether every pod the spec selects gets `fact` from some policy that selects it; for pods the
        run does not declare (a Helm chart), from a policy that selects every pod of the namespace or
        of the cluster."""
        pods = found.selected.get((number, index), [])
        if pods:
            return all(
                any(getattr(policy.egress[spec], fact) for policy, spec in found.selecting.get(id(pod), []))
                for pod in pods
            )
        owner = found.policies[number]
        return any(
            getattr(policy.egress[spec], fact)
            for policy in found.policies
            if policy.cluster_wide or policy.namespace == owner.namespace
            for spec, selector in enumerate(policy.selectors)
            if _every_pod(selector)
        )

    for number, policy in enumerate(found.policies):
        for index, egress in enumerate(policy.egress):
            if not egress.rules or not egress.deny:
                continue  # no egress rules, or `enableDefaultDeny: {egress: false}`: nothing is denied
            if not egress.dns and not elsewhere(number, index, "dns"):
                yield (
                    policy,
                    Hit(
                        egress.path,
                        f"the policy has {egress.rules} egress rule(s) but neither it nor another policy "
                        f"selecting its pods allows DNS to kube-dns ({cluster.kube_dns_namespace}, "
                        f"k8s-app={cluster.kube_dns_app}) on port 53",
                    ),
                )
            elif egress.fqdns and not egress.dns_proxy and not elsewhere(number, index, "dns_proxy"):
                yield (
                    policy,
                    Hit(
                        egress.dns_path or egress.fqdn_path,
                        "the policy uses toFQDNs, but no port-53 rule to kube-dns of the policies selecting "
                        "its pods has a `rules: dns:` section, so lookups bypass Cilium's DNS proxy and the "
                        "toFQDNs rules never match",
                    ),
                )


@set_rule(
    id="AIA607",
    slug="policy-selects-nothing",
    title="Every CiliumNetworkPolicy selects pods of its namespace",
    severity=Severity.ERROR,
    family="network",
    section=SECTION,
    quote="  endpointSelector:\n    matchLabels:\n      app.kubernetes.io/name: <app>",
    why="A policy whose endpointSelector matches none of the pods of its namespace protects nothing, "
    "usually because of a typo or another label key than the pods carry (`app.kubernetes.io/name` against "
    "`app`); the pods it was written for are then unprotected too (AIA601). Reported when the namespace has "
    "workloads in the run (policies are collected from every file read, so keep them in any tree); "
    "CiliumClusterwideNetworkPolicies are not reported: they often select pods no repository declares.",
    fix="Make the endpointSelector's matchLabels a subset of the pod template labels of the workload it "
    "protects (same keys, same values), or delete the policy.",
    applies=Applies.SCOPE,
)
def policy_selects_nothing(summaries: Sequence[Summary], cluster: Cluster) -> Iterator[tuple[Summary, Hit]]:
    del cluster
    found = coverage(summaries)
    for number, policy in enumerate(found.policies):
        pods = found.workloads.get(policy.namespace, [])
        if policy.cluster_wide or not pods:
            continue
        for index, selector in enumerate(policy.selectors):
            if found.selected.get((number, index)):
                continue
            wanted = match_labels(selector)
            hint = ""
            for pod in pods:
                labels = pod.pod_labels or {}
                same_value = [
                    f"{key}={labels[key]}"
                    for value in wanted.values()
                    for key in labels
                    if labels[key] == value and key not in wanted
                ]
                if same_value:
                    hint = f"; {pod.ref} has {', '.join(same_value)}: another label key?"
                    break
            shown = ", ".join(f"{key}={value}" for key, value in wanted.items()) or "its expressions"
            count = len(pods)
            yield (
                policy,
                Hit(
                    policy.selector_paths[index],
                    f"endpointSelector {shown} matches none of the {count} workload(s) in namespace "
                    f'"{policy.namespace}"{hint}',
                ),
            )


def _targets(cluster: Cluster) -> list[tuple[dict[str, str], str, str]]:
    """(pod labels, namespace, description) of the shared services apps talk to, and kube-dns."""
    return [
        *((labels, namespace, name) for name, namespace, labels in services(cluster)),
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
    applies=Applies.SCOPE,
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
                        for wanted, namespace, what in targets:
                            if any(labels.get(key) != value for key, value in wanted.items()):
                                continue
                            shown = ", ".join(f"{key}={value}" for key, value in wanted.items())
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
    id="AIA608",
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
    kinds=sorted(NETWORK_POLICY_KINDS | {netpol.KIND}),
)
def shared_service_pod_port(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    if obj.kind == netpol.KIND:
        if cluster.policy_engine == "kubernetes" and obj.api_version.startswith(netpol.API_GROUP):
            yield from netpol.shared_service_egress(obj, cluster)
        return
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


def _peer(selector: Any, obj: K8sObject, cluster: Cluster) -> str:
    """Who an ingress fromEndpoints selector admits: gateway, litellm, monitoring, own namespace, other."""
    namespaces = peer_namespaces(selector, obj)
    gateways = {gateway[0] for gateway in cluster.all_gateways}
    if namespaces is not None and (not namespaces or set(namespaces) <= gateways):
        return "gateway" if namespaces else "nobody"  # nobody: the namespace conditions exclude each other
    if namespaces is not None and len(namespaces) > 1:
        return f"namespaces {_describe(namespaces)}"
    namespace = namespaces[0] if namespaces is not None else None
    litellm = dict(cluster.litellm_selector)
    if (
        litellm
        and namespace == cluster.litellm_namespace
        and selects(selector, litellm, namespace, "default")
    ):
        return "litellm"
    if cluster.monitoring_namespace and namespace == cluster.monitoring_namespace:
        return "monitoring"
    if namespace is not None and namespace == obj.namespace:
        return "own"
    if namespace:
        return f'namespace "{namespace}"'
    labelled = any(key.startswith(NAMESPACE_LABELS_PREFIX) for key in match_labels(selector))
    return "pods of the namespaces with these labels" if labelled else "pods of every namespace"


def _ingress(obj: K8sObject, cluster: Cluster) -> Iterator[tuple[str, Hit]]:
    """(verdict, hit) of each ingress peer of a policy that is not the gateway: "other" (AIA604), "own"
    namespace (AIA605) or "node" entities (AIA606). LiteLLM and the monitoring namespace are admitted."""
    for base, spec in policy_specs(obj):
        for index, rule in enumerate(sequence(spec.get("ingress"))):
            if not isinstance(rule, dict):
                continue
            path = (*base, "ingress", index)
            others = [key for key in rule if str(key).startswith("from") and key != "fromEndpoints"]
            for key in others:
                if key != "fromEntities":
                    yield (
                        "other",
                        Hit(
                            (*path, key),
                            f"ingress {key} [{_describe(rule[key])}]: only the gateway may reach apps",
                        ),
                    )
                    continue
                entities = [str(entity) for entity in sequence(rule[key])]
                nodes = [entity for entity in entities if entity in NODE_ENTITIES]
                rest = [e for e in entities if e not in NODE_ENTITIES and e not in cluster.gateway_entities]
                if nodes:
                    yield (
                        "node",
                        Hit(
                            (*path, key),
                            f"ingress fromEntities [{', '.join(nodes)}]: the nodes may reach the app (the "
                            "kubelet's health checks)"
                            + (
                                ", and so may every host-network pod of the other nodes"
                                if "remote-node" in nodes
                                else ""
                            ),
                        ),
                    )
                if rest:
                    yield (
                        "other",
                        Hit(
                            (*path, key),
                            f"ingress fromEntities [{_describe(rest)}]: only the gateway may reach apps",
                        ),
                    )
            endpoints = rule.get("fromEndpoints")
            if endpoints is None:
                if not others:
                    yield "other", Hit(path, "ingress rule has no from* peer, so it allows every source")
                continue
            for position, selector in enumerate(sequence(endpoints)):
                if any(unknown_key(str(key)) for key in mapping(mapping(selector).get("matchLabels"))):
                    continue  # a key Cilium never sets: the peer admits nobody (AIA610 says so)
                peer = _peer(selector, obj, cluster)
                where = (*path, "fromEndpoints", position)
                if peer == "own" and LWS_NAME_LABEL in match_labels(selector):
                    continue  # the ranks of a LeaderWorkerSet reach each other (AIA605's why)
                if peer == "own":
                    shown = ", ".join(
                        f"{key}={value}"
                        for key, value in match_labels(selector).items()
                        if key != NAMESPACE_KEY
                    )
                    yield (
                        "own",
                        Hit(
                            where,
                            f'ingress from pods of its own namespace "{obj.namespace}" '
                            f"({shown or 'every pod there'})",
                        ),
                    )
                elif peer == "monitoring" and not sequence(rule.get("toPorts")):
                    yield (
                        "other",
                        Hit(
                            where,
                            f'ingress from the monitoring namespace "{cluster.monitoring_namespace}" on '
                            "every port; Prometheus needs only the metrics port (name it in toPorts)",
                        ),
                    )
                elif peer not in ("gateway", "litellm", "monitoring", "nobody"):
                    yield (
                        "other",
                        Hit(
                            where,
                            f"ingress fromEndpoints selects {peer}; only the gateway namespace "
                            f"({cluster.values()['gateway_namespaces']}) may reach apps",
                        ),
                    )


_PEERS_SECTION = SECTION
_PEERS_QUOTE = (
    "  ingress:\n  - fromEndpoints:\n    - matchLabels:\n        k8s:io.kubernetes.pod.namespace: gateway"
)


@object_rule(
    id="AIA604",
    slug="ingress-not-from-gateway",
    title="Ingress only from the gateway namespaces ({gateway_namespaces})",
    severity=Severity.ERROR,
    family="network",
    section=_PEERS_SECTION,
    quote=_PEERS_QUOTE,
    why="Apps are reached through the gateway only; any other ingress peer (another namespace, an "
    "entity such as world or cluster, a CIDR, or a rule without a peer, which allows every source) opens "
    "the app beyond it. Admitted besides the namespaces of the profile's Gateways ({gateway_namespaces}): "
    "the gateway's own entities "
    "({gateway_entities}: Cilium's Gateway API Envoy); LiteLLM's pods (namespace {litellm_namespace}, "
    "{litellm_selector}), which call the model servers registered with it; and the monitoring namespace of "
    "the cluster facts ({monitoring_namespace}), when Prometheus scrapes apps, on the ports a rule names "
    "(the metrics port), never every port. Pods of the app's own namespace and the node entities "
    "are reported separately, as notes (AIA605, AIA606). The shared services' own policies are not apps' "
    "policies: every app namespace calls them. With `network.policy_engine: kubernetes` the same holds for "
    "NetworkPolicy `from` peers (a rule without `from`, an ipBlock, or a namespaceSelector of other or all "
    "namespaces).",
    fix="Allow ingress only `fromEndpoints: [{{matchLabels: {{k8s:io.kubernetes.pod.namespace: "
    '"{gateway_namespace}"}}}}]` (and `fromEntities: [{gateway_entities}]`); with NetworkPolicies, '
    "`from: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {gateway_namespace}}}}}}}]`; "
    "remove other peers.",
    kinds=sorted(NETWORK_POLICY_KINDS | {netpol.KIND}),
)
def ingress_not_from_gateway(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    if obj.kind == netpol.KIND:
        if cluster.policy_engine == "kubernetes" and obj.api_version.startswith(netpol.API_GROUP):
            yield from netpol.ingress_peers(obj, cluster)
        return
    yield from (hit for verdict, hit in _ingress(obj, cluster) if verdict == "other")


@object_rule(
    id="AIA605",
    slug="ingress-from-own-namespace",
    title="Ingress from pods of the app's own namespace is a deliberate choice",
    severity=Severity.INFO,
    family="network",
    section=_PEERS_SECTION,
    quote=_PEERS_QUOTE,
    why="The parts of an app (an API and its worker, a web front end and its backend) often talk to each "
    "other inside their namespace; that is not ingress from outside the gateway, but it is wider than the "
    "gateway alone, so it is shown as a note for the reviewer (never a failure). A selector of a "
    "CiliumNetworkPolicy that names neither `k8s:io.kubernetes.pod.namespace` (in matchLabels or "
    "matchExpressions) nor a key on the namespace's labels (`io.cilium.k8s.namespace.labels.*`) selects pods "
    "of the policy's own namespace (Cilium adds it; `...namespace.labels.kubernetes.io/metadata.name` is the "
    "namespace's name). Not shown: a peer selecting the pods of a LeaderWorkerSet by "
    "`leaderworkerset.sigs.k8s.io/name`, the other ranks of a multi-node model server, which must reach "
    "each other.",
    fix="Nothing to do when the peers are the app's own parts; prefer selecting them by label "
    "(`matchLabels: {{app.kubernetes.io/name: <peer>}}`) over every pod of the namespace (`{{}}`).",
    kinds=sorted(NETWORK_POLICY_KINDS),
)
def ingress_from_own_namespace(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    yield from (hit for verdict, hit in _ingress(obj, cluster) if verdict == "own")


@object_rule(
    id="AIA606",
    slug="ingress-from-node-entities",
    title="Ingress from the node entities (kubelet health checks) is a deliberate choice",
    severity=Severity.INFO,
    family="network",
    section=_PEERS_SECTION,
    quote=_PEERS_QUOTE,
    why="The kubelet's HTTP and TCP probes come from the node the pod runs on, Cilium's `host` entity "
    "(cilium/cilium#48444); some setups need `remote-node` too. Depending on Cilium's `allow-localhost` "
    "setting such a rule is needed for probes to pass once a policy selects the pod (cilium/cilium#18183), "
    "so it is not an error; `remote-node` also admits every host-network pod of the other nodes, so it is "
    "shown as a note for the reviewer.",
    fix="Keep `host` for the kubelet's probes; drop `remote-node` unless the cluster's probes need it, and "
    "limit the rule to the probe port (`toPorts`).",
    kinds=sorted(NETWORK_POLICY_KINDS),
)
def ingress_from_node_entities(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    yield from (hit for verdict, hit in _ingress(obj, cluster) if verdict == "node")
