"""--register adds the app to the parent kustomization with a line-based insert that keeps comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.kustomization import RegisterError, add_resource, register

FILE = """\
# Apps of the ai namespace.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  # inference
  - llama-8b
  - rag-api   # the wiki bot
  # keep this comment
components:
  - ../components/common
"""


def test_sorted_list_stays_sorted_and_comments_stay() -> None:
    text, added = add_resource(FILE, "mistral-7b")
    assert added
    assert text == FILE.replace("  - rag-api", "  - mistral-7b\n  - rag-api")


def test_appends_after_the_last_item_of_an_unsorted_list() -> None:
    source = FILE.replace("  - llama-8b\n  - rag-api   # the wiki bot", "  - zeta\n  - alpha")
    text, _ = add_resource(source, "mid")
    assert "  - alpha\n  - mid\n  # keep this comment" in text


def test_existing_entry_is_left_alone() -> None:
    for spelling in ("rag-api", "./rag-api/", "'rag-api'"):
        source = FILE.replace("  - rag-api ", f"  - {spelling} ")
        assert add_resource(source, "rag-api") == (source, False)


def test_unindented_list_keeps_its_indentation() -> None:
    text, _ = add_resource("resources:\n- b\n- d\n", "c")
    assert text == "resources:\n- b\n- c\n- d\n"


def test_flow_list_and_missing_key() -> None:
    assert add_resource("resources: []\n", "a") == ("resources: [a]\n", True)
    assert add_resource("resources: [a, b]  # apps\n", "c")[0] == "resources: [a, b, c]  # apps\n"
    assert add_resource("kind: Kustomization", "a")[0] == "kind: Kustomization\nresources:\n  - a\n"
    assert add_resource("resources:\ncomponents: []\n", "a")[0] == "resources:\n  - a\ncomponents: []\n"


def test_multi_line_flow_list_is_refused() -> None:
    with pytest.raises(RegisterError):
        add_resource("resources: [\n  a,\n]\n", "b")


def test_register_edits_the_parent_file(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(FILE)
    message = register(tmp_path / "mistral-7b")
    assert message.startswith("Registered: added mistral-7b")
    assert "  - mistral-7b\n" in (tmp_path / "kustomization.yaml").read_text()
    assert register(tmp_path / "mistral-7b").startswith("Already registered")


def test_register_creates_nothing_without_a_parent_kustomization(tmp_path: Path) -> None:
    message = register(tmp_path / "app")
    assert message.startswith("No kustomization.yaml in")
    assert list(tmp_path.iterdir()) == []
