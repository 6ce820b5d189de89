"""Safe defaults and texts of the wizard's questions (issue 20): what Enter gives is what most apps need."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from generator.template.questions import help_for, load_questions, offered, resolve
from tests.conftest import ROOT
from tests.test_new_cli import aiapp, assert_refused, console_script
from tests.test_new_presets import tree

BY_NAME = {question.name: question for question in load_questions()}


def base(**answers: Any) -> dict[str, Any]:
    return {"app_name": "x", "image": "ghcr.io/acme/x:1.0", **answers}


def test_an_app_serves_no_model_unless_its_image_is_vllm() -> None:
    assert resolve(base())["serves_model"] is False  # the commonest app: a LiteLLM client
    assert resolve(base(image="vllm/vllm-openai:v0.10.1.1"))["serves_model"] is True


def test_defaults_and_two_answers_make_an_app(tmp_path: Path) -> None:
    result = aiapp(
        "new", "--defaults", "--set", "app_name=x", "--set", "image=ghcr.io/acme/x:1.0", "x", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((tmp_path / "x" / ".copier-answers.yml").read_text())
    assert answers["serves_model"] is False and "model_name" not in answers


def test_a_gpu_is_the_default_when_the_weights_exceed_4_gib() -> None:
    qwen = resolve(base(serves_model=True, model_name="Qwen2.5-7B-Instruct"))
    assert qwen["model_weights_gib"] > 4 and qwen["gpu"] is True  # Enter no longer gives a 20 GiB CPU pod
    small = resolve(base(serves_model=True, model_name="bge-small-en-v1.5"))
    assert small["gpu"] is False  # an embedding model stays on CPU
    edge = resolve(base(serves_model=True, model_name="m", model_params_b=2.1, model_precision="bf16"))
    assert edge["model_weights_gib"] < 4 and edge["gpu"] is False


def test_a_model_server_is_not_on_the_gateway_unless_asked() -> None:
    assert (
        resolve(base(image="vllm/vllm-openai:v0.10.1.1", model_name="Qwen2.5-7B-Instruct"))["gateway_ingress"]
        is False
    )
    assert resolve(base())["gateway_ingress"] is True
    text = help_for(
        BY_NAME["gateway_ingress"], resolve(base(image="vllm/vllm-openai:v0.10.1.1", model_name="q"))
    )
    assert "LiteLLM" in text and "all ingress is denied" not in text


def test_help_texts_fit_the_app() -> None:
    cpu = help_for(BY_NAME["cpu_cores"], resolve(base()))
    assert "GPU" not in cpu
    gpu = help_for(BY_NAME["cpu_cores"], resolve(base(serves_model=True, model_name="m", model_params_b=8)))
    assert "one worker process per GPU" in gpu
    memory = BY_NAME["gpu_memory_gib"].help
    assert "nvidia-smi reports, rounded down" in memory and "22 for an A10" in memory
    assert "KV cache" not in BY_NAME["model_max_sequences"].help


def test_direct_providers_offered_are_the_chosen_ones() -> None:
    question = BY_NAME["direct_providers"]
    context = resolve(base(llm_providers=["openai", "groq"]))
    assert [value for _, value in offered(question, context)] == ["openai", "groq"]
    assert len(question.choices or ()) == 6  # every provider stays a choice (Copier's validators disable)


def test_dest_name_is_the_app_name(tmp_path: Path) -> None:
    result = aiapp(
        "new", "--defaults", "--set", "image=ghcr.io/acme/x:1.0", "--dry-run", "rag-chat", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "rag-chat" in result.stdout
    # A directory name that is not a valid app name is not taken: the app name is then needed.
    result = aiapp("new", "--defaults", "--set", "image=ghcr.io/acme/x:1.0", "My_App", cwd=tmp_path)
    assert_refused(result, "app_name")


def test_plain_copier_with_the_same_data_renders_the_same_app(tmp_path: Path) -> None:
    """`aiapp new --defaults` and `copier copy --defaults` with the same answers: byte for byte."""
    data = {"app_name": "rag-chat", "image": "ghcr.io/acme/rag-chat:1.0", "vector_db": "qdrant",
            "llm_providers": ["openai"], "namespace": "team"}  # fmt: skip
    data_file = tmp_path / "data.yml"
    data_file.write_text(yaml.safe_dump(data))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIAPP_")}
    ours = subprocess.run(
        [console_script("aiapp"), "new", "--answers-file", str(data_file), "--vcs-ref", "HEAD",
         str(tmp_path / "ours" / "rag-chat")],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=300, check=False,
    )  # fmt: skip
    assert ours.returncode == 0, ours.stderr
    theirs = subprocess.run(
        [console_script("copier"), "copy", "--quiet", "--defaults", "--vcs-ref", "HEAD",
         "--data-file", str(data_file), str(ROOT), str(tmp_path / "theirs" / "rag-chat")],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=300, check=False,
    )  # fmt: skip
    assert theirs.returncode == 0, theirs.stderr
    assert tree(tmp_path / "ours" / "rag-chat") == tree(tmp_path / "theirs" / "rag-chat")
