"""Sizing help reads copier.yml's computed values and fit rule; it restates no formula."""

from __future__ import annotations

from typing import Any

from generator.new import sizing
from generator.template.questions import load_copier_yml, load_questions, resolve
from tests.conftest import ROOT

QUESTIONS = load_questions()
BASE: dict[str, Any] = {
    "app_name": "x", "image": "a/b:1", "serves_model": True, "model_name": "m", "gpu": True
}  # fmt: skip
UNNAMED = "(a quantised {0} checkpoint, AWQ or GPTQ: name its repository with the download)"


def until_fit(**answers: Any) -> dict[str, Any]:
    """The wizard's context right after gpu_memory_gib was answered."""
    full = resolve({**BASE, **answers})
    names = [q.name for q in QUESTIONS]
    return {name: full[name] for name in names[: names.index(sizing.FIT) + 1]}


def test_the_names_it_reads_exist_in_copier_yml() -> None:
    config = load_copier_yml()
    for name in (
        sizing.SERVES,
        sizing.PARAMS,
        sizing.PRECISION,
        sizing.BYTES,
        sizing.WEIGHTS,
        sizing.NEED,
        sizing.GPU,
        sizing.COUNT,
        sizing.NODES,
        sizing.REPLICA_NODES_QUESTION,
        sizing.FIT,
        sizing.PVC,
        sizing.MEMORY,
        sizing.STARTUP,
    ):
        assert name in config, name
    # The fit rule compares the computed need with the GPUs (includes/sizing.jinja's fit_problem, which the
    # GPU questions' validators call): the wizard relies on it.
    fit_rule = (ROOT / "includes" / "sizing.jinja").read_text(encoding="utf-8")
    assert sizing.NEED in fit_rule.split("macro fit_problem", 1)[1]
    for name in sizing.GPU_QUESTIONS:
        assert "fit_problem(" in config[name]["validator"], name
    assert config[sizing.NEED]["when"] is False and config[sizing.WEIGHTS]["when"] is False


def test_fit_problem_is_only_the_model_size_not_a_range_error() -> None:
    context = until_fit(model_params_b=70)
    assert "does not fit" in (sizing.fit_problem(QUESTIONS, 24, context) or "")
    assert sizing.fit_problem(QUESTIONS, 0, context) is None  # out of range: refused at the prompt
    assert sizing.fit_problem(QUESTIONS, 200, context) is None  # fits


def test_alternatives_highest_precision_and_fewest_gpus() -> None:
    options = sizing.alternatives(QUESTIONS, until_fit(model_params_b=70, gpu_count=2, gpu_memory_gib=48))
    assert [option.changes for option in options] == [{"model_precision": "int8"}, {"gpu_count": 4}]
    # A lower precision is another checkpoint: m is not in the catalogue, so its repository is asked.
    assert options[0].label == f"Use int8 {UNNAMED.format('int8')}: about 69.1 GiB on 2 x 48 GiB = 96 GiB"
    assert options[1].flags == "--set gpu_count=4"


def test_alternatives_respect_the_gpu_count_limit() -> None:
    options = sizing.alternatives(QUESTIONS, until_fit(model_params_b=405, gpu_memory_gib=24))
    assert all(option.changes.get("gpu_count", 0) <= 8 for option in options)
    assert sizing.alternatives(QUESTIONS, until_fit(model_params_b=2000, gpu_memory_gib=24)) == []


def test_report_shows_need_available_pvc_and_probe_budget() -> None:
    lines = sizing.report(QUESTIONS, until_fit(model_params_b=70, model_precision="int4", gpu_count=2))
    text = "\n".join(lines)
    # 16-bit embeddings and output layer (m is not in the catalogue: 0.35 x sqrt(70) billion) + group scales.
    assert (
        "70B parameters at int4 (0.5 bytes + group scales; 2.928B embedding/output parameters at 16 bits)"
        " = 37.9 GiB"
    ) in text
    assert "about 37.9 GiB needed (weights + the KV cache of 2048 tokens" in text
    assert "2 x 48 GiB = 96 GiB: fits" in text
    # Model "m" is not in the catalogue and its architecture was not given: the conservative 8192.
    assert "KV cache       37.7 GiB left: a context of up to 8192 tokens fits" in text
    assert "model PVC      60 GiB requested" in text
    assert "startup probe  allows up to 679 s" in text


def test_report_is_empty_without_a_model() -> None:
    assert sizing.report(QUESTIONS, {"app_name": "x", "image": "a/b:1", "serves_model": False}) == []


def test_only_gpu_counts_tensor_parallelism_can_use_are_offered() -> None:
    options = sizing.alternatives(QUESTIONS, until_fit(model_params_b=70, gpu_memory_gib=24))
    assert [option.changes for option in options] == [{"gpu_count": 8}]  # 7 x 24 would hold it, but vLLM
    assert "--tensor-parallel-size 8, generated for the vLLM engine" in options[0].label
    options = sizing.alternatives(QUESTIONS, until_fit(model_params_b=70, gpu_count=3, gpu_memory_gib=24))
    assert all(option.changes.get("gpu_count", 8) in (4, 8) for option in options)


def test_lower_precision_on_more_gpus_when_neither_alone_fits() -> None:
    options = sizing.alternatives(QUESTIONS, until_fit(model_params_b=180, gpu_memory_gib=24))
    assert [option.changes for option in options] == [{"model_precision": "int4", "gpu_count": 8}]
    label = f"Use int4 {UNNAMED.format('int4')} on 8 GPUs: about 93.6 GiB on 8 x 24"
    assert options[0].label.startswith(label)
    # The fewest GPUs, and the highest precision when that needs more of them.
    options = sizing.alternatives(QUESTIONS, until_fit(model_params_b=405, gpu_memory_gib=80))
    assert [option.changes for option in options] == [
        {"model_precision": "int4", "gpu_count": 4},
        {"model_precision": "int8", "gpu_count": 8},
    ]


def test_tensor_parallel_note_when_args_do_not_split_the_model() -> None:
    context = {"serves_model": True, "gpu": True, "gpu_count": 2, "container_args": ["--model", "/m"]}
    assert "--tensor-parallel-size 2" in (sizing.tensor_parallel_note(context) or "")
    assert sizing.tensor_parallel_note({**context, "serving_engine": "vllm"}) is None  # generated
    for args in (["--tensor-parallel-size", "2"], ["--tensor-parallel-size=2"], ["-tp", 2]):
        assert sizing.tensor_parallel_note({**context, "container_args": args}) is None
    assert sizing.tensor_parallel_note({**context, "gpu_count": 1}) is None
    assert sizing.tensor_parallel_note({k: v for k, v in context.items() if k != "container_args"}) is None


def test_report_works_with_a_template_version_without_the_overhead_value() -> None:
    questions = [q for q in QUESTIONS if q.name != "memory_overhead"]
    context = until_fit(model_params_b=8, gpu=False)
    context.pop("memory_overhead")
    text = "\n".join(sizing.report(questions, context))
    assert "for the model on CPU (weights + an overhead)" in text


def test_a_lower_precision_comes_with_the_catalogues_quantised_checkpoint() -> None:
    """Llama 3.1 70B bf16 does not fit one 80 GiB GPU: int4 is offered as the AWQ checkpoint, not a flag."""
    options = sizing.alternatives(
        QUESTIONS, until_fit(model_name="meta-llama/Llama-3.1-70B-Instruct", gpu_count=1, gpu_memory_gib=80)
    )
    int4 = [option for option in options if option.changes.get("model_precision") == "int4"]
    assert int4 and "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4" in int4[0].label
    full = resolve({**BASE, "model_name": "meta-llama/Llama-3.1-70B-Instruct", "gpu_memory_gib": 80,
                    **int4[0].changes, "model_predownload": True})  # fmt: skip
    # The download is the quantised repository, and the PVC is sized from its weights.
    assert full["model_hf_repo"] == "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4"
    assert full["model_weights_gib"] == 37.1 and full["model_pvc_size_gib"] == 60
