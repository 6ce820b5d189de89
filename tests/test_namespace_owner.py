"""Namespace ownership (issue 20): one owner per namespace. `aiapp new` never creates the namespace of the
shared services nor one that another app of the repository creates, so that registering a second app
in the same namespace keeps the parent kustomization buildable."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from generator.template.questions import check, load_questions, resolve
from tests.test_new_cli import aiapp, assert_refused

CREATE = next(question for question in load_questions() if question.name == "create_namespace")
# The shared services in namespaces of their own, none in `ai` (the profile `aiapp init` writes).
PROFILE = """\
cluster:
  litellm: {namespace: litellm}
  qdrant: {namespace: qdrant}
  gateway: {namespace: gateway}
"""
APP = ["--defaults", "--set", "image=ghcr.io/acme/chat:1.0", "--set", "llm_providers=openai"]


def answers(app: Path) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((app / ".copier-answers.yml").read_text())
    return loaded


def test_the_shared_services_namespace_is_never_created() -> None:
    context = resolve({"app_name": "chat", "image": "a/b:1", "namespace": "ai"})  # LiteLLM's, by default
    assert context["create_namespace"] is False
    rule = check(CREATE, True, context) or ""
    assert "shared services" in rule and "answer false" in rule
    own = resolve({"app_name": "chat", "image": "a/b:1", "namespace": "team"})
    assert own["create_namespace"] is True and check(CREATE, True, own) is None


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".aiapp.yml").write_text(PROFILE)
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "kustomization.yaml").write_text("resources: []\n")
    return apps


def test_a_namespace_another_app_creates_is_not_created_again(repo: Path) -> None:
    first = aiapp("new", *APP, "chat", cwd=repo)
    assert first.returncode == 0, first.stderr
    assert answers(repo / "chat")["create_namespace"] is True  # `ai` is no shared service's here
    second = aiapp("new", *APP, "search", cwd=repo)
    assert second.returncode == 0, second.stderr
    assert answers(repo / "search")["create_namespace"] is False
    assert (
        f"note: create_namespace is false: namespace 'ai' is created by the app in {repo / 'chat'}"
        in second.stderr
    )
    refused = aiapp("new", *APP, "--set", "create_namespace=true", "third", cwd=repo)
    assert_refused(refused, "create_namespace = true (from --set)", str(repo / "chat"))
    assert not (repo / "third").exists()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) is not installed")
def test_two_registered_apps_in_one_namespace_build(repo: Path) -> None:
    for name in ("chat", "search"):
        result = aiapp("new", *APP, "--register", name, cwd=repo)
        assert result.returncode == 0, result.stderr
    built = subprocess.run(
        ["kubectl", "kustomize", str(repo)], capture_output=True, text=True, timeout=120, check=False
    )
    assert built.returncode == 0, built.stderr  # not "already registered id: Namespace.v1.[noGrp]/ai"
    kinds = [(doc["kind"], doc["metadata"]["name"]) for doc in yaml.safe_load_all(built.stdout) if doc]
    assert kinds.count(("Namespace", "ai")) == 1
