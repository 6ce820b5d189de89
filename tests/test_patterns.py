"""The house rules (../shared/patterns/ai-apps-AGENTS.md), asserted on the rendered YAML of every preset."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from generator.policy.rules.serving import CACHE_VARIABLES
from generator.template.presets import load_preset
from generator.template.questions import resolve
from tests.conftest import PRESETS, load_objects

CLUSTER = resolve({})
LABEL_KEYS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/part-of",
              "app.kubernetes.io/managed-by")
GPU_PRESETS = [name for name in PRESETS if load_preset(name).get("gpu")]


def app(rendered_preset, preset: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(objects by kind, resolved answers) of a rendered preset."""
    return load_objects(rendered_preset(preset)), resolve(load_preset(preset))


def pod_spec(objects: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = objects["Deployment"]["spec"]["template"]["spec"]
    return spec


def containers(objects: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(objects)
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def pvcs(objects: dict[str, Any]) -> list[dict[str, Any]]:
    return [obj for key, obj in objects.items() if key.startswith("PersistentVolumeClaim/")]


def egress_rules(objects: dict[str, Any]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = objects["CiliumNetworkPolicy"]["spec"]["egress"]
    return rules


# --- GPU -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", GPU_PRESETS)
def test_gpu_requests_limits_node_selector_toleration(preset: str, rendered_preset) -> None:
    objects, answers = app(rendered_preset, preset)
    server = pod_spec(objects)["containers"][0]
    assert server["resources"]["requests"]["nvidia.com/gpu"] == answers["gpu_count"]
    assert server["resources"]["limits"]["nvidia.com/gpu"] == answers["gpu_count"]
    assert pod_spec(objects)["nodeSelector"] == {"gpu-node": "true"}
    toleration = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    assert toleration in pod_spec(objects)["tolerations"]


@pytest.mark.parametrize("preset", PRESETS)
def test_no_gpu_resource_name_other_than_nvidia(preset: str, rendered_preset) -> None:
    objects, answers = app(rendered_preset, preset)
    for container in containers(objects):
        for section in ("requests", "limits"):
            keys = set(container["resources"][section])
            assert keys <= {"cpu", "memory", "nvidia.com/gpu"}
            is_server = container is pod_spec(objects)["containers"][0]
            assert ("nvidia.com/gpu" in keys) == (bool(answers["gpu"]) and is_server)
    if not answers["gpu"]:
        assert "nodeSelector" not in pod_spec(objects) and "tolerations" not in pod_spec(objects)


@pytest.mark.parametrize("preset", PRESETS)
def test_recreate_exactly_when_gpu_or_rwo_pvc(preset: str, rendered_preset) -> None:
    objects, answers = app(rendered_preset, preset)
    deadlock = bool(answers["gpu"]) or bool(pvcs(objects))
    strategy = objects["Deployment"]["spec"].get("strategy", {}).get("type", "RollingUpdate")
    assert strategy == ("Recreate" if deadlock else "RollingUpdate")
    assert objects["Deployment"]["spec"]["replicas"] == (1 if deadlock else answers["replicas"])


@pytest.mark.parametrize("preset", PRESETS)
def test_shm_is_memory_emptydir_for_inference_servers(preset: str, rendered_preset) -> None:
    objects, answers = app(rendered_preset, preset)
    volumes = {volume["name"]: volume for volume in pod_spec(objects)["volumes"]}
    server = pod_spec(objects)["containers"][0]
    mounts = {mount["mountPath"]: mount["name"] for mount in server["volumeMounts"]}
    if answers["serves_model"]:
        assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"
        limit_gib = int(server["resources"]["limits"]["memory"].removesuffix("Gi"))
        assert int(volumes[mounts["/dev/shm"]]["emptyDir"]["sizeLimit"].removesuffix("Gi")) < limit_gib
    else:
        assert "/dev/shm" not in mounts


@pytest.mark.parametrize("preset", PRESETS)
def test_startup_probe_allows_for_model_loading(preset: str, rendered_preset) -> None:
    objects, answers = app(rendered_preset, preset)
    server = pod_spec(objects)["containers"][0]
    probe = server["startupProbe"]
    budget = probe["periodSeconds"] * probe["failureThreshold"]
    assert budget >= 60 + answers["model_weights_gib"] * 10
    if preset == "inference-70b-int4":
        assert budget >= 300, "a 32 GiB model needs minutes to load"


# --- Storage ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", PRESETS)
def test_pvcs_proxmox_rwo_with_tier_on_pvc_and_pod(preset: str, rendered_preset) -> None:
    objects, answers = app(rendered_preset, preset)
    claims = pvcs(objects)
    assert bool(claims) == bool(answers["serves_model"] or answers["cache_pvc"])
    template = objects["Deployment"]["spec"]["template"]
    for claim in claims:
        assert claim["spec"]["storageClassName"] == "proxmox-csi"
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
        tier = claim["metadata"]["labels"]["backup.velero.io/backup-tier"]
        expected = "Daily" if claim["metadata"]["name"].endswith("-cache") else answers["model_backup_tier"]
        assert tier == expected
    if claims:
        tiers = {claim["metadata"]["labels"]["backup.velero.io/backup-tier"] for claim in claims}
        pod_tier = template["metadata"]["labels"]["backup.velero.io/backup-tier"]
        assert pod_tier == ("GFS" if "GFS" in tiers else "Daily")
        # File-system backup: the PVC volumes of the pod's tier; every other volume excluded.
        annotations = template["metadata"]["annotations"]
        backed_up = set(annotations["backup.velero.io/backup-volumes"].split(","))
        excluded = set(annotations["backup.velero.io/backup-volumes-excludes"].split(","))
        tier_of = {claim["metadata"]["name"]: claim["metadata"]["labels"]["backup.velero.io/backup-tier"]
                   for claim in claims}
        volumes = pod_spec(objects)["volumes"]
        claimed = {
            volume["name"]: volume["persistentVolumeClaim"]["claimName"]
            for volume in volumes if "persistentVolumeClaim" in volume
        }
        same_tier = {name for name, claim in claimed.items() if tier_of[claim] == pod_tier}
        assert backed_up == same_tier and backed_up.isdisjoint(excluded)
        assert backed_up | excluded == {v["name"] for v in volumes}
    else:
        assert "backup.velero.io/backup-tier" not in template["metadata"]["labels"]


@pytest.mark.parametrize("preset", PRESETS)
def test_models_never_on_emptydir(preset: str, rendered_preset) -> None:
    objects, answers = app(rendered_preset, preset)
    volumes = {volume["name"]: volume for volume in pod_spec(objects)["volumes"]}
    for container in containers(objects):
        for mount in container["volumeMounts"]:
            volume = volumes[mount["name"]]
            if mount["mountPath"].startswith("/models"):
                assert "persistentVolumeClaim" in volume
            if "emptyDir" in volume:
                assert mount["mountPath"] in ("/tmp", "/dev/shm")
    if answers["serves_model"]:
        model_claim = objects[f"PersistentVolumeClaim/{answers['app_name']}-models"]
        assert model_claim["spec"]["resources"]["requests"]["storage"] == f"{answers['model_pvc_size_gib']}Gi"
        assert answers["model_pvc_size_gib"] >= answers["model_weights_gib"]


def test_default_pvc_size_is_computed_from_parameters() -> None:
    assert resolve(load_preset("inference-8b-fp16"))["model_pvc_size_gib"] == 30  # 14.9 GiB x 1.5 -> 30
    assert resolve(load_preset("inference-70b-int4"))["model_pvc_size_gib"] == 60  # 37.1 GiB x 1.5 -> 60
    assert resolve({**load_preset("inference-8b-fp16"), "model_pvc_size_gib": 80})["model_pvc_size_gib"] == 80


# --- Network ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", PRESETS)
def test_policy_selects_the_pods_and_allows_dns_first(preset: str, rendered_preset) -> None:
    objects, _ = app(rendered_preset, preset)
    policy = objects["CiliumNetworkPolicy"]["spec"]
    pod_labels = objects["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert policy["endpointSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["enableDefaultDeny"] == {"ingress": True, "egress": True}
    dns = egress_rules(objects)[0]
    assert dns["toEndpoints"] == [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system",
                                                   "k8s:k8s-app": "kube-dns"}}]
    ports = dns["toPorts"][0]["ports"]
    assert {"port": "53", "protocol": "UDP"} in ports and {"port": "53", "protocol": "TCP"} in ports
    assert dns["toPorts"][0]["rules"] == {"dns": [{"matchPattern": "*"}]}


@pytest.mark.parametrize("preset", PRESETS)
def test_egress_is_exactly_what_the_answers_need(preset: str, rendered_preset) -> None:
    objects, answers = app(rendered_preset, preset)
    peers = []
    fqdns: set[str] = set()
    for rule in egress_rules(objects)[1:]:
        assert set(rule) <= {"toEndpoints", "toFQDNs", "toPorts"}, "no toCIDR/toEntities/world egress"
        ports = [(p["port"], p["protocol"]) for p in rule["toPorts"][0]["ports"]]
        if "toEndpoints" in rule:
            peers.append((rule["toEndpoints"][0]["matchLabels"], ports))
        else:
            assert ports == [("443", "TCP")]
            fqdns |= {entry.get("matchName") or entry["matchPattern"] for entry in rule["toFQDNs"]}
    expected = []
    if answers["vector_db"] == "qdrant":
        expected.append(({"k8s:io.kubernetes.pod.namespace": "ai", "app.kubernetes.io/name": "qdrant"},
                         [("6333", "TCP")]))
    if answers["llm_providers"]:
        expected.append(({"k8s:io.kubernetes.pod.namespace": "ai", "app.kubernetes.io/name": "litellm"},
                         [("4000", "TCP")]))
    assert peers == expected
    expected_hosts = {CLUSTER["providers"][name]["host"] for name in answers["direct_providers"]}
    if answers["model_predownload"]:
        expected_hosts |= {"huggingface.co", *CLUSTER["model_hub_hosts"]["patterns"]}
    assert fqdns == expected_hosts


@pytest.mark.parametrize("preset", PRESETS)
def test_ingress_only_from_gateway_on_the_app_port(preset: str, rendered_preset) -> None:
    objects, answers = app(rendered_preset, preset)
    ingress = objects["CiliumNetworkPolicy"]["spec"].get("ingress", [])
    to_ports = [{"ports": [{"port": str(answers["container_port"]), "protocol": "TCP"}]}]
    gateway = {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "gateway"}}
    monitoring = {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "monitoring"}}
    metrics_ports = [{"ports": [{"port": str(answers["metrics_port"]), "protocol": "TCP"}]}]
    litellm = {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "ai", "app.kubernetes.io/name": "litellm"}}
    assert ingress == [
        {"fromEndpoints": [gateway], "toPorts": to_ports},
        # Cilium's own Gateway API Envoy: traffic carries the reserved `ingress` identity.
        {"fromEntities": ["ingress"], "toPorts": to_ports},
        # A model server's one consumer: LiteLLM's pods, on the app port (and nothing else).
    ] + ([{"fromEndpoints": [litellm], "toPorts": to_ports}] if answers["serves_api"] else []) + (
        [{"fromEndpoints": [monitoring], "toPorts": metrics_ports}] if answers["scraped"] else []
    )


def test_no_gateway_means_no_ingress_at_all(tmp_path) -> None:
    from tests.conftest import render

    answers = {**load_preset("chat-litellm"), "gateway_ingress": False, "metrics_port": 0}
    objects = load_objects(render(tmp_path / "app", answers))
    assert "HTTPRoute" not in objects and "ServiceMonitor" not in objects
    policy = objects["CiliumNetworkPolicy"]["spec"]
    assert "ingress" not in policy and policy["enableDefaultDeny"]["ingress"] is True


def test_other_namespace_reaches_shared_services_by_namespace_label(rendered_preset) -> None:
    objects, answers = app(rendered_preset, "other-namespace")
    assert answers["namespace"] == "research"
    namespaced = [obj for obj in objects.values() if obj["kind"] != "Namespace"]
    assert all(obj["metadata"]["namespace"] == "research" for obj in namespaced)
    for rule in egress_rules(objects)[1:]:
        assert rule["toEndpoints"][0]["matchLabels"]["k8s:io.kubernetes.pod.namespace"] == "ai"


def test_direct_provider_exception_opens_only_that_host_and_is_written_down(rendered_preset) -> None:
    objects, _ = app(rendered_preset, "direct-provider-exception")
    fqdn_rules = [rule for rule in egress_rules(objects) if "toFQDNs" in rule]
    assert fqdn_rules == [{"toFQDNs": [{"matchName": "api.anthropic.com"}],
                           "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}]
    agents = (rendered_preset("direct-provider-exception") / "AGENTS.md").read_text()
    exceptions = agents.split("## Exceptions to the patterns")[1].split("##")[0]
    assert "`api.anthropic.com`" in exceptions and "LiteLLM does not proxy yet" in exceptions
    assert "api.openai.com" not in exceptions


@pytest.mark.parametrize("preset", [p for p in PRESETS if p != "direct-provider-exception"])
def test_no_provider_host_anywhere_without_the_exception(preset: str, rendered_preset) -> None:
    app_dir = rendered_preset(preset)
    text = "".join(path.read_text() for path in app_dir.glob("*.yaml"))
    for provider in CLUSTER["providers"].values():
        assert provider["host"] not in text


# --- Secrets ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", PRESETS)
def test_secrets_only_through_external_secret(preset: str, rendered_preset) -> None:
    objects, answers = app(rendered_preset, preset)
    assert "Secret" not in objects
    if not answers["needs_secret"]:
        assert "ExternalSecret" not in objects
        return
    secret = objects["ExternalSecret"]
    # v1: external-secrets stopped serving v1beta1 in 0.17 (docs/patterns.md).
    assert secret["apiVersion"] == "external-secrets.io/v1"
    assert secret["spec"]["secretStoreRef"] == {"name": "bitwarden-backend", "kind": "ClusterSecretStore"}
    keys = {entry["secretKey"]: entry["remoteRef"]["key"] for entry in secret["spec"]["data"]}
    if answers["llm_providers"]:
        assert keys.pop("LITELLM_API_KEY") == answers["litellm_key_item"]
    for provider in answers["direct_providers"]:
        assert keys.pop(CLUSTER["providers"][provider]["env"]) == CLUSTER["providers"][provider]["item"]
    if answers["model_predownload"] and answers["model_hf_token_item"]:
        assert keys.pop("HF_TOKEN") == answers["model_hf_token_item"]
    if answers["serves_model"] and answers["serving_engine"] == "vllm":
        assert keys.pop("VLLM_API_KEY") == answers["vllm_api_key_item"]
    assert keys == {}
    for container in containers(objects):
        for env in container.get("env", []):
            literal = ("HF_HUB_OFFLINE", "NVIDIA_VISIBLE_DEVICES", *CACHE_VARIABLES)
            assert "value" not in env or env["name"] in literal, env


def test_external_secrets_api_version_is_one_profile_fact(tmp_path) -> None:
    from tests.conftest import render

    answers = {**load_preset("chat-litellm"),
               "cluster": {"secret_store": {"api_version": "external-secrets.io/v1beta1"}}}
    app_dir = render(tmp_path / "app", answers)
    assert load_objects(app_dir)["ExternalSecret"]["apiVersion"] == "external-secrets.io/v1beta1"
    recorded = yaml.safe_load((app_dir / ".copier-answers.yml").read_text())
    assert recorded["cluster"] == {"secret_store": {"api_version": "external-secrets.io/v1beta1"}}


# --- Hardening and labels --------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", PRESETS)
def test_hardening_baseline(preset: str, rendered_preset) -> None:
    objects, _ = app(rendered_preset, preset)
    spec = pod_spec(objects)
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] > 0 and spec["securityContext"]["runAsGroup"] > 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in containers(objects):
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        for section in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][section])
        assert ":" in container["image"].split("/")[-1] and not container["image"].endswith(":latest")
    server = spec["containers"][0]
    declared = {port["name"] for port in server["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"]["port"] in declared


@pytest.mark.parametrize("preset", PRESETS)
def test_labels_consistent_and_selectors_match(preset: str, rendered_preset) -> None:
    objects, answers = app(rendered_preset, preset)
    values = (answers["app_name"], answers["app_name"], "ai-apps", "aiapp")
    expected = dict(zip(LABEL_KEYS, values, strict=True))
    for obj in objects.values():
        assert {key: obj["metadata"]["labels"][key] for key in LABEL_KEYS} == expected
    pod_labels = objects["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert {key: pod_labels[key] for key in LABEL_KEYS} == expected
    selector = objects["Deployment"]["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert objects["Service"]["spec"]["selector"] == selector
    assert objects["CiliumNetworkPolicy"]["spec"]["endpointSelector"]["matchLabels"] == selector


# --- The app's own AGENTS.md -----------------------------------------------------------------------------

@pytest.mark.parametrize("preset", PRESETS)
def test_app_agents_md_states_the_apps_facts(preset: str, rendered_preset) -> None:
    answers = resolve(load_preset(preset))
    text = (rendered_preset(preset) / "AGENTS.md").read_text()
    assert text.startswith(f"# {answers['app_name']}\n")
    assert "SCOPE: this application only" in text and "INHERITS FROM:" in text
    if answers["serves_model"]:
        assert answers["model_name"] in text and answers["model_precision"] in text
        if answers["gpu"]:
            assert f"Context: {answers['model_max_len']} tokens" in text
            assert f"{answers['gpu_kv_budget_gib']} GiB remain for the KV cache" in text
        else:
            assert f"about {answers['model_memory_gib']} GiB" in text
        assert f"{answers['model_pvc_size_gib']} GiB" in text
        assert f"backup tier {answers['model_backup_tier']}" in text
    if answers["gpu"]:
        assert f"GPU: {answers['gpu_count']} x `nvidia.com/gpu`" in text
    if answers["vector_db"] == "qdrant":
        assert f"collection `{answers['qdrant_collection']}`" in text
    if answers["llm_providers"]:
        assert f"`{answers['litellm_key_item']}`" in text
    policy = f"{answers['app_name']}-network-policy"
    assert f"kubectl get ciliumnetworkpolicy -n {answers['namespace']} {policy}" in text
    assert "Never call LLM providers directly" in text
    assert ("Never request `gpu`" in text) == bool(answers["gpu"])


def test_vllm_presets_pass_their_server_arguments(rendered_preset) -> None:
    objects, answers = app(rendered_preset, "inference-70b-int4")
    args = pod_spec(objects)["containers"][0]["args"]
    assert args[args.index("--tensor-parallel-size") + 1] == str(answers["gpu_count"]) == "2"
    assert all(isinstance(arg, str) for arg in args)
    assert "args" not in pod_spec(load_objects(rendered_preset("chat-litellm")))["containers"][0]


def test_download_step_sees_no_gpu_and_buffers_in_memory(rendered_preset) -> None:
    objects, _ = app(rendered_preset, "predownload-model")
    download = pod_spec(objects)["initContainers"][0]
    assert {"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"} in download["env"]
    resources = download["resources"]
    assert resources["requests"] == resources["limits"] == {"cpu": "1", "memory": "4Gi"}


def test_gpu_runtime_class_is_one_cluster_setting(tmp_path) -> None:
    from tests.conftest import render

    answers = {**load_preset("inference-8b-fp16"), "cluster": {"gpu": {"runtime_class": "nvidia"}}}
    spec = pod_spec(load_objects(render(tmp_path / "app", answers)))
    assert spec["runtimeClassName"] == "nvidia"
    standard = render(tmp_path / "std", load_preset("inference-8b-fp16"))
    assert "runtimeClassName" not in pod_spec(load_objects(standard))
