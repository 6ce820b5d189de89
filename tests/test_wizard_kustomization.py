"""--register adds the app to the parent kustomization with a line-based insert that keeps comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.new.register import RegisterError, add_resource, clash, listed_in, register, styled

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


def test_new_entry_follows_the_style_of_the_existing_ones() -> None:
    assert add_resource("resources:\n- ./alpha\n", "mm")[0] == "resources:\n- ./alpha\n- ./mm\n"
    text, _ = add_resource("resources:\n  - ./b/\n  - ./d/\n", "c")
    assert text == "resources:\n  - ./b/\n  - ./c/\n  - ./d/\n"
    assert add_resource("resources: ['a', 'b']\n", "c")[0] == "resources: ['a', 'b', 'c']\n"
    assert add_resource("resources:\n- ./alpha\n", "alpha") == ("resources:\n- ./alpha\n", False)
    # Paths elsewhere and files say nothing about how a sibling directory is written.
    assert styled("mm", ["../base", "./alpha  # app", "configmap.yaml"]) == "./mm"
    assert styled("mm", ["../base", "sub/dir"]) == "mm"


def test_register_reports_the_entry_as_written(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - ./alpha\n")
    assert register(tmp_path / "mm", write=False) == (
        f"Would register: add ./mm to the resources of {tmp_path / 'kustomization.yaml'}."
    )
    assert register(tmp_path / "mm").startswith("Registered: added ./mm")
    assert (tmp_path / "kustomization.yaml").read_text() == "resources:\n  - ./alpha\n  - ./mm\n"
    assert listed_in(tmp_path / "mm") == tmp_path / "kustomization.yaml"
    assert listed_in(tmp_path / "other") is None


def _app(directory: Path, app_name: str, namespace: str = "ai") -> None:
    directory.mkdir(parents=True)
    answers = f"_src_path: x\napp_name: {app_name}\nnamespace: {namespace}\n"
    (directory / ".copier-answers.yml").write_text(answers)


def test_clash_finds_a_sibling_with_the_same_name_and_namespace(tmp_path: Path) -> None:
    assert clash(tmp_path / "chat2", "team-chat", "ai") is None  # no parent kustomization
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - team-chat\n  - ../elsewhere\n")
    _app(tmp_path / "team-chat", "team-chat")
    _app(tmp_path.parent / "elsewhere", "far", "team")
    found = clash(tmp_path / "chat2", "team-chat", "ai")
    assert found is not None and found.path == tmp_path / "team-chat" and found.listed
    assert "Deployment/team-chat.ai" in found.describe(tmp_path / "chat2")
    assert clash(tmp_path / "chat2", "team-chat", "other") is None
    assert clash(tmp_path / "team-chat", "team-chat", "ai") is None  # the app itself (--force)
    assert clash(tmp_path / "x", "far", "team") is not None  # listed, in another directory
    _app(tmp_path / "unlisted", "lonely")
    found = clash(tmp_path / "x", "lonely", "ai")
    assert found is not None and not found.listed


def test_a_namespace_set_by_the_parent_kustomization_makes_names_clash(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("namespace: prod\nresources: [a]\n")
    _app(tmp_path / "a", "a", "ai")
    assert clash(tmp_path / "b", "a", "team") is not None
