"""Answers `aiapp new` accepts pass `aiapp check`: copier.yml's validators and the checker's rules read the
same limits (copier.yml `house_limits`), so a value is refused by the wizard exactly where a rule fires."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.cluster.facts import cluster
from generator.errors import UsageError
from generator.policy import Options, check_paths
from generator.policy.rules.apps import seconds
from generator.template.answers import Given, resolve_given
from generator.template.presets import load_preset
from generator.template.questions import load_questions
from tests.conftest import render

QUESTIONS = load_questions()
LIMITS: dict[str, Any] = next(q for q in QUESTIONS if q.name == "house_limits").default  # type: ignore[assignment]
HOSTS = [f"h{index}.apps.example.com" for index in range(LIMITS["max_hostnames"] + 1)]


def resolve(preset: str, **answers: Any) -> dict[str, Any]:
    values = {**load_preset(preset), **answers}
    return resolve_given(QUESTIONS, Given(values, dict.fromkeys(values, "test"))).context


@pytest.mark.parametrize(
    ("preset", "answers", "message"),
    [
        ("chat-litellm", {"container_port": 6333}, "must not be 6333: Qdrant's ports"),
        ("rag-cpu-qdrant", {"container_port": 6334}, "must not be 6334"),
        ("chat-litellm", {"route_timeout": "60s"}, "would cut streamed LLM answers"),
        ("inference-8b-fp16", {"route_timeout": "4m59s"}, "at least 300s"),
        ("chat-litellm", {"hostnames": HOSTS}, "at most 16"),
        ("chat-litellm", {"image": "docker.io/vllm/vllm-openai:v0.9.2"}, "is a vLLM image"),
        ("chat-litellm", {"container_args": ["python", "-m", "vllm.entrypoints.api_server"]}, "run vLLM"),
        ("rag-cpu-qdrant", {"serving_engine": "custom", "image": "ghcr.io/acme/vllm-cpu:1.0"}, "vLLM image"),
        ("rag-cpu-qdrant", {"namespace": "kube-public", "create_namespace": True}, "Kubernetes creates"),
        ("rag-cpu-qdrant", {"namespace": "kube-node-lease", "create_namespace": True}, "Kubernetes creates"),
        ("rag-cpu-qdrant", {"namespace": "default", "create_namespace": True}, "Kubernetes creates"),
    ],
)
def test_answers_the_checker_would_refuse_are_refused(
    preset: str, answers: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError) as error:
        resolve(preset, **answers)
    assert message in error.value.message
    assert "\n" not in error.value.message


@pytest.mark.parametrize("namespace", LIMITS["system_namespaces"])
def test_a_system_namespace_is_never_created_by_default(namespace: str) -> None:
    assert resolve("rag-cpu-qdrant", namespace=namespace)["create_namespace"] is False


def test_the_checker_reads_the_limits_of_copier_yml() -> None:
    facts = cluster()
    assert facts.qdrant_ports == tuple(LIMITS["qdrant_ports"])
    assert facts.streaming_floor_seconds == LIMITS["streaming_timeout_floor_seconds"]
    assert facts.system_namespaces == tuple(LIMITS["system_namespaces"])
    assert facts.vllm_marker == LIMITS["vllm_marker"]


@pytest.mark.parametrize("timeout", ["1s", "299s", "4m59s", "299999ms", "300s", "5m", "1h", "0s", "4m60s"])
def test_the_route_timeout_validator_and_aia901_agree(timeout: str) -> None:
    value = seconds(timeout)
    assert value is not None
    fires = 0 < value < cluster().streaming_floor_seconds
    try:
        resolve("chat-litellm", route_timeout=timeout)
        refused = False
    except UsageError:
        refused = True
    assert refused == fires


def test_the_accepted_edge_values_pass_check(tmp_path: Path) -> None:
    """The largest accepted values: 16 host names, a 300 s timeout, the port next to Qdrant's."""
    context = resolve("chat-litellm", hostnames=HOSTS[:-1], route_timeout="300s", container_port=6335)
    answers = {name: context[name] for name in load_preset("chat-litellm")} | {
        "hostnames": HOSTS[:-1],
        "route_timeout": "300s",
        "container_port": 6335,
    }
    app = render(tmp_path / "app", answers)
    report = check_paths([str(app)], Options(build=False, jobs=1))
    assert report.findings == []
    assert "6335" in (app / "deployment.yaml").read_text()
