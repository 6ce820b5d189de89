"""Seeded fuzz of the answers: every answer set is refused as bad input, or renders an app that works.

1,200 answer sets (hypothesis, derandomized: the same sets on every run) from four generators:
- 600 start from a preset and replace one to three answers with values drawn from the question's own
  type in copier.yml (str, int, float, bool, yaml, choices, multiselect), hostile values included:
  trailing newlines, C0/C1 controls, non-characters, lone surrogates, nan/inf, huge numbers, spaces,
  `latest`, over-long text;
- 200 draw every answerable question at once;
- 200 give one to three raw `--set KEY=TEXT` items with YAML 1.1 text (`017`, `1:30`, `yes`), which is
  refused or read as YAML 1.2 reads it (the recorded answer is checked);
- 200 render a preset in a repository whose `.aiapp.yml` holds a hostile cluster profile.

Every set goes through `aiapp new` in-process (generator.new.wizard.run_new: the answers file, the
`--set` items, the profile found above DEST, copier.yml's validators, Copier's render into a staging
directory, the move into place), from a tagged copy of this checkout's template:
- refused: an AiappError with exit code 2, one line, at most MAX_MESSAGE characters whatever the value's
  length, and nothing written (no app, no staging directory); ten refusals of each generator also go
  through the real command line (exit 2, the same `error:` line, nothing written);
- accepted: the app is built with kubectl kustomize, every object validated strictly (core and CRD
  schemas), and every app passes `aiapp check --strict` (apps grouped into as few runs as can judge
  each app alone: same profile, no two apps with the same name and namespace).

Every accepted set is rendered (none sampled, none de-duplicated): 123 of the 1,200. `aiapp new` runs
in-process on two forked workers (the machine's two cores), each inside
generator.fleet.speedups.copier_caches(), as a multi-app `aiapp update` does (the template cloned once,
copier.yml parsed once, each Jinja source compiled once); results are unchanged. Measured on the 2-core
machine at load average 2 (docs/performance.md, "Fuzz"): 66 s wall clock for this test (drawing the
sets and the tagged template ~2 s, `aiapp new` 45 s, CLI sample + kustomize + schemas 8 s, checks 11 s),
user 80 s + system 20 s of CPU.
"""

from __future__ import annotations

import io
import json
import math
import multiprocessing
import shutil
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from generator.cli import app as cli
from generator.errors import AiappError, UsageError
from generator.fleet.speedups import copier_caches
from generator.new.wizard import NewOptions, run_new
from generator.template.answers import gather, resolve_given
from generator.template.presets import load_preset
from generator.template.questions import Question, jinja_env, load_questions
from generator.template.schemas import SchemaValidator
from generator.template.source import ENV_ALLOW_TEMP
from tests.conftest import PRESETS, ROOT
from tests.test_render_presets import kustomize_build
from tests.upgrade.scaffold import TEMPLATE_PATHS

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
# The sets of each generator: preset mutation, every question at once, raw YAML 1.1 `--set` text, hostile
# cluster profiles under a preset.
SETS = {"mutated": 600, "whole": 200, "raw": 200, "profile": 200}
CLI_REFUSED_PER_KIND = 10
# A refusal is one line: where the value came from, the value cut to about 80 characters (twice at most),
# and the rule it breaks, with the sizing arithmetic for a model that does not fit (the longest, ~500).
MAX_MESSAGE = 600
GIT_IDENTITY = ["-c", "user.name=fuzz", "-c", "user.email=fuzz@example.invalid", "-c", "commit.gpgsign=false"]


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


@st.composite
def profile_sets(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A preset rendered under a hostile cluster profile (the repository's `.aiapp.yml`)."""
    return draw(st.sampled_from(PRESETS)), draw(hostile_profiles())


@dataclass(frozen=True)
class Case:
    """One answer set, as `aiapp new` is given it: an answers file, `--set` items, a repository profile."""

    kind: str
    answers: dict[str, Any]
    sets: tuple[str, ...] = ()
    profile: dict[str, Any] | None = None


def drawn(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """`count` examples of `strategy`, the same ones on every run."""
    found: list[Any] = []

    @settings(max_examples=count, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


def cases() -> list[Case]:
    """The answer sets of the four generators (see the module docstring)."""
    mutated = [Case("mutated", answers) for answers in drawn(answer_sets(), SETS["mutated"])]
    whole = [Case("whole", answers) for answers in drawn(every_question_at_once(), SETS["whole"])]
    raw = [
        Case("raw", dict(load_preset(preset)), tuple(items))
        for preset, items in drawn(raw_sets(), SETS["raw"])
    ]
    profiles = [
        Case("profile", dict(load_preset(preset)), profile=profile)
        for preset, profile in drawn(profile_sets(), SETS["profile"])
    ]
    return mutated + whole + raw + profiles


def tagged_template(where: Path) -> str:
    """This checkout's template, uncommitted changes included, as a repository with a release tag: what a
    team's template repository is. `aiapp new` renders its tag, and Copier's clone of it is made once."""
    where.mkdir()
    for name in TEMPLATE_PATHS:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, where / name)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "template"], ["tag", "v99.0.0"]):
        subprocess.run(["git", *GIT_IDENTITY, *command], cwd=where, check=True, capture_output=True)
    return str(where)


def inputs(case: Case, work: Path) -> Path:
    """The files `aiapp new` reads for `case`: the answers file beside `work`, and in `work` the profile
    of the repository the app is written into, if any."""
    work.mkdir()
    data = work.parent.with_name(f"{work.parent.name}-answers") / f"{work.name}.yml"
    data.parent.mkdir(exist_ok=True)
    data.write_text(yaml.safe_dump(case.answers, allow_unicode=False), encoding="utf-8")
    if case.profile is not None:
        (work / ".aiapp.yml").write_text(yaml.safe_dump({"cluster": case.profile}), encoding="utf-8")
    return data


def written_besides_inputs(case: Case, work: Path) -> list[str]:
    """What is in `work` besides the inputs (a refused set writes nothing: no app, no staging directory)."""
    return sorted(path.name for path in work.iterdir() if case.profile is None or path.name != ".aiapp.yml")


def new_in_process(case: Case, work: Path, template: str) -> AiappError | None:
    """`aiapp new WORK/app --answers-file ... --set ... --template ...` without the CLI's parsing: the
    error it refuses the set with, or None when it wrote the app. Anything else is a defect and raises."""
    data = inputs(case, work)
    options = NewOptions(dest=work / "app", answers_file=data, sets=list(case.sets), template=template)
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        try:
            code = run_new(options)
        except AiappError as error:
            return error
    assert code == 0, case
    return None


# What the forked workers of new_in_parallel read: (cases, the directory of their WORKs, the template).
_SHARED: tuple[list[Case], Path, str] | None = None


def _new_each(indices: list[int]) -> list[tuple[int, int | None, str]]:
    """new_in_process for some of the cases, in a forked worker: (index, exit code or None, message)."""
    assert _SHARED is not None
    drawn_cases, root, template = _SHARED
    results: list[tuple[int, int | None, str]] = []
    with copier_caches():
        for index in indices:
            error = new_in_process(drawn_cases[index], root / f"{index:04d}", template)
            results.append((index, None, "") if error is None else (index, error.exit_code, error.message))
    return results


def new_in_parallel(drawn_cases: list[Case], root: Path, template: str) -> list[tuple[int, int | None, str]]:
    """new_in_process for every case, on two forked processes (this machine's cores; each renders with
    its own Copier caches), in case order. An assertion failing in a worker fails the test here."""
    global _SHARED
    _SHARED = (drawn_cases, root, template)
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            halves = pool.map(_new_each, [list(range(len(drawn_cases)))[part::2] for part in (0, 1)])
    finally:
        _SHARED = None
    return sorted(result for half in halves for result in half)


def refused_by_cli(case: Case, work: Path, template: str, expected: str) -> None:
    """The real command refuses the set with exit 2 and the same one-line error (`expected`, with the
    answers file named ANSWERS and the directory WORK), and writes nothing."""
    data = inputs(case, work)
    command = ["new", str(work / "app"), "--answers-file", str(data), "--template", template]
    command += [part for item in case.sets for part in ("--set", item)]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 2, (case, result.output)
    lines = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
    shown = lines[0].replace(str(data), "ANSWERS").replace(str(work), "WORK")
    assert shown == f"error: {expected}", (case, lines)
    assert "Traceback" not in result.output
    assert written_besides_inputs(case, work) == [], case


def check_groups(root: Path, indices: list[int], drawn_cases: list[Case]) -> list[list[str]]:
    """The rendered apps in as few `aiapp check` runs as can judge each app alone: apps under the same
    profile, no two with the same name and namespace (rules across objects would pair one app's Service
    with another's pods, as kustomize would refuse to build both in one repository)."""
    groups: list[tuple[str, set[tuple[str, str]], list[str]]] = []
    for index in indices:
        app = root / f"{index:04d}" / "app"
        answers = yaml.safe_load((app / ".copier-answers.yml").read_text(encoding="utf-8"))
        profile = json.dumps(drawn_cases[index].profile, sort_keys=True)
        key = (str(answers["namespace"]), str(answers["app_name"]))
        group = next((g for g in groups if g[0] == profile and key not in g[1]), None)
        if group is None:
            group = (profile, set(), [])
            groups.append(group)
        group[1].add(key)
        group[2].append(str(app))
    return [paths for _, _, paths in groups]


def test_every_answer_set_is_refused_in_one_line_or_renders_an_app_that_passes(
    tmp_path: Path, validator: SchemaValidator, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    monkeypatch.setenv(ENV_ALLOW_TEMP, "1")  # the template repository is in the test's temporary directory
    template = tagged_template(tmp_path / "template")
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "cli").mkdir()
    drawn_cases = cases()
    refused: dict[str, list[tuple[int, str]]] = {kind: [] for kind in SETS}
    accepted: dict[str, list[int]] = {kind: [] for kind in SETS}
    for index, exit_code, message in new_in_parallel(drawn_cases, root, template):
        case, work = drawn_cases[index], root / f"{index:04d}"
        if exit_code is None:
            accepted[case.kind].append(index)
            continue
        refused[case.kind].append((index, message))
        assert exit_code == 2, (case, message)
        assert "\n" not in message and "\r" not in message, (case, message)
        assert len(message) <= MAX_MESSAGE, (case, message)
        assert written_besides_inputs(case, work) == [], case
    rendered_at = time.monotonic()
    for errors in refused.values():  # a sample of each generator's refusals, through the real CLI
        for index, message in errors[:CLI_REFUSED_PER_KIND]:
            work = root / f"{index:04d}"
            expected = message.replace(f"{root}-answers/{work.name}.yml", "ANSWERS")
            expected = expected.replace(str(work), "WORK")
            refused_by_cli(drawn_cases[index], tmp_path / "cli" / f"{index:04d}", template, expected)
    apps = [root / f"{index:04d}" / "app" for indices in accepted.values() for index in indices]
    with ThreadPoolExecutor(max_workers=2) as pool:  # kubectl runs in its own process: two at a time
        for app, objects in zip(apps, pool.map(kustomize_build, apps), strict=True):
            for obj in objects:
                assert validator.validate(obj) == [], (app, obj["kind"], obj["metadata"])
    for index in accepted["raw"]:
        recorded = yaml.safe_load((root / f"{index:04d}" / "app" / ".copier-answers.yml").read_text())
        for item in drawn_cases[index].sets:
            name, _, text = item.partition("=")
            if text in ("017", "1:30", "1_000"):  # YAML 1.1 reads 15, 90 and 1000; YAML 1.2 does not
                value = recorded.get(name)  # absent when the question was skipped
                assert value not in (15, 90, 1000, [15], [90], [1000]), (item, value)
    built_at = time.monotonic()
    rendered = [index for indices in accepted.values() for index in indices]
    for group in check_groups(root, rendered, drawn_cases):
        checked = CliRunner().invoke(cli, ["check", "--strict", "-j1", *group])
        assert checked.exit_code == 0, checked.output
        assert "No findings" in checked.output
    finished = time.monotonic()
    counts = {kind: (len(refused[kind]), len(accepted[kind])) for kind in SETS}
    print(
        f"fuzz: {len(drawn_cases)} sets {counts} (refused, rendered); new {rendered_at - started:.1f} s, "
        f"CLI sample + kustomize + schemas {built_at - rendered_at:.1f} s, check {finished - built_at:.1f} s"
    )
    assert len(drawn_cases) >= 1000
    assert all(refused[kind] for kind in SETS), counts
    assert all(accepted[kind] for kind in SETS), counts
    assert sum(len(indices) for indices in accepted.values()) >= 100, counts


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
