"""A model larger than one node (issue 21): one replica on several whole nodes of a pool the profile sizes,
rendered as a LeaderWorkerSet (kubernetes-sigs/lws v1, schema v0.9.0) running vLLM's multiprocessing
multi-node mode (vLLM 0.34.0, docs/serving/parallelism_scaling.md; tests/realcode/test_vllm_cli.py parses
the leader's and the worker's command lines with that vLLM).

The scenario is the snapshot `inference-70b-int4@405b-two-nodes`: Llama 3.1 405B at bf16 (757 GiB) on the
pool `h100` of tests/cluster/h100-pool.aiapp.yml, two nodes of 8 x 80 GiB (520 GiB usable each)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cluster import facts
from generator.policy import Options, check_paths, config
from generator.template.presets import load_preset
from generator.template.questions import check, load_questions, resolve
from tests.conftest import ROOT, load_objects, render
from tests.test_render_presets import kustomize_build
from tests.test_snapshots import VARIANTS

SCENARIO = "inference-70b-int4@405b-two-nodes"
QUESTIONS = {question.name: question for question in load_questions()}
LWS_NAME = "leaderworkerset.sigs.k8s.io/name"
WORKER_INDEX = "leaderworkerset.sigs.k8s.io/worker-index"


def answers(**changes: Any) -> dict[str, Any]:
    preset, extra = VARIANTS[SCENARIO]
    return {**load_preset(preset), **extra, **changes}


def profile_of(answers: dict[str, Any]) -> dict[str, Any]:
    cluster: dict[str, Any] = answers["cluster"]
    return cluster


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GitOps repository with the h100-pool profile and the rendered 405B app under apps/ai/."""
    root = tmp_path_factory.mktemp("multi-node")
    given = answers()
    (root / ".aiapp.yml").write_text(yaml.safe_dump({"cluster": profile_of(given)}), encoding="utf-8")
    render(root / "apps" / "ai" / "llama-405b", given)
    return root


def app(repo: Path) -> Path:
    return repo / "apps" / "ai" / "llama-405b"


def test_the_405b_model_on_two_8_gpu_nodes_is_one_leaderworkerset_of_2_x_8_gpus(repo: Path) -> None:
    objects = load_objects(app(repo))
    assert "Deployment" not in objects and not [key for key in objects if key.startswith("PersistentVolume")]
    lws = objects["LeaderWorkerSet"]
    spec: dict[str, Any] = lws["spec"]  # type: ignore[assignment]
    template = spec["leaderWorkerTemplate"]
    assert lws["apiVersion"] == "leaderworkerset.x-k8s.io/v1"
    assert (spec["replicas"], template["size"], spec["startupPolicy"]) == (1, 2, "LeaderCreated")
    assert template["restartPolicy"] == "RecreateGroupOnPodRestart"
    assert spec["rolloutStrategy"]["rollingUpdateConfiguration"] == {"maxSurge": 0, "maxUnavailable": 1}
    leader, worker = (template[role]["spec"] for role in ("leaderTemplate", "workerTemplate"))
    for pod in (leader, worker):
        container = pod["containers"][0]
        assert container["resources"]["limits"]["nvidia.com/gpu"] == 8
        assert pod["nodeSelector"] == {"gpu-node": "true", "gpu-model": "h100"}
        assert pod["runtimeClassName"] == "nvidia"
        # Every claim of volumeClaimTemplates is mounted (the LWS API's rule), none is also a pod volume.
        mounts = {mount["name"] for mount in container["volumeMounts"]}
        claims = {claim["metadata"]["name"] for claim in template["volumeClaimTemplates"]}
        assert claims == {"models", "cache"} and claims <= mounts
        assert not claims & {volume["name"] for volume in pod["volumes"]}
    args = leader["containers"][0]["args"]
    flags = dict(zip(args[1::2], args[2::2], strict=False))
    assert flags["--tensor-parallel-size"] == "8" and flags["--pipeline-parallel-size"] == "2"
    assert (flags["--nnodes"], flags["--node-rank"]) == ("2", "0")
    assert flags["--master-addr"] == "$(LWS_LEADER_ADDRESS)"
    worker_args = worker["containers"][0]["args"]
    assert worker_args[-1] == "--headless"
    rank = args.index("--node-rank") + 1
    assert worker_args[:-1] == [*args[:rank], "$(LWS_WORKER_INDEX)", *args[rank + 1 :]]
    # Only the leader serves the API: ports, probes and the API key are its own.
    assert "ports" in leader["containers"][0] and "readinessProbe" in leader["containers"][0]
    assert not {"ports", "startupProbe", "readinessProbe", "livenessProbe"} & set(worker["containers"][0])
    assert "VLLM_API_KEY" not in {item["name"] for item in worker["containers"][0]["env"]}


def test_the_service_selects_the_leaders_and_the_policy_admits_the_group_only(repo: Path) -> None:
    objects = load_objects(app(repo))
    assert objects["Service"]["spec"]["selector"][WORKER_INDEX] == "0"  # type: ignore[index]
    policy: dict[str, Any] = objects["CiliumNetworkPolicy"]["spec"]  # type: ignore[assignment]
    group = {LWS_NAME: "llama-405b-group"}
    assert [rule for rule in policy["ingress"] if rule.get("fromEndpoints") == [{"matchLabels": group}]] == [
        {"fromEndpoints": [{"matchLabels": group}]}
    ]
    assert {"toEndpoints": [{"matchLabels": group}]} in policy["egress"]


def test_kubernetes_networkpolicy_admits_the_group_too(tmp_path: Path) -> None:
    given = answers()
    given["cluster"] = {**profile_of(given), "network": {"policy_engine": "kubernetes"}}
    policy = load_objects(render(tmp_path / "app", given))["NetworkPolicy"]["spec"]  # type: ignore[index]
    group = {"podSelector": {"matchLabels": {LWS_NAME: "llama-405b-group"}}}
    assert {"from": [group]} in policy["ingress"] and {"to": [group]} in policy["egress"]


def test_kustomize_gives_both_templates_the_generated_configmaps_hashed_name(repo: Path) -> None:
    """kustomize rewrites references to a generated ConfigMap only in the kinds it knows: without
    kustomizeconfig.yaml the LeaderWorkerSet's pods would name a ConfigMap that does not exist."""
    objects = kustomize_build(app(repo))
    config_map = next(obj for obj in objects if obj["kind"] == "ConfigMap")["metadata"]["name"]
    assert config_map.startswith("llama-405b-config-")
    lws = next(obj for obj in objects if obj["kind"] == "LeaderWorkerSet")
    refs = [
        ref["configMapRef"]["name"]
        for role in ("leaderTemplate", "workerTemplate")
        for field in ("initContainers", "containers")
        for container in lws["spec"]["leaderWorkerTemplate"][role]["spec"].get(field, [])
        for ref in container.get("envFrom", [])
    ]
    assert len(refs) == 4 and set(refs) == {config_map}


def test_the_app_passes_check_with_strict_schemas(repo: Path) -> None:
    """The LeaderWorkerSet validates against its CRD's schema (no CEL rules there) and the app passes
    `aiapp check` on its repository's profile."""
    location = os.environ.get("AIAPP_SCHEMA_LOCATION")
    if not location:
        pytest.skip("AIAPP_SCHEMA_LOCATION is not set (CI points it at ../shared/schemas)")
    result = subprocess.run(
        [sys.executable, "-m", "generator", "check", "--schemas", "--schema-location", location, "--strict",
         "--format", "json", str(repo)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_aiapp_check_reads_the_leaderworkerset_as_a_workload(repo: Path) -> None:
    facts.forget_profiles()
    report = check_paths([str(repo)], Options(jobs=1, config=config.load(repo / ".aiapp.yml")))
    assert [item.rule_id for item in report.findings if item.severity.value == "error"] == []


def test_the_pool_that_cannot_hold_it_refuses_it_with_the_figures() -> None:
    given = answers()
    pools = profile_of(given)["gpu"]["pools"]
    one_node = {"gpu": {"pools": [pools[0], {**pools[1], "nodes": 1}]}}
    context = resolve({**given, "cluster": one_node, "nodes_per_replica": 1})
    rule = str(check(QUESTIONS["nodes_per_replica"], 2, context))
    assert "between 1 and 1 (the nodes of pool h100)" in rule
    assert "need about 757.0 GiB" in rule and "8 x 80 GiB leave 520.0 GiB" in rule
    assert "the pool's 1 node does not hold it (2 would)" in rule


def test_one_node_too_few_says_how_many_nodes_hold_it() -> None:
    context = resolve(answers())
    rule = str(check(QUESTIONS["nodes_per_replica"], 1, context))
    assert "2 nodes hold it: answer nodes_per_replica=2" in rule


def test_a_multi_node_replica_needs_a_pool_whose_sizes_the_profile_gives() -> None:
    """Without the cards' memory in the profile, a whole node that is too small is refused (no guess)."""
    given = answers()
    pools = profile_of(given)["gpu"]["pools"]
    unsized = {**pools[1]}
    del unsized["gpu_memory_gib"]
    context = resolve({**given, "cluster": {"gpu": {"pools": [unsized]}}, "nodes_per_replica": 1})
    assert context["multi_node_candidate"] is False and context["replica_nodes"] == 1
    rule = str(check(QUESTIONS["gpu_memory_gib"], 80, context))
    assert "give the pool's gpu_memory_gib in the profile (gpu.pools)" in rule


def test_older_vllm_images_and_long_names_are_refused() -> None:
    old = resolve(answers(image="vllm/vllm-openai:v0.10.1.1"))
    assert "vLLM 0.34.0 has them" in str(check(QUESTIONS["nodes_per_replica"], 2, old))
    long_name = resolve(answers(app_name="a" * 41))
    assert "at most 40 characters" in str(check(QUESTIONS["nodes_per_replica"], 2, long_name))
    custom = {**resolve(answers()), "image_is_vllm": False}  # a custom server image
    assert "multi-node serving only" in str(check(QUESTIONS["serving_engine"], "custom", custom))


def test_a_model_that_fits_one_node_is_unchanged(tmp_path: Path) -> None:
    """A whole node that holds the model: no question, one Deployment (every app before issue 21)."""
    context = resolve(answers(model_name="Llama-3.1-70B-Instruct", nodes_per_replica=3))
    assert (context["multi_node_candidate"], context["replica_nodes"], context["lws_name"]) == (False, 1, "")


def test_aiapp_new_counts_the_whole_replica_against_the_pool(repo: Path, tmp_path: Path) -> None:
    answers_file = tmp_path / "answers.yml"
    given = answers()
    del given["cluster"]
    answers_file.write_text(yaml.safe_dump(given), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "generator", "new", "--answers-file", str(answers_file), "--defaults",
         "--dry-run", "--force", str(app(repo))],
        capture_output=True, text=True, cwd=repo, check=False,
        env={**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GPUs           2 nodes x 8 x 80 GiB = 1280 GiB: fits" in result.stdout
    assert "a replica takes 2 whole nodes, 8 GPUs on each" in result.stdout
    # The app's own LeaderWorkerSet (rendered already) is not counted twice.
    assert "0 requested by 0 workloads; 16 left; this app takes 16: 0 left after it" in result.stderr


def test_extra_arguments_may_not_repeat_the_generated_multi_node_flags() -> None:
    context = resolve(answers())
    rule = str(check(QUESTIONS["vllm_extra_args"], ["--nnodes", "3", "--headless"], context))
    assert "--nnodes, --headless come from the answers (model, GPUs, nodes," in rule
    one_node = resolve(load_preset("inference-70b-int4"))  # on one node the flags are the person's
    assert check(QUESTIONS["vllm_extra_args"], ["--pipeline-parallel-size", "2"], one_node) is None
