"""`aiapp new` on a cluster with several GPU pools (issue 21): the pool is an answer, its cards' memory and
its GPUs per node bound the sizing, the app selects and tolerates that pool's nodes (and `aiapp check`
accepts it), and the wizard says what is left of the pool after the app."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from generator.cluster import facts
from generator.policy import Options, check_paths, config
from generator.template.presets import load_preset
from generator.template.questions import check, load_questions, resolve
from tests.conftest import ROOT, load_objects, render

POOLS: dict[str, Any] = {
    "gpu": {
        "pools": [
            {
                "name": "a10",
                "node_selector": {"gpu-node": "true"},
                "gpus_per_node": 2,
                "gpu_memory_gib": 24,
                "nodes": 3,
            },
            {
                "name": "h100",
                "node_selector": {"gpu-node": "true", "gpu-model": "h100"},
                "tolerations": [
                    {"key": "dedicated", "operator": "Equal", "value": "h100", "effect": "NoSchedule"}
                ],
                "runtime_class": "nvidia",
                "gpus_per_node": 8,
                "gpu_memory_gib": 80,
                "nodes": 1,
            },
        ]
    }
}
QUESTIONS = {question.name: question for question in load_questions()}
CAPACITY_REPOSITORY = ROOT / "tests" / "policy" / "capacity" / "homelab-4gpu"


def preset() -> dict[str, Any]:
    """The 8B preset without its card size (24 GiB): the pool gives it."""
    answers = dict(load_preset("inference-8b-fp16"))
    del answers["gpu_memory_gib"]
    return answers


def context(**answers: Any) -> dict[str, Any]:
    return resolve({**preset(), "cluster": POOLS, **answers})


def test_the_first_pool_is_the_default_and_its_cards_and_nodes_bound_the_answers() -> None:
    first = context()
    assert (first["gpu_pool"], first["gpu_memory_gib"]) == ("a10", 24)
    assert "between 1 and 2 (one node of pool a10)" in str(check(QUESTIONS["gpu_count"], 4, first))
    h100 = context(gpu_pool="h100")
    assert h100["gpu_memory_gib"] == 80
    assert check(QUESTIONS["gpu_count"], 8, h100) is None
    assert "have 80 GiB each" in str(check(QUESTIONS["gpu_memory_gib"], 48, h100))
    assert "one of the profile's: a10, h100" in str(check(QUESTIONS["gpu_pool"], "a100", h100))


def test_a_profile_without_pools_keeps_todays_limits() -> None:
    plain = resolve(load_preset("inference-8b-fp16"))
    assert plain["gpu_pool"] == "gpu"
    assert check(QUESTIONS["gpu_count"], 8, plain) is None
    assert check(QUESTIONS["gpu_memory_gib"], 48, plain) is None


def test_an_app_on_the_second_pool_selects_its_nodes_and_passes_check(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".aiapp.yml").write_text(yaml.safe_dump({"cluster": POOLS}), encoding="utf-8")
    app = render(repo / "llm", {**preset(), "cluster": POOLS, "gpu_pool": "h100"})
    pod = load_objects(app)["Deployment"]["spec"]["template"]["spec"]  # type: ignore[index]
    assert pod["nodeSelector"] == {"gpu-node": "true", "gpu-model": "h100"}
    assert pod["tolerations"] == POOLS["gpu"]["pools"][1]["tolerations"]
    assert pod["runtimeClassName"] == "nvidia"
    agents = (app / "AGENTS.md").read_text(encoding="utf-8")
    assert "- GPU pool: `h100` (1 node x 8 GPUs per node, the profile's gpu.pools): the pod takes 1" in agents
    facts.forget_profiles()
    report = check_paths([str(repo)], Options(jobs=1, config=config.load(repo / ".aiapp.yml")))
    assert [item for item in report.findings if item.rule_id.startswith("AIA10")] == []


def new_dry_run(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", "new", "--preset", "inference-8b-fp16", "--defaults", "--dry-run",
         str(repo / "apps" / "ai" / "chat")],
        capture_output=True, text=True, cwd=repo, check=False,
        env={**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip


def test_aiapp_new_says_what_is_left_of_the_pool_and_warns_with_the_figures(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(CAPACITY_REPOSITORY, repo)
    crowded = new_dry_run(repo)
    assert crowded.returncode == 0, crowded.stderr
    assert "GPU pool       rtx4090 (2 nodes x 2 GPUs of 24 GiB)" in crowded.stdout
    assert (
        "warning: GPU pool rtx4090 (2 nodes x 2 GPUs = 4): 5 requested by 3 workloads; OVER CAPACITY "
        "(AIA105); this app takes 1 more: 2 over the pool's 4" in crowded.stderr
    )
    shutil.rmtree(repo / "apps" / "ai" / "reranker")
    shutil.rmtree(repo / "apps" / "ai" / "llm-chat")
    listing = repo / "apps" / "ai" / "kustomization.yaml"
    listing.write_text(
        listing.read_text(encoding="utf-8").replace("  - reranker\n", "").replace("  - llm-chat\n", ""),
        encoding="utf-8",
    )
    roomy = new_dry_run(repo)
    assert (
        "note: GPU pool rtx4090 (2 nodes x 2 GPUs = 4): 2 requested by 1 workload; 2 left; this app takes "
        "1: 1 left after it" in roomy.stderr
    ), roomy.stderr


def test_a_model_larger_than_a_node_of_its_pool_is_refused_with_the_figures(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    # One node of 8 x 80 GiB: two would hold it (tests/test_multi_node.py renders that), this pool has one.
    profile = {"gpu": {"pools": [{**POOLS["gpu"]["pools"][1], "nodes": 1}]}}
    (repo / ".aiapp.yml").write_text(yaml.safe_dump({"cluster": profile}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "generator", "new", "--preset", "inference-70b-int4", "--defaults",
         "--dry-run", "--set", "model_name=Llama-3.1-405B-Instruct", "--set", "model_precision=bf16",
         "--set", "gpu_count=8", "--set", "gpu_memory_gib=80", str(repo / "llama-405b")],
        capture_output=True, text=True, cwd=repo, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "need about 757.0 GiB of GPU memory" in result.stderr
    assert "8 x 80 GiB leave 520.0 GiB" in result.stderr
    assert "That is a whole node of pool h100 (8 GPUs), and the pool's 1 node does not hold it (2 would)" in (
        result.stderr
    )


def test_aiapp_status_prints_a_line_per_sized_pool() -> None:
    from generator.cli.status import _pools

    assert _pools([CAPACITY_REPOSITORY]) == [
        "GPU pool rtx4090 (2 nodes x 2 GPUs = 4): 5 requested by 3 workloads; OVER CAPACITY (AIA105)"
    ]
