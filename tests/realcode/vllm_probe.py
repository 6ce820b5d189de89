"""Run inside a vLLM virtualenv (never imported by the test suite): vLLM's own CLI and OpenAI app on argv.

`python vllm_probe.py parse` reads a JSON list of {"argv": [...], "env": {...}} from stdin, where argv is the
container's command and args without the executable (`["serve", MODEL, "--port", ...]`), and runs vLLM's
real `vllm` console-script entry point (`vllm.entrypoints.cli.main:main`) on each, with the `serve`
subcommand's run function replaced by one that records the parsed namespace instead of starting an engine.
So argparse, the subcommand's own `validate()` and the deprecation warnings are vLLM's, of this version.
It prints one JSON result per case: the parsed values, the warnings vLLM logged, and the container's
VLLM_* variables that this vLLM does not know (vllm/envs.py, `environment_variables`).

`python vllm_probe.py app` reads one {"argv", "env"} case, parses it the same way, builds vLLM's real
OpenAI FastAPI app from the parsed namespace (no engine, no model, no GPU: a stub engine client answers
the health check) and requests /health, /metrics and /v1/models with and without the key from VLLM_API_KEY.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import os
import sys
from typing import Any

FIELDS = (
    "model",
    "model_tag",
    "served_model_name",
    "port",
    "host",
    "dtype",
    "tensor_parallel_size",
    "max_model_len",
    "gpu_memory_utilization",
    "api_key",
    "quantization",
    # A replica on several nodes (vLLM 0.34.0's multiprocessing multi-node mode; None where vLLM has none).
    "pipeline_parallel_size",
    "nnodes",
    "node_rank",
    "master_addr",
    "headless",
)


class Parsed(Exception):
    """Raised by the replaced `serve` run function: the namespace vLLM would have served."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__("parsed")
        self.namespace = args


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def parse(argv: list[str], env: dict[str, str]) -> tuple[argparse.Namespace | None, str, list[str]]:
    """vLLM's `vllm` entry point on argv: (namespace or None, argparse's error, warnings logged)."""
    import vllm.entrypoints.cli.main as cli_main
    import vllm.entrypoints.cli.serve as cli_serve

    def record(args: argparse.Namespace) -> None:
        # What ServeSubcommand.cmd does first: the positional model wins over --model.
        if getattr(args, "model_tag", None) is not None:
            args.model = args.model_tag
        raise Parsed(args)

    cli_serve.ServeSubcommand.cmd = staticmethod(record)  # type: ignore[method-assign]
    # No GPU here: vLLM's platform detection finds none; its CPU platform stands in (as `vllm bench` does).
    from vllm import platforms

    if type(platforms.current_platform).__name__ == "UnspecifiedPlatform":
        from vllm.platforms.cpu import CpuPlatform

        platforms.current_platform = CpuPlatform()
    records = Records()
    logging.getLogger("vllm").addHandler(records)
    saved_argv, saved_env = sys.argv, dict(os.environ)
    os.environ.update(env)
    sys.argv = ["vllm", *argv]
    error = ""
    namespace = None
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            cli_main.main()
    except Parsed as parsed:
        namespace = parsed.namespace
    except SystemExit as exit_:  # argparse's error: its last line says what it refused
        lines = stderr.getvalue().strip().splitlines()
        error = lines[-1] if lines else f"exit {exit_.code}"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
        logging.getLogger("vllm").removeHandler(records)
    return namespace, error, records.messages


def unknown_env(env: dict[str, str]) -> list[str]:
    import vllm.envs as envs

    known = set(envs.environment_variables)
    return sorted(name for name in env if name.startswith("VLLM_") and name not in known)


def summary(namespace: argparse.Namespace) -> dict[str, Any]:
    return {field: getattr(namespace, field, None) for field in FIELDS}


def parallel(namespace: argparse.Namespace) -> dict[str, Any] | None:
    """For a multi-node command line: vLLM's own ParallelConfig built from the parsed engine arguments (as
    EngineArgs.create_engine_config does): the ranks in the group, how many this node runs (its GPUs), and
    the executor backend. None for one node."""
    if (getattr(namespace, "nnodes", None) or 1) <= 1:
        return None
    from vllm.config.parallel import ParallelConfig
    from vllm.engine.arg_utils import EngineArgs

    engine = EngineArgs.from_cli_args(namespace)
    config = ParallelConfig(
        tensor_parallel_size=engine.tensor_parallel_size,
        pipeline_parallel_size=engine.pipeline_parallel_size,
        nnodes=engine.nnodes,
        node_rank=engine.node_rank,
        master_addr=engine.master_addr,
        master_port=engine.master_port,
        distributed_executor_backend=engine.distributed_executor_backend,
    )
    return {
        "world_size": config.world_size,
        "node_ranks": config.world_size // config.nnodes_within_dp,
        "backend": config.distributed_executor_backend,
    }


def run_parse() -> None:
    results = []
    for case in json.load(sys.stdin):
        namespace, error, warnings = parse(case["argv"], case["env"])
        results.append(
            {
                "error": error,
                "args": summary(namespace) if namespace is not None else None,
                "parallel": parallel(namespace) if namespace is not None else None,
                "warnings": warnings,
                "unknown_env": unknown_env(case["env"]),
            }
        )
    json.dump(results, RESULTS)


class StubEngine:
    """The engine client's health check, the only engine call /health makes; nothing else is reached."""

    errored = False
    is_running = True
    dead_error = RuntimeError("stub engine")

    async def check_health(self) -> None:
        return None

    async def is_sleeping(self) -> bool:
        return False

    async def is_paused(self) -> bool:
        return False


class StubModels:
    """/v1/models' handler: the served names, as vLLM's OpenAIServingModels lists them."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    async def show_available_models(self) -> Any:
        names = self.names

        class ModelList:  # the route serialises it with model_dump(), like vLLM's pydantic ModelList
            def model_dump(self) -> dict[str, Any]:
                return {"object": "list", "data": [{"id": name, "object": "model"} for name in names]}

        return ModelList()


def build_app(namespace: argparse.Namespace) -> Any:
    """vLLM's own app factory of this version: launchers.app (0.2x and later) or openai.api_server (0.10)."""
    try:
        from vllm.entrypoints.launchers.app import build_app as factory
    except ImportError:
        from vllm.entrypoints.openai.api_server import build_app as factory  # type: ignore[no-redef]
    try:
        return factory(namespace, supported_tasks=("generate",))  # type: ignore[call-arg]
    except TypeError:
        return factory(namespace)


async def requests(app: Any, key: str, names: list[str]) -> dict[str, int]:
    import httpx

    app.state.engine_client = StubEngine()
    app.state.openai_serving_models = StubModels(names)
    app.state.log_stats = False
    transport = httpx.ASGITransport(app=app)
    codes: dict[str, int] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://vllm") as client:
        for path in ("/health", "/metrics", "/v1/models"):
            codes[path] = (await client.get(path)).status_code
        wrong = {"Authorization": "Bearer not-the-key"}
        codes["/v1/models wrong key"] = (await client.get("/v1/models", headers=wrong)).status_code
        right = {"Authorization": f"Bearer {key}"}
        codes["/v1/models with key"] = (await client.get("/v1/models", headers=right)).status_code
        codes["/v1/chat/completions"] = (await client.post("/v1/chat/completions", json={})).status_code
    return codes


def run_app() -> None:
    case = json.load(sys.stdin)
    namespace, error, warnings = parse(case["argv"], case["env"])
    if namespace is None:
        json.dump({"error": error}, RESULTS)
        return
    saved = dict(os.environ)
    os.environ.update(case["env"])  # VLLM_API_KEY, read when the app is built
    try:
        app = build_app(namespace)
        names = namespace.served_model_name or [namespace.model]
        codes = asyncio.run(requests(app, case["env"]["VLLM_API_KEY"], names))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    json.dump({"error": "", "codes": codes, "warnings": warnings}, RESULTS)


if __name__ == "__main__":
    # vLLM logs to stdout: the results go to the original stdout, everything else to stderr.
    RESULTS = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    {"parse": run_parse, "app": run_app}[sys.argv[1]]()
    RESULTS.flush()
