"""User-supplied strings render to valid YAML that reads back as the exact string, in Python and in Go."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from generator.template.presets import load_preset
from generator.template.questions import load_questions, resolve
from tests.conftest import load_objects, render

TRICKY = [
    'He said "hi": it\'s #1',
    "line one\nline two",
    "yes",
    "null",
    "0o17",
    "- [a, b] & *ref !tag %percent @at `tick` {c: d}",
    "  leading and trailing spaces  ",
    "back\\slash and tab\there",
    "emoji 🚀 and ünïcödé",
    "key: value # not a comment",
]

ITEM = 'LiteLLM "rag": key #2 - yes'


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """One render per tricky description (the collection name stays a valid identifier)."""
    base = tmp_path_factory.mktemp("tricky")
    return {
        text: render(base / f"app{index}", {**load_preset("rag-cpu-qdrant"), "description": text,
                                            "litellm_key_item": ITEM})
        for index, text in enumerate(TRICKY)
    }


@pytest.mark.parametrize("text", TRICKY)
def test_description_reads_back_exactly(text: str, rendered) -> None:
    for obj in load_objects(rendered[text]).values():
        assert obj["metadata"]["annotations"]["aiapp/description"] == text
    secret = load_objects(rendered[text])["ExternalSecret"]
    assert secret["spec"]["data"][0]["remoteRef"]["key"] == ITEM


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl is not installed")
@pytest.mark.parametrize("text", TRICKY)
def test_description_survives_kustomize(text: str, rendered) -> None:
    """kustomize parses with Go's YAML library: the value must survive that round trip too."""
    output = subprocess.run(["kubectl", "kustomize", str(rendered[text])], capture_output=True, text=True,
                            check=True).stdout
    for obj in yaml.safe_load_all(output):
        assert obj["metadata"]["annotations"]["aiapp/description"] == text


def test_control_characters_are_refused_by_the_rule() -> None:
    question = next(q for q in load_questions() if q.name == "description")
    context = resolve(load_preset("chat-litellm"))
    from generator.template.questions import check

    assert check(question, "bell\x07", context) is not None
    assert check(question, "line\u2028separator", context) is not None
    assert check(question, "fine\nwith newline", context) is None
