"""Answers given up front: precedence, typing, and one-line errors that name question, value and rule."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from generator.errors import UsageError
from generator.new import sizing
from generator.template.answers import gather, parse_sets, resolve_given, show
from generator.template.questions import load_questions

QUESTIONS = load_questions()
REQUIRED = [
    "app_name=rag-api", "image=ghcr.io/acme/rag-api:1.4.2",
    "serves_model=true", "model_name=m", "model_params_b=8",
]  # fmt: skip


def resolved(*sets: str) -> dict[str, object]:
    given = gather(QUESTIONS, sets=[*REQUIRED, *sets])
    return resolve_given(QUESTIONS, given, explain=partial(sizing.hint, QUESTIONS)).context


def error_for(*sets: str) -> str:
    with pytest.raises(UsageError) as caught:
        resolved(*sets)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_parse_sets_splits_on_the_first_equals() -> None:
    assert parse_sets(["a=b=c", "d="]) == {"a": "b=c", "d": ""}
    with pytest.raises(UsageError, match="key=value"):
        parse_sets(["novalue"])


def test_precedence_preset_then_answers_file_then_set(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("_src_path: ignored\nnamespace: from-file\ncontainer_port: 9000\n")
    given = gather(
        QUESTIONS,
        preset={"namespace": "from-preset", "health_path": "/p", "container_port": 8000},
        preset_name="x",
        answers_file=answers,
        sets=["container_port=9100"],
    )
    assert given.values == {"namespace": "from-file", "health_path": "/p", "container_port": 9100}
    assert given.sources["container_port"] == "--set"
    assert given.sources["namespace"] == str(answers)
    assert given.sources["health_path"] == "preset x"


def test_set_values_are_typed_like_their_question() -> None:
    given = gather(QUESTIONS, sets=["gpu=yes", "gpu_count=2", "cpu_cores=1.5", "llm_providers=openai,groq"])
    assert given.values == {
        "gpu": True,
        "gpu_count": 2,
        "cpu_cores": 1.5,
        "llm_providers": ["openai", "groq"],
    }


def test_unknown_key_names_the_known_keys() -> None:
    with pytest.raises(UsageError) as caught:
        gather(QUESTIONS, sets=["colour=blue"])
    assert "unknown question 'colour'" in caught.value.message
    assert caught.value.hint and "app_name" in caught.value.hint and "gpu_count" in caught.value.hint
    assert "model_memory_gib" not in caught.value.hint


def test_computed_values_cannot_be_set() -> None:
    with pytest.raises(UsageError, match="computed by the template"):
        gather(QUESTIONS, sets=["model_memory_gib=1"])


def test_wrong_type_names_question_value_and_type() -> None:
    with pytest.raises(UsageError, match=r"container_port = 'abc' \(from --set\) has the wrong type: "):
        gather(QUESTIONS, sets=["container_port=abc"])


def test_answers_file_errors_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"missing\.yml cannot be read: No such file"):
        gather(QUESTIONS, answers_file=tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("- a list\n")
    with pytest.raises(UsageError, match="mapping"):
        gather(QUESTIONS, answers_file=bad)


def test_defaults_fill_the_rest() -> None:
    context = resolved()
    assert context["namespace"] == "ai" and context["description"] == "rag-api: an AI application"
    assert context["model_pvc_size_gib"] == 30


def test_invalid_answer_is_one_line_with_question_value_and_rule() -> None:
    message = error_for("app_name=Bad_Name")
    assert message.startswith("app_name = 'Bad_Name' (from --set): The application name must be")
    assert "\n" not in message
    assert "must not be 'latest'" in error_for("image=ghcr.io/acme/x:latest")


def test_the_default_gpu_memory_holds_the_model() -> None:
    # copier.yml defaults gpu_memory_gib to the smallest common GPU that holds the model.
    assert resolved("model_params_b=70", "gpu=true")["gpu_memory_gib"] == 192
    # 2 x 80 GiB leave 2 x (80 x 0.85 - 3) = 130 GiB, not enough for 130.4 GiB of weights.
    assert resolved("model_params_b=70", "gpu=true", "gpu_count=2")["gpu_memory_gib"] == 96


def test_gpus_that_are_too_small_are_refused_with_what_would_fit() -> None:
    message = error_for("model_params_b=70", "gpu=true", "gpu_memory_gib=24")
    assert message.startswith("gpu_memory_gib = '24' (from --set): The model does not fit")
    # Only GPU counts tensor parallelism can use (8, not 7), with what vLLM needs for them.
    tp = " (vLLM gets --tensor-parallel-size 8, generated for the vLLM engine)"
    assert message.endswith(f"Would fit: --set gpu_count=8{tp}."), message
    # int4 of an unknown 70B (16-bit embeddings and scales counted: 37.9 GiB) needs more than 2 x 24 GiB.
    message = error_for("model_params_b=70", "gpu=true", "gpu_count=2", "gpu_memory_gib=32")
    assert message.endswith(f"Would fit: --set model_precision=int4; or --set gpu_count=8{tp}."), message


def test_lower_precision_on_more_gpus_is_offered_when_neither_alone_fits() -> None:
    message = error_for("model_params_b=180", "gpu=true", "gpu_memory_gib=24")
    assert message.endswith(
        "Would fit: --set model_precision=int4 --set gpu_count=8 "
        "(vLLM gets --tensor-parallel-size 8, generated for the vLLM engine)."
    ), message


def test_container_args_are_parsed_as_yaml_and_checked() -> None:
    assert resolved("container_args=[--model, /models, --tensor-parallel-size, '2']")["container_args"] == [
        "--model",
        "/models",
        "--tensor-parallel-size",
        "2",
    ]
    assert resolved()["container_args"] == []
    assert "string or a number" in error_for("container_args=[{a: b}]")


def test_lists_are_typed_as_comma_separated_items_or_as_yaml() -> None:
    """`a, b` as for the providers (issue 20: host names had to be typed `[a.example.com]`)."""
    args = resolved("gpu=false", "container_args=--port, 8000")["container_args"]
    assert args == ["--port", "8000"]
    assert resolved("gpu=false", "container_args=--model")["container_args"] == ["--model"]  # one item
    hosts = resolved("serves_model=false", "hostnames=chat.example.com,chat.example.org")["hostnames"]
    assert hosts == ["chat.example.com", "chat.example.org"]
    assert resolved("serves_model=false", "hostnames=[chat.example.com]")["hostnames"] == ["chat.example.com"]
    assert "lowercase DNS name" in error_for("serves_model=false", "hostnames=Chat.example.com")


def test_missing_required_answer_says_which_flag_to_pass() -> None:
    with pytest.raises(UsageError, match=r"image has no default .* --set image=VALUE"):
        resolve_given(QUESTIONS, gather(QUESTIONS, sets=["app_name=x"]))


def test_given_answers_that_do_not_apply_are_noted_and_dropped() -> None:
    given = gather(QUESTIONS, sets=[*REQUIRED, "gpu=false", "gpu_count=2"])
    resolution = resolve_given(QUESTIONS, given)
    assert "gpu_count" not in resolution.asked
    assert "gpu_count" not in resolution.copier_data()
    assert any("gpu_count" in note and "serves_model and gpu; dropped" in note for note in resolution.notes)


def test_copier_data_holds_asked_answers_and_no_computed_values() -> None:
    resolution = resolve_given(QUESTIONS, gather(QUESTIONS, sets=REQUIRED))
    data = resolution.copier_data()
    assert data["namespace"] == "ai" and data["app_name"] == "rag-api"
    assert "model_memory_gib" not in data and "storage_class" not in data


def test_show_formats_values_as_typed() -> None:
    assert show(8.0) == "8" and show(0.11) == "0.11" and show(True) == "true"
    assert show([]) == "(none)" and show(["a", "b"]) == "a, b"
