"""Fix texts and messages name the facts of the profile a finding was checked against, never the
defaults (issue 18: AIA902 suggested `gateway/gateway`, AIA804 `ai`/`app.kubernetes.io/name=litellm`, on
a cluster whose profile says otherwise)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from generator.cluster import facts
from generator.cluster.facts import Cluster, cluster
from generator.cluster.profile import Profile, merge
from generator.policy import Options, check_paths
from generator.policy.registry import Rule, rules
from generator.policy.report.sarif import render

OTHER = {
    "litellm": {
        "namespace": "llm-gw",
        "service": "llm-proxy",
        "port": 8080,
        "target_port": 4001,
        "selector": {"app": "llm-proxy"},
    },
    "qdrant": {
        "namespace": "vectors",
        "service": "vectordb",
        "port": 6400,
        "target_port": 6401,
        "selector": {"app": "vectordb"},
    },
    "gpu": {
        "resource": "amd.com/gpu",
        "node_selector": {"accel": "mi300"},
        "tolerations": [{"key": "accel", "operator": "Exists", "effect": "NoSchedule"}],
    },
    "gateway": {
        "namespace": "edge",
        "name": "web",
        "section": "websecure",
        "entities": ["world-ingress"],
        "domain": "lab.internal",
    },
    "storage_class": "ceph-block",
    "secret_store": {"kind": "SecretStore", "name": "vault-kv"},
    "backup": {"tiers": {"critical": "keep-forever", "cache": "scratch"}, "velero_namespace": "backups"},
}
# Default facts that only these keys carry: a rule's text that shows one under OTHER leaks a default.
# (Generic words such as "gateway" or "ai" are checked as whole values inside markup, below.)
LEAKS = (
    "litellm.ai.svc",
    "qdrant.ai.svc",
    "app.kubernetes.io/name=litellm",
    "app.kubernetes.io/name=qdrant",
    "app.kubernetes.io/name: litellm",
    "app.kubernetes.io/name: qdrant",
    "nvidia.com/gpu",
    "gpu-node",
    "proxmox-csi",
    "bitwarden-backend",
    "gateway/gateway",
    "GFS",
    "Daily",
    "4000",
    "6333",
)
_NAMESPACE_VALUE = re.compile(r"(?:pod\.namespace|metadata\.name|namespace):\s*\"?(gateway|ai)\b")


@pytest.fixture(scope="module")
def other() -> Cluster:
    return cluster(Profile(merge(OTHER)))


@pytest.mark.parametrize("item", rules(), ids=lambda item: item.id)
def test_every_fix_is_written_with_the_profiles_facts(item: Rule, other: Cluster) -> None:
    text = item.fix_for(other)
    leaked = [fact for fact in LEAKS if fact in text]
    assert not leaked, f"{item.id} fix shows default facts {leaked}: {text}"
    assert not _NAMESPACE_VALUE.search(text), f"{item.id} fix shows a default namespace: {text}"


PROFILE = """\
cluster:
  litellm: {namespace: llm-gw, service: llm-proxy, selector: {app: llm-proxy}}
  gateway:
    gateways:
      - {namespace: edge, name: web, section: websecure}
"""
ROUTES = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: chat, namespace: apps}
spec:
  parentRefs: [{name: gateway, namespace: gateway, sectionName: https}]
  rules: [{backendRefs: [{name: chat, port: 80}]}]
---
# The gateway's own HTTP-to-HTTPS redirect, on the plain-HTTP listener.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: https-redirect, namespace: edge}
spec:
  parentRefs: [{name: web, sectionName: http}]
  rules: [{filters: [{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}]}]
---
# LiteLLM's own route, on another Gateway its team runs.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm-proxy, namespace: llm-gw}
spec:
  parentRefs: [{name: internal, namespace: edge}]
  rules: [{backendRefs: [{name: llm-proxy, port: 4000}]}]
"""
MODEL_SERVER = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: vllm, namespace: models}
spec:
  selector: {matchLabels: {app: vllm}}
  template:
    metadata: {labels: {app: vllm}}
    spec:
      containers:
        - {name: vllm, image: "vllm/vllm-openai:v0.10.1.1", args: [--max-model-len, "8192"]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: vllm, namespace: models}
spec:
  endpointSelector: {matchLabels: {app: vllm}}
  ingress: [{fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: edge}}]}]
"""


def test_findings_and_the_sarif_rule_table_use_the_repositorys_profile(tmp_path: Path) -> None:
    (tmp_path / ".aiapp.yml").write_text(PROFILE, encoding="utf-8")
    (tmp_path / "routes.yaml").write_text(ROUTES, encoding="utf-8")
    (tmp_path / "vllm.yaml").write_text(MODEL_SERVER, encoding="utf-8")
    facts.forget_profiles()
    report = check_paths([str(tmp_path)], Options(jobs=1))
    routes = [item for item in report.findings if item.rule_id == "AIA902"]
    # Only the app's route: the redirect in the gateway namespace and LiteLLM's route are skipped.
    assert [item.object for item in routes] == ["HTTPRoute/apps/chat"]
    assert routes[0].message == "parentRef names Gateway gateway/gateway; the cluster's gateway is edge/web"
    assert "namespace: edge, name: web, sectionName: websecure" in routes[0].fix
    (server,) = [item for item in report.findings if item.rule_id == "AIA804"]
    assert '"llm-gw", <its pod labels: app=llm-proxy>' in server.fix
    sarif = json.loads(render(report))
    table = {item["id"]: item for item in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "llm-gw" in table["AIA804"]["help"]["text"]
    assert "app.kubernetes.io/name=litellm" not in json.dumps(table)
    assert "edge/web" in table["AIA902"]["fullDescription"]["text"]
