"""AIA601 follows the profile's `network.policy_engine` (issue 17): Cilium policies, Kubernetes
NetworkPolicies with their `policyTypes` semantics, or no policy engine at all (flannel)."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cluster import facts
from generator.policy import Options, check_paths

WORKLOADS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: chat, namespace: chat}
spec:
  selector: {matchLabels: {app: chat}}
  template:
    metadata: {labels: {app: chat}}
    spec:
      containers: [{name: chat, image: "ghcr.io/example/chat:1.0"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: notes, namespace: notes}
spec:
  selector: {matchLabels: {app: notes}}
  template:
    metadata: {labels: {app: notes}}
    spec:
      containers: [{name: notes, image: "ghcr.io/example/notes:1.0"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: wiki, namespace: wiki}
spec:
  selector: {matchLabels: {app: wiki}}
  template:
    metadata: {labels: {app: wiki}}
    spec:
      containers: [{name: wiki, image: "ghcr.io/example/wiki:1.0"}]
"""

# chat: isolated both ways by one policy (egress rules make Egress a policy type by default);
# notes: only ingress (policyTypes unset, no egress rules); wiki: nothing.
POLICIES = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: chat, namespace: chat}
spec:
  podSelector: {matchLabels: {app: chat}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
  egress:
    - ports: [{port: 53, protocol: UDP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: notes, namespace: notes}
spec:
  podSelector: {}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
"""


def aia601(tmp_path: Path, engine: str) -> list[tuple[str, str]]:
    (tmp_path / ".aiapp.yml").write_text(f"cluster:\n  network: {{policy_engine: {engine}}}\n")
    (tmp_path / "apps.yaml").write_text(WORKLOADS)
    (tmp_path / "policies.yaml").write_text(POLICIES)
    facts.forget_profiles()
    report = check_paths([str(tmp_path)], Options(build=False, jobs=1))
    return sorted((f.object, f.message) for f in report.findings if f.rule_id == "AIA601")


def test_kubernetes_engine_reads_network_policies_and_their_policy_types(tmp_path: Path) -> None:
    assert aia601(tmp_path, "kubernetes") == [
        (
            "Deployment/notes/notes",
            'the NetworkPolicies in namespace "notes" that select these pods (labels: app=notes) do not '
            "isolate egress (policyTypes), so it is open",
        ),
        (
            "Deployment/wiki/wiki",
            'no NetworkPolicy in namespace "wiki" selects these pods (labels: app=wiki)',
        ),
    ]


def test_cilium_engine_does_not_count_network_policies(tmp_path: Path) -> None:
    assert [name for name, _ in aia601(tmp_path, "cilium")] == [
        "Deployment/chat/chat",
        "Deployment/notes/notes",
        "Deployment/wiki/wiki",
    ]


@pytest.mark.parametrize("engine", ["none"])
def test_no_policy_engine_asks_for_no_policy(tmp_path: Path, engine: str) -> None:
    assert aia601(tmp_path, engine) == []


APP_POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: chat, namespace: chat}
spec:
  podSelector: {matchLabels: {app: chat}}
  policyTypes: [Ingress, Egress]
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: gateway}}}]
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: default}}}]
    - ports: [{port: 8080}]
  egress:
    - to:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ai}}
          podSelector: {matchLabels: {app.kubernetes.io/name: litellm}}
      ports: [{port: 80}]
"""

ALLOW_DNS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: chat}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
      ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
"""


def network_findings(tmp_path: Path, policies: str) -> list[tuple[str, str]]:
    (tmp_path / ".aiapp.yml").write_text("cluster:\n  network: {policy_engine: kubernetes}\n")
    (tmp_path / "apps.yaml").write_text(WORKLOADS.split("---")[0])
    (tmp_path / "policies.yaml").write_text(policies)
    facts.forget_profiles()
    report = check_paths([str(tmp_path)], Options(build=False, jobs=1))
    return sorted((f.rule_id, f.field) for f in report.findings if f.rule_id.startswith("AIA6"))


def test_network_policy_peers_ports_and_dns_follow_kubernetes_semantics(tmp_path: Path) -> None:
    assert network_findings(tmp_path, APP_POLICY) == [
        ("AIA602", "spec.egress"),  # egress rules, and no policy selecting the pods allows DNS
        ("AIA604", "spec.ingress[1].from[0]"),  # another namespace
        ("AIA604", "spec.ingress[2]"),  # no `from`: every source
        ("AIA608", "spec.egress[0].ports"),  # LiteLLM's Service port, not its pods' 4000
    ]
    # A namespace-wide DNS allowance adds up with the app's policy.
    assert ("AIA602", "spec.egress") not in network_findings(tmp_path, APP_POLICY + "---\n" + ALLOW_DNS)
