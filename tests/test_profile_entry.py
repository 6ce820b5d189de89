"""The cluster profile is validated wherever it enters, and every value the template writes into a YAML
comment is quoted: through plain Copier, `monitoring.namespace` landed unquoted in a CiliumNetworkPolicy
comment line, where a newline in it added an ingress rule admitting `world`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.template.presets import load_preset
from tests.conftest import ROOT, render

INJECTION = "monitoring\n  - fromEntities: [world]"


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ({"monitoring": {"namespace": INJECTION}}, "cluster.monitoring.namespace must not contain control"),
        ({"litellm": {"namespace": "LiteLLM"}}, "cluster.litellm.namespace must be a DNS-1123 label"),
        ({"qdrant": {"port": 70000}}, "cluster.qdrant.port must be a whole number"),
        ({"run_as_uid": 0}, "cluster.run_as_uid must be a whole number between 1"),
        ({"gateway": "gateway"}, "must be a mapping"),
    ],
)
def test_plain_copier_refuses_a_hostile_profile(
    profile: dict[str, object], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        render(tmp_path / "app", {**load_preset("chat-litellm"), "cluster": profile})
    assert not (tmp_path / "app" / "ciliumnetworkpolicy.yaml").exists()


def test_a_profile_fact_in_a_yaml_comment_is_quoted(tmp_path: Path) -> None:
    profile = {"monitoring": {"namespace": "prom"}}
    app = render(tmp_path / "app", {**load_preset("chat-litellm"), "cluster": profile, "metrics_port": 9090})
    assert '# Prometheus (namespace "prom") scrapes' in (app / "ciliumnetworkpolicy.yaml").read_text()


# Values a YAML comment of the template may hold bare: answers validated as DNS labels, and choices.
BARE_IN_COMMENTS = {"app_name", "provider"}
KEYWORDS = {"if", "else", "and", "or", "not"}


def test_every_value_in_a_yaml_comment_of_the_template_is_quoted_or_validated() -> None:
    found = []
    for path in sorted((ROOT / "template").rglob("*.yaml.jinja")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.lstrip().startswith("#"):
                continue
            for expression in re.findall(r"\{\{(.*?)\}\}", line):
                names = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", expression)) - {
                    "if",
                    "else",
                    "and",
                    "or",
                    "not",
                }
                if "m.q(" in expression or "'" in expression:  # quoted, or a choice between literals
                    continue
                if not names <= BARE_IN_COMMENTS:
                    found.append(f"{path.name}:{number}: {expression.strip()}")
    assert found == []
