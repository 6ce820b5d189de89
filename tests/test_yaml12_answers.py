"""`--set` values and answers typed as YAML 1.2 reads them: a value YAML 1.1 (PyYAML) would change
silently (`017` → 15, `1:30` → 90, `yes` → true) is refused naming it; a list for a text question too."""

from __future__ import annotations

import pytest

from generator.errors import UsageError
from generator.template.answers import gather
from generator.template.questions import load_questions

QUESTIONS = load_questions()


def given(*sets: str) -> dict[str, object]:
    return gather(QUESTIONS, sets=sets).values


@pytest.mark.parametrize(
    ("item", "shown"),
    [
        ("container_args=[--workers, 017]", "'017' is 15 in YAML 1.1 but 17 in YAML 1.2"),
        ("container_args=[--timeout, 1:30]", "'1:30' is 90 in YAML 1.1"),
        ("hostnames=[on]", "'on' is True in YAML 1.1"),
        ("container_args=[0o17]", "'0o17' is '0o17' in YAML 1.1 but 15"),
        ("container_port=8_000", "expected a whole number, got '8_000'"),
        ("container_port=\uff18\uff10\uff10\uff10", "expected a whole number"),
        ("cpu_cores=1_0", "expected a number, got '1_0'"),
        ("llm_providers=[openai, no]", "'no' is False in YAML 1.1"),
    ],
)
def test_values_yaml_1_1_would_change_are_refused_naming_them(item: str, shown: str) -> None:
    with pytest.raises(UsageError) as error:
        given(item)
    assert shown in error.value.message and "\n" not in error.value.message


def test_values_both_versions_read_alike_keep_their_type() -> None:
    values = given(
        "container_args=[--workers, '017', 8, 1.5, '1:30']", "container_port=8000", "cpu_cores=2.5"
    )
    assert values["container_args"] == ["--workers", "017", 8, 1.5, "1:30"]
    assert values["container_port"] == 8000 and values["cpu_cores"] == 2.5


def test_a_list_for_a_text_question_is_refused_not_rendered_as_python() -> None:
    from generator.template.questions import cast

    question = next(q for q in QUESTIONS if q.name == "description")
    with pytest.raises(ValueError, match="expected text, got a list"):
        cast(question, ["a", "b"])


def test_a_long_refused_value_is_cut_with_its_length() -> None:
    with pytest.raises(UsageError) as error:
        given("container_port=" + "9" * 300 + "x")
    assert "(301 characters)" in error.value.message and len(error.value.message) < 300


def test_a_text_parsed_again_is_a_fresh_copy_and_a_refusal_repeats() -> None:
    """yaml12.load caches what it parsed: the caller may change its value without changing the next one's,
    and a refused text is refused every time (a refusal is never cached as a pass)."""
    from generator.template.yaml12 import load

    first = load("{a: [1, 2], b: {c: x}}")
    first["a"].append(3)
    first["b"]["c"] = "changed"
    assert load("{a: [1, 2], b: {c: x}}") == {"a": [1, 2], "b": {"c": "x"}}
    for _ in range(2):
        with pytest.raises(ValueError, match=r"'017' is 15 in YAML 1\.1 but 17 in YAML 1\.2"):
            load("[017, x]")
