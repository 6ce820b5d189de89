"""Seeded fuzz of the answers: every answer set is refused as bad input, or renders an app that works.

600 answer sets (hypothesis, derandomized: the same sets on every run) start from a preset and replace
one to three answers with values drawn from the question's own type in copier.yml (str, int, float,
bool, yaml, choices, multiselect), hostile values included: trailing newlines, C0/C1 controls,
non-characters, lone surrogates, nan/inf, huge numbers, spaces, `latest`, over-long text.

- Every set goes through the cheap path that `aiapp new` runs before rendering (typing and
  copier.yml's validators): refused means a UsageError (exit 2) with a one-line message.
- The first 40 refused sets also run through the CLI: exit 2, one `error:` line, DEST never created.
- Accepted sets of up to 8 different shapes (model or not, GPU, Qdrant, pre-download, providers, cache)
  are rendered end to end with `aiapp new` (Copier runs copier.yml's validators again), built with
  kubectl kustomize, validated strictly against the schemas and passed through `aiapp check`.

600 sets: about 510 refused, 90 accepted, 8 rendered; about 40 s here (the renders take most of it).
400 more sets (the cheap path only, about 25 s): the whole questionnaire drawn at once, and raw YAML 1.1
`--set` text (`017`, `1:30`, `yes`), which is refused or read as YAML 1.2 reads it; and 200 hostile
cluster profiles: refused by the profile schema in one line, or accepted by copier.yml's validator too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from generator.cli import app as cli
from generator.errors import UsageError
from generator.template.answers import gather, resolve_given
from generator.template.presets import load_preset
from generator.template.questions import Question, jinja_env, load_questions
from generator.template.schemas import SchemaValidator
from tests.conftest import PRESETS
from tests.test_render_presets import kustomize_build

QUESTIONS = load_questions()
ANSWERABLE = [question for question in QUESTIONS if not question.computed]
HOSTILE = [
    "name\n", "name\r\n", "\n", "a\x00b", "a\x85b", "a\x9fb", "\ufffe", "\uffff", "a\U0010ffff",
    "a\ud800b", "\u2028", "\ufeffx", " padded ", "", "   ", "x" * 300, "a" * 64, "d" * 2000,
    "python:latest ", "python:latest", "a b:1", "ghcr.io/Acme/x:1", "ghcr.io/acme/x:1.0",
    "UPPER", "-lead", "trail-", "{{ 7 * 7 }}", "{% raw %}", "'\"", "é", "nvidia.com/gpu", "0", "nan",
]
NUMBERS: list[Any] = [0, -1, 1, 7, 1023, 1024, 65535, 65536, 2**31, 2**63, 10**30]
FLOATS: list[Any] = [math.nan, math.inf, -math.inf, 0.0, -0.5, 1e-9, 0.1, 2000.5, 1e308]
# Plausible values, so that about a third of the sets are accepted and get past the validators.
PLAUSIBLE = ["demo", "team-ml", "ghcr.io/acme/x:1.0", "/healthz", "Team item", "owner/repo", "main", "a_b"]
MAX_CLI_REFUSED = 40
MAX_RENDERED = 8


def values(question: Question) -> st.SearchStrategy[Any]:
    """Values for one question, drawn from its type (and its choices) in copier.yml."""
    junk = st.sampled_from(HOSTILE)
    if question.multiselect:
        choices = [value for _, value in question.choices or ()]
        return st.lists(st.sampled_from([*choices, "bogus", "\n"]), max_size=4)
    if question.choices:
        return st.sampled_from([*(value for _, value in question.choices), "bogus", 1])
    if question.type == "bool":
        return st.one_of(st.booleans(), st.sampled_from(["yes", "maybe", 2]))
    if question.type == "int":
        return st.one_of(st.sampled_from(NUMBERS), st.integers(), st.integers(1, 64), junk)
    if question.type == "float":
        return st.one_of(st.sampled_from(FLOATS + NUMBERS), st.floats(), st.floats(0.1, 64), junk)
    if question.type in ("yaml", "json"):
        item = st.one_of(st.text(max_size=8), st.integers(), junk, st.none())
        mapping = st.dictionaries(st.text(max_size=3), item, max_size=2)
        return st.one_of(st.lists(item, max_size=4), junk, mapping)
    return st.one_of(junk, st.text(max_size=30), st.sampled_from(PLAUSIBLE))


@st.composite
def answer_sets(draw: st.DrawFn, presets: Sequence[str] = PRESETS) -> dict[str, Any]:
    """A preset (of `presets`) with one to three answers replaced."""
    answers = dict(load_preset(draw(st.sampled_from(presets))))
    replaced = st.lists(st.sampled_from(ANSWERABLE), min_size=1, max_size=3, unique_by=lambda q: q.name)
    for question in draw(replaced):
        answers[question.name] = draw(values(question))
    return answers


def shape(context: dict[str, Any]) -> tuple[object, ...]:
    keys = ("serves_model", "gpu", "vector_db", "model_predownload", "cache_pvc")
    return (*(context.get(key) for key in keys), bool(context.get("llm_providers")))


def test_every_answer_set_is_refused_or_renders_a_working_app(
    tmp_path_factory: pytest.TempPathFactory, validator: SchemaValidator
) -> None:
    seen = {"refused": 0, "accepted": 0, "cli": 0, "rendered": set()}
    runner = CliRunner()

    @settings(max_examples=600, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(answer_sets())
    def check(answers: dict[str, Any]) -> None:
        try:
            resolution = resolve_given(QUESTIONS, gather(QUESTIONS, preset=answers, preset_name="fuzz"))
        except UsageError as error:
            seen["refused"] += 1
            assert error.exit_code == 2
            assert "\n" not in error.message and "\r" not in error.message
            if seen["cli"] < MAX_CLI_REFUSED:
                seen["cli"] += 1
                refused_by_cli(answers)
            return
        seen["accepted"] += 1
        kind = shape(resolution.context)
        if kind not in seen["rendered"] and len(seen["rendered"]) < MAX_RENDERED:  # type: ignore[arg-type]
            seen["rendered"].add(kind)  # type: ignore[attr-defined]
            renders_a_working_app(answers)

    def refused_by_cli(answers: dict[str, Any]) -> None:
        work = tmp_path_factory.mktemp("refused")
        data = work / "answers.yml"
        data.write_text(yaml.safe_dump(answers, allow_unicode=False), encoding="utf-8")
        result = runner.invoke(cli, ["new", str(work / "app"), "--answers-file", str(data)])
        assert result.exit_code == 2, (answers, result.output)
        lines = result.stderr.strip().splitlines()
        assert lines and lines[0].startswith("error: ") and "Traceback" not in result.output
        assert not (work / "app").exists()
        assert [path.name for path in work.iterdir()] == ["answers.yml"]

    def renders_a_working_app(answers: dict[str, Any]) -> None:
        work = tmp_path_factory.mktemp("accepted")
        data, app = work / "answers.yml", work / "app"
        data.write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")
        result = runner.invoke(cli, ["new", str(app), "--answers-file", str(data)])
        assert result.exit_code == 0, (answers, result.output)
        for obj in kustomize_build(app):
            assert validator.validate(obj) == [], (answers, obj["kind"])
        checked = runner.invoke(cli, ["check", "-j1", "--strict", str(app)])
        assert checked.exit_code == 0, (answers, checked.output)

    check()
    assert seen["refused"] + seen["accepted"] >= 500
    assert seen["refused"] >= 100 and seen["accepted"] >= 60, seen
    assert len(seen["rendered"]) >= 4, seen  # type: ignore[arg-type]


# Raw `--set` text as people type it, YAML 1.1's surprises included (017, 1:30, yes, 0o17, 1_000).
RAW_TEXT = [
    "017", "1:30", "yes", "off", "0o17", "0x1f", "1_000", "1e3", ".inf", "~", "[017, x]", "[1:30]",
    "[yes, on]", "[a, b]", "{a: 1}", "'017'", "8000", "2.5", "[--port, '8000']", "[]", "true",
]  # fmt: skip


@st.composite
def every_question_at_once(draw: st.DrawFn) -> dict[str, Any]:
    """Every answerable question drawn in the same set (plausible values half of the time)."""
    answers = dict(load_preset(draw(st.sampled_from(PRESETS))))
    for question in ANSWERABLE:
        if question.cluster or not draw(st.booleans()):
            continue
        answers[question.name] = draw(values(question))
    return answers


@st.composite
def raw_sets(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A preset and one to three `--set KEY=TEXT` items with raw YAML 1.1 text."""
    names = [question.name for question in ANSWERABLE if not question.cluster]
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    return draw(st.sampled_from(PRESETS)), [f"{name}={draw(st.sampled_from(RAW_TEXT))}" for name in chosen]


def test_every_question_at_once_and_raw_yaml_text_are_refused_in_one_line_or_accepted() -> None:
    """400 more sets: the whole questionnaire drawn at once, and raw YAML 1.1 `--set` text. Refused is a
    one-line UsageError; accepted is typed as YAML 1.2 reads it (never a silently changed value)."""
    seen = {"refused": 0, "accepted": 0}

    def outcome(preset: dict[str, Any], sets: list[str]) -> None:
        try:
            given = gather(QUESTIONS, preset=preset, preset_name="fuzz", sets=sets)
            resolve_given(QUESTIONS, given)
        except UsageError as error:
            seen["refused"] += 1
            assert error.exit_code == 2
            assert "\n" not in error.message and len(error.message) < 2000, error.message
            return
        seen["accepted"] += 1
        for item in sets:
            name, _, text = item.partition("=")
            value = given.values[name]
            if text in ("017", "1:30", "1_000"):  # YAML 1.1 reads 15, 90 and 1000
                assert value not in (15, 90, 1000, [15], [90], [1000]), f"{item} became {value!r}"

    @settings(max_examples=200, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(every_question_at_once())
    def whole(answers: dict[str, Any]) -> None:
        outcome(answers, [])

    @settings(max_examples=200, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(raw_sets())
    def raw(drawn: tuple[str, list[str]]) -> None:
        outcome(dict(load_preset(drawn[0])), drawn[1])

    whole()
    raw()
    assert seen["refused"] >= 100 and seen["accepted"] >= 20, seen


PROFILE_TEXT = [*HOSTILE, "monitoring", "litellm", "ai", "prom\n  - fromEntities: [world]", "kube-system"]


@st.composite
def hostile_profiles(draw: st.DrawFn) -> dict[str, Any]:
    """A cluster profile with hostile or plausible values for the facts written into manifests."""
    text = st.one_of(st.sampled_from(PROFILE_TEXT), st.text(max_size=20))
    port = st.one_of(st.sampled_from([*NUMBERS, 80.0, 10001.0, "80", True]), st.integers())
    sections = {
        "litellm": st.fixed_dictionaries({}, optional={"namespace": text, "service": text, "port": port}),
        "qdrant": st.fixed_dictionaries({}, optional={"namespace": text, "port": port, "target_port": port}),
        "monitoring": st.fixed_dictionaries({}, optional={"namespace": st.one_of(text, st.none())}),
        "storage_class": text,
        "part_of": text,
        "run_as_uid": port,
    }
    chosen = draw(st.lists(st.sampled_from(sorted(sections)), min_size=1, max_size=3, unique=True))
    return {name: draw(sections[name]) for name in chosen}


def test_a_profile_the_schema_accepts_passes_copier_yml_validator_too() -> None:
    """200 hostile profiles: refused by the profile schema in one line, or accepted by it and by
    copier.yml's `cluster` validator (which plain Copier, and Copier under aiapp, run on it)."""
    from generator.cluster.profile import validate
    from generator.errors import AiappError
    from generator.template.questions import check, resolve

    question = next(q for q in QUESTIONS if q.name == "cluster")
    context = resolve({"app_name": "demo", "image": "ghcr.io/acme/demo:1.0", "model_name": "m"})
    seen = {"refused": 0, "accepted": 0}

    @settings(max_examples=200, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(hostile_profiles())
    def each(profile: dict[str, Any]) -> None:
        try:
            validate(profile, "fuzz")
        except AiappError as error:
            seen["refused"] += 1
            assert "\n" not in error.message
            return
        seen["accepted"] += 1
        assert check(question, profile, {**context, "cluster": profile}) in (None, ""), profile

    each()
    assert seen["refused"] >= 50 and seen["accepted"] >= 10, seen


# ---------------------------------------------------------------------------------------------------------
# Next steps = what the app needs: the secret-store items `aiapp new` prints are exactly the ExternalSecret's
# remoteRef keys, for answer sets drawn to vary everything that adds or removes a secret (providers, the
# direct-access exception, pre-download with a token, the vLLM engine, Qdrant with a key in the profile)
# and the profile's secret store.
# ---------------------------------------------------------------------------------------------------------
EXTERNALSECRET = "template/{% if needs_secret %}externalsecret.yaml{% endif %}.jinja"
PROVIDERS = [value for _, value in next(q for q in QUESTIONS if q.name == "llm_providers").choices or ()]
STORES = [
    None,
    {"kind": "ClusterSecretStore", "name": "vault-backend"},
    {"kind": "SecretStore", "name": "onepassword"},
]
MIN_SECRET_SETS = 200


@st.composite
def secret_sets(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A preset with the answers that decide the app's secrets redrawn, and a cluster profile."""
    answers = dict(load_preset(draw(st.sampled_from(PRESETS))))
    providers = draw(st.lists(st.sampled_from(PROVIDERS), unique=True, max_size=3))
    answers["llm_providers"] = providers
    answers["direct_providers"] = draw(st.lists(st.sampled_from(providers), unique=True)) if providers else []
    if answers["direct_providers"]:
        answers["direct_provider_reason"] = "A beta API that LiteLLM does not proxy yet"
    if answers.get("serves_model"):
        answers["model_predownload"] = draw(st.booleans())
        if answers["model_predownload"]:
            answers.setdefault("model_hf_repo", "acme/model")
            answers["model_hf_token_item"] = draw(st.sampled_from(["", "HF read token", "team: HF"]))
        if not answers.get("gpu"):
            answers["serving_engine"] = "custom"
        answers["vllm_api_key_item"] = draw(st.sampled_from(["Model key", "a vLLM key"]))
    profile: dict[str, Any] = {}
    store = draw(st.sampled_from(STORES))
    if store:
        profile["secret_store"] = store
    if draw(st.booleans()):
        profile["qdrant"] = {"api_key_item": draw(st.sampled_from(["Qdrant API key", "qdrant/ro"]))}
    return answers, profile


def printed_items(lines: list[str]) -> list[str]:
    """The item lines of the next steps `aiapp new` prints ("- 'item': what it holds (ENV)")."""
    return [line for line in lines if line.startswith("       - ")]


def remote_keys(context: dict[str, Any]) -> list[str]:
    """The remoteRef keys of the ExternalSecret the template renders for these answers (none: no file)."""
    if not context["needs_secret"]:
        return []
    text = jinja_env().get_template(EXTERNALSECRET).render(**context)
    return [entry["remoteRef"]["key"] for entry in yaml.safe_load(text)["spec"]["data"]]


def test_next_steps_list_exactly_the_items_the_externalsecret_reads(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    seen = {"accepted": 0, "rendered": set()}
    runner = CliRunner()

    @settings(max_examples=320, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(secret_sets())
    def check(drawn: tuple[dict[str, Any], dict[str, Any]]) -> None:
        answers, profile = drawn
        given_answers = gather(QUESTIONS, preset=answers, preset_name="fuzz")
        if profile:
            given_answers.values["cluster"] = profile
            given_answers.sources["cluster"] = "a profile"
        try:
            context = resolve_given(QUESTIONS, given_answers).context
        except UsageError:
            return
        seen["accepted"] += 1
        keys = remote_keys(context)
        lines = next_steps_text(context)
        items = printed_items(lines)
        assert len(items) == len(keys), (answers, profile, items, keys)
        assert all(item.startswith(f"       - {key!r}: ") for item, key in zip(items, keys, strict=True))
        text = "\n".join(lines)
        assert "Bitwarden" not in text
        if keys:
            assert f"{context['secret_store_kind']} {context['secret_store']}" in text
        kind = (tuple(keys), bool(profile))
        fresh = kind not in seen["rendered"]  # type: ignore[operator]
        if len(seen["rendered"]) < 3 and fresh and len(keys) >= 2:  # type: ignore[arg-type]
            seen["rendered"].add(kind)  # type: ignore[attr-defined]
            cli_prints_the_rendered_keys(answers, profile)

    def next_steps_text(context: dict[str, Any]) -> list[str]:
        from generator.new.next_steps import next_steps

        return next_steps(Path("app"), QUESTIONS, context, None)

    def cli_prints_the_rendered_keys(answers: dict[str, Any], profile: dict[str, Any]) -> None:
        """End to end: `aiapp new` (real Copier) prints the items of the ExternalSecret it wrote."""
        work = tmp_path_factory.mktemp("secrets")
        (work / ".aiapp.yml").write_text(yaml.safe_dump({"cluster": profile}), encoding="utf-8")
        data, app = work / "answers.yml", work / "app"
        data.write_text(yaml.safe_dump(answers), encoding="utf-8")
        result = runner.invoke(cli, ["new", str(app), "--answers-file", str(data)])
        assert result.exit_code == 0, (answers, result.output)
        secret = yaml.safe_load((app / "externalsecret.yaml").read_text(encoding="utf-8"))
        for entry in secret["spec"]["data"]:
            assert f"- {entry['remoteRef']['key']!r}:" in result.output
        checked = runner.invoke(cli, ["check", "-j1", "--strict", str(app)])
        assert checked.exit_code == 0, (answers, checked.output)

    check()
    assert seen["accepted"] >= MIN_SECRET_SETS, seen
    assert len(seen["rendered"]) == 3, seen  # type: ignore[arg-type]
