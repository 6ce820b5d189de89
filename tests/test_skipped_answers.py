"""A skipped question's answer is never rendered: not by the template (plain Copier passes every `--data`
value to the templates, even for a question whose `when` is false), not by `aiapp new` (which drops it
with a note).

Found by adversarial testing: a chat app with `serves_model: false` requested 8 GPUs, and
`model_predownload` without a model added an init container mounting a volume the pod did not have.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from generator.template.answers import Given, resolve_given
from generator.template.presets import load_preset
from generator.template.questions import check, is_asked, load_questions
from tests.conftest import PRESETS, ROOT, render

QUESTIONS = load_questions()

# A valid value for each question that has a `when`, different from any preset's: given while the
# question is skipped, it must change nothing.
OTHER: dict[str, Any] = {
    "model_name": "Qwen2.5-7B-Instruct",
    "model_params_b": 70.0,
    "model_precision": "int4",
    "gpu": True,
    # Skipped with one pool (every preset's profile); Copier's validator refuses a name the profile lacks.
    "gpu_pool": "gpu",
    "model_layers": 80,
    "model_kv_heads": 8,
    "model_head_dim": 128,
    "gpu_count": 8,
    # Asked only for a model larger than a whole node of a sized pool: never in the presets.
    "nodes_per_replica": 3,
    "gpu_memory_gib": 80,
    "model_max_sequences": 4,
    "model_max_len": 4096,
    "serving_engine": "vllm",
    "vllm_api_key_item": "another vLLM key",
    "container_args": ["--another"],
    "model_predownload": True,
    "model_hf_repo": "acme/another",
    "model_hf_revision": "v2",
    "model_hf_token_item": "another HF token",
    "model_download_image": "ghcr.io/acme/download:2.0",
    "model_download_include": ["*.gguf"],
    "model_download_exclude": ["none/*"],
    "vllm_extra_args": ["--enable-prefix-caching"],
    "model_pvc_size_gib": 777,
    "model_backup_tier": "Daily",
    "cache_pvc_size_gib": 77,
    "litellm_key_item": "another LiteLLM key",
    "direct_providers": ["openai"],
    "direct_provider_reason": "another reason, long enough",
    "qdrant_collection": "another_collection",
    "embedding_model": "another-embedding",
    "qdrant_vector_size": 1536,
    "qdrant_distance": "Dot",
    "hostnames": ["another.example.com"],
    "route_timeout": "1h",
    "metrics_port": 9999,
    "metrics_path": "/another",
    "replicas": 5,
    "create_namespace": True,
}


def test_every_conditional_question_has_another_value() -> None:
    conditional = {q.name for q in QUESTIONS if not q.computed and not q.cluster and q.when is not True}
    assert conditional == set(OTHER)


def skipped_answers(preset: str) -> dict[str, Any]:
    """The other values of the questions the preset skips, each valid in the preset's context."""
    answers = load_preset(preset)
    context = resolve_given(QUESTIONS, Given(dict(answers), dict.fromkeys(answers, "preset"))).context
    extra = {}
    for question in QUESTIONS:
        if question.name in OTHER and not is_asked(question, context):
            value = OTHER[question.name]
            if not check(question, value, {**context, question.name: value}):
                extra[question.name] = value
    return extra


@pytest.mark.parametrize("preset", PRESETS)
def test_plain_copier_renders_nothing_of_a_skipped_answer(  # type: ignore[no-untyped-def]
    preset: str, tmp_path: Path, rendered_preset
) -> None:
    extra = skipped_answers(preset)
    assert extra, "the preset skips some questions"
    app = render(tmp_path / "app", {**load_preset(preset), **extra})
    expected = rendered_preset(preset)
    files = sorted(path.relative_to(expected) for path in expected.rglob("*") if path.is_file())
    assert sorted(path.relative_to(app) for path in app.rglob("*") if path.is_file()) == files
    for name in files:
        got, want = ((root / name).read_text() for root in (app, expected))
        if name.name == ".copier-answers.yml":  # the commit Copier makes of the uncommitted changes
            got, want = (re.sub(r"(?m)^_commit: .*$", "", text) for text in (got, want))
        assert got == want, f"{name} uses one of {sorted(extra)}"


def test_aiapp_new_drops_a_skipped_answer_with_a_note(tmp_path: Path) -> None:
    """`serves_model: false` with 8 GPUs: the GPU answers are dropped, the note says so."""
    result = subprocess.run(
        [sys.executable, "-m", "generator", "new", "--preset", "chat-litellm", "--defaults",
         "--set", "gpu=true", "--set", "gpu_count=8", "--set", "model_predownload=true",
         str(tmp_path / "app")],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert any(line.startswith("note: gpu_count (--set) is not used") and "dropped" in line for line in notes)
    deployment = (tmp_path / "app" / "deployment.yaml").read_text()
    assert "nvidia.com/gpu" not in deployment and "initContainers" not in deployment
    recorded = (tmp_path / "app" / ".copier-answers.yml").read_text()
    assert "gpu_count" not in recorded and "model_predownload" not in recorded
