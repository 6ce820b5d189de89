"""Every rendered vLLM server, run through vLLM's own code: its `vllm serve` CLI of the pinned release and of
the previous pin (apps rendered before keep that image tag in their answers), and its OpenAI app.

vLLM is installed from PyPI with --no-deps beside the CPU torch, in one virtualenv per version (.ci/run;
$AIAPP_VLLM_VENVS). tests/realcode/vllm_probe.py runs inside it: the real `vllm` entry point
(vllm/entrypoints/cli/main.py) with the serve subcommand's run function replaced by a recorder, and the real
FastAPI app factory with a stub engine. No model, no GPU: what it proves is the command line, the parsed
configuration and the HTTP surface (the API-key middleware), not that the model loads (docs/patterns.md).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.template.presets import load_preset
from generator.template.questions import resolve
from tests.conftest import load_objects
from tests.realcode.servers import (
    FUZZ_TARGET,
    Server,
    fuzz_servers,
    preset_servers,
    servers_of,
    vllm_presets,
)
from tests.realcode.venvs import HERE, image_version, missing, vllm_pythons
from tests.test_snapshots import VARIANTS

PROBE = HERE / "vllm_probe.py"
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


@pytest.fixture(scope="module")
def pythons() -> dict[str, Path]:
    """vLLM version → Python; the pinned release (the presets' image tag) must be among them."""
    found = vllm_pythons()
    pinned = {image_version(load_preset(name)["image"]) for name in vllm_presets()}
    if not found or not pinned <= set(found):
        missing(
            f"vLLM {', '.join(sorted(pinned - set(found)))} (found: {sorted(found) or 'none'})",
            "AIAPP_VLLM_VENVS",
        )
    return found


def probe(python: Path, mode: str, payload: Any) -> Any:
    result = subprocess.run(
        [str(python), str(PROBE), mode],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip(), result.stderr[-3000:]
    return json.loads(result.stdout)


def expected(server: Server) -> dict[str, Any]:
    """What vLLM must have parsed: the answers, as the namespace's fields."""
    context = server.context
    values: dict[str, Any] = {
        "model": context["model_dir"],
        "served_model_name": [context["served_model_name"]],
        "port": context["container_port"],
        "api_key": None,  # from VLLM_API_KEY, never on the command line
    }
    if context["model_precision"] in DTYPES:
        values["dtype"] = DTYPES[context["model_precision"]]
    if context["gpu"]:
        values |= {
            "tensor_parallel_size": context["gpu_count"],
            "max_model_len": context["model_max_len"],
            "gpu_memory_utilization": context["gpu_memory_utilization"],
        }
    return values


def problems(server: Server, result: dict[str, Any]) -> Iterator[str]:
    if result["error"]:
        yield f"refused: {result['error']}"
        return
    parsed = result["args"]
    for field, value in expected(server).items():
        if parsed[field] != value:
            yield f"{field} parsed as {parsed[field]!r}, expected {value!r}"
    deprecated = [m for m in result["warnings"] if "deprecat" in m.lower() or "will be removed" in m.lower()]
    if deprecated:
        yield f"deprecated: {deprecated}"
    if result["unknown_env"]:
        yield f"VLLM_* variables this vLLM does not know: {result['unknown_env']}"


def check_all(pythons: dict[str, Path], servers: list[Server]) -> None:
    # Answer sets that differ only outside the container (a description, a host name) give one case.
    keys = [json.dumps(server.probe_case(), sort_keys=True) for server in servers]
    unique = list(dict.fromkeys(keys))
    failures = []
    for version, python in sorted(pythons.items()):
        results = dict(zip(unique, probe(python, "parse", [json.loads(key) for key in unique]), strict=True))
        for server, key in zip(servers, keys, strict=True):
            result = results[key]
            failures += [
                f"vLLM {version}, {server.origin}: {problem}" for problem in problems(server, result)
            ]
    assert failures == [], "\n".join(failures[:20])


def test_the_fast_render_is_copiers(rendered_preset) -> None:
    """servers.py renders the container from the resolved answers; Copier renders the same container."""
    for server in preset_servers():
        name = server.origin.removeprefix("preset ")
        container = load_objects(rendered_preset(name))["Deployment"]["spec"]["template"]["spec"][
            "containers"
        ][0]
        assert (tuple(container["command"]), tuple(str(arg) for arg in container["args"])) == (
            server.command,
            server.args,
        ), name


def test_every_preset_server_parses_with_vllms_own_cli(pythons: dict[str, Path]) -> None:
    servers = preset_servers()
    assert len(servers) >= 3
    for server in servers:
        assert server.command == ("vllm", "serve"), server.origin
    check_all(pythons, servers)


def test_fuzzed_servers_parse_with_vllms_own_cli(pythons: dict[str, Path]) -> None:
    servers = fuzz_servers(vllm_presets())
    assert len(servers) >= FUZZ_TARGET, len(servers)
    check_all(pythons, servers)


def test_the_old_model_flag_is_what_vllm_refuses_or_deprecates(pythons: dict[str, Path]) -> None:
    """The probe sees what today's main rendered (`--model DIR`): the test above would catch its return."""
    server = preset_servers()[0]
    old = Server("the --model form", server.command, ("--model", *server.args), server.env, server.context)
    for version, python in pythons.items():
        result = probe(python, "parse", [old.probe_case()])[0]
        assert list(problems(old, result)), f"vLLM {version} took --model silently"


def test_vllms_app_guards_v1_with_the_key_and_leaves_health_and_metrics_open(
    pythons: dict[str, Path],
) -> None:
    for server in preset_servers():
        for version, python in sorted(pythons.items()):
            result = probe(python, "app", server.probe_case())
            assert result["error"] == "", (version, server.origin, result)
            codes = result["codes"]
            where = f"vLLM {version}, {server.origin}: {codes}"
            assert codes["/health"] == 200 and codes["/metrics"] == 200, where
            assert codes["/v1/models"] == 401 and codes["/v1/models wrong key"] == 401, where
            assert codes["/v1/chat/completions"] == 401, where
            assert codes["/v1/models with key"] == 200, where


def multi_node_servers() -> list[Server]:
    """The leader and workers of every snapshot scenario whose replica spans several nodes (the 405B model on
    two 8-GPU nodes, tests/test_snapshots.py), with the variables the LeaderWorkerSet controller sets."""
    found = []
    for name, (preset, extra) in VARIANTS.items():
        context = resolve({**load_preset(preset), **extra})  # the scenario's profile included
        if context["replica_nodes"] > 1:
            found += servers_of(f"scenario {name}", context)
    return found


def test_the_multi_node_replica_renders_a_leader_and_its_workers() -> None:
    servers = multi_node_servers()
    assert [server.origin.split("(")[-1] for server in servers] == ["leader)", "worker 1)"]
    leader, worker = servers
    assert "$(LWS" not in " ".join(leader.args + worker.args)  # every variable the kubelet expands is set
    assert leader.args[leader.args.index("--master-addr") + 1] == "llama-405b-group-0.llama-405b-group.ai"
    assert worker.args[-1] == "--headless" and worker.args[worker.args.index("--node-rank") + 1] == "1"


def test_the_multi_node_leader_and_worker_parse_with_the_pinned_vllms_cli(pythons: dict[str, Path]) -> None:
    """vLLM 0.34.0's own parser and ParallelConfig: the group is nodes x GPUs ranks, each pod runs as many
    ranks as it has GPUs, over the multiprocessing backend; only the leader serves the API."""
    servers = multi_node_servers()
    version = image_version(servers[0].context["image"])
    results = probe(pythons[version], "parse", [server.probe_case() for server in servers])
    failures = []
    for index, (server, result) in enumerate(zip(servers, results, strict=True)):
        context = server.context
        nodes, gpus = context["replica_nodes"], context["gpu_count"]
        failures += list(problems(server, result))
        if result["error"]:
            continue
        wanted = {
            "pipeline_parallel_size": nodes,
            "nnodes": nodes,
            "node_rank": index,
            "master_addr": f"{context['lws_name']}-0.{context['lws_name']}.{context['namespace']}",
            "headless": index > 0,
        }
        failures += [
            f"{server.origin}: {field} parsed as {result['args'][field]!r}, expected {value!r}"
            for field, value in wanted.items()
            if result["args"][field] != value
        ]
        if result["parallel"] != {"world_size": nodes * gpus, "node_ranks": gpus, "backend": "mp"}:
            failures.append(f"{server.origin}: vLLM's ParallelConfig says {result['parallel']}")
    assert failures == [], "\n".join(failures)


def test_the_multi_node_leaders_app_guards_v1_with_the_key(pythons: dict[str, Path]) -> None:
    leader = multi_node_servers()[0]
    result = probe(pythons[image_version(leader.context["image"])], "app", leader.probe_case())
    assert result["error"] == "", result
    assert result["codes"]["/health"] == 200 and result["codes"]["/v1/models"] == 401, result["codes"]
    assert result["codes"]["/v1/models with key"] == 200, result["codes"]
