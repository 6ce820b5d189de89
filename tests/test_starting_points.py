"""Presets and another app's answers file as the starting point of a new app, in a GitOps repository with
a cluster profile (issue 20): the profile's facts apply, and what the other app derived from its own name
is derived again for the new one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.test_new_cli import aiapp

PROFILE = """\
cluster:
  litellm: {namespace: litellm}
  gateway: {namespace: gateway, domain: ai.home.example}
"""


def answers(app: Path) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((app / ".copier-answers.yml").read_text())
    return loaded


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".aiapp.yml").write_text(PROFILE)
    apps = tmp_path / "apps"
    apps.mkdir()
    return apps


def test_the_chat_preset_takes_the_profiles_domain(repo: Path) -> None:
    result = aiapp("new", "--preset", "chat-litellm", "chat", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert answers(repo / "chat")["hostnames"] == ["team-chat.ai.home.example"]  # not chat.apps.example.com


def test_another_apps_answers_file_is_a_starting_point(repo: Path) -> None:
    first = aiapp("new", "--defaults", "--set", "image=ghcr.io/acme/chat:1.0",
                  "--set", "llm_providers=openai", "--set", "replicas=3", "chat", cwd=repo)  # fmt: skip
    assert first.returncode == 0, first.stderr
    second = aiapp("new", "--answers-file", "chat/.copier-answers.yml", "search", cwd=repo)
    assert second.returncode == 0, second.stderr  # was: "cluster (from ...): the cluster facts come from ..."
    assert "note: cluster (from chat/.copier-answers.yml) is not used" in second.stderr
    copied = answers(repo / "search")
    assert copied["app_name"] == "search"  # DEST's name, over the file's
    assert (
        copied["hostnames"] == ["search.ai.home.example"]
        and copied["litellm_key_item"] == "search LiteLLM key"
    )
    assert copied["replicas"] == 3 and copied["llm_providers"] == ["openai"]  # the other app's choices
    assert copied["image"] == "ghcr.io/acme/chat:1.0"
