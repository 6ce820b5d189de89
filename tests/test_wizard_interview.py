"""The interview logic, driven by a scripted prompter (the real terminal is tested in test_new_pty.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from generator.errors import UsageError
from generator.new.interview import interview
from generator.new.wizard import NewOptions, run_new
from generator.template.answers import Given, gather
from generator.template.questions import load_questions
from tests.conftest import TEMPLATE_REF

QUESTIONS = load_questions()
# A help text that Copier renders (`{{ ... }}`) is matched on its text before the first expression.
HELP = {question.help.split("{{")[0]: question.name for question in QUESTIONS}


def name_of(message: str) -> str:
    return next((name for help, name in HELP.items() if help and message.startswith(help)), message)


class Scripted:
    """Answers by question name (a list is used up in order); anything else takes the default."""

    def __init__(self, answers: dict[str, list[Any]]) -> None:
        self.answers = {name: list(values) for name, values in answers.items()}
        self.asked: list[str] = []
        self.said: list[str] = []
        self.defaults: dict[str, list[Any]] = {}

    def _answer(self, message: str, default: Any) -> Any:
        name = name_of(message)
        self.asked.append(name)
        # A refused answer is asked again: fail at once rather than loop when the script runs out.
        assert self.asked.count(name) < 10, f"{name} asked again and again; said: {self.said[-3:]}"
        self.defaults.setdefault(name, []).append(default)
        pending = self.answers.get(name)
        return pending.pop(0) if pending else default

    def text(self, message: str, default: str, edit: bool = False) -> str:
        return str(self._answer(message, default))

    def confirm(self, message: str, default: bool) -> bool:
        return bool(self._answer(message, default))

    def select(self, message: str, choices: Sequence[tuple[str, Any]], default: Any) -> Any:
        answer = self._answer(message, default)
        if isinstance(answer, int) and not isinstance(answer, bool) and message.startswith("The model"):
            return choices[answer][1]  # pick the n-th offered option
        assert answer in [value for _, value in choices], (message, answer)
        return answer

    def checkbox(self, message: str, choices: Sequence[tuple[str, Any]], default: Sequence[Any]) -> list[Any]:
        return list(self._answer(message, list(default)))

    def say(self, text: str = "") -> None:
        self.said.append(text)


# `m` is outside the model catalogue: it has no default size, so the script gives one.
BASE = {
    "app_name": ["rag-api"], "image": ["ghcr.io/acme/rag-api:1.4.2"],
    "serves_model": [True], "model_name": ["m"], "model_params_b": ["8"],
}


def run(
    answers: dict[str, list[Any]], given: Given | None = None
) -> tuple[Scripted, dict[str, Any], list[str]]:
    prompter = Scripted({**BASE, **answers})
    resolution = interview(QUESTIONS, given or Given(), prompter)
    return prompter, resolution.context, resolution.asked


def test_asks_in_copier_order_and_never_asks_computed_or_cluster_questions() -> None:
    prompter, _, asked = run({})
    order = [q.name for q in QUESTIONS]
    assert prompter.asked == sorted(prompter.asked, key=order.index)
    computed = {q.name for q in QUESTIONS if q.computed}
    cluster = {q.name for q in QUESTIONS if q.cluster}
    assert not computed & set(prompter.asked)
    assert not cluster & set(prompter.asked)
    assert prompter.asked == asked


def test_the_cluster_profile_is_given_never_asked() -> None:
    given = Given(values={"cluster": {"storage_class": "ceph-rbd"}}, sources={"cluster": "a profile"})
    prompter, context, asked = run({}, given)
    assert "cluster" not in prompter.asked and "cluster" not in asked
    assert context["storage_class"] == "ceph-rbd"


def test_conditional_questions_follow_the_answers() -> None:
    prompter, _, _ = run({"serves_model": [False]})
    assert "model_name" not in prompter.asked and "gpu" not in prompter.asked
    prompter, _, _ = run({"llm_providers": [["openai"]]})
    assert "litellm_key_item" in prompter.asked and "direct_provider_reason" not in prompter.asked


def test_defaults_are_rendered_against_earlier_answers() -> None:
    prompter, _, _ = run({})
    assert prompter.defaults["description"] == ["rag-api: an AI application"]
    assert prompter.defaults["model_params_b"] == ["0"]  # no size for a model outside the catalogue
    prompter, _, _ = run({"model_name": ["meta-llama/Llama-3.1-8B-Instruct"], "model_params_b": []})
    assert prompter.defaults["model_params_b"] == ["8.03"]  # the catalogue's, shown as a person types it


def test_invalid_answer_is_refused_with_the_rule_and_asked_again() -> None:
    prompter, context, _ = run(
        {"image": ["ghcr.io/acme/x:latest", "ghcr.io/acme/x:1.0"], "container_port": ["80", "x", "8080"]}
    )
    assert context["image"] == "ghcr.io/acme/x:1.0" and context["container_port"] == 8080
    assert any("must not be 'latest'" in line for line in prompter.said)
    assert any("between 1024 and 65535" in line for line in prompter.said)
    assert any("whole number" in line for line in prompter.said)
    # The refused text is offered again for editing.
    assert prompter.defaults["image"][1] == "ghcr.io/acme/x:latest"


def test_select_rules_are_checked_too() -> None:
    prompter, context, _ = run({"model_backup_tier": ["Daily", "GFS"]})
    assert context["model_backup_tier"] == "GFS"
    assert any("Daily is only for caches" in line for line in prompter.said)


def test_sizing_report_follows_the_gpu_answers() -> None:
    prompter, _, _ = run({"gpu": [True]})
    text = "\n".join(prompter.said)
    assert "about 14.9 GiB needed" in text and "1 x 24 GiB = 24 GiB: fits" in text
    assert "model PVC      30 GiB requested" in text


def test_cpu_model_gets_the_ram_sizing() -> None:
    prompter, _, _ = run({"gpu": [False]})  # 8B at bf16 would default to a GPU (weights above 4 GiB)
    assert any("RAM" in line and "17.9 GiB" in line for line in prompter.said)


def test_model_that_does_not_fit_takes_the_offered_precision() -> None:
    prompter, context, asked = run(
        {
            "model_params_b": ["70"],
            "gpu": [True],
            "gpu_count": ["2"],
            "gpu_memory_gib": ["32"],  # the default holds it: the person types their GPUs' memory
            "The model does not fit. What now?": [0],
        }
    )
    text = "\n".join(prompter.said)
    assert "does NOT fit" in text and "✗ The model does not fit: " in text  # the validator's message
    assert context["model_precision"] == "int4" and context["gpu_count"] == 2
    assert context["model_memory_gib"] == 37.9 and context["model_pvc_size_gib"] == 60
    assert asked.count("model_precision") == 1


def test_model_that_does_not_fit_takes_the_offered_gpu_count() -> None:
    prompter, context, _ = run(
        {
            "model_params_b": ["70"],
            "gpu": [True],
            "gpu_count": ["2"],
            "gpu_memory_gib": ["24"],
            "The model does not fit. What now?": [1],
        }
    )
    assert context["model_precision"] == "bf16" and context["gpu_count"] == 8  # not 7: tensor parallelism
    # The vLLM engine's generated arguments split the model over the 8 GPUs: no note.
    assert context["serving_engine"] == "vllm" and not any("note:" in line for line in prompter.said)
    args = context["server_args"]
    assert args[args.index("--tensor-parallel-size") + 1] == "8"


def test_no_tensor_parallel_note_when_the_args_have_it() -> None:
    prompter, context, _ = run(
        {
            "container_args": ["[--model, /models, --tensor-parallel-size, '8']"],
            "model_params_b": ["70"],
            "gpu": [True],
            "gpu_memory_gib": ["24"],
            "The model does not fit. What now?": [0],
        }
    )
    assert context["gpu_count"] == 8
    assert not any("note:" in line for line in prompter.said)


def test_model_that_does_not_fit_can_be_answered_again() -> None:
    prompter, context, _ = run(
        {
            "model_params_b": ["70", "8"],
            "gpu": [True, True],
            "gpu_memory_gib": ["24"],  # asked again after the rewind with 24 as the default
            "The model does not fit. What now?": ["rewind"],
        }
    )
    assert prompter.asked.count("model_name") == 2
    assert prompter.defaults["model_params_b"] == ["0", "70"]  # the earlier answer is offered
    assert context["model_params_b"] == 8.0 and context["model_memory_gib"] == 14.9


def test_nothing_fits_still_offers_to_answer_again() -> None:
    prompter, context, _ = run(
        {
            "model_params_b": ["2000", "8"],
            "gpu": [True, True],
            "gpu_memory_gib": ["24"],
            "The model does not fit. What now?": ["rewind"],
        }
    )
    assert any("No other precision or GPU count fits" in line for line in prompter.said)
    assert context["model_params_b"] == 8.0


def test_given_answers_are_not_asked_but_invalid_ones_are() -> None:
    given = gather(QUESTIONS, sets=["app_name=Bad_Name", "namespace=team", "gpu=false"])
    prompter = Scripted({**BASE, "app_name": ["good-name"], "image": ["a/b:1"]})
    resolution = interview(QUESTIONS, given, prompter)
    assert "namespace" not in prompter.asked and "gpu" not in prompter.asked
    assert prompter.asked[0] == "app_name" and resolution.context["app_name"] == "good-name"
    assert resolution.copier_data()["app_name"] == "good-name"
    assert any("app_name = 'Bad_Name'" in line for line in prompter.said)


def test_invalid_given_answer_for_a_question_not_asked_is_an_error() -> None:
    given = gather(QUESTIONS, sets=["serves_model=false", "gpu_count=99"])
    with pytest.raises(UsageError, match="gpu_count = '99'"):
        interview(QUESTIONS, given, Scripted(BASE))


def test_extra_rule_refuses_at_the_prompt() -> None:
    prompter = Scripted({**BASE, "app_name": ["taken", "free"]})
    resolution = interview(
        QUESTIONS, Given(), prompter, extra=lambda name, value, _: "taken!" if value == "taken" else None
    )
    assert resolution.context["app_name"] == "free"
    assert "  ✗ taken!" in prompter.said


def test_run_new_refuses_a_taken_default_destination_at_the_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rag-api").mkdir()
    (tmp_path / "rag-api" / "x").write_text("mine")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AIAPP_TEMPLATE", raising=False)
    prompter = Scripted({**BASE, "app_name": ["rag-api", "rag-api-2"], "serves_model": [False]})
    code = run_new(NewOptions(interactive=True, prompter=prompter, dry_run=True, vcs_ref=TEMPLATE_REF))
    assert code == 0
    assert any("rag-api is not empty" in line for line in prompter.said)
    out = capsys.readouterr().out
    assert "Summary" in out and re.search(r"app_name +rag-api-2", out)
    assert "files would be written into rag-api-2 (nothing written)" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rag-api"]


def test_yaml_question_is_typed_as_yaml_with_its_default_shown_as_yaml() -> None:
    prompter, context, _ = run(
        {"gpu": [False], "container_args": ["[--model, {a: b}]", "[--model, /models, --port, 8000]"]}
    )
    assert prompter.defaults["container_args"] == ["[]", "[--model, {a: b}]"]  # the refused text, again
    assert any("string or a number" in line for line in prompter.said)
    assert context["container_args"] == ["--model", "/models", "--port", 8000]
    _, context, _ = run({"gpu": [False], "container_args": ["--model, /models"]})  # typed as a, b
    assert context["container_args"] == ["--model", "/models"]
    _, context, _ = run({"gpu": [False]})
    assert context["container_args"] == []  # Enter keeps []


def test_given_answers_that_do_not_apply_get_the_same_note_as_a_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AIAPP_TEMPLATE", raising=False)
    prompter = Scripted({**BASE, "serves_model": [False]})
    options = NewOptions(
        interactive=True, prompter=prompter, dry_run=True, sets=["gpu=true"], vcs_ref=TEMPLATE_REF
    )
    assert run_new(options) == 0
    err = capsys.readouterr().err
    assert "note: gpu (--set) is not used: it applies only when serves_model" in err
    assert list(tmp_path.iterdir()) == []


def test_register_refuses_a_taken_name_and_namespace_at_the_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - team-chat\n")
    (tmp_path / "team-chat").mkdir()
    (tmp_path / "team-chat" / ".copier-answers.yml").write_text("app_name: team-chat\nnamespace: ai\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AIAPP_TEMPLATE", raising=False)
    prompter = Scripted({**BASE, "namespace": ["ai", "team"], "serves_model": [False]})
    options = NewOptions(
        dest=Path("chat2"),
        interactive=True,
        prompter=prompter,
        dry_run=True,
        register=True,
        sets=["app_name=team-chat"],
        vcs_ref=TEMPLATE_REF,
    )
    assert run_new(options) == 0
    refused = [line for line in prompter.said if "is already used by" in line]
    assert len(refused) == 1 and "answer another namespace" in refused[0]
    assert "Would register: add chat2" in capsys.readouterr().out


def test_a_model_larger_than_a_node_is_offered_a_replica_on_several_nodes() -> None:
    """Issue 21: on a pool the profile sizes (8 x 80 GiB nodes), 1 GPU is refused with the fit rule at the
    GPU count (the cards' memory is not asked), a whole node leads to the nodes question, whose default is
    the fewest nodes that hold the model; the report shows the replica's GPUs and the pool's share."""
    import yaml

    from tests.test_snapshots import PROFILES

    profile = yaml.safe_load((PROFILES / "h100-pool.aiapp.yml").read_text(encoding="utf-8"))["cluster"]
    given = Given(values={"cluster": profile}, sources={"cluster": "a profile"})
    prompter, context, asked = run(
        {
            "image": ["vllm/vllm-openai:v0.34.0"],
            "model_name": ["Llama-3.1-405B-Instruct"],
            "model_params_b": ["405.9"],  # the catalogue's (BASE types 8 for its model outside it)
            "gpu_pool": ["h100"],
            "gpu_count": ["1", "8"],
        },
        given,
    )
    text = "\n".join(prompter.said)
    assert "✗ The model does not fit: 405.9B parameters at bf16 need about 757.0 GiB" in text
    assert prompter.defaults["nodes_per_replica"] == ["2"] and "gpu_memory_gib" not in asked
    assert (context["replica_nodes"], context["lws_name"]) == (2, "rag-api-group")
    assert "GPUs           2 nodes x 8 x 80 GiB = 1280 GiB: fits" in text
    assert "a replica takes 2 whole nodes, 8 GPUs on each" in text
