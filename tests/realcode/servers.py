"""The model servers the template renders: every vLLM preset and seeded fuzz answer sets, as the container
vLLM runs (command, args, environment), rendered from the Deployment's template (or, for a replica on several
nodes, the LeaderWorkerSet's leader and worker templates) and config.env.jinja.

The files are rendered with the Jinja environment copier.yml's expressions are evaluated in (the template
root as loader, Copier's filters), from the context `aiapp new` resolves; test_vllm_cli.py checks that this
gives the same deployment.yaml as a full Copier render of every preset.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings

from generator.errors import UsageError
from generator.template.answers import gather, resolve_given
from generator.template.presets import load_preset
from generator.template.questions import jinja_env
from tests.conftest import PRESETS
from tests.test_fuzz_answers import QUESTIONS, answer_sets

FUZZ_TARGET = 200  # answer sets that render a vLLM server
FUZZ_EXAMPLES = 2500  # drawn to find them (derandomized: the same sets on every run)


@dataclass(frozen=True)
class Server:
    """One rendered vLLM container: what the kubelet runs, and the answers it came from."""

    origin: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    context: Any

    @property
    def argv(self) -> list[str]:
        """What `vllm` receives after its own name: command[1:] + args."""
        return [*self.command[1:], *self.args]

    def probe_case(self) -> dict[str, Any]:
        return {"argv": self.argv, "env": dict(self.env)}


def render_file(name: str, context: dict[str, Any]) -> str:
    return jinja_env().get_template(f"template/{name}").render(context)


def container_env(context: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet builds it: the ConfigMap (envFrom) first, then `env`,
    which wins; a value from a Secret becomes a stand-in string naming its key."""
    env: dict[str, str] = {}
    for line in render_file("config.env.jinja", context).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        else:
            env[item["name"]] = "secret-" + item["valueFrom"]["secretKeyRef"]["key"].lower()
    return env


DEPLOYMENT = "{% if replica_nodes == 1 %}deployment.yaml{% endif %}.jinja"
LEADER_WORKER_SET = "{% if replica_nodes > 1 %}leaderworkerset.yaml{% endif %}.jinja"
KUBELET_VARIABLE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\$")


def expand(text: str, env: dict[str, str]) -> str:
    """What the kubelet passes for a command or argument: `$(NAME)` replaced by the container's variable
    when it has one (else kept), `$$` by `$` (kubernetes.io, "Define a command and arguments")."""
    return KUBELET_VARIABLE.sub(
        lambda match: "$" if match.group() == "$$" else env.get(match.group(1), match.group()), text
    )


def _server(origin: str, context: dict[str, Any], pod: dict[str, Any], lws: dict[str, str]) -> Server:
    container = pod["spec"]["containers"][0]
    env = {**container_env(context, container), **lws}
    return Server(
        origin=origin,
        command=tuple(expand(str(item), env) for item in container.get("command", [])),
        args=tuple(expand(str(item), env) for item in container.get("args", [])),
        env=tuple(sorted(env.items())),
        context=context,
    )


def servers_of(origin: str, context: dict[str, Any]) -> list[Server]:
    """The vLLM containers of the rendered app: the Deployment's, or the leader's and a worker's of its
    LeaderWorkerSet, each with the variables the LeaderWorkerSet controller sets (kubernetes-sigs/lws,
    LWS_LEADER_ADDRESS = <name>-<group>.<name>.<namespace>, LWS_GROUP_SIZE, LWS_WORKER_INDEX)."""
    if not (context.get("serves_model") and context.get("serving_engine") == "vllm"):
        return []
    if context["replica_nodes"] == 1:
        deployment = yaml.safe_load(render_file(DEPLOYMENT, context))
        return [_server(origin, context, deployment["spec"]["template"], {})]
    lws = yaml.safe_load(render_file(LEADER_WORKER_SET, context))
    name, size = lws["metadata"]["name"], lws["spec"]["leaderWorkerTemplate"]["size"]
    group = {"LWS_LEADER_ADDRESS": f"{name}-0.{name}.{context['namespace']}", "LWS_GROUP_SIZE": str(size)}
    templates = lws["spec"]["leaderWorkerTemplate"]
    roles = [("leader", "leaderTemplate", 0)] + [(f"worker {i}", "workerTemplate", i) for i in range(1, size)]
    return [
        _server(f"{origin} ({role})", context, templates[key], {**group, "LWS_WORKER_INDEX": str(index)})
        for role, key, index in roles
    ]


def server_of(origin: str, context: dict[str, Any]) -> Server | None:
    """The vLLM container of the rendered Deployment (or a replica's leader), None when there is none."""
    found = servers_of(origin, context)
    return found[0] if found else None


def resolved(answers: dict[str, Any], name: str) -> dict[str, Any]:
    return resolve_given(QUESTIONS, gather(QUESTIONS, preset=answers, preset_name=name)).context


def preset_servers() -> list[Server]:
    servers = [server_of(f"preset {name}", resolved(load_preset(name), name)) for name in PRESETS]
    return [server for server in servers if server is not None]


def vllm_presets() -> list[str]:
    return [server.origin.removeprefix("preset ") for server in preset_servers()]


def fuzz_servers(presets: Sequence[str]) -> list[Server]:
    """Servers of the seeded fuzz answer sets (tests/test_fuzz_answers.py's generator, from the vLLM
    presets) that the answers' checks accept and that render vLLM (the first FUZZ_TARGET)."""
    found: list[Server] = []

    @settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(answer_sets(presets))
    def collect(answers: dict[str, Any]) -> None:
        if len(found) >= FUZZ_TARGET:
            return
        try:
            context = resolved(answers, "fuzz")
        except UsageError:
            return
        server = server_of(f"fuzz set {len(found)}: {answers}", context)
        if server is not None:
            found.append(server)

    collect()
    return found
