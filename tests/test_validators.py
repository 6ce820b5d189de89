"""copier.yml's validators, generated per kind of value from includes/validate.jinja.

Every question is covered (a future one that forgets its validator fails here), the hostile values
found by adversarial testing are refused with one-line messages, and computed values cannot be
overridden, with aiapp or with plain Copier.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from generator.template.questions import Question, check, load_questions, resolve
from tests.conftest import ROOT, TEMPLATE_REF

QUESTIONS = {question.name: question for question in load_questions()}
IMPORT = "{% import 'includes/validate.jinja' as v %}"
CONTEXT = resolve({"app_name": "demo", "image": "ghcr.io/acme/demo:1.0", "model_name": "m"})


def refused(name: str, value: Any) -> str | None:
    return check(QUESTIONS[name], value, {**CONTEXT, name: value})


@pytest.mark.parametrize("question", QUESTIONS.values(), ids=lambda question: question.name)
def test_every_question_has_a_validator_from_the_shared_file(question: Question) -> None:
    """Free answers call a macro of includes/validate.jinja; computed values refuse any override.

    Booleans and single choices need none: Copier refuses a value outside the choices or the type. A YAML
    answer needs a validator for its shape (a list drawn from fixed values needs no text rules).
    """
    if question.computed:
        assert question.validator == f"{IMPORT}{{{{ v.computed('{question.name}') }}}}"
    elif question.type == "bool" or (question.choices and not question.multiselect):
        return
    elif question.multiselect:
        assert question.choices, "a multiselect question lists its choices"
    elif question.type in ("yaml", "json"):
        assert question.validator, f"{question.name}: a YAML answer needs a validator for its shape"
    else:
        assert question.validator and question.validator.startswith(IMPORT), question.name
        assert "v." in question.validator and question.name in question.validator


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # `$` matches before a trailing newline: every anchored rule matches the whole text.
        ("app_name", "name\n"), ("namespace", "ai\n"), ("image", "ghcr.io/acme/x:1.0\n"),
        # (The cluster facts are the profile's, validated by its schema: tests/test_cluster_profile.py.)
        ("model_name", "m\n"), ("health_path", "/health\n"),
        ("qdrant_collection", "c\n"), ("model_hf_repo", "a/b\n"),
        # C1 controls and non-characters in free text.
        ("description", "ok\x85"), ("description", "ok\ufffe"), ("description", "ok\uffff"),
        ("litellm_key_item", "item\x9f"), ("model_hf_token_item", "item\u2028"),
        ("model_download_image", "ghcr.io/acme/x:1.0\x85"), ("container_args", ["--x", "y\x85"]),
        # Numbers: finite and in range.
        ("cpu_cores", math.nan), ("cpu_cores", math.inf), ("model_params_b", math.nan),
        ("container_port", 70000),
        # Kubernetes lengths, the description cap, images.
        ("app_name", "a" * 64),
        ("description", "d" * 300_000), ("image", "ghcr.io/acme/x y:1"), ("image", "python:latest "),
        ("image", " python:3.12"), ("model_download_image", "python:latest"), ("image", "python"),
    ],
)
def test_hostile_values_are_refused_in_one_line(name: str, value: Any) -> None:
    message = refused(name, value)
    assert message, f"{name}={value!r} was accepted"
    assert "\n" not in message.strip()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("app_name", "rag-api"), ("namespace", "0team"), ("description", "Two\nlines\tand é"),
        ("image", "ghcr.io/acme/x:1.0@sha256:" + "a" * 64), ("cpu_cores", 0.5), ("container_port", 8080),
        ("model_hf_token_item", ""), ("container_args", ["--a", 1]),
    ],
)
def test_ordinary_values_pass(name: str, value: Any) -> None:
    assert refused(name, value) is None


def test_plain_copier_refuses_overriding_a_computed_value(tmp_path: Path) -> None:
    """`copier copy --data needs_secret=false` for an app that calls LiteLLM would read a Secret nobody
    creates; Copier validates `--data` values (copier/_main.py, Worker._ask: parse_answer then
    validate_answer for `answers.init`), so the computed value's validator refuses it."""
    preset = ROOT / "generator" / "presets" / "chat-litellm.yml"
    for data in ("needs_secret=false", "providers={openai: {host: evil.example.com}}"):
        dest = tmp_path / data.split("=")[0]
        result = subprocess.run(
            [sys.executable, "-m", "copier", "copy", "--defaults", "--quiet", "--vcs-ref", TEMPLATE_REF,
             "--data-file", str(preset), "--data", data, str(ROOT), str(dest)],
            capture_output=True, text=True, cwd=tmp_path, check=False,
        )  # fmt: skip
        assert result.returncode != 0
        assert "is computed by the template from other answers and cannot be set" in result.stderr
        assert not dest.exists() or not any(dest.iterdir())


@pytest.mark.parametrize(
    ("value", "example"),
    [
        ("ghcr.io/acme/" + "a" * 400, "e.g. ..." + "a" * 57 + ":1.0.0"),
        ("ghcr.io/acme/" + "b" * 400 + ":latest", "e.g. ..." + "b" * 57 + ":1.0.0"),
        ("ghcr.io/acme/x", "e.g. ghcr.io/acme/x:1.0.0"),
    ],
)
def test_an_image_refusal_quotes_at_most_60_characters_of_the_value(value: str, example: str) -> None:
    """The example tag in an image refusal shows the end of a long value, not the whole value (a 512-
    character image made a 1,100-character line)."""
    message = refused("image", value)
    assert message is not None and example in message
    assert len(message) < 250, message
