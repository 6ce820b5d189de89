"""The small pieces: YAML reading and line lookup, URL hosts, Cilium selectors and patterns."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from generator.cluster.facts import cluster
from generator.policy.k8s import url_host
from generator.policy.model import Origin
from generator.policy.rules.providers import _cilium_pattern, find_provider_hosts
from generator.policy.selectors import selects
from generator.policy.yamlio import DuplicateKeyError, clear_cache, locate, parse_documents


def test_fast_reader_matches_pyyaml_on_ordinary_manifests() -> None:
    text = "a: 1\nb: [true, no, ~, 1.5, '010', 010, 0x1F]\nc: {d: e}\n---\n---\n- x\n"
    assert parse_documents(text) == list(yaml.safe_load_all(text))


def test_timestamps_stay_strings_as_kubernetes_reads_them() -> None:
    assert parse_documents("at: 2024-01-02T03:04:05Z\n") == [{"at": "2024-01-02T03:04:05Z"}]


def test_duplicate_keys_are_errors_with_their_line() -> None:
    with pytest.raises(DuplicateKeyError) as error:
        parse_documents("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert error.value.line == 4 and error.value.key == "c"


def test_anchors_and_merge_keys_still_work() -> None:
    text = "base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n"
    assert parse_documents(text) == [{"base": {"x": 1}, "other": {"x": 1, "y": 2}}]


def test_locate_points_at_keys_items_and_lines_inside_block_scalars(tmp_path: Path) -> None:
    file = tmp_path / "x.yaml"
    file.write_text(
        "kind: A\n---\nkind: B\nlist:\n  - name: one\n  - name: two\ntext: |\n  first\n  second\n"
    )
    clear_cache()
    origin = Origin(str(file), 1)
    assert locate(origin, ("kind",)) == 3
    assert locate(origin, ("list", 1)) == 6
    assert locate(origin, ("list", 1, "missing", "deeper")) == 6
    assert locate(origin, ("text",), offset="first\nsecond".index("second")) == 9
    assert locate(Origin(str(file), None, line=7), ("kind",)) == 7


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("https://api.openai.com/v1", "api.openai.com"),
        ("http://litellm.ai.svc.cluster.local:4000", "litellm.ai.svc.cluster.local"),
        ("qdrant.ai.svc:6333", "qdrant.ai.svc"),
        ("LiteLLM", "litellm"),
        ("$(LITELLM_HOST)", None),
        ("not a url at all", None),
    ],
)
def test_url_host(value: str, host: str | None) -> None:
    assert url_host(value) == host


def test_provider_hosts_are_found_as_whole_host_names() -> None:
    text = "a=https://api.openai.com/v1 b=eu.api.anthropic.com c=notapi.openai.com d=x.openai.azure.com"
    assert [host for host, _ in find_provider_hosts(text, cluster())] == [
        "api.openai.com",
        "eu.api.anthropic.com",
        "x.openai.azure.com",
    ]


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("*", "api.openai.com", True),
        ("*.openai.com", "api.openai.com", True),
        ("*.com", "api.openai.com", False),
        ("**.com", "api.openai.com", True),
        ("*.huggingface.co", "api.openai.com", False),
    ],
)
def test_cilium_match_patterns(pattern: str, host: str, matches: bool) -> None:
    assert bool(_cilium_pattern(pattern).fullmatch(host)) is matches


def test_selectors_understand_source_prefixes_namespaces_and_expressions() -> None:
    labels = {"app.kubernetes.io/name": "demo", "tier": "web"}
    assert selects({}, labels, "ai", "default")
    assert selects({"matchLabels": {"k8s:app.kubernetes.io/name": "demo"}}, labels, "ai", "default")
    assert not selects({"matchLabels": {"k8s:io.kubernetes.pod.namespace": "other"}}, labels, "ai", "default")
    expression = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]}
    assert selects(expression, labels, "ai", "default")
    missing = {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}
    assert not selects(missing, labels, "ai", "default")
    assert not selects("not a selector", labels, "ai", "default")
