"""`aiapp new` renders each cluster mechanism of the profile (issue 17; docs/cluster.md).

Three profiles under tests/cluster/, shaped like the clusters of the issue, cover every new mechanism value:
origin-schedules (Velero Schedules per app, two Gateways, two storage classes, two secret stores),
k3s-traefik (file-system backup opted in per pod, no policy engine, Traefik Ingress, untainted GPU nodes),
talos-envoy (no backup system, Kubernetes NetworkPolicy, two Envoy Gateways). Every preset renders with
`aiapp new` under each, builds with kustomize, validates strictly and carries its mechanism object by object.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cluster import facts as cluster_facts
from generator.policy import Options, check_paths
from generator.template.presets import load_preset
from generator.template.schemas import SchemaValidator
from tests.conftest import PRESETS, ROOT, render
from tests.test_cluster_profile import aiapp
from tests.test_render_presets import kustomize_build
from tests.upgrade.scaffold import commit, gitops_repo, status, template_repo

HERE = Path(__file__).resolve().parent / "cluster"
PROFILES = ["origin-schedules", "k3s-traefik", "talos-envoy"]
TIER = "backup.velero.io/backup-tier"
INCLUDE = "backup.velero.io/backup-volumes"
EXCLUDE = "backup.velero.io/backup-volumes-excludes"


def profile(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((HERE / f"{name}.aiapp.yml").read_text(encoding="utf-8"))["cluster"]
    return data


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, str], Path]]:
    """`made(profile, preset)` → the app `aiapp new` writes in a repository with that profile (once each)."""
    cache: dict[tuple[str, str], Path] = {}
    base = tmp_path_factory.mktemp("mechanisms")

    def get(name: str, preset: str) -> Path:
        if (name, preset) not in cache:
            gitops = base / name
            gitops.mkdir(exist_ok=True)
            shutil.copy(HERE / f"{name}.aiapp.yml", gitops / ".aiapp.yml")
            cluster_facts.forget_profiles()
            dest = gitops / "apps" / preset
            result = aiapp("new", "--preset", preset, "--template", str(ROOT), "--vcs-ref", "HEAD", str(dest))
            assert result.exit_code == 0, result.stdout + result.stderr
            cache[(name, preset)] = dest
        return cache[(name, preset)]

    yield get
    shutil.rmtree(base, ignore_errors=True)


def by_kind(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        kinds.setdefault(str(obj["kind"]), []).append(obj)
    return kinds


def pod_volumes(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {volume["name"]: volume for volume in deployment["spec"]["template"]["spec"].get("volumes", [])}


def pvc_volumes(deployment: dict[str, Any]) -> list[str]:
    volumes = pod_volumes(deployment)
    return sorted(name for name, volume in volumes.items() if "persistentVolumeClaim" in volume)


def assert_no_tier_labels(kinds: dict[str, list[dict[str, Any]]]) -> None:
    [deployment] = kinds["Deployment"]
    assert TIER not in deployment["spec"]["template"]["metadata"]["labels"]
    for claim in kinds.get("PersistentVolumeClaim", []):
        assert TIER not in claim["metadata"]["labels"], claim["metadata"]["name"]


def assert_schedules(kinds: dict[str, list[dict[str, Any]]], answers: dict[str, Any]) -> None:
    """One Velero Schedule set per app with data: GFS for critical data, a short daily one for caches."""
    [deployment] = kinds["Deployment"]
    app, namespace = deployment["metadata"]["name"], deployment["metadata"]["namespace"]
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    assert_no_tier_labels(kinds)
    claims = pvc_volumes(deployment)
    schedules = {obj["metadata"]["name"]: obj for obj in kinds.get("Schedule", [])}
    if not claims:
        assert schedules == {} and INCLUDE not in annotations, "no data of its own: no Schedule"
        return
    critical = answers.get("model_backup_tier", "GFS") == "GFS" and answers.get("serves_model", True)
    expected = {"daily": "168h0m0s", "weekly": "840h0m0s", "monthly": "8760h0m0s"} if critical else {
        "daily": "72h0m0s"}
    assert {name: obj["spec"]["template"]["ttl"] for name, obj in schedules.items()} == {
        f"{app}-{suffix}": ttl for suffix, ttl in expected.items()}
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    for schedule in schedules.values():
        assert schedule["apiVersion"] == "velero.io/v1" and schedule["metadata"]["namespace"] == "velero"
        template = schedule["spec"]["template"]
        assert template["includedNamespaces"] == [namespace]
        selector = template["labelSelector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        for claim in kinds["PersistentVolumeClaim"]:
            assert selector.items() <= claim["metadata"]["labels"].items(), "the Schedule selects the PVC"
        assert template["defaultVolumesToFsBackup"] is False and template["snapshotVolumes"] is False
    # Opt-in file-system backup (the profile): the pod names its data volumes, never the scratch space.
    assert EXCLUDE not in annotations
    named = annotations[INCLUDE].split(",")
    assert named and set(named) <= set(claims) and not {"tmp", "dshm"} & set(named)
    # Every other object stays in the app's namespace (the kustomization's namespace transformer).
    for kind, objects in kinds.items():
        if kind != "Schedule":
            assert all(obj["metadata"]["namespace"] == namespace for obj in objects), kind


def assert_pod_annotation(kinds: dict[str, list[dict[str, Any]]]) -> None:
    [deployment] = kinds["Deployment"]
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    assert_no_tier_labels(kinds)
    assert "Schedule" not in kinds and EXCLUDE not in annotations
    claims = pvc_volumes(deployment)
    if claims:
        assert set(annotations[INCLUDE].split(",")) <= set(claims)
    else:
        assert INCLUDE not in annotations


def assert_ingress(kinds: dict[str, list[dict[str, Any]]], answers: dict[str, Any], domain: str) -> None:
    assert "HTTPRoute" not in kinds
    if not answers.get("gateway_ingress", True):
        assert "Ingress" not in kinds
        return
    [ingress] = kinds["Ingress"]
    [service] = kinds["Service"]
    app = ingress["metadata"]["name"]
    assert ingress["spec"]["ingressClassName"] == "traefik"
    annotations = ingress["metadata"]["annotations"]
    assert annotations["traefik.ingress.kubernetes.io/router.entrypoints"] == "websecure"
    hosts = answers.get("hostnames", [f"{app}.{domain}"])
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == hosts
    assert ingress["spec"]["tls"] == [{"hosts": hosts}]
    vllm = answers.get("serving_engine", "vllm" if answers.get("gpu") else "custom") == "vllm"
    for rule in ingress["spec"]["rules"]:
        [path] = rule["http"]["paths"]
        assert path["pathType"] == "Prefix"
        assert path["path"] == ("/v1" if vllm and answers.get("serves_model", True) else "/")
        backend = path["backend"]["service"]
        assert backend["name"] == service["metadata"]["name"]
        assert backend["port"]["number"] in [port["port"] for port in service["spec"]["ports"]]


def peer(namespace: str, pods: dict[str, str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
    if pods is not None:
        entry["podSelector"] = {"matchLabels": pods}
    return entry


def assert_network_policy(kinds: dict[str, list[dict[str, Any]]], answers: dict[str, Any]) -> None:
    """The CiliumNetworkPolicy's intent in networking.k8s.io/v1 terms."""
    assert "CiliumNetworkPolicy" not in kinds
    [policy] = kinds["NetworkPolicy"]
    [deployment] = kinds["Deployment"]
    spec = policy["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items()
    port = answers.get("container_port", 8000)
    ingress = [(rule["from"], rule["ports"]) for rule in spec["ingress"]]
    if answers.get("gateway_ingress", True):
        assert ([peer("network")], [{"port": port, "protocol": "TCP"}]) in ingress
    litellm = {"app.kubernetes.io/name": "litellm"}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    if container.get("command") == ["vllm", "serve"]:  # an OpenAI-compatible server: LiteLLM consumes it
        assert ([peer("ai", litellm)], [{"port": port, "protocol": "TCP"}]) in ingress
    else:  # an app, even one that loads a model in-process, is no LiteLLM backend
        assert all(peer("ai", litellm) not in peers for peers, _ in ingress)
    egress = [(rule["to"], rule["ports"]) for rule in spec["egress"]]
    dns = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert egress[0] == ([peer("kube-system", {"k8s-app": "kube-dns"})], dns)
    if answers.get("llm_providers"):
        assert ([peer("ai", litellm)], [{"port": 4000, "protocol": "TCP"}]) in egress
    if answers.get("vector_db") == "qdrant":
        qdrant = {"app.kubernetes.io/name": "qdrant"}
        assert ([peer("ai", qdrant)], [{"port": 6333, "protocol": "TCP"}]) in egress
    https = [rule for rule in spec["egress"] if any("ipBlock" in entry for entry in rule["to"])]
    if answers.get("model_predownload") or answers.get("direct_providers"):
        [rule] = https
        assert rule["ports"] == [{"port": 443, "protocol": "TCP"}]
        assert "10.0.0.0/8" in rule["to"][0]["ipBlock"]["except"], "never the cluster's private addresses"
    else:
        assert https == []


@pytest.mark.parametrize("name", PROFILES)
@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_renders_builds_and_validates_under_each_mechanism(
    name: str, preset: str, made: Callable[[str, str], Path], validator: SchemaValidator
) -> None:
    app_dir = made(name, preset)
    answers = load_preset(preset)
    objects = kustomize_build(app_dir)
    for obj in objects:
        assert validator.validate(obj) == [], f"{obj['kind']} of {preset} under {name} is invalid"
    kinds = by_kind(objects)
    [deployment] = kinds["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    agents = (app_dir / "AGENTS.md").read_text(encoding="utf-8")
    if name == "origin-schedules":
        assert_schedules(kinds, answers)
        route = kinds.get("HTTPRoute", [{}])[0]
        if route:
            [parent] = route["spec"]["parentRefs"]
            assert (parent["name"], parent["sectionName"]) == ("internal", "https"), "the first Gateway"
            assert "`gateway/external` (listener `https`)" in agents, "the other Gateway is named"
        for claim in kinds.get("PersistentVolumeClaim", []):
            assert claim["spec"]["storageClassName"] == "proxmox-csi"
        if pvc_volumes(deployment):
            assert "`proxmox-csi-retain`" in agents
        for secret in kinds.get("ExternalSecret", []):
            assert secret["spec"]["secretStoreRef"]["name"] == "bitwarden-fields"
            assert "`bitwarden-login`" in agents
        assert len(kinds["CiliumNetworkPolicy"]) == 1
    elif name == "k3s-traefik":
        assert_pod_annotation(kinds)
        assert_ingress(kinds, answers, "k3s.home.example")
        assert not {"CiliumNetworkPolicy", "NetworkPolicy"} & set(kinds)
        assert "the pods are not isolated" in agents
        if answers.get("gpu"):
            assert "tolerations" not in pod, "untainted GPU nodes: no tolerations key"
            assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    else:
        assert_no_tier_labels(kinds)
        assert "Schedule" not in kinds
        assert "annotations" not in deployment["spec"]["template"]["metadata"], "no Velero annotation"
        assert "The cluster has no backup system" in agents
        assert_network_policy(kinds, answers)
        route = kinds.get("HTTPRoute", [{}])[0]
        if route:
            assert route["spec"]["parentRefs"][0]["name"] == "envoy-internal"
            assert "`network/envoy-external`" in agents
        if answers.get("model_predownload"):
            assert "HTTPS egress to any public address" in agents


@pytest.mark.parametrize("name", PROFILES)
@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_passes_aiapp_check_under_its_own_profile(
    name: str, preset: str, made: Callable[[str, str], Path]
) -> None:
    app_dir = made(name, preset)
    cluster_facts.forget_profiles()
    location = os.environ.get("AIAPP_SCHEMA_LOCATION")
    report = check_paths([str(app_dir)], Options(schemas=True, build=True, jobs=1, schema_location=location))
    found = {finding.rule_id for finding in report.findings}
    messages = [f"{f.rule_id} {f.message}" for f in report.findings]
    # The checker knows every mechanism: no tier-label finding under Schedules/annotations/no Velero, no
    # "no CiliumNetworkPolicy" where a NetworkPolicy (or no engine) is the cluster's choice.
    assert found == set(), messages


# --- single facts --------------------------------------------------------------------------------------


def deployment_of(app_dir: Path) -> dict[str, Any]:
    [deployment] = by_kind(kustomize_build(app_dir))["Deployment"]
    return deployment


def test_opt_out_file_system_backup_excludes_the_scratch_space_of_every_pod(tmp_path: Path) -> None:
    """`default_volumes_to_fs_backup: true`: Velero copies every pod volume unless excluded, emptyDirs too."""
    backup = {"mechanism": "pod-annotation", "default_volumes_to_fs_backup": True}
    model = render(tmp_path / "model", {**load_preset("predownload-model"), "cluster": {"backup": backup}})
    annotations = deployment_of(model)["spec"]["template"]["metadata"]["annotations"]
    assert INCLUDE not in annotations
    assert annotations[EXCLUDE].split(",") == ["tmp", "dshm"], "the model volume is backed up"
    chat = render(tmp_path / "chat", {**load_preset("chat-litellm"), "cluster": {"backup": backup}})
    assert deployment_of(chat)["spec"]["template"]["metadata"]["annotations"] == {EXCLUDE: "tmp"}


def test_tier_labels_are_the_profiles_values(tmp_path: Path) -> None:
    tiers = {"critical": "gold", "cache": "bronze"}
    answers = {**load_preset("predownload-model"), "cache_pvc": True, "cluster": {"backup": {"tiers": tiers}}}
    kinds = by_kind(kustomize_build(render(tmp_path / "app", answers)))
    claims = kinds["PersistentVolumeClaim"]
    labels = {obj["metadata"]["name"]: obj["metadata"]["labels"][TIER] for obj in claims}
    assert labels == {"mistral-7b-models": "gold", "mistral-7b-cache": "bronze"}
    assert kinds["Deployment"][0]["spec"]["template"]["metadata"]["labels"][TIER] == "gold"
    agents = (tmp_path / "app" / "AGENTS.md").read_text(encoding="utf-8")
    assert "backup tier gold" in agents and "GFS" not in agents


def test_a_cache_only_pod_gets_one_short_schedule(tmp_path: Path) -> None:
    answers = {**load_preset("predownload-model"), "model_backup_tier": "Daily",
               "cluster": {"backup": {"mechanism": "schedules", "velero_namespace": "backups"}}}
    kinds = by_kind(kustomize_build(render(tmp_path / "app", answers)))
    [schedule] = kinds["Schedule"]
    assert schedule["metadata"]["namespace"] == "backups" and schedule["spec"]["template"]["ttl"] == "72h0m0s"


# --- update: the list form of a profile is the same profile ----------------------------------------------

SCALAR = """cluster:
  gateway: {namespace: gateway, name: internal, section: https}
  storage_class: proxmox-csi
  secret_store: {kind: ClusterSecretStore, name: bitwarden-fields, api_version: external-secrets.io/v1}
"""
LISTED = """cluster:
  gateway:
    gateways: [{namespace: gateway, name: internal, section: https}]
  storage_classes: [proxmox-csi]
  secret_stores: [{kind: ClusterSecretStore, name: bitwarden-fields, api_version: external-secrets.io/v1}]
"""


def test_update_from_the_scalar_profile_to_its_list_form_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))
    monkeypatch.delenv("AIAPP_TEMPLATE", raising=False)
    tpl = template_repo(tmp_path / "aiapp-template")
    repo = tmp_path / "gitops"
    repo.mkdir()
    (repo / ".aiapp.yml").write_text(SCALAR)
    cluster_facts.forget_profiles()
    gitops_repo(repo, [("apps/rag-api", "rag-cpu-qdrant"), ("apps/team-chat", "chat-litellm")], src=str(tpl))
    route = yaml.safe_load((repo / "apps/team-chat/httproute.yaml").read_text())
    assert route["spec"]["parentRefs"][0]["name"] == "internal", "the scalar profile was rendered"

    (repo / ".aiapp.yml").write_text(LISTED)
    commit(repo, "the profile in list form")
    cluster_facts.forget_profiles()
    assert aiapp("status", "--check", cwd=repo).exit_code == 0, "no drift"
    result = aiapp("update", cwd=repo)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert status(repo) == "", "a no-op diff"


def test_an_ingress_on_a_cilium_cluster_without_a_class_uses_the_default_class(tmp_path: Path) -> None:
    """`ingress.class: null`: the cluster's default IngressClass; the Cilium policy admits the controller's
    namespace (`gateway.namespace`: where the ingress controller's pods run)."""
    cluster = {"ingress": {"kind": "ingress"}, "gateway": {"namespace": "ingress-nginx", "entities": []}}
    app_dir = render(tmp_path / "app", {**load_preset("chat-litellm"), "cluster": cluster})
    kinds = by_kind(kustomize_build(app_dir))
    [ingress] = kinds["Ingress"]
    assert "HTTPRoute" not in kinds and "ingressClassName" not in ingress["spec"]
    [policy] = kinds["CiliumNetworkPolicy"]
    namespaces = [selector["matchLabels"].get("k8s:io.kubernetes.pod.namespace")
                  for rule in policy["spec"]["ingress"] for selector in rule.get("fromEndpoints", [])]
    assert namespaces == ["ingress-nginx"]
