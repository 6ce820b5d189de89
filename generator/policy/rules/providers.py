"""Provider rules: no direct LLM provider hosts, and LLM base URLs point at LiteLLM."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from generator.cluster.facts import Cluster
from generator.policy.exceptions import documented_exceptions
from generator.policy.k8s import (
    NETWORK_POLICY_KINDS,
    WORKLOAD_KINDS,
    containers,
    env_values,
    is_wildcard_address,
    mapping,
    name_tokens,
    pods_of,
    sequence,
    url_host,
)
from generator.policy.model import Hit, K8sObject, Severity, YamlPath
from generator.policy.registry import object_rule
from generator.policy.selectors import policy_specs

# Provider API hosts beyond the `providers` table of copier.yml (which the template can open as an
# exception): other common hosted LLM APIs that apps must also reach through LiteLLM.
OTHER_PROVIDER_HOSTS = (
    "api.cohere.ai",
    "api.together.xyz",
    "api.together.ai",
    "openrouter.ai",
    "api.deepseek.com",
    "api.x.ai",
    "api.perplexity.ai",
    "api.fireworks.ai",
    "api.replicate.com",
    "api-inference.huggingface.co",
)
OTHER_PROVIDER_PATTERNS = (
    r"[a-z0-9-]+\.openai\.azure\.com",
    r"bedrock-runtime\.[a-z0-9-]+\.amazonaws\.com",
    r"[a-z0-9-]+-aiplatform\.googleapis\.com",
)
# Sample hosts for the patterns, to test whether a toFQDNs matchPattern would let them through.
_PATTERN_SAMPLES = ("example.openai.azure.com", "bedrock-runtime.us-east-1.amazonaws.com")

LLM_WORDS = frozenset(
    {
        "OPENAI",
        "ANTHROPIC",
        "CLAUDE",
        "LITELLM",
        "LLM",
        "GEMINI",
        "MISTRAL",
        "GROQ",
        "COHERE",
        "OLLAMA",
        "GPT",
    }
)
# Words of a variable that sets where a server listens (`OLLAMA_LISTEN_ADDR`, `VLLM_BIND_HOST`).
LISTEN_WORDS = frozenset({"LISTEN", "BIND"})
URL_WORDS = frozenset({"URL", "URI", "BASE", "ENDPOINT", "HOST", "ADDR", "ADDRESS", "SERVER"})


def provider_hosts(cluster: Cluster) -> tuple[str, ...]:
    """Every known provider host: the copier.yml table first, then the others."""
    return (*(host for _, host in cluster.providers), *OTHER_PROVIDER_HOSTS)


@cache
def _provider_pattern(cluster: Cluster) -> re.Pattern[str]:
    hosts = sorted(provider_hosts(cluster), key=len, reverse=True)
    alternatives = [re.escape(host) for host in hosts] + list(OTHER_PROVIDER_PATTERNS)
    return re.compile(
        r"(?<![A-Za-z0-9.-])((?:[a-z0-9-]+\.)*(?:" + "|".join(alternatives) + r"))(?![A-Za-z0-9-])",
        re.IGNORECASE,
    )


def find_provider_hosts(text: str, cluster: Cluster) -> Iterator[tuple[str, int]]:
    """(host, offset) of every provider host in a text."""
    for match in _provider_pattern(cluster).finditer(text):
        yield match.group(1).lower(), match.start(1)


def is_provider_host(host: str, cluster: Cluster) -> bool:
    return bool(_provider_pattern(cluster).fullmatch(host))


def is_model_hub_host(host: str, cluster: Cluster) -> bool:
    """A Hugging Face host of copier.yml's model_hub_hosts: model downloads, not LLM traffic."""
    return host in cluster.model_hub_names or any(
        _cilium_pattern(pattern).fullmatch(host) for pattern in cluster.model_hub_patterns
    )


@cache
def _cilium_pattern(pattern: str) -> re.Pattern[str]:
    """A toFQDNs matchPattern as a regex: `*` alone matches every name, else one DNS label's characters."""
    text = pattern.strip().lower().rstrip(".")
    if text == "*":
        return re.compile(r".*")
    return re.compile(
        re.escape(text).replace(r"\*\*\.", r"(?:[-a-z0-9_]+\.)*").replace(r"\*", r"[-a-z0-9_]*")
    )


def _text_places(obj: K8sObject) -> Iterator[tuple[str, str, YamlPath]]:
    """(what, text, path) of every string where an app could name an LLM endpoint."""
    for pod in pods_of(obj):
        for container in containers(pod):
            for name, value, path in env_values(container):
                yield f"{container.label} env {name}", value, path
            for field in ("command", "args"):
                for index, value in enumerate(sequence(container.data.get(field))):
                    if isinstance(value, str):
                        yield f"{container.label} {field}[{index}]", value, (*container.path, field, index)
    if obj.kind == "ConfigMap":
        for key, value in mapping(obj.data.get("data")).items():
            if isinstance(value, str):
                yield f"ConfigMap key {key}", value, ("data", key)
    elif obj.kind == "Service":
        external = mapping(obj.data.get("spec")).get("externalName")
        if isinstance(external, str):
            yield "externalName", external, ("spec", "externalName")


def _fqdn_places(obj: K8sObject, cluster: Cluster) -> Iterator[tuple[str | None, str, YamlPath]]:
    """(provider host or None for a pattern, message, path) of each toFQDNs entry that lets one through.

    The model hub patterns of copier.yml (the pre-download egress) are the cluster's own and allowed.
    """
    for base, spec in policy_specs(obj):
        for index, rule in enumerate(sequence(spec.get("egress"))):
            for position, fqdn in enumerate(sequence(mapping(rule).get("toFQDNs"))):
                path = (*base, "egress", index, "toFQDNs", position)
                name, pattern = mapping(fqdn).get("matchName"), mapping(fqdn).get("matchPattern")
                host = name.lower().rstrip(".") if isinstance(name, str) else ""
                if host and is_provider_host(host, cluster):
                    message = f"egress toFQDNs matchName {host} lets the app call an LLM provider directly"
                    yield host, message, (*path, "matchName")
                if isinstance(pattern, str) and pattern not in cluster.model_hub_patterns:
                    regex = _cilium_pattern(pattern)
                    allowed = [h for h in (*provider_hosts(cluster), *_PATTERN_SAMPLES) if regex.fullmatch(h)]
                    if allowed:
                        shown = ", ".join(allowed[:3]) + (", ..." if len(allowed) > 3 else "")
                        message = f'egress toFQDNs matchPattern "{pattern}" lets LLM provider hosts through'
                        yield None, f"{message} ({shown})", (*path, "matchPattern")


@object_rule(
    id="AIA301",
    slug="direct-provider-host",
    title="No direct LLM provider hosts (use LiteLLM)",
    severity=Severity.ERROR,
    family="providers",
    section="LiteLLM API Gateway Pattern > Application Usage; AI-DOMAIN ANTI-PATTERNS > Configuration",
    quote="Never connect applications directly to LLM providers - use LiteLLM",
    why="LiteLLM holds the provider keys and applies rate limits; an app that calls {providers} (or another "
    "hosted LLM API) directly bypasses both. Checked: env values, command/args, ConfigMap data, Service "
    "externalName and CiliumNetworkPolicy toFQDNs.",
    fix="Point the app at LiteLLM ({litellm_url}) and remove the provider host. A genuine exception is "
    'listed in the app\'s AGENTS.md under "Exceptions to the patterns" (`**Direct provider access** to '
    "`host`` with a `Reason:` line, as `aiapp new` writes it), or suppressed on the object with "
    '`aiapp/ignore: "AIA301: reason"`.',
    kinds=sorted(WORKLOAD_KINDS | NETWORK_POLICY_KINDS | {"ConfigMap", "Service"}),
)
def direct_provider_host(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    def verdict(host: str) -> str | None:
        """None when the host is a documented exception, else a note for the message ('' or why not)."""
        documented = documented_exceptions(obj.directory)
        if host in documented.hosts:
            return None
        if host in documented.without_reason:
            return f" ({documented.file} lists it as an exception but gives no Reason: line)"
        return ""

    if obj.kind in NETWORK_POLICY_KINDS:
        for host, message, path in _fqdn_places(obj, cluster):
            note = verdict(host) if host else ""
            if note is not None:
                yield Hit(path, message + note)
        return
    for what, text, path in _text_places(obj):
        for host, offset in find_provider_hosts(text, cluster):
            note = verdict(host)
            if note is not None:
                yield Hit(
                    path,
                    f"{what} names LLM provider host {host}{note}; apps call providers through LiteLLM",
                    offset,
                )


def _config_entries(obj: K8sObject) -> Iterator[tuple[str, str, str, YamlPath]]:
    """(what, key, value, path) of env entries and ConfigMap keys."""
    for pod in pods_of(obj):
        for container in containers(pod):
            for name, value, path in env_values(container):
                yield f"{container.label} env", name, value, path
    if obj.kind == "ConfigMap":
        for key, value in mapping(obj.data.get("data")).items():
            if isinstance(value, str):
                yield "ConfigMap key", str(key), value, ("data", key)


def url_keys(obj: K8sObject, words: frozenset[str]) -> Iterator[tuple[str, str, str, str, YamlPath]]:
    """(what, key, value, host, path) of env/config keys that name an endpoint of the given kind.

    A listen address is a server's own setting, not an endpoint it calls: a key with LISTEN or BIND in
    its name, or a wildcard value (`OLLAMA_HOST=0.0.0.0`, Ollama's bind address; `[::]:11434`).
    """
    for what, key, value, path in _config_entries(obj):
        tokens = name_tokens(key)
        if len(tokens) < 2 or tokens[-1] not in URL_WORDS or not words.intersection(tokens):
            continue
        if LISTEN_WORDS.intersection(tokens) or is_wildcard_address(value):
            continue
        host = url_host(value)
        if host:
            yield what, key, value, host, path


def reaches(host: str, service: str, namespace: str, obj: K8sObject, cluster: Cluster) -> bool:
    """Whether a host name reaches the Service (the short name only from its own namespace)."""
    return host in cluster.service_hosts(service, namespace) or (
        host == service and obj.namespace == namespace
    )


@object_rule(
    id="AIA302",
    slug="llm-url-not-litellm",
    title="LLM base URLs point at LiteLLM",
    severity=Severity.ERROR,
    family="providers",
    section="LiteLLM API Gateway Pattern > Application Usage",
    quote="Connect to LiteLLM: `http://litellm.ai.svc.cluster.local:4000`",
    why="All LLM traffic goes through LiteLLM; an LLM endpoint setting (a key such as OPENAI_BASE_URL, "
    "LLM_ENDPOINT, LITELLM_URL) that names another host sends it elsewhere. Provider hosts themselves are "
    "reported by AIA301. A listen address is the server's own setting, not an endpoint: keys with LISTEN "
    "or BIND, and wildcard values (`OLLAMA_HOST=0.0.0.0`, Ollama's bind address; `[::]:11434`; `*`) are "
    "not read.",
    fix="Set the value to {litellm_url} (add `/v1` if the client expects it); register other models in "
    "LiteLLM instead of calling them directly.",
    kinds=sorted(WORKLOAD_KINDS | {"ConfigMap"}),
)
def llm_url_not_litellm(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    for what, key, value, host, path in url_keys(obj, LLM_WORDS):
        if is_provider_host(host, cluster) or is_model_hub_host(host, cluster):
            continue
        if not reaches(host, cluster.litellm_service, cluster.litellm_namespace, obj, cluster):
            yield Hit(
                path, f'{what} {key} is "{value}"; LLM traffic goes to LiteLLM at {cluster.litellm_url}'
            )
