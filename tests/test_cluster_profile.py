"""The cluster profile (`cluster:` in the GitOps repository's .aiapp.yml; docs/cluster.md).

The centrepiece is tests/cluster/other-cluster.aiapp.yml: a cluster that differs from the defaults in
every fact. Every preset made by `aiapp new` in a repository with that profile carries its facts in every
place (asserted object by object), builds with kustomize, validates strictly, passes `aiapp check` there
and fails it under the default profile exactly where the facts differ.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from generator.cli import app as cli
from generator.cluster import facts as cluster_facts
from generator.cluster.profile import defaults, merge
from generator.cluster.profile import written as one_form
from generator.init.profile_file import InitOptions, run_init
from generator.policy import Options, check_paths
from generator.template.presets import load_preset
from generator.template.schemas import SchemaValidator
from tests.conftest import PRESETS, ROOT, render
from tests.test_render_presets import kustomize_build
from tests.upgrade.scaffold import commit, edit, gitops_repo, status, template_repo

HERE = Path(__file__).resolve().parent / "cluster"
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
PROFILE_FILE = HERE / "other-cluster.aiapp.yml"
PROFILE: dict[str, Any] = yaml.safe_load(PROFILE_FILE.read_text(encoding="utf-8"))["cluster"]
NAMESPACE = "io.kubernetes.pod.namespace"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Profiles are cached per directory: each test starts from what is on disk."""
    cluster_facts.forget_profiles()
    for name in ("AIAPP_TEMPLATE", "GIT_CONFIG_COUNT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))


def aiapp(*args: str, cwd: Path | None = None) -> Any:
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, list(args), env={"AIAPP_ALLOW_TEMP_TEMPLATE": "1"})
    finally:
        os.chdir(old)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def gitops_with_profile(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROFILE_FILE, path / ".aiapp.yml")
    return path


# Facts the other cluster shares with the defaults, and why.
SAME = {
    "gpu.resource": "what the NVIDIA device plugin advertises on every cluster",
    "litellm.target_port": "LiteLLM's own port; the Service in front of it is port 80 (issue 9)",
    "qdrant.target_port": "Qdrant's own HTTP port; the Service in front of it is port 80",
    "secret_store.kind": "the house rule: secrets come through a ClusterSecretStore",
    "secret_store.api_version": "external-secrets.io/v1, now the default too (docs/patterns.md)",
}


def test_the_profile_differs_from_the_defaults_in_every_fact() -> None:
    base = defaults()
    for section, value in PROFILE.items():
        if isinstance(value, dict):
            for key, item in value.items():
                assert f"{section}.{key}" in SAME or item != base[section][key], f"{section}.{key}"
        else:
            assert value != base[section], section
    assert set(SAME) <= {f"{section}.{key}" for section, value in PROFILE.items() if isinstance(value, dict)
                         for key in value}


# --- every preset, rendered for the other cluster -------------------------------------------------------


def policy_rules(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return list(policy["spec"].get("egress", []))


def egress_to(policy: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    """The egress rules of a policy whose endpoint selector names `namespace`."""
    return [
        rule
        for rule in policy_rules(policy)
        for selector in rule.get("toEndpoints", [])
        if selector["matchLabels"].get(f"k8s:{NAMESPACE}") == namespace
    ]


def ports(rule: dict[str, Any]) -> list[str]:
    return [port["port"] for entry in rule["toPorts"] for port in entry["ports"]]


def built(app_dir: Path) -> dict[str, dict[str, Any]]:
    """The kustomize build by kind (`Kind/name` for PVCs and ConfigMaps, the latter without their hash)."""
    objects: dict[str, dict[str, Any]] = {}
    for obj in kustomize_build(app_dir):
        key, name = str(obj["kind"]), str(obj["metadata"]["name"])
        if key == "ConfigMap":
            key = "ConfigMap/" + name.rsplit("-", 1)[0]
        elif key == "PersistentVolumeClaim":
            key = f"{key}/{name}"
        objects[key] = obj
    return objects


def from_namespace(rules: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    return [
        rule
        for rule in rules
        for selector in rule.get("fromEndpoints", [])
        if selector["matchLabels"].get(f"k8s:{NAMESPACE}") == namespace
    ]


def assert_profile_facts(app_dir: Path, answers: dict[str, Any]) -> None:
    """Every place the template uses a cluster fact holds the profile's value, object by object."""
    objects = built(app_dir)
    app = str(answers["app_name"])
    recorded = yaml.safe_load((app_dir / ".copier-answers.yml").read_text())
    assert recorded["cluster"] == one_form(merge(PROFILE)), "the facts are recorded for plain `copier update`"
    qdrant, gpu = PROFILE["qdrant"], PROFILE["gpu"]

    for obj in objects.values():
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == PROFILE["part_of"]
    assert "Namespace" not in objects, "the platform creates namespaces (namespaces_managed)"

    policy = objects["CiliumNetworkPolicy"]
    ingress = policy["spec"].get("ingress", [])
    assert not any("fromEntities" in rule for rule in ingress), "the profile lists no gateway entities"
    assert not from_namespace(ingress, "gateway") and not from_namespace(ingress, "monitoring")
    if answers.get("gateway_ingress", True):
        [rule] = from_namespace(ingress, "envoy-gateway-system")
        assert ports(rule) == [str(answers.get("container_port", 8000))]
        route = objects["HTTPRoute"]
        assert route["spec"]["parentRefs"] == [
            {"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "envoy-gateway-system",
             "name": "main", "sectionName": "websecure"}
        ]
        if "hostnames" not in answers:
            assert route["spec"]["hostnames"] == [f"{app}.ai.home.example"]
    if "ServiceMonitor" in objects:
        [rule] = from_namespace(ingress, "observability")
        assert ports(rule) == [str(objects["Service"]["spec"]["ports"][-1]["port"])] or ports(rule)
    else:
        assert not from_namespace(ingress, "observability")
    config = objects[f"ConfigMap/{app}-config"]["data"]
    if answers.get("llm_providers"):
        [rule] = egress_to(policy, "litellm")
        assert rule["toEndpoints"] == [{"matchLabels": {f"k8s:{NAMESPACE}": "litellm", "app": "litellm"}}]
        assert ports(rule) == ["4000"], "Cilium matches the pod port after DNAT"
        assert config["LITELLM_BASE_URL"] == "http://litellm-proxy.litellm.svc.cluster.local:80"
    else:
        assert not egress_to(policy, "litellm") and "LITELLM_BASE_URL" not in config
    deployment = objects["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    server = next(c for c in pod["containers"] if c["name"] == app)
    env = {item["name"]: item for item in server.get("env", [])}
    if answers.get("vector_db") == "qdrant":
        [rule] = egress_to(policy, "qdrant")
        assert rule["toEndpoints"] == [{"matchLabels": {f"k8s:{NAMESPACE}": "qdrant", "app": "qdrant"}}]
        assert ports(rule) == [str(qdrant["target_port"])]
        assert config["QDRANT_URL"] == "http://qdrant-http.qdrant.svc.cluster.local:80"
        assert env["QDRANT_API_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "QDRANT_API_KEY"
        images = {c["name"]: c["image"] for c in pod.get("initContainers", [])}
        assert images["qdrant-collection"] == qdrant["bootstrap_image"]
    else:
        assert not egress_to(policy, "qdrant") and "QDRANT_API_KEY" not in env
    assert pod["securityContext"]["runAsUser"] == PROFILE["run_as_uid"] == pod["securityContext"]["fsGroup"]
    if answers.get("gpu"):
        assert pod["nodeSelector"] == gpu["node_selector"]
        assert pod["tolerations"] == gpu["tolerations"]
        assert pod["runtimeClassName"] == "nvidia"
        assert server["resources"]["limits"]["nvidia.com/gpu"] == answers.get("gpu_count", 1)
    else:
        assert not {"nodeSelector", "tolerations", "runtimeClassName"} & set(pod)
    for key, claim in objects.items():
        if key.startswith("PersistentVolumeClaim/"):
            assert claim["spec"]["storageClassName"] == "ceph-block"
    secret = objects.get("ExternalSecret")
    annotations = deployment["metadata"].get("annotations", {})
    if secret is not None:
        assert secret["apiVersion"] == "external-secrets.io/v1"
        assert secret["spec"]["secretStoreRef"] == {"name": "bitwarden", "kind": "ClusterSecretStore"}
        items = {entry["secretKey"]: entry["remoteRef"]["key"] for entry in secret["spec"]["data"]}
        assert ("QDRANT_API_KEY" in items) == (answers.get("vector_db") == "qdrant")
        if "QDRANT_API_KEY" in items:
            assert items["QDRANT_API_KEY"] == "Qdrant API key"
        assert annotations["secret.reloader.stakater.com/reload"] == f"{app}-secrets", "Reloader installed"
    else:
        assert "secret.reloader.stakater.com/reload" not in annotations
    agents = (app_dir / "AGENTS.md").read_text()
    if answers.get("gpu"):
        assert "kubectl get nodes -l gpu=true\n" in agents and "RuntimeClass `nvidia`" in agents


def expected_under_defaults(answers: dict[str, Any]) -> set[str]:
    """The rules the same manifests break against the default facts: where the two clusters differ."""
    # The gateway: ingress from its namespace, and the route's parent Gateway.
    expected = {"AIA604", "AIA902"} if answers.get("gateway_ingress", True) else set()
    if answers.get("serves_model", True) or answers.get("cache_pvc"):
        expected.add("AIA201")  # storage class
    if answers.get("llm_providers"):
        expected |= {"AIA302", "AIA502"}  # LiteLLM's URL, the secret store
    if answers.get("vector_db") == "qdrant":
        expected |= {"AIA402", "AIA502"}  # Qdrant's URL, the secret store (its API key)
    if answers.get("model_predownload") and answers.get("model_hf_token_item"):
        expected.add("AIA502")
    if answers.get("gpu"):
        expected |= {"AIA103", "AIA104"}  # node selector and taint
    engine = answers.get("serving_engine", "vllm" if answers.get("gpu") else "custom")
    if answers.get("serves_model", True) and engine == "vllm":
        # The secret store (the vLLM API key); LiteLLM's pods as peer: under the default facts the other
        # cluster's LiteLLM is not LiteLLM (AIA804), so its pods are another app's calling vLLM (AIA805).
        expected |= {"AIA502", "AIA804", "AIA805"}
    return expected


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_renders_checks_and_builds_with_the_other_clusters_facts(
    preset: str, tmp_path: Path, validator: SchemaValidator
) -> None:
    gitops = gitops_with_profile(tmp_path / "gitops")
    dest = gitops / "apps" / preset
    result = aiapp("new", "--preset", preset, "--template", str(ROOT), "--vcs-ref", "HEAD", str(dest))
    assert result.exit_code == 0, result.stdout + result.stderr
    answers = load_preset(preset)
    assert_profile_facts(dest, answers)

    for obj in kustomize_build(dest):
        assert validator.validate(obj) == [], f"{obj['kind']} of {preset} is invalid"

    location = os.environ.get("AIAPP_SCHEMA_LOCATION")
    options = Options(schemas=True, build=True, jobs=1, schema_location=location)
    report = check_paths([str(dest)], options)
    assert [f"{f.rule_id} {f.message}" for f in report.findings] == [], "passes under its own profile"

    elsewhere = tmp_path / "no-profile" / preset
    shutil.copytree(dest, elsewhere)
    cluster_facts.forget_profiles()
    report = check_paths([str(elsewhere)], Options(build=True, jobs=1))
    found = {finding.rule_id for finding in report.findings}
    assert found == expected_under_defaults(answers), "fails under the default profile where they differ"


# --- plain Copier ----------------------------------------------------------------------------------------


def copier_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "copier", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


def test_plain_copier_takes_the_facts_from_the_aiapp_yml_as_data_file(tmp_path: Path) -> None:
    """README: `copier copy --data-file .aiapp.yml`; its other keys (`template:`) are not answers."""
    result = copier_cli(
        "copy", "--defaults", "--quiet", "--vcs-ref", "HEAD", "--data-file", str(PROFILE_FILE),
        "--data", "app_name=chat", "--data", "image=ghcr.io/acme/chat:1.0.0", "--data", "serves_model=false",
        "--data", 'llm_providers=["openai"]', "--data", "vector_db=qdrant", str(ROOT), "app",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    recorded = yaml.safe_load((tmp_path / "app" / ".copier-answers.yml").read_text())
    assert recorded["cluster"] == PROFILE and "template" not in recorded
    policy = built(tmp_path / "app")["CiliumNetworkPolicy"]
    assert [ports(rule) for rule in egress_to(policy, "litellm")] == [["4000"]]

    # Without the data file: nothing recorded, the defaults rendered.
    result = copier_cli(
        "copy", "--defaults", "--quiet", "--vcs-ref", "HEAD", "--data", "app_name=chat",
        "--data", "image=ghcr.io/acme/chat:1.0.0", "--data", "serves_model=false", str(ROOT), "plain",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "cluster" not in yaml.safe_load((tmp_path / "plain" / ".copier-answers.yml").read_text())
    ingress = built(tmp_path / "plain")["CiliumNetworkPolicy"]["spec"]["ingress"]
    assert ingress[0]["fromEndpoints"] == [{"matchLabels": {f"k8s:{NAMESPACE}": "gateway"}}]


def test_shell_metacharacters_never_reach_agents_md_commands_unquoted(tmp_path: Path) -> None:
    """Plain Copier does not validate the profile: AGENTS.md quotes every fact in its commands."""
    hostile = "$(touch /tmp/pwned); rm -rf ~"
    answers = {**load_preset("inference-8b-fp16"), "cluster": {"gpu": {"node_selector": {"gpu": hostile}}}}
    agents = (render(tmp_path / "app", answers) / "AGENTS.md").read_text()
    commands = [line for line in agents.splitlines() if line.startswith("kubectl") and " nodes " in line]
    assert commands
    for line in commands:
        words = shlex.split(line.split(" | ")[0])
        assert words[:5] == ["kubectl", *line.split()[1:3], "-l", f"gpu={hostile}"]
    # aiapp never lets it that far: the profile is refused.
    gitops = tmp_path / "gitops"
    gitops.mkdir()
    (gitops / ".aiapp.yml").write_text(yaml.safe_dump({"cluster": answers["cluster"]}))
    result = aiapp("check", str(gitops))
    assert result.exit_code == 2 and "cluster.gpu.node_selector.gpu" in result.stderr


# --- invalid profiles ------------------------------------------------------------------------------------

INVALID = [
    ("litellm: {namespace: AI_Services}", "cluster.litellm.namespace", "DNS-1123 label"),
    ("litellm: {service: 4litellm}", "cluster.litellm.service", "DNS-1035"),
    ("qdrant: {selector: {'bad key!': qdrant}}", "cluster.qdrant.selector (key", "label key"),
    ("gpu: {node_selector: {gpu: true}}", "cluster.gpu.node_selector.gpu = true", "quote"),
    ("litellm: {port: 70000}", "cluster.litellm.port = 70000", "1 to 65535"),
    ("qdrant: {target_port: '6333'}", "cluster.qdrant.target_port", "port number"),
    ("gpu: {resource: gpu}", 'cluster.gpu.resource = "gpu"', "extended resource"),
    ("gpu: {tolerations: [{key: gpu, operator: Exists, effect: NoRun}]}", "effect", "taint effect"),
    ("gpu: {tolerations: [{key: gpu, operator: Equal, effect: NoSchedule}]}", "missing value", "Equal"),
    ("gpu: {runtime_class: 'Nvidia Runtime'}", "cluster.gpu.runtime_class", "RuntimeClass"),
    ("secret_store: {api_version: external-secrets.io/v1alpha1}", "api_version", "external-secrets.io/v1"),
    ("secret_store: {kind: Vault}", "cluster.secret_store.kind", "ClusterSecretStore"),
    ("qdrant: {api_key_item: \"Qdrant\\nkey\"}", "cluster.qdrant.api_key_item", "one line"),
    ("gateway: {namespace: 'gw; rm -rf ~'}", "cluster.gateway.namespace", "DNS-1123 label"),
    ("gateway: {entities: [world]}", "cluster.gateway.entities[0]", "Cilium entities"),
    ("monitoring: {namespace: Monitoring}", "cluster.monitoring.namespace", "namespace"),
    ("monitoring: {labels: {'bad key!': x}}", "cluster.monitoring.labels (key", "label key"),
    ("storage_class: Ceph_Block", "cluster.storage_class", "DNS subdomain"),
    ("run_as_uid: 0", "cluster.run_as_uid = 0", "non-root"),
    ("litellm: {nmespace: litellm}", "cluster.litellm.nmespace: unknown key", "namespace"),
]


@pytest.mark.parametrize(("snippet", "where", "rule"), INVALID, ids=[item[1] for item in INVALID])
def test_an_invalid_profile_is_refused_with_one_line_and_nothing_written(
    snippet: str, where: str, rule: str, tmp_path: Path
) -> None:
    gitops = tmp_path / "gitops"
    gitops.mkdir()
    settings = gitops / ".aiapp.yml"
    settings.write_text(f"cluster:\n  {snippet}\n")
    dest = gitops / "apps" / "chat"
    result = aiapp("new", "--preset", "chat-litellm", "--template", str(ROOT), "--vcs-ref", "HEAD", str(dest))
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {settings}: ") and where in first and rule in first, first
    assert not dest.exists() and not (gitops / "apps").exists()


def test_check_and_init_refuse_an_invalid_profile_too(tmp_path: Path) -> None:
    (tmp_path / ".aiapp.yml").write_text("cluster:\n  litellm: {port: 0}\n")
    (tmp_path / "app.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    result = aiapp("check", str(tmp_path))
    assert result.exit_code == 2 and "cluster.litellm.port = 0" in result.stderr
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    result = aiapp("init", "--defaults", "--set", "gpu.node_selector={gpu: yes}", str(fresh))
    assert result.exit_code == 2 and "cluster.gpu.node_selector.gpu = true" in result.stderr
    assert not (fresh / ".aiapp.yml").exists()


# --- aiapp init ------------------------------------------------------------------------------------------


def test_init_detect_proposes_what_the_manifests_show(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(HERE / "detect-repo", repo)
    result = aiapp("init", "--detect", "--yes", "--defaults", str(repo))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "litellm.target_port" in result.stdout and "service.yaml" in result.stdout  # with its file
    assert "gpu.tolerations" in result.stdout and "deployment.yaml" in result.stdout
    written = yaml.safe_load((repo / ".aiapp.yml").read_text())["cluster"]
    found = {
        "litellm": PROFILE["litellm"],
        "qdrant": {key: value for key, value in PROFILE["qdrant"].items() if key != "bootstrap_image"},
        "gpu": PROFILE["gpu"],
        "gateway": {"namespace": "envoy-gateway-system", "name": "main"},
        "monitoring": {"namespace": "monitoring"},  # where the fixture's Prometheus runs
        "storage_class": "ceph-block",
        "secret_store": PROFILE["secret_store"],
    }
    assert written == one_form(merge(found))


def test_init_detect_reads_a_leaderworkersets_pods_and_claim_templates(tmp_path: Path) -> None:
    """A repository whose only GPU workload is a multi-node model server (issue 21): its GPU node selector,
    tolerations and the storage class of its claim templates are the cluster's."""
    lws = (SNAPSHOTS / "inference-70b-int4@405b-two-nodes" / "leaderworkerset.yaml").read_text()
    assert lws.count('storageClassName: "proxmox-csi"') == 2  # the models and the cache claim templates
    (tmp_path / "leaderworkerset.yaml").write_text(lws.replace('"proxmox-csi"', '"ceph-block"'))
    result = aiapp("init", "--detect", "--yes", "--defaults", str(tmp_path))
    assert result.exit_code == 0, result.stdout + result.stderr
    written = yaml.safe_load((tmp_path / ".aiapp.yml").read_text())["cluster"]
    assert written["gpu"]["node_selector"] == {"gpu-node": "true", "gpu-model": "h100"}
    assert written["gpu"]["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "h100", "effect": "NoSchedule"}
    ]
    assert written["storage_class"] == "ceph-block"


def test_init_detect_on_a_repo_without_them_proposes_the_defaults_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    (tmp_path / ".aiapp.yml").write_text("# our settings\ntemplate: https://git.example.com/aiapp.git\n")
    result = aiapp("init", "--detect", "--yes", "--defaults", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert "proposing the defaults" in result.stdout
    text = (tmp_path / ".aiapp.yml").read_text()
    assert text.startswith("# our settings\ntemplate: https://git.example.com/aiapp.git\n")  # kept
    assert yaml.safe_load(text)["cluster"] == one_form(merge({}))
    again = aiapp("init", "--defaults", str(tmp_path))
    assert again.exit_code == 2 and "already has a cluster profile" in again.stderr


class Scripted:
    def __init__(self, answers: dict[str, str], confirm: bool) -> None:
        self.answers, self.answer, self.asked = answers, confirm, []  # type: list[str]

    def text(self, message: str, default: str) -> str:
        self.asked.append(message)
        return self.answers.get(message, default)

    def confirm(self, message: str, default: bool) -> bool:
        self.asked.append(message)
        # "Use these N facts?" no: every fact is asked; then the write is confirmed (or not).
        return False if message.startswith("Use these") else self.answer


def test_init_asks_every_fact_reasks_a_bad_one_and_writes_only_when_confirmed(tmp_path: Path) -> None:
    prompter = Scripted({"litellm.namespace": "litellm", "storage_class": "ceph-block"}, confirm=False)
    code = run_init(InitOptions(repo=tmp_path, interactive=True, prompter=prompter))
    assert code == 1 and not (tmp_path / ".aiapp.yml").exists()
    assert prompter.asked[1] == "litellm.namespace" and "gpu.tolerations" in prompter.asked

    answers = iter(["Bad Namespace", "litellm"])

    class Fixing(Scripted):
        def text(self, message: str, default: str) -> str:
            self.asked.append(message)
            return next(answers) if message == "litellm.namespace" else default

    fixing = Fixing({}, confirm=True)
    assert run_init(InitOptions(repo=tmp_path, interactive=True, prompter=fixing)) == 0
    assert fixing.asked.count("litellm.namespace") == 2
    written = yaml.safe_load((tmp_path / ".aiapp.yml").read_text())["cluster"]
    assert written["litellm"]["namespace"] == "litellm"


def test_init_takes_the_facts_as_one_block(tmp_path: Path) -> None:
    """One question for the whole profile (issue 20: 31 prompts, one per fact), then the write."""

    class Accepting(Scripted):
        def confirm(self, message: str, default: bool) -> bool:
            self.asked.append(message)
            return True

    prompter = Accepting({}, confirm=True)
    sets = ["storage_class=ceph-block"]
    options = InitOptions(repo=tmp_path, interactive=True, prompter=prompter, sets=sets)
    assert run_init(options) == 0
    assert len(prompter.asked) == 2 and prompter.asked[0].startswith("Use these ")
    assert yaml.safe_load((tmp_path / ".aiapp.yml").read_text())["cluster"]["storage_class"] == "ceph-block"


# --- a profile change rolls out: status, then update --------------------------------------------------------


def test_a_profile_change_shows_as_drift_and_update_rolls_it_out_keeping_hand_edits(tmp_path: Path) -> None:
    tpl = template_repo(tmp_path / "aiapp-template")
    repo = tmp_path / "gitops"
    repo.mkdir()
    (repo / ".aiapp.yml").write_text("cluster:\n  storage_class: proxmox-csi\n")
    gitops_repo(repo, [("apps/rag-api", "rag-cpu-qdrant"), ("apps/team-chat", "chat-litellm")], src=str(tpl))
    rag = repo / "apps/rag-api"
    edit(rag / "config.env", "APP_NAME=rag-api\n", "APP_NAME=rag-api\nTEAM=search\n")
    commit(repo, "hand edit")
    assert aiapp("status", "--check", cwd=repo).exit_code == 0

    (repo / ".aiapp.yml").write_text(PROFILE_FILE.read_text())
    commit(repo, "the cluster profile of the new cluster")
    cluster_facts.forget_profiles()
    shown = aiapp("status", "--check", cwd=repo)
    assert shown.exit_code == 1
    rows = [line for line in shown.stdout.splitlines() if line.startswith("apps/")]
    assert all(" drift " in row and "litellm.namespace" in row for row in rows), rows

    dry = aiapp("update", "--dry-run", cwd=repo)
    assert dry.exit_code == 0 and status(repo) == ""
    assert "apps/rag-api: would re-apply the cluster facts at v0.1.0" in dry.stdout

    result = aiapp("update", cwd=repo)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "apps/team-chat: cluster facts re-applied at v0.1.0" in result.stdout
    for app in ("rag-api", "team-chat"):
        recorded = yaml.safe_load((repo / "apps" / app / ".copier-answers.yml").read_text())
        assert recorded["cluster"] == one_form(merge(PROFILE))
    objects = built(rag)
    config = objects["ConfigMap/rag-api-config"]["data"]
    assert config["TEAM"] == "search", "the hand edit is kept"
    assert config["QDRANT_URL"] == "http://qdrant-http.qdrant.svc.cluster.local:80"
    assert objects["PersistentVolumeClaim/rag-api-models"]["spec"]["storageClassName"] == "ceph-block"
    policy = objects["CiliumNetworkPolicy"]
    assert [ports(rule) for rule in egress_to(policy, "qdrant")] == [["6333"]]
    assert objects["ExternalSecret"]["spec"]["secretStoreRef"]["name"] == "bitwarden"
    commit(repo, "apply the profile")
    cluster_facts.forget_profiles()
    assert aiapp("status", "--check", cwd=repo).exit_code == 0
    assert aiapp("check", "apps", cwd=repo).exit_code == 0
