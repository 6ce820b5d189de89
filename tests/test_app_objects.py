"""Issue 11's objects on the rendered presets: route, metrics, config rollouts, namespace, replicas.

Sources: Gateway API HTTP timeouts guide (https://gateway-api.sigs.k8s.io/guides/http-timeouts: "0s"
disables the request timeout); cilium/cilium#31514 (Envoy's 15 s default route timeout breaks streamed
responses); kustomize configMapGenerator (https://kubectl.docs.kubernetes.io/references/kustomize/
kustomization/configmapgenerator/ and examples/configGeneration.md: the hash suffix makes a change roll
the pods); Pod Security Admission labels (https://kubernetes.io/docs/tasks/configure-pod-container/
enforce-standards-namespace-labels); PodDisruptionBudget semantics (Kubernetes API: minAvailable equal
to the replicas, or maxUnavailable 0, blocks every voluntary eviction).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.template.presets import load_preset
from generator.template.questions import resolve
from tests.conftest import PRESETS, render
from tests.test_render_presets import kustomize_build


def built(app_dir: Path) -> dict[str, dict[str, Any]]:
    """The kustomize build by kind (ConfigMaps by name without their hash)."""
    objects: dict[str, dict[str, Any]] = {}
    for obj in kustomize_build(app_dir):
        key = str(obj["kind"])
        if key == "ConfigMap":
            key = "ConfigMap/" + str(obj["metadata"]["name"]).rsplit("-", 1)[0]
        objects[key] = obj
    return objects


@pytest.mark.parametrize("preset", PRESETS)
def test_exposed_apps_get_a_route_to_their_service_on_the_cluster_gateway(
    preset: str, rendered_preset
) -> None:
    answers = resolve(load_preset(preset))
    objects = built(rendered_preset(preset))
    if not answers["gateway_ingress"]:
        assert "HTTPRoute" not in objects
        return
    route = objects["HTTPRoute"]["spec"]
    assert route["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "namespace": "gateway",
            "name": "gateway",
            "sectionName": "https",
        }
    ]
    assert route["hostnames"] == answers["hostnames"]
    (rule,) = route["rules"]
    service = objects["Service"]
    assert rule["backendRefs"] == [
        {"kind": "Service", "name": service["metadata"]["name"], "port": answers["container_port"]}
    ]
    assert answers["container_port"] in [port["port"] for port in service["spec"]["ports"]]
    # Model and chat apps stream: no request timeout at all (Envoy's default would cut them at 15 s).
    streams = answers["serves_model"] or bool(answers["llm_providers"])
    assert rule["timeouts"] == {"request": "0s" if streams else "60s"}


def test_route_timeout_and_hosts_are_answers(tmp_path: Path) -> None:
    answers = {
        **load_preset("chat-litellm"),
        "route_timeout": "10m",
        "hostnames": ["a.example.org", "b.example.org"],
    }
    route = built(render(tmp_path / "app", answers))["HTTPRoute"]["spec"]
    assert route["rules"][0]["timeouts"] == {"request": "10m"}
    assert route["hostnames"] == ["a.example.org", "b.example.org"]


# A cluster whose Prometheus (prometheus-operator) runs in `monitoring`: the default profile scrapes nothing,
# since a ServiceMonitor fails to apply where the operator's CRDs are not installed.
SCRAPING = {"cluster": {"monitoring": {"namespace": "monitoring"}}}


@pytest.mark.parametrize("preset", PRESETS)
def test_by_default_nothing_is_scraped(preset: str, rendered_preset) -> None:
    objects = built(rendered_preset(preset))
    assert "ServiceMonitor" not in objects
    ingress = objects["CiliumNetworkPolicy"]["spec"].get("ingress", [])
    assert all("monitoring" not in str(rule) for rule in ingress)


@pytest.mark.parametrize("preset", PRESETS)
def test_metrics_scraped_on_a_service_port_and_admitted_from_monitoring_only_there(
    preset: str, tmp_path: Path
) -> None:
    answers = resolve({**load_preset(preset), **SCRAPING})
    objects = built(render(tmp_path / preset, {**load_preset(preset), **SCRAPING}))
    assert answers["scraped"] == (answers["metrics_port"] > 0)
    if not answers["scraped"]:
        assert "ServiceMonitor" not in objects
        return
    monitor = objects["ServiceMonitor"]["spec"]
    (endpoint,) = monitor["endpoints"]
    ports = {port["name"]: port for port in objects["Service"]["spec"]["ports"]}
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    named = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert named[ports[endpoint["port"]]["targetPort"]] == answers["metrics_port"]
    assert endpoint["path"] == "/metrics"
    labels = objects["Service"]["metadata"]["labels"]
    assert monitor["selector"]["matchLabels"].items() <= labels.items()
    # Model servers (vLLM) serve /metrics on their HTTP port.
    if answers["serves_model"]:
        assert endpoint["port"] == "http"
    from_monitoring = [
        rule
        for rule in objects["CiliumNetworkPolicy"]["spec"]["ingress"]
        if rule.get("fromEndpoints", [{}])[0].get("matchLabels", {}).get("k8s:io.kubernetes.pod.namespace")
        == "monitoring"
    ]
    assert from_monitoring == [
        {
            "fromEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "monitoring"}}],
            "toPorts": [{"ports": [{"port": str(answers["metrics_port"]), "protocol": "TCP"}]}],
        }
    ]


def test_no_monitoring_namespace_means_no_servicemonitor(tmp_path: Path) -> None:
    answers = {**load_preset("inference-8b-fp16"), "cluster": {"monitoring": {"namespace": None}}}
    objects = built(render(tmp_path / "app", answers))
    assert "ServiceMonitor" not in objects
    assert all("monitoring" not in str(rule) for rule in objects["CiliumNetworkPolicy"]["spec"]["ingress"])


def test_a_config_change_changes_the_pod_template_so_the_pods_roll(tmp_path: Path) -> None:
    """The ConfigMap is generated with a hash suffix: a new value is a new name in the pod template."""
    base = load_preset("rag-cpu-qdrant")
    before = built(render(tmp_path / "before", base))
    after = built(render(tmp_path / "after", {**base, "qdrant_collection": "team_wiki_v2"}))
    old, new = before["ConfigMap/rag-api-config"], after["ConfigMap/rag-api-config"]
    assert (
        old["data"]["QDRANT_COLLECTION"] == "team_wiki" and new["data"]["QDRANT_COLLECTION"] == "team_wiki_v2"
    )
    assert old["metadata"]["name"] != new["metadata"]["name"]
    pod_before = before["Deployment"]["spec"]["template"]
    pod_after = after["Deployment"]["spec"]["template"]
    assert pod_before != pod_after
    for pod, config in ((pod_before, old), (pod_after, new)):
        refs = [
            source["configMapRef"]["name"]
            for container in pod["spec"]["initContainers"] + pod["spec"]["containers"]
            for source in container["envFrom"]
        ]
        assert refs and set(refs) == {config["metadata"]["name"]}
    # The same answers give the same name: an unchanged app does not roll.
    again = built(render(tmp_path / "again", base))
    assert again["ConfigMap/rag-api-config"]["metadata"]["name"] == old["metadata"]["name"]


def test_secret_rotation_restarts_pods_only_where_a_reloader_is_installed(tmp_path: Path) -> None:
    answers = {**load_preset("chat-litellm"), "cluster": {"reloader": True}}
    deployment = built(render(tmp_path / "app", answers))["Deployment"]
    assert deployment["metadata"]["annotations"]["secret.reloader.stakater.com/reload"] == "team-chat-secrets"
    plain = built(render(tmp_path / "plain", load_preset("chat-litellm")))["Deployment"]
    assert "secret.reloader.stakater.com/reload" not in plain["metadata"]["annotations"]


def test_own_namespace_is_created_with_pod_security_restricted(rendered_preset) -> None:
    objects = built(rendered_preset("other-namespace"))
    labels = objects["Namespace"]["metadata"]["labels"]
    assert objects["Namespace"]["metadata"]["name"] == "research"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert "namespace" not in objects["Namespace"]["metadata"]
    # Apps in the shared namespace never create it.
    for preset in PRESETS:
        if resolve(load_preset(preset))["namespace"] == "ai":
            assert not (rendered_preset(preset) / "namespace.yaml").exists()


def test_namespaces_managed_elsewhere_are_never_created(tmp_path: Path) -> None:
    answers = {**load_preset("other-namespace"), "cluster": {"namespaces_managed": True}}
    assert "Namespace" not in built(render(tmp_path / "app", answers))


def test_app_outside_the_shared_namespace_gets_the_exact_rule_for_their_side(rendered_preset) -> None:
    agents = (rendered_preset("other-namespace") / "AGENTS.md").read_text()
    side = agents.split("## On the shared services' side")[1].split("\n## ")[0]
    for port in ('"6333"', '"4000"'):
        assert port in side
    assert 'k8s:io.kubernetes.pod.namespace: "research"' in side
    assert 'app.kubernetes.io/name: "research-rag"' in side
    assert (
        "## On the shared services' side" not in (rendered_preset("rag-cpu-qdrant") / "AGENTS.md").read_text()
    )


@pytest.mark.parametrize("preset", PRESETS)
def test_replicas_only_for_stateless_apps_with_pdb_and_spread(preset: str, rendered_preset) -> None:
    answers = resolve(load_preset(preset))
    objects = built(rendered_preset(preset))
    spec = objects["Deployment"]["spec"]
    stateful = answers["gpu"] or answers["uses_pvc"]
    if stateful:
        assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    if spec["replicas"] == 1:
        assert "PodDisruptionBudget" not in objects
        assert "topologySpreadConstraints" not in spec["template"]["spec"]
        return
    pdb = objects["PodDisruptionBudget"]["spec"]
    # Never blocks a drain: at most one pod down, never "all must stay".
    assert pdb["maxUnavailable"] == 1 and "minAvailable" not in pdb
    assert pdb["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    (spread,) = spec["template"]["spec"]["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["labelSelector"]["matchLabels"] == pdb["selector"]["matchLabels"]


def test_the_chat_preset_is_exposed_scraped_and_replicated(tmp_path: Path) -> None:
    # Metrics on a port of their own, scraped where the cluster profile names Prometheus's namespace.
    answers = {**load_preset("chat-litellm"), **SCRAPING, "metrics_port": 9090}
    objects = built(render(tmp_path / "chat", answers))
    assert {"HTTPRoute", "ServiceMonitor", "PodDisruptionBudget"} <= set(objects)
    assert objects["Deployment"]["spec"]["replicas"] == 2


def test_stateful_apps_are_never_asked_for_replicas() -> None:
    from generator.template.questions import is_asked, load_questions

    replicas = next(question for question in load_questions() if question.name == "replicas")
    assert not is_asked(replicas, resolve(load_preset("inference-8b-fp16")))
    assert is_asked(replicas, resolve(load_preset("chat-litellm")))


def test_vector_size_defaults_from_the_embedding_model_and_a_mismatch_is_refused() -> None:
    from generator.template.questions import check, load_questions

    questions = {question.name: question for question in load_questions()}
    rag = resolve(load_preset("rag-cpu-qdrant"))
    assert rag["embedding_model"] == "BAAI/bge-base-en-v1.5" and rag["qdrant_vector_size"] == 768
    openai = resolve(
        {
            "app_name": "a",
            "image": "a/b:1",
            "serves_model": False,
            "vector_db": "qdrant",
            "llm_providers": ["openai"],
        }
    )
    assert openai["embedding_model"] == "text-embedding-3-small" and openai["qdrant_vector_size"] == 1536
    message = check(questions["qdrant_vector_size"], 1024, openai)
    assert message and "1536-dimension" in message


def test_a_qdrant_app_without_an_embedding_source_is_refused_with_the_reason() -> None:
    from generator.template.questions import check, load_questions

    questions = {question.name: question for question in load_questions()}
    anthropic_only = resolve(
        {
            "app_name": "a",
            "image": "a/b:1",
            "serves_model": False,
            "vector_db": "qdrant",
            "llm_providers": ["anthropic"],
        }
    )
    message = check(questions["embedding_model"], anthropic_only["embedding_model"], anthropic_only)
    assert message and "No embedding source" in message and "anthropic" in message
    message = check(questions["embedding_model"], "text-embedding-3-small", anthropic_only)
    assert message and "add openai" in message


def test_the_shared_services_rule_in_agents_md_names_their_pod_ports(tmp_path: Path) -> None:
    """Cilium matches the shared services' ingress on the pod port after DNAT (docs/cluster.md): on a cluster
    whose Services listen on 80, the rule the app's AGENTS.md gives them names 6333 and 4000."""
    profile = {
        "qdrant": {"namespace": "qdrant", "port": 80, "target_port": 6333},
        "litellm": {"namespace": "litellm", "port": 80, "target_port": 4000},
    }
    app = render(tmp_path / "app", {**load_preset("other-namespace"), "cluster": profile})
    section = (app / "AGENTS.md").read_text().split("## On the shared services' side", 1)[1].split("\n## ")[0]
    rules = [yaml.safe_load(block.split("```", 1)[0])[0] for block in section.split("```yaml\n")[1:]]
    assert [rule["toPorts"][0]["ports"][0]["port"] for rule in rules] == ["6333", "4000"]


def test_servicemonitors_carry_the_labels_prometheus_selects(tmp_path: Path) -> None:
    """kube-prometheus-stack's Prometheus selects ServiceMonitors labelled `release: <its release>` by default
    (prometheus-community/helm-charts#3487): the profile's `monitoring.labels` go on every ServiceMonitor."""
    profile = {"monitoring": {"namespace": "monitoring", "labels": {"release": "kube-prometheus-stack"}}}
    answers = {**load_preset("inference-8b-fp16"), "cluster": profile}
    monitor = built(render(tmp_path / "app", answers))["ServiceMonitor"]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
