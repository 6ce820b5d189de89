"""Model servers that start and serve: the generated vLLM arguments, the KV-cache sizing against published
vLLM logs, writable caches, lean downloads, and LiteLLM's access (issue 10)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.policy.rules.serving import CACHE_VARIABLES
from generator.template.presets import load_preset
from generator.template.questions import check as check_rule
from generator.template.questions import load_questions, resolve
from tests.conftest import config_env, load_objects, render

GPU_PRESETS = ["inference-8b-fp16", "inference-70b-int4", "predownload-model"]


def exposed(preset: str) -> dict[str, Any]:
    """A preset's answers with the app on the gateway (a model server is not, unless asked)."""
    return {**load_preset(preset), "gateway_ingress": True}
QUESTIONS = {question.name: question for question in load_questions()}


def flag(args: list[str], name: str) -> str:
    assert args.count(name) == 1, (name, args)
    return args[args.index(name) + 1]


def server(objects: dict[str, Any]) -> dict[str, Any]:
    return objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("preset", GPU_PRESETS)
def test_generated_vllm_arguments_match_the_answers(preset: str, rendered_preset) -> None:
    answers = resolve(load_preset(preset))
    objects = load_objects(rendered_preset(preset))
    config = config_env(rendered_preset(preset))
    container = server(objects)
    args = [str(arg) for arg in container["args"]]
    # The context fits the computed KV-cache budget, and the GPUs are all used.
    assert 0 < int(flag(args, "--max-model-len")) <= answers["model_context_fit"]
    gpus = container["resources"]["limits"]["nvidia.com/gpu"]
    assert int(flag(args, "--tensor-parallel-size")) == gpus == answers["gpu_count"]
    assert flag(args, "--port") == str(container["ports"][0]["containerPort"])
    assert flag(args, "--gpu-memory-utilization") == "0.9"
    # `vllm serve MODEL`: the model path is the positional argument (never --model, which vllm serve
    # refuses in v0.10.1.1 and deprecates in v0.34.0), where the model is: the PVC mount, or the
    # pre-download's directory in it.
    assert container["command"] == ["vllm", "serve"]
    model = args[0]
    assert "--model" not in args and not any(arg.startswith("--model=") for arg in args)
    # The name clients send is the model name exactly (LiteLLM matches it case-sensitively).
    assert flag(args, "--served-model-name") == answers["model_name"] == config["MODEL_NAME"]
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    downloaded = f"/{answers['model_hf_repo']}" if answers["model_predownload"] else ""
    assert model == mounts["models"] + downloaded
    assert config["MODEL_DIR"] == model
    # The API key comes from the app's secret.
    key = next(env for env in container["env"] if env["name"] == "VLLM_API_KEY")
    assert key["valueFrom"]["secretKeyRef"]["name"] == f"{answers['app_name']}-secrets"


@pytest.mark.parametrize("preset", GPU_PRESETS)
def test_every_cache_variable_points_into_a_writable_mount(preset: str, rendered_preset) -> None:
    objects = load_objects(rendered_preset(preset))
    config = config_env(rendered_preset(preset))
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    for container in pod.get("initContainers", []) + pod["containers"]:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        mounts = [m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")]
        env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
        env |= {k: v for k, v in config.items() if k not in env}
        caches = {name: value for name, value in env.items() if name in CACHE_VARIABLES}
        assert {"HOME", "XDG_CACHE_HOME", "VLLM_CACHE_ROOT", "TRITON_CACHE_DIR", "HF_HOME"} <= set(caches)
        for name, value in caches.items():
            assert any(value == m or value.startswith(m + "/") for m in mounts), (container["name"], name)
    assert config["VLLM_NO_USAGE_STATS"] == "1"
    assert config["DO_NOT_TRACK"] == "1"


def test_the_cache_pvc_holds_the_compiled_kernels(rendered_preset) -> None:
    container = server(load_objects(rendered_preset("inference-70b-int4")))
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TORCHINDUCTOR_CACHE_DIR"].startswith("/cache/") and env["VLLM_CACHE_ROOT"] == "/cache/vllm"


def test_the_download_fetches_only_what_the_server_loads(rendered_preset) -> None:
    answers = resolve(load_preset("predownload-model"))
    pod = load_objects(rendered_preset("predownload-model"))["Deployment"]["spec"]["template"]["spec"]
    init = pod["initContainers"][0]
    command = init["command"]
    split = command.index("--exclude")
    assert command[command.index("--include") + 1 : split] == answers["model_download_include"]
    assert command[split + 1 :] == answers["model_download_exclude"]
    assert "*.safetensors" in answers["model_download_include"]
    excluded = set(answers["model_download_exclude"])
    assert {"original/*", "consolidated*", "*.pth", "*.bin", "*.gguf"} <= excluded
    assert ".aiapp-download" in command[2]  # no download when this revision is already on the PVC
    assert init["resources"]["requests"] == init["resources"]["limits"]


def test_monitoring_namespace_may_scrape_and_nothing_else_gets_in(tmp_path: Path) -> None:
    answers = {**load_preset("inference-8b-fp16"), "gateway_ingress": False}
    answers["cluster"] = {"monitoring": {"namespace": "monitoring"}}
    policy = load_objects(render(tmp_path / "app", answers))["CiliumNetworkPolicy"]["spec"]
    peers = [rule.get("fromEndpoints", rule.get("fromEntities")) for rule in policy["ingress"]]
    # A model server is not on the gateway unless asked: LiteLLM (its consumer) and the scraper only.
    assert peers == [
        [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "ai", "app.kubernetes.io/name": "litellm"}}],
        [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "monitoring"}}],
    ]
    assert {rule["toPorts"][0]["ports"][0]["port"] for rule in policy["ingress"]} == {"8000"}
    exposed = load_objects(render(tmp_path / "exposed", {**answers, "gateway_ingress": True}))
    peers = [
        rule.get("fromEndpoints", rule.get("fromEntities"))
        for rule in exposed["CiliumNetworkPolicy"]["spec"]["ingress"]
    ]
    assert peers[:2] == [[{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "gateway"}}], ["ingress"]]


def test_agents_md_gives_the_litellm_model_list_entry(rendered_preset) -> None:
    text = (rendered_preset("inference-8b-fp16") / "AGENTS.md").read_text()
    entry = yaml.safe_load(text.split("```yaml\n", 1)[1].split("```", 1)[0])["model_list"][0]
    assert entry["model_name"] == "Llama-3.1-8B-Instruct"
    assert entry["litellm_params"]["api_base"] == "http://llama-8b.ai.svc.cluster.local:8000/v1"
    assert "`llama-8b vLLM API key`" in text


def litellm_entry(agents_md: str) -> dict[str, Any]:
    """The `model_list` entry AGENTS.md gives (its section "LiteLLM")."""
    section = agents_md.split("## LiteLLM\n", 1)[1]
    return yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])["model_list"][0]


# The case: an embedding model whose name has capitals, served by vLLM, feeding a Qdrant collection.
BGE_M3 = {
    **load_preset("inference-8b-fp16"),
    "app_name": "bge-m3",
    "model_name": "BAAI/bge-m3",
    "model_params_b": 0.568,
    "model_precision": "fp32",
    "vector_db": "qdrant",
}


@pytest.mark.parametrize("preset", [*GPU_PRESETS, "bge-m3"])
def test_the_served_name_is_the_same_everywhere(preset: str, rendered_preset, tmp_path: Path) -> None:
    """vLLM's --served-model-name, the LiteLLM entry and the app's config carry one string: LiteLLM answers
    400 "Invalid model name" to a name that differs from its model_list in case."""
    app = render(tmp_path / "app", BGE_M3) if preset == "bge-m3" else rendered_preset(preset)
    args = [str(arg) for arg in server(load_objects(app))["args"]]
    entry = litellm_entry((app / "AGENTS.md").read_text())
    config = config_env(app)
    served = flag(args, "--served-model-name")
    assert entry["model_name"] == served == config["MODEL_NAME"]
    assert entry["litellm_params"]["model"] == f"hosted_vllm/{served}"
    if preset == "bge-m3":
        assert served == "BAAI/bge-m3" and config["EMBEDDING_MODEL"] == served


@pytest.mark.parametrize("preset", [*GPU_PRESETS, "rag-cpu-qdrant"])
def test_agents_md_route_check_reaches_what_the_route_publishes(preset: str, tmp_path: Path) -> None:
    """A vLLM route publishes /v1 only, behind the key: the check lists the models with the key."""
    text = (render(tmp_path / "app", exposed(preset)) / "AGENTS.md").read_text()
    curl = [line for line in text.splitlines() if line.startswith("curl ") and "https://" in line]
    assert len(curl) == 1, curl
    if preset in GPU_PRESETS:
        assert '-H "Authorization: Bearer $VLLM_API_KEY"' in curl[0] and curl[0].endswith("/v1/models")
        assert "{.data.VLLM_API_KEY}" in text
    else:
        assert curl[0].endswith(resolve(load_preset(preset))["health_path"])


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--model", "/models/other"], "--model"),
        (["--model=/models/other"], "--model"),
        (["--enable-prefix-caching", "--max_model_len=4096"], "--max-model-len"),
        (["--served_model_name", "x"], "--served-model-name"),
        (["\ufffe"], "The extra arguments"),
    ],
)
def test_extra_args_may_not_repeat_what_the_answers_generate(extra: list[str], named: str) -> None:
    message = check_rule(QUESTIONS["vllm_extra_args"], extra, {}) or ""
    assert message.startswith(named) and "\n" not in message, message
    if named == "--model":
        assert "positional argument" in message
    assert check_rule(QUESTIONS["vllm_extra_args"], ["--enable-prefix-caching"], {}) is None


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_local_kustomization_example_appends_an_argument(tmp_path: Path) -> None:
    app = render(tmp_path / "app", load_preset("inference-8b-fp16"))
    local = app / "local" / "kustomization.yaml"
    lines = local.read_text().splitlines()
    start = lines.index("# patches:")
    example = [line[2:] for line in lines[start:] if line.startswith("#   ") or line == "# patches:"]
    body = [line for line in lines if not line.startswith("#") and line != "patches: []"]
    local.write_text("\n".join(body + example) + "\n")
    built = subprocess.run(["kubectl", "kustomize", str(app)], capture_output=True, text=True, check=True)
    deployment = next(doc for doc in yaml.safe_load_all(built.stdout) if doc["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    generated = resolve(load_preset("inference-8b-fp16"))["server_args"]
    assert args == [*generated, "--enable-prefix-caching"]


# --- Sizing against published vLLM logs -------------------------------------------------------------------
# (answers, reported KV-cache GiB, reported tokens or None, source). GPU memory as the card reports it in
# GiB, whole; gpu_memory_utilization as the run used it. docs/sizing.md lists the error of each point.
CALIBRATION = [
    (
        {"model_name": "Llama-3.1-8B-Instruct", "model_precision": "bf16", "gpu_memory_gib": 24},
        3.81, None,
        "https://github.com/vllm-project/vllm/issues/10517 (RTX 3090, --max-model-len 20000)",
    ),
    (
        {"model_name": "Llama-3.1-8B-Instruct", "model_precision": "bf16", "gpu_memory_gib": 24},
        2.89, 23648,
        "https://github.com/vllm-project/vllm/issues/10517 (RTX 3090, --max-model-len 29000)",
    ),
    (
        {"model_name": "Llama-3.1-8B-Instruct", "model_precision": "bf16", "gpu_memory_gib": 44},
        None, 158656,
        "https://github.com/vllm-project/vllm/pull/17122 (L40S, 46068 MiB = 44 GiB, vLLM V1)",
    ),
    (
        {"model_name": "Meta-Llama-3-8B", "model_precision": "bf16", "gpu_memory_gib": 80},
        53.29, None,
        "https://github.com/vllm-project/vllm/pull/10511 (80 GiB GPU, 79.22 GiB reported)",
    ),
    (
        {"model_name": "DeepSeek-R1-Distill-Qwen-14B", "model_precision": "bf16", "gpu_count": 2,
         "gpu_memory_gib": 24, "gpu_memory_utilization": 0.98},
        None, 81536,
        "https://github.com/vllm-project/vllm/issues/13061 (2 x RTX 4090, --gpu-memory-utilization 0.98)",
    ),
]
# The estimate must never promise more than vLLM found (a proposed context would not start) by more than
# 5 %, and stays within 40 % below it.
LOW, HIGH = 0.6, 1.05


@pytest.mark.parametrize("answers, gib, tokens, source", CALIBRATION, ids=lambda v: str(v)[:40])
def test_kv_cache_estimate_matches_published_vllm_logs(
    answers: dict[str, Any], gib: float | None, tokens: int | None, source: str
) -> None:
    context = resolve({"app_name": "x", "image": "vllm/vllm-openai:v0.10.1.1", "gpu": True, **answers})
    assert context["model_spec"], source  # the model is in the catalogue
    budget = context["gpu_kv_budget_gib"]
    if gib is not None:
        assert LOW <= budget / gib <= HIGH, (budget, gib, source)
    if tokens is not None:
        predicted = budget * 2**30 / context["kv_bytes_per_token"]
        assert LOW <= predicted / tokens <= HIGH, (predicted, tokens, source)


def test_the_proposed_8b_context_starts_on_a_24_gib_card() -> None:
    # vLLM reported 23,648 tokens of KV cache for Llama 3.1 8B on a 24 GiB card in its least favourable
    # run (vllm-project/vllm#10517); the proposal stays below it and far below the native 131,072.
    context = resolve(load_preset("inference-8b-fp16"))
    assert 8192 <= context["model_max_len"] <= 23648 < context["model_context_cap"]


def test_kv_bytes_per_token_from_the_catalogue() -> None:
    # Llama 3.1 8B: 2 x 32 layers x 8 KV heads x 128 x 2 bytes = 128 KiB per token (vLLM's block math).
    name = "meta-llama/Meta-Llama-3.1-8B-Instruct"
    context = resolve(
        {"app_name": "x", "image": "a/b:1", "serves_model": True, "gpu": True, "model_name": name}
    )
    assert context["kv_bytes_per_token"] == 131072 and context["model_context_cap"] == 131072
    # Quantised variants use their base model's entry; unknown models get the conservative 8192.
    awq = resolve(
        {
            "app_name": "x",
            "image": "a/b:1",
            "serves_model": True,
            "gpu": True,
            "model_name": "Qwen2.5-72B-Instruct-AWQ",
        }
    )
    assert awq["model_spec"]["layers"] == 80 and awq["model_context_cap"] == 32768
    unknown = resolve(
        {"app_name": "x", "image": "a/b:1", "serves_model": True, "gpu": True, "model_name": "my-model"}
    )
    assert unknown["model_spec"] == {} and unknown["model_max_len"] == 8192


def test_a_context_that_does_not_fit_is_refused_with_what_fits() -> None:
    context = resolve(load_preset("inference-8b-fp16"))
    rule = check_rule(QUESTIONS["model_max_len"], 131072, context) or ""
    assert "The context does not fit" in rule and f"{context['model_context_fit']} tokens fit" in rule
    assert "native context" in (check_rule(QUESTIONS["model_max_len"], 200000, context) or "")
    assert check_rule(QUESTIONS["model_max_len"], context["model_context_fit"], context) is None


def test_plain_copier_refuses_a_context_that_does_not_fit(tmp_path: Path) -> None:
    preset = Path(__file__).parent.parent / "generator" / "presets" / "inference-8b-fp16.yml"
    result = subprocess.run(
        ["copier", "copy", "--defaults", "--quiet", "--vcs-ref", "HEAD", "--data-file", str(preset),
         "--data", "model_max_len=131072", str(Path(__file__).parent.parent), str(tmp_path / "app")],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode != 0 and "The context does not fit" in result.stderr


@pytest.mark.parametrize("tag", ["v0.8.0", "v0.8.1", "0.8.1"])
def test_vllm_releases_that_break_non_root_are_refused(tag: str) -> None:
    assert "non-root" in (check_rule(QUESTIONS["image"], f"vllm/vllm-openai:{tag}", {}) or "")


@pytest.mark.parametrize("tag", ["v0.8.2", "v0.10.1.1", "v0.8.10"])
def test_other_vllm_releases_are_accepted(tag: str) -> None:
    assert check_rule(QUESTIONS["image"], f"vllm/vllm-openai:{tag}", {}) is None


@pytest.mark.parametrize("preset", GPU_PRESETS)
def test_the_gateway_publishes_only_the_key_protected_api_of_vllm(preset: str, tmp_path: Path) -> None:
    """vLLM's --api-key guards /v1 only: /invocations, /tokenize, /pooling, /metrics... answer without it
    (docs.vllm.ai/en/stable/usage/security; vllm-project/vllm#18892), so the route matches /v1 alone."""
    route = load_objects(render(tmp_path / "app", exposed(preset)))["HTTPRoute"]
    assert [match["path"] for rule in route["spec"]["rules"] for match in rule["matches"]] == [
        {"type": "PathPrefix", "value": "/v1"}
    ]


def test_agents_md_gives_litellms_egress_rule_to_the_server(rendered_preset) -> None:
    """LiteLLM's own policy restricts its egress: without this rule it cannot reach the new server."""
    text = (rendered_preset("inference-8b-fp16") / "AGENTS.md").read_text()
    section = text.split("## LiteLLM", 1)[1].split("\n## ", 1)[0]
    rule = yaml.safe_load(section.split("```yaml\n")[2].split("```", 1)[0])[0]
    assert rule == {
        "toEndpoints": [
            {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "ai", "app.kubernetes.io/name": "llama-8b"}}
        ],
        "toPorts": [{"ports": [{"port": "8000", "protocol": "TCP"}]}],
    }


@pytest.mark.parametrize("extra", [[13], [13, 13, 13], ["repeat-this"], [-10991543], ["-1"]])
def test_extra_args_start_with_an_option(extra: list[object]) -> None:
    """`vllm serve` has one positional argument, the generated model: a leading value is refused by vLLM's
    real parser ("unrecognized arguments", tests/realcode), so the answer is refused here."""
    message = check_rule(QUESTIONS["vllm_extra_args"], extra, {}) or ""
    assert "must start with an option" in message
    assert check_rule(QUESTIONS["vllm_extra_args"], ["--max-num-seqs", 13], {}) is None
