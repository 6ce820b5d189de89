"""The rules of issue 18 about who reaches whom (AIA303, AIA609, AIA805, AIA911, AIA015): the cases the
bad/good fixtures do not show, each with its evidence threshold or engine (tests/policy/fixtures has
one bad and one clean example per rule)."""

from __future__ import annotations

from pathlib import Path

from generator.cluster import facts
from generator.policy import Options, check_paths
from generator.policy.exceptions import documented_exceptions

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: rag, namespace: ai}
spec:
  selector: {matchLabels: {app: rag}}
  template:
    metadata: {labels: {app: rag}}
    spec:
      containers: [{name: rag, image: "ghcr.io/example/rag:1.0"}]
"""


def findings(root: Path, rule: str, profile: str = "", build: bool = False) -> list[tuple[str, str]]:
    """(file name, message) of the rule's findings on the tree, checked with its own profile."""
    (root / ".aiapp.yml").write_text(f"cluster:\n{profile}" if profile else "cluster: {}\n")
    facts.forget_profiles()
    report = check_paths([str(root)], Options(build=build, jobs=1))
    return [(Path(item.file).name, item.message) for item in report.findings if item.rule_id == rule]


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


NETPOL_TO_LITELLM = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: rag, namespace: ai}
spec:
  podSelector: {matchLabels: {app: rag}}
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ai}}
          podSelector: {matchLabels: {app.kubernetes.io/name: litellm}}
      ports: [{port: 4000}]
"""


def test_networkpolicy_egress_is_compared_with_the_profiles_litellm_labels(tmp_path: Path) -> None:
    write(tmp_path, "app.yaml", APP + "---\n" + NETPOL_TO_LITELLM)
    engine = "  network: {policy_engine: kubernetes}\n"
    wrong = findings(tmp_path, "AIA609", engine + "  litellm: {selector: {app: litellm}}\n")
    assert [file for file, _ in wrong] == ["app.yaml"]
    assert "the profile says its pods carry app=litellm" in wrong[0][1]
    assert findings(tmp_path, "AIA609", engine) == []  # the default profile's labels: it matches
    # Under Cilium, a NetworkPolicy is not the engine's: not judged.
    assert findings(tmp_path, "AIA609", "  litellm: {selector: {app: litellm}}\n") == []


def test_the_services_workload_in_the_repository_wins_over_the_profile(tmp_path: Path) -> None:
    litellm = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: litellm, namespace: ai}
spec:
  selector: {matchLabels: {app: litellm}}
  template:
    metadata: {labels: {app: litellm}}
    spec:
      containers: [{name: litellm, image: "ghcr.io/berriai/litellm:v1.74.0"}]
"""
    write(tmp_path, "app.yaml", APP + "---\n" + NETPOL_TO_LITELLM + "---\n" + litellm)
    found = findings(tmp_path, "AIA609", "  network: {policy_engine: kubernetes}\n")
    assert len(found) == 1 and "Deployment/ai/litellm has app=litellm" in found[0][1]


ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: rag, namespace: %s}
spec:
  parentRefs: [{name: gateway, namespace: gateway, sectionName: https}]
  rules:
    - backendRefs: [{name: rag-api, port: 8000}]
"""


def test_a_backend_is_judged_only_where_the_repository_deploys(tmp_path: Path) -> None:
    service = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: rag, namespace: ai}\nspec: {selector: {app: rag}}\n"
    )
    write(tmp_path, "route.yaml", ROUTE % "web")  # nothing else in namespace web: no evidence
    assert findings(tmp_path, "AIA911") == []
    write(tmp_path, "route.yaml", ROUTE % "ai")
    write(tmp_path, "service.yaml", service)
    assert [file for file, _ in findings(tmp_path, "AIA911")] == ["route.yaml"]
    release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
    release += "metadata: {name: rag, namespace: flux-system}\nspec: {targetNamespace: ai}\n"
    write(tmp_path, "release.yaml", release)  # a chart rendered into namespace ai: its Services unknown
    assert findings(tmp_path, "AIA911") == []


def test_a_backend_named_after_an_operators_resource_is_the_operators_service(tmp_path: Path) -> None:
    write(
        tmp_path,
        "app.yaml",
        APP + "---\napiVersion: v1\nkind: Service\nmetadata: {name: rag, namespace: ai}\n",
    )
    route = (ROUTE % "ai").replace("rag-api", "pg-rw")
    write(tmp_path, "route.yaml", route)
    assert len(findings(tmp_path, "AIA911")) == 1
    write(
        tmp_path,
        "pg.yaml",
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: pg, namespace: ai}\n",
    )
    assert findings(tmp_path, "AIA911") == []  # CloudNativePG names its Services pg-rw, pg-ro, pg-r


def test_an_ingress_backend_counts_like_a_route(tmp_path: Path) -> None:
    ingress = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: rag, namespace: ai}
spec:
  ingressClassName: traefik
  defaultBackend: {service: {name: rag-web, port: {number: 80}}}
"""
    write(tmp_path, "app.yaml", APP)
    write(tmp_path, "ingress.yaml", ingress)
    found = findings(tmp_path, "AIA911")
    assert found == [
        (
            "ingress.yaml",
            'Ingress sends traffic to Service "rag-web", which no build deploys in namespace "ai" '
            "(it has 0 other Service(s))",
        )
    ]


VLLM = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm, namespace: ai}
spec:
  selector: {matchLabels: {app: llm}}
  template:
    metadata: {labels: {app: llm}}
    spec:
      containers:
        - name: llm
          image: vllm/vllm-openai:v0.10.1.1
          args: ["--model", "/models", "--max-model-len", "8192"%s]
---
apiVersion: v1
kind: Service
metadata: {name: llm, namespace: ai}
spec: {selector: {app: llm}, ports: [{name: http, port: 8000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm, namespace: ai}
spec:
  parentRefs: [{name: gateway, namespace: gateway, sectionName: https}]
  rules:
    - backendRefs: [{name: llm, port: 8000}]
"""
POLICY = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: llm, namespace: ai}
spec:
  endpointSelector: {matchLabels: {app: llm}}
  ingress:
    - fromEndpoints: [{matchLabels: {%s}}]
"""


def test_a_route_to_vllm_is_fine_with_an_api_key_and_moot_when_policies_keep_the_gateway_out(
    tmp_path: Path,
) -> None:
    write(tmp_path, "llm.yaml", VLLM % "")
    assert [file for file, _ in findings(tmp_path, "AIA805")] == ["llm.yaml"]  # no policy: open
    write(tmp_path, "llm.yaml", VLLM % ', "--api-key", "$(VLLM_KEY)"')
    assert findings(tmp_path, "AIA805") == []
    write(tmp_path, "llm.yaml", VLLM % "")
    litellm = "k8s:io.kubernetes.pod.namespace: ai, app.kubernetes.io/name: litellm"
    write(tmp_path, "policy.yaml", POLICY % litellm)  # only LiteLLM: the route reaches nothing
    assert findings(tmp_path, "AIA805") == []
    write(tmp_path, "policy.yaml", POLICY % "k8s:io.kubernetes.pod.namespace: gateway")
    assert [file for file, _ in findings(tmp_path, "AIA805")] == ["llm.yaml"]


AGENTS = """\
# rag

## Exceptions to the patterns
- **HTTPS egress to any public address** (port 443, every IPv4 address outside 10.0.0.0/8, 172.16.0.0/12
  and 192.168.0.0/16), for the whole pod: a Kubernetes NetworkPolicy has no FQDN rules.
"""
EGRESS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: rag, namespace: ai}
spec:
  podSelector: {matchLabels: {app: rag}}
  policyTypes: [Egress]
  egress:
    - to: [{ipBlock: {cidr: %s}}]
      ports: [{port: 443, protocol: TCP}]
"""


def test_the_documented_public_https_exception_covers_public_addresses_only(tmp_path: Path) -> None:
    engine = "  network: {policy_engine: kubernetes}\n"
    write(tmp_path, "rag/app.yaml", APP + "---\n" + EGRESS % "0.0.0.0/0")
    assert len(findings(tmp_path, "AIA303", engine)) == 1
    write(tmp_path, "rag/AGENTS.md", AGENTS)
    documented_exceptions.cache_clear()  # read once per directory and run
    assert findings(tmp_path, "AIA303", engine) == []
    write(tmp_path, "rag/app.yaml", APP + "---\n" + EGRESS % "172.16.0.0/12")
    assert "a whole private network" in findings(tmp_path, "AIA303", engine)[0][1]
    write(tmp_path, "rag/app.yaml", APP + "---\n" + EGRESS % "172.16.4.0/24")
    assert findings(tmp_path, "AIA303", engine) == []


def test_cluster_objects_are_judged_in_builds_only(tmp_path: Path) -> None:
    fixture = Path(__file__).resolve().parent / "fixtures" / "bad" / "AIA015-cluster-policy-in-app-build"
    facts.forget_profiles()
    built = check_paths([str(fixture)], Options(build=True, jobs=1))
    as_written = check_paths([str(fixture)], Options(build=False, jobs=1))
    assert [item.rule_id for item in built.findings] == ["AIA015"]
    assert [item.rule_id for item in as_written.findings if item.rule_id == "AIA015"] == []
