"""Serving answers that used to render apps which cannot work: an unsized model, fp16 where vLLM refuses
it, and Hugging Face download hosts the egress policy did not reach."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from generator.cli import app as cli
from generator.template.questions import check, load_questions, resolve
from tests.conftest import ROOT, load_objects

QUESTIONS = {question.name: question for question in load_questions()}
UNKNOWN = ["--set", "app_name=glm", "--set", "image=vllm/vllm-openai:v0.10.1.1",
           "--set", "model_name=zai-org/GLM-4-32B-0414", "--set", "gpu=true"]  # fmt: skip
SIZING_ANSWERS = ("model_params_b", "model_precision", "model_layers", "model_kv_heads", "model_head_dim")


def test_a_model_outside_the_catalogue_has_no_default_size(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["new", str(tmp_path / "glm"), "--defaults", *UNKNOWN])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: model_params_b")
    assert all(name in lines[0] for name in SIZING_ANSWERS)
    assert not (tmp_path / "glm").exists()


def test_a_model_outside_the_catalogue_renders_once_sized(tmp_path: Path) -> None:
    sized = ["--set", "model_params_b=32.6", "--set", "model_layers=61", "--set", "model_kv_heads=2",
             "--set", "model_head_dim=128"]  # fmt: skip
    result = CliRunner().invoke(cli, ["new", str(tmp_path / "glm"), "--defaults", *UNKNOWN, *sized])
    assert result.exit_code == 0, result.output
    assert "32.6B parameters x 2 bytes (bf16) = 60.7 GiB" in result.output  # on 80 GiB, not 24


def test_plain_copier_refuses_an_unsized_model_too(tmp_path: Path) -> None:
    data = [arg for arg in UNKNOWN if arg != "--set"]
    result = subprocess.run(
        ["copier", "copy", "--defaults", "--quiet", "--vcs-ref", "HEAD",
         *[item for pair in data for item in ("--data", pair)], str(ROOT), str(tmp_path / "app")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "is not in the model catalogue" in result.stderr
    assert not (tmp_path / "app" / "deployment.yaml").exists()


def test_the_default_precision_is_bf16() -> None:
    assert resolve({"app_name": "a", "image": "a/b:1", "model_name": "m", "model_params_b": 8})[
        "model_precision"
    ] == "bf16"


@pytest.mark.parametrize(
    "model",
    ["google/gemma-2-9b-it", "google/gemma-3-27b-it", "google/gemma-3n-E4B-it",
     "zai-org/GLM-4-32B-0414", "THUDM/GLM-4-9B-0414", "pfnet/plamo-2-8b"],
)  # fmt: skip
def test_fp16_is_refused_for_the_families_vllm_refuses(model: str) -> None:
    context = {"model_name": model, "fp16_unsupported_models": resolve({})["fp16_unsupported_models"]}
    assert "vLLM refuses float16" in (check(QUESTIONS["model_precision"], "fp16", context) or "")
    assert check(QUESTIONS["model_precision"], "bf16", context) is None


@pytest.mark.parametrize("model", ["meta-llama/Llama-3.1-8B-Instruct", "zai-org/GLM-4.5-Air", "gemma-7b"])
def test_fp16_is_accepted_for_other_families(model: str) -> None:
    context = {"model_name": model, "fp16_unsupported_models": resolve({})["fp16_unsupported_models"]}
    assert check(QUESTIONS["model_precision"], "fp16", context) is None


# Hugging Face's published download hosts (https://huggingface.co/docs/hub/models-downloading, "Downloading
# behind a proxy or firewall"; /.well-known/meta.json), plus cas-bridge, which downloads still redirect to.
PUBLISHED_HOSTS = [
    "huggingface.co", "cas-server.xethub.hf.co", "cas-server.xethub-eu.hf.co", "transfer.xethub.hf.co",
    "transfer.xethub-eu.hf.co", "us.aws.cdn.hf.co", "us.gcp.cdn.hf.co", "cdn-lfs-us-1.hf.co",
    "cdn-lfs-eu-1.hf.co", "cas-bridge.xethub.hf.co",
]  # fmt: skip


def cilium_matches(selector: dict[str, str], host: str) -> bool:
    """Cilium's toFQDNs semantics: matchName exact; in matchPattern `*` is one label's characters."""
    if "matchName" in selector:
        return selector["matchName"] == host
    regex = re.escape(selector["matchPattern"]).replace(r"\*", "[-a-zA-Z0-9_]*")
    return re.fullmatch(regex, host) is not None


@pytest.mark.parametrize("host", PUBLISHED_HOSTS)
def test_the_predownload_egress_reaches_every_published_hugging_face_host(
    host: str, rendered_preset: Callable[[str], Path]
) -> None:
    policy = load_objects(rendered_preset("predownload-model"))["CiliumNetworkPolicy"]
    selectors = [fqdn for rule in policy["spec"]["egress"] for fqdn in rule.get("toFQDNs", [])]
    assert any(cilium_matches(selector, host) for selector in selectors), host
    assert not any(cilium_matches(selector, "api.openai.com") for selector in selectors)


def test_an_app_that_loads_a_model_in_process_is_no_model_server_for_litellm(
    rendered_preset: Callable[[str], Path],
) -> None:
    """rag-cpu-qdrant embeds with a model it loads itself: nothing routes to it through LiteLLM."""
    app = rendered_preset("rag-cpu-qdrant")
    policy = load_objects(app)["CiliumNetworkPolicy"]
    sources = [peer for rule in policy["spec"].get("ingress", []) for peer in rule.get("fromEndpoints", [])]
    assert not any("litellm" in str(peer) for peer in sources)
    agents = (app / "AGENTS.md").read_text(encoding="utf-8")
    assert "## LiteLLM" not in agents and "hosted_vllm" not in agents and "from LiteLLM" not in agents


def test_a_vllm_server_is_one(rendered_preset: Callable[[str], Path]) -> None:
    app = rendered_preset("inference-8b-fp16")
    agents = (app / "AGENTS.md").read_text(encoding="utf-8")
    assert "## LiteLLM" in agents and '"os.environ/LLAMA_8B_API_KEY"' in agents
    policy = load_objects(app)["CiliumNetworkPolicy"]
    assert any("litellm" in str(rule) for rule in policy["spec"]["ingress"])


VLLM_IMAGE = ["--set", "app_name=srv", "--set", "image=vllm/vllm-openai:v0.10.1.1",
              "--set", "model_name=Llama-3.1-8B-Instruct"]  # fmt: skip


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (["--set", "gpu=false"], "vLLM image: the vLLM arguments are generated for GPU servers only"),
        (["--set", "gpu=true", "--set", "serving_engine=custom"], "answer serving_engine=vllm"),
        (["--set", "serves_model=false"], "is a vLLM image, which serves a model"),
    ],
)
def test_a_vllm_image_gets_generated_vllm_arguments_or_is_refused(
    answers: list[str], message: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(cli, ["new", str(tmp_path / "srv"), "--defaults", *VLLM_IMAGE, *answers])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert not (tmp_path / "srv").exists()


def test_a_vllm_image_defaults_to_a_gpu_vllm_server(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["new", str(tmp_path / "srv"), "--defaults", *VLLM_IMAGE])
    assert result.exit_code == 0, result.output
    checked = CliRunner().invoke(cli, ["check", "-j1", "--strict", str(tmp_path / "srv")])
    assert checked.exit_code == 0, checked.output


# Published quantised checkpoint sizes, and the documented error of the weights estimate (docs/sizing.md).
QUANTISED_ERROR = 0.03
CHECKPOINTS = [
    # hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4: its safetensors files, about 37.0 GiB (issue 19).
    ("Llama-3.1-70B-Instruct-AWQ-INT4", "int4", 37.0),
]


@pytest.mark.parametrize(("model", "precision", "gib"), CHECKPOINTS)
def test_quantised_weights_match_the_published_checkpoints(model: str, precision: str, gib: float) -> None:
    answers = {"app_name": "a", "image": "a/b:1", "serves_model": True, "model_name": model}
    context = resolve({**answers, "model_precision": precision})
    assert abs(context["model_weights_gib"] - gib) <= QUANTISED_ERROR * gib, context["model_weights_gib"]


def test_the_70b_preset_context_fits_by_our_own_rule() -> None:
    from generator.template.presets import load_preset

    context = resolve(load_preset("inference-70b-int4"))
    kv_gib = context["kv_bytes_per_token"] * context["model_max_len"] * context["model_max_sequences"] / 2**30
    assert kv_gib <= context["gpu_kv_budget_gib"]
    assert context["model_weights_gib"] > 36  # 16-bit embeddings and group scales counted
