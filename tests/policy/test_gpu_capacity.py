"""GPU pools in the profile and their capacity across a repository (issue 21, rule AIA105).

tests/policy/capacity/homelab-4gpu: a pool of two nodes with two GPUs each (4 GPUs) and apps that
request 5 of them (one a RollingUpdate Deployment, whose rollout starts a second pod); a second,
more specific pool of unknown size holds another app, which the first pool does not count.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cluster import facts
from generator.cluster.capacity import Demand, demand
from generator.cluster.facts import GpuPool
from generator.cluster.profile import merge, validate, written
from generator.errors import ProfileError
from generator.policy import Options, check_paths, config, kustomize

REPOSITORY = Path(__file__).resolve().parent / "capacity" / "homelab-4gpu"
TAINT = ((("effect", "NoSchedule"), ("key", "nvidia.com/gpu"), ("operator", "Exists")),)
POOL = GpuPool("h100", (("gpu-node", "true"),), TAINT, gpus_per_node=8, gpu_memory_gib=80, nodes=2)


def capacity_findings(root: Path, build: bool) -> list[Any]:
    facts.forget_profiles()
    report = check_paths([str(root)], Options(jobs=1, build=build, config=config.load(root / ".aiapp.yml")))
    return [item for item in report.findings if item.rule_id == "AIA105"]


@pytest.mark.parametrize("build", [True, False], ids=["built", "as-written"])
def test_a_pool_of_4_gpus_asked_for_5_is_one_finding_naming_the_pool_and_its_apps(build: bool) -> None:
    if build and kustomize.tool() is None:
        pytest.skip("kubectl or kustomize is needed to build the kustomizations")
    found = capacity_findings(REPOSITORY, build)
    assert len(found) == 1, [item.message for item in found]
    message = found[0].message
    assert 'GPU pool "rtx4090" has 4 GPUs (2 nodes x 2)' in message
    assert "request 5" in message
    for app in ("Deployment/ai/llm-chat 2", "Deployment/ai/embedder 1", "StatefulSet/ai/reranker 1"):
        assert app in message
    assert "+ 1 during a rollout" in message  # the RollingUpdate Deployment's surge pod
    assert "whisper" not in message  # in the more specific pool "legacy"
    # The workload that crosses the capacity, in file order, carries the finding.
    assert found[0].object == "StatefulSet/ai/reranker"


@pytest.mark.parametrize("build", [True, False], ids=["built", "as-written"])
def test_the_same_repository_without_one_app_is_clean(tmp_path: Path, build: bool) -> None:
    if build and kustomize.tool() is None:
        pytest.skip("kubectl or kustomize is needed to build the kustomizations")
    root = tmp_path / "repo"
    shutil.copytree(REPOSITORY, root)
    shutil.rmtree(root / "apps" / "ai" / "reranker")
    listing = root / "apps" / "ai" / "kustomization.yaml"
    listing.write_text(listing.read_text(encoding="utf-8").replace("  - reranker\n", ""), encoding="utf-8")
    assert capacity_findings(root, build) == []


def test_pools_without_sizes_are_never_over_capacity(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPOSITORY, root)
    (root / ".aiapp.yml").write_text("cluster: {}\n", encoding="utf-8")
    assert capacity_findings(root, False) == []


def _deployment(gpus: int, **spec: Any) -> dict[str, Any]:
    pod = {
        "nodeSelector": {"gpu-node": "true"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "containers": [{"name": "s", "resources": {"limits": {"nvidia.com/gpu": gpus}}}],
    }
    return {"kind": "Deployment", "spec": {"template": {"spec": pod}, **spec}}


def test_a_deployment_surges_by_max_surge_rounded_up_and_recreate_never() -> None:
    assert demand(_deployment(2, replicas=3), "nvidia.com/gpu", [POOL]) == Demand("h100", 6, 2, "3 x 2 GPUs")
    surge = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0}}
    assert demand(_deployment(2, replicas=3, strategy=surge), "nvidia.com/gpu", [POOL]).surge == 0  # type: ignore[union-attr]
    recreate = _deployment(1, replicas=5, strategy={"type": "Recreate"})
    assert demand(recreate, "nvidia.com/gpu", [POOL]) == Demand("h100", 5, 0, "5 x 1 GPU")


def test_a_pod_without_the_pools_toleration_or_selector_is_in_no_pool() -> None:
    untolerated = _deployment(1)
    untolerated["spec"]["template"]["spec"]["tolerations"] = []
    assert demand(untolerated, "nvidia.com/gpu", [POOL]) is None
    elsewhere = _deployment(1)
    elsewhere["spec"]["template"]["spec"]["nodeSelector"] = {"gpu-node": "false"}
    assert demand(elsewhere, "nvidia.com/gpu", [POOL]) is None


def test_a_leaderworkerset_holds_replicas_x_size_pods() -> None:
    pod = _deployment(8)["spec"]["template"]
    lws = {
        "kind": "LeaderWorkerSet",
        "spec": {"replicas": 1, "leaderWorkerTemplate": {"size": 2, "workerTemplate": pod}},
    }
    found = demand(lws, "nvidia.com/gpu", [POOL])
    assert found is not None and (found.gpus, found.surge) == (16, 0)
    lws["spec"]["rolloutStrategy"] = {"rollingUpdateConfiguration": {"maxSurge": 1}}
    assert demand(lws, "nvidia.com/gpu", [POOL]).peak == 32  # type: ignore[union-attr]


def test_a_profile_with_pools_round_trips_and_one_without_keeps_its_scalar_form() -> None:
    given = {
        "gpu": {"pools": [{"name": "h100", "node_selector": {"gpu": "h100"}, "gpus_per_node": 8, "nodes": 2}]}
    }
    validate(given, "test")
    merged = merge(given)
    assert merged["gpu"]["node_selector"] == {"gpu": "h100"}  # the first pool's, for the template
    assert merge(written(merged)) == merged
    assert "pools" not in written(merge({}))["gpu"]  # today's profiles are written as before
    assert facts.cluster().gpu_pools[0].name == "gpu"
    assert facts.cluster().gpu_pools[0].capacity is None


@pytest.mark.parametrize(
    ("gpu", "refused"),
    [
        ({"pools": [{"name": "a", "node_selector": {"x": "1"}}], "node_selector": {"x": "1"}}, "not both"),
        (
            {
                "pools": [
                    {"name": "a", "node_selector": {"x": "1"}},
                    {"name": "a", "node_selector": {"y": "1"}},
                ]
            },
            "given twice",
        ),
        ({"pools": [{"name": "a", "node_selector": {"x": "1"}, "gpus_per_node": 0}]}, "1-64"),
        ({"pools": [{"name": "a", "node_selector": {"x": "1"}, "interconnect": "nvlink"}]}, "infiniband"),
    ],
)
def test_malformed_pools_are_refused_in_one_line(gpu: dict[str, Any], refused: str) -> None:
    with pytest.raises(ProfileError, match=refused):
        validate({"gpu": gpu}, "test")


def test_init_detect_proposes_a_pool_per_gpu_node_selector_and_says_how_to_give_the_sizes() -> None:
    from generator.init.detect import detect

    detection = detect(REPOSITORY)
    gpu = detection.given()["gpu"]
    assert "node_selector" not in gpu and "tolerations" not in gpu  # the pools carry them
    assert [(pool["name"], pool["node_selector"]) for pool in gpu["pools"]] == [
        ("gpu-node", {"gpu-node": "true"}),  # three workloads: the default pool
        ("p40", {"gpu-node": "true", "gpu-model": "p40"}),
    ]
    validate(detection.given(), "detected")
    assert any(line.startswith("gpu.pools sizes:") and "--set" in line for line in detection.missing)


def test_a_leaderworkerset_in_a_repository_is_counted_by_check(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".aiapp.yml").write_text(
        'cluster: {gpu: {pools: [{name: h100, node_selector: {gpu-node: "true"}, gpus_per_node: 8, '
        "nodes: 2}]}}\n",
        encoding="utf-8",
    )
    worker = _deployment(8)["spec"]["template"]
    lws = {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "metadata": {"name": "llama-405b", "namespace": "ai"},
        "spec": {"replicas": 2, "leaderWorkerTemplate": {"size": 2, "workerTemplate": worker}},
    }
    (root / "lws.yaml").write_text(yaml.safe_dump(lws), encoding="utf-8")
    found = capacity_findings(root, False)
    assert [item.message for item in found] == [
        'GPU pool "h100" has 16 GPUs (2 nodes x 8) but its workloads request 32: '
        "LeaderWorkerSet/ai/llama-405b 32 (2 groups of 2 pods, 16 GPUs a group)"
    ]


@pytest.mark.parametrize("pools", [[{"name": "a"}], "a10", [], [{"node_selector": {"x": "1"}}]])
def test_plain_copier_refuses_malformed_pools_in_one_line(pools: Any) -> None:
    from generator.template.questions import check, load_questions, resolve

    question = next(question for question in load_questions() if question.name == "cluster")
    given = {"gpu": {"pools": pools}}
    problem = check(question, given, {**resolve({}), "cluster": given})
    assert problem is not None and "each with a name and a node_selector map" in problem
