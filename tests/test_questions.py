"""generator.template.questions evaluates copier.yml's defaults, conditions and validators as Copier does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.template.jinja_cache import ExpressionCache
from generator.template.questions import (
    Question,
    cast,
    check,
    default_for,
    is_asked,
    jinja_env,
    load_questions,
    parse_questions,
    reevaluate,
    render,
    resolve,
)

QUESTIONS = load_questions()
BY_NAME = {question.name: question for question in QUESTIONS}
BASE: dict[str, Any] = {
    "app_name": "rag-api", "image": "ghcr.io/acme/rag-api:1.4.2", "serves_model": True, "model_name": "m"
}  # fmt: skip


def q(name: str) -> Question:
    return BY_NAME[name]


def test_questions_keep_file_order_and_skip_settings() -> None:
    names = [question.name for question in QUESTIONS]
    assert names[0] == "house_limits"  # before the first validator that reads it
    assert names[1:5] == ["app_name", "namespace", "description", "image"]
    assert not any(name.startswith("_") for name in names)
    # The profile comes before the facts computed from it, and those before what uses them.
    assert names.index("cluster_defaults") < names.index("cluster") < names.index("cluster_facts")
    assert names.index("cluster_facts") < names.index("storage_class") < names.index("needs_secret")


def test_parse_questions_reads_labels_values_and_plain_values() -> None:
    parsed = parse_questions(
        {
            "_subdirectory": "template",
            "plain": 3,
            "pick": {"type": "str", "choices": {"Label A": "a", "Label B": "b"}},
            "listed": {"type": "str", "choices": ["x", "y"], "multiselect": True},
        }
    )
    assert [question.name for question in parsed] == ["plain", "pick", "listed"]
    assert parsed[0].default == 3 and parsed[0].type == "yaml"
    assert parsed[1].choices == (("Label A", "a"), ("Label B", "b"))
    assert parsed[2].choices == (("x", "x"), ("y", "y")) and parsed[2].multiselect


def test_computed_and_cluster_questions_are_recognised() -> None:
    assert q("model_memory_gib").computed and not q("model_memory_gib").cluster
    assert q("cluster").cluster and not q("cluster").computed
    assert q("storage_class").computed and not q("storage_class").cluster
    assert not q("app_name").computed


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("container_port", "8080", 8080),
        ("model_params_b", "70", 70.0),
        ("model_params_b", 7, 7.0),
        ("gpu", "yes", True),
        ("gpu", "false", False),
        ("llm_providers", "openai, anthropic", ["openai", "anthropic"]),
        ("llm_providers", "[openai]", ["openai"]),
        ("llm_providers", ["groq"], ["groq"]),
        ("description", None, ""),
    ],
)
def test_cast_types_like_the_question(name: str, raw: Any, expected: Any) -> None:
    assert cast(q(name), raw) == expected


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("container_port", "abc", "whole number"),
        ("container_port", True, "whole number"),
        ("model_params_b", "many", "a number"),
        ("gpu", "perhaps", "true or false"),
        ("llm_providers", 3, "list"),
        ("container_args", "[--model, /m", "expected YAML, got '.--model, /m' .while parsing"),
        ("container_args", "[]--x", "expected YAML"),
    ],
)
def test_cast_names_the_expected_type(name: str, raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cast(q(name), raw)


def test_render_passes_plain_values_and_renders_jinja() -> None:
    assert render(3, {}) == 3
    assert render("plain", {}) == "plain"
    assert render("{{ a }}-{{ b }}", {"a": 1, "b": 2}) == "1-2"


def test_defaults_follow_earlier_answers() -> None:
    assert default_for(q("description"), {"app_name": "x"}) == "x: an AI application"
    assert default_for(q("cpu_cores"), {"serves_model": False}) == 0.5
    assert default_for(q("llm_providers"), {}) == []
    assert default_for(q("app_name"), {}) is None


def test_conditions_follow_earlier_answers() -> None:
    assert is_asked(q("gpu_count"), {"serves_model": True, "gpu": True})
    assert not is_asked(q("gpu_count"), {"serves_model": True, "gpu": False})
    # Copier records the profile only when it was given (or recorded before); otherwise the defaults apply.
    assert not is_asked(q("cluster"), {})
    assert is_asked(q("cluster"), {"cluster": {"storage_class": "ceph-rbd"}})
    assert not is_asked(q("model_memory_gib"), {})


def test_check_returns_the_validators_own_message() -> None:
    assert check(q("app_name"), "rag-api", {}) is None
    assert "DNS-1123" in (check(q("app_name"), "Bad_Name", {}) or "")
    assert "must not be 'latest'" in (check(q("image"), "ghcr.io/a/b:latest", {}) or "")
    assert "must be one of" in (check(q("model_precision"), "fp8", {}) or "")
    assert check(q("serves_model"), True, {}) is None


def test_the_fit_rule_is_the_gpu_memory_validator() -> None:
    context = resolve({**BASE, "model_params_b": 70, "gpu": True})
    assert "does not fit" in (check(q("gpu_memory_gib"), 24, context) or "")
    assert check(q("gpu_memory_gib"), 24, {**context, "gpu_count": 8}) is None


def test_resolve_computes_sizing_from_copier_yml() -> None:
    context = resolve({**BASE, "model_params_b": 70, "model_precision": "int4", "gpu": False})
    assert context["bytes_per_param"] == 0.5
    # int4: 16-bit embeddings and output layer (outside the catalogue: 0.35 x sqrt(70) billion) + scales.
    assert context["model_embed_params_b"] == 2.928
    assert context["model_weights_gib"] == 37.9
    assert context["model_memory_gib"] == 45.5  # on CPU: weights + 20 %
    gpu = resolve({**BASE, "model_params_b": 70, "model_precision": "int4", "gpu": True})
    assert gpu["model_memory_gib"] == 37.9  # on GPUs: weights + KV cache (unknown architecture: none)
    assert context["model_pvc_size_gib"] == 60
    assert resolve({})["providers"]["anthropic"]["item"] == "Anthropic Claude API"


def test_reevaluate_changes_an_answer_and_recomputes_only_what_is_known() -> None:
    full = resolve({**BASE, "model_params_b": 70, "gpu": True})
    partial = {name: full[name] for name in list(full)[: list(full).index("gpu_memory_gib") + 1]}
    changed = reevaluate(partial, {"model_precision": "int8"}, QUESTIONS)
    assert changed["model_precision"] == "int8"
    assert changed["bytes_per_param"] == 1.0
    assert changed["model_memory_gib"] == 69.1
    assert set(changed) == set(partial)
    assert partial["model_precision"] == "bf16"


def test_expression_cache_round_trips_and_survives_a_corrupt_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("AIAPP_NO_CACHE", raising=False)
    first = ExpressionCache(jinja_env())
    assert first.template("{{ a * 2 }}").render(a=21) == "42"
    first.save()
    assert first.path is not None and first.path.is_file() and not first.dirty
    second = ExpressionCache(jinja_env())
    assert len(second.codes) == 1
    assert second.template("{{ a * 2 }}").render(a=2) == "4" and not second.dirty
    first.path.write_bytes(b"not marshal")
    assert ExpressionCache(jinja_env()).codes == {}


def test_expression_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIAPP_NO_CACHE", "1")
    cache = ExpressionCache(jinja_env())
    assert cache.path is None
    assert cache.template("{{ 1 + 1 }}").render() == "2"
    cache.save()
