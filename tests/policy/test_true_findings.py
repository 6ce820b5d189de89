"""The false findings of issue 18 (three real GitOps repositories), each shaped like the manifest that
produced it, next to its true twin that must still be reported."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generator.cluster import facts
from generator.policy import Options, Report, check_paths, kustomize, yamlio


def run(root: Path, files: dict[str, str], build: bool = False) -> Report:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    facts.forget_profiles()
    yamlio.clear_cache()
    return check_paths([str(root)], Options(jobs=1, build=build))


def messages(report: Report, rule_id: str) -> list[str]:
    return [f"{item.line}: {item.message}" for item in report.findings if item.rule_id == rule_id]


def vllm(command: str, extra: str = "", gpus: int = 1) -> str:
    """A vLLM Deployment whose container is written as `command` (indented YAML of the container)."""
    body = textwrap.indent(textwrap.dedent(command).strip(), " " * 10)
    more = textwrap.indent(textwrap.dedent(extra).strip(), " " * 6) if extra else ""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vllm
  namespace: models
spec:
  selector:
    matchLabels: {{app: vllm}}
  template:
    metadata:
      labels: {{app: vllm}}
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.10.1.1
{body}
          resources:
            limits:
              nvidia.com/gpu: {gpus}
{more}
"""


SHELL = """\
command: [/bin/sh, -c]
args:
  - |
    pip install --no-cache-dir hf_transfer && \\
    exec vllm serve Qwen/Qwen2.5-7B-Instruct \\
      --port 8000 --max-model-len 1024 --gpu-memory-utilization 0.9
"""


def test_max_model_len_in_a_shell_command_string_is_seen(tmp_path: Path) -> None:
    report = run(tmp_path, {"vllm.yaml": vllm(SHELL)})
    assert messages(report, "AIA801") == []
    missing = SHELL.replace("--max-model-len 1024 ", "")
    report = run(tmp_path, {"vllm.yaml": vllm(missing)})
    assert messages(report, "AIA801") == ['20: container "vllm" runs vLLM without --max-model-len']


def test_one_string_command_and_the_python_module_entrypoint_are_read(tmp_path: Path) -> None:
    one_string = 'command: ["/bin/bash", "-lc", "vllm serve /models/llama --max_model_len=8192"]'
    assert messages(run(tmp_path, {"vllm.yaml": vllm(one_string)}), "AIA801") == []
    module = """\
    command: [python3, -m, vllm.entrypoints.openai.api_server]
    args: [--model, /models/llama, --tensor-parallel-size, "2"]
    """
    report = run(tmp_path, {"vllm.yaml": vllm(module)})
    assert messages(report, "AIA801") == ['16: container "vllm" runs vLLM without --max-model-len']
    assert messages(report, "AIA802") == [
        '17: container "vllm" has 1 GPU(s) but vLLM\'s tensor-parallel size 2 uses 2'
    ]


def test_options_hidden_in_a_variable_or_a_wrapper_are_not_claimed_missing(tmp_path: Path) -> None:
    hidden = 'command: [sh, -c, "exec vllm serve $MODEL $EXTRA_ARGS"]'
    assert messages(run(tmp_path, {"vllm.yaml": vllm(hidden)}), "AIA801") == []
    wrapper = "command: [/opt/start-vllm.sh]"
    assert messages(run(tmp_path, {"vllm.yaml": vllm(wrapper)}), "AIA801") == []


CONFIG_SERVER = """\
command: [vllm, serve, Qwen/Qwen2.5-14B-Instruct-AWQ, --config, /etc/vllm/config.yaml]
volumeMounts:
  - name: config
    mountPath: /etc/vllm
    readOnly: true
"""
CONFIG_VOLUME = """\
volumes:
  - name: config
    configMap:
      name: vllm-config
"""
CONFIG_MAP = """\
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: vllm-config
  namespace: models
data:
  config.yaml: |
    max_model_len: 20480
    gpu-memory-utilization: 0.92
    tensor_parallel_size: {tp}
"""


def test_max_model_len_in_a_config_file_from_a_configmap_is_seen(tmp_path: Path) -> None:
    report = run(tmp_path, {"vllm.yaml": vllm(CONFIG_SERVER, CONFIG_VOLUME) + CONFIG_MAP.format(tp=1)})
    assert messages(report, "AIA801") == []
    assert messages(report, "AIA802") == []
    # The same keys are read for the tensor-parallel size: 2 on one GPU is still reported.
    report = run(tmp_path, {"vllm.yaml": vllm(CONFIG_SERVER, CONFIG_VOLUME) + CONFIG_MAP.format(tp=2)})
    assert messages(report, "AIA802") == [
        "16: container \"vllm\" has 1 GPU(s) but vLLM's tensor-parallel size 2 (from its --config file) "
        "uses 2"
    ]
    without = CONFIG_MAP.replace("max_model_len: 20480", "enforce_eager: true").format(tp=1)
    report = run(tmp_path, {"vllm.yaml": vllm(CONFIG_SERVER, CONFIG_VOLUME) + without})
    assert messages(report, "AIA801") == ['16: container "vllm" runs vLLM without --max-model-len']


def test_a_config_file_from_a_generated_configmap_in_a_build_is_seen(tmp_path: Path) -> None:
    if kustomize.tool() is None:
        pytest.skip("kubectl or kustomize is needed to build the kustomization")
    files = {
        "app/deployment.yaml": vllm(CONFIG_SERVER, CONFIG_VOLUME),
        "app/config.yaml": "max-model-len: 20480\n",
        "app/kustomization.yaml": """\
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            namespace: models
            resources: [deployment.yaml]
            configMapGenerator:
              - name: vllm-config
                files: [config.yaml]
            """,
    }
    report = run(tmp_path, files, build=True)
    assert report.objects == 2
    assert messages(report, "AIA801") == []


def test_a_config_file_that_cannot_be_found_is_no_error(tmp_path: Path) -> None:
    report = run(tmp_path, {"vllm.yaml": vllm(CONFIG_SERVER, CONFIG_VOLUME)})
    assert messages(report, "AIA801") == []
    assert messages(report, "AIA802") == []


MODEL_SERVER = vllm('args: [--model, /models/llama, --max-model-len, "8192"]')
OWN_POLICY = """\
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: vllm
  namespace: models
spec:
  endpointSelector:
    matchLabels: {app: vllm}
  ingress:
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: ai
            app.kubernetes.io/name: litellm
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s:k8s-app: kube-dns
      toPorts:
        - ports: [{port: "53", protocol: UDP}]
"""
BASELINE = """\
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: {name}
spec:
  endpointSelector: {{}}
  enableDefaultDeny:
    ingress: {ingress}
    egress: {egress}
  ingress:
    - fromEntities: [cluster]
  egress:
    - toEntities: [cluster, world]
"""


def test_an_allow_baseline_without_default_deny_does_not_block_litellm(tmp_path: Path) -> None:
    baseline = BASELINE.format(name="allow-baseline", ingress="false", egress="false")
    report = run(tmp_path, {"vllm.yaml": MODEL_SERVER + OWN_POLICY, "baseline.yaml": baseline})
    assert messages(report, "AIA804") == []
    # Its egress rules deny nothing either: no DNS finding for it.
    assert messages(report, "AIA602") == []
    # Without the server's own policy the baseline alone still blocks nothing.
    report = run(tmp_path, {"vllm.yaml": MODEL_SERVER, "baseline.yaml": baseline})
    assert messages(report, "AIA804") == []


def test_each_direction_of_enable_default_deny_counts_on_its_own(tmp_path: Path) -> None:
    # Ingress left to its default (true: the spec has ingress rules), egress off: LiteLLM is blocked.
    baseline = BASELINE.format(name="ingress-deny", ingress="true", egress="false")
    report = run(tmp_path, {"vllm.yaml": MODEL_SERVER, "baseline.yaml": baseline})
    assert messages(report, "AIA804") == [
        "11: model server Deployment/vllm: no ingress from LiteLLM in the policies that deny its ingress "
        "by default (ingress-deny)"
    ]
    assert messages(report, "AIA602") == []
    unset = BASELINE.replace("    ingress: {ingress}\n", "").format(name="unset", egress="false")
    report = run(tmp_path, {"vllm.yaml": MODEL_SERVER, "baseline.yaml": unset})
    assert len(messages(report, "AIA804")) == 1
    # Egress denied by default (true) with no DNS rule: the DNS rule reports it.
    egress = BASELINE.format(name="egress-deny", ingress="false", egress="true")
    report = run(tmp_path, {"vllm.yaml": MODEL_SERVER, "baseline.yaml": egress})
    assert messages(report, "AIA804") == []
    assert len(messages(report, "AIA602")) == 1


def test_an_egress_only_policy_does_not_block_litellm_and_names_are_listed_once(tmp_path: Path) -> None:
    egress_only = OWN_POLICY.replace(
        """  ingress:
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: ai
            app.kubernetes.io/name: litellm
""",
        "",
    )
    report = run(tmp_path, {"vllm.yaml": MODEL_SERVER + egress_only})
    assert messages(report, "AIA804") == []
    gateway_only = OWN_POLICY.replace("ai\n            app.kubernetes.io/name: litellm", "gateway")
    # The same policy read twice (a copy in another tree) is named once.
    report = run(
        tmp_path,
        {"vllm.yaml": MODEL_SERVER + gateway_only, "copy/vllm-policy.yaml": gateway_only},
    )
    assert messages(report, "AIA804") == [
        "11: model server Deployment/vllm: no ingress from LiteLLM in the policies that deny its ingress "
        "by default (vllm)"
    ]


def ollama(env: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ollama
  namespace: ai
spec:
  selector:
    matchLabels: {{app: ollama}}
  template:
    metadata:
      labels: {{app: ollama}}
    spec:
      containers:
        - name: ollama
          image: ollama/ollama:0.5.7
          env:
{textwrap.indent(textwrap.dedent(env).strip(), " " * 12)}
"""


@pytest.mark.parametrize(
    "env",
    [
        'OLLAMA_HOST, value: "0.0.0.0"',
        'OLLAMA_HOST, value: "0.0.0.0:11434"',
        'OLLAMA_HOST, value: "[::]:11434"',
        'LLM_SERVER_HOST, value: "::"',
        'LLM_LISTEN_ADDRESS, value: "ollama.ai.svc:11434"',
        'LLM_BIND_HOST, value: "10.0.0.5"',
    ],
)
def test_listen_addresses_are_not_llm_endpoints(tmp_path: Path, env: str) -> None:
    report = run(tmp_path, {"ollama.yaml": ollama(f"- {{name: {env}}}")})
    assert messages(report, "AIA302") == []


def test_an_llm_endpoint_elsewhere_is_still_reported(tmp_path: Path) -> None:
    env = """\
    - {name: OLLAMA_HOST, value: "0.0.0.0"}
    - {name: OLLAMA_BASE_URL, value: "http://ollama.models.svc:11434"}
    """
    report = run(tmp_path, {"ollama.yaml": ollama(env)})
    assert messages(report, "AIA302") == [
        '18: container "ollama" env OLLAMA_BASE_URL is "http://ollama.models.svc:11434"; LLM traffic goes to '
        "LiteLLM at http://litellm.ai.svc.cluster.local:4000"
    ]


GPU_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: llama-cpp
  namespace: ai
spec:
  containers:
    - name: server
      image: ghcr.io/ggml-org/llama.cpp:server-cuda-b4600
      resources:
{resources}
"""


def test_a_gpu_limit_without_a_request_is_defaulted_by_kubernetes(tmp_path: Path) -> None:
    limit_only = "        limits:\n          nvidia.com/gpu: 1\n          memory: 16Gi"
    report = run(tmp_path, {"pod.yaml": GPU_POD.format(resources=limit_only)})
    assert messages(report, "AIA102") == []
    differ = "        requests:\n          nvidia.com/gpu: 2\n        limits:\n          nvidia.com/gpu: 1"
    report = run(tmp_path, {"pod.yaml": GPU_POD.format(resources=differ)})
    assert messages(report, "AIA102") == ['12: container "server" requests 2 nvidia.com/gpu but limits 1']
    request_only = "        requests:\n          nvidia.com/gpu: 1"
    report = run(tmp_path, {"pod.yaml": GPU_POD.format(resources=request_only)})
    assert messages(report, "AIA102") == [
        '12: container "server" requests 1 nvidia.com/gpu but sets no limit'
    ]


CHAT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: open-webui
  namespace: ai
spec:
  selector:
    matchLabels: {app: open-webui}
  template:
    metadata:
      labels: {app: open-webui}
    spec:
      containers:
        - name: open-webui
          image: ghcr.io/open-webui/open-webui:v0.5.20
          env:
            - {name: LITELLM_BASE_URL, value: "http://litellm.ai.svc.cluster.local:4000"}
---
apiVersion: v1
kind: Service
metadata:
  name: open-webui
  namespace: ai
spec:
  selector: {app: open-webui}
  ports: [{name: http, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: open-webui
  namespace: ai
spec:
  parentRefs:
    - {name: gateway, namespace: gateway, sectionName: https}
  rules:
    - backendRefs:
        - {name: open-webui, port: 8080}
"""
TRAFFIC_POLICY = """\
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: {name}
  namespace: {namespace}
spec:
  {target}
  timeout:
    http:
      requestTimeout: {timeout}
"""
ON_GATEWAY = "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gateway}]"
ON_ROUTE = "targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: open-webui}"


def policy(name: str, namespace: str, target: str, timeout: str) -> str:
    return TRAFFIC_POLICY.format(name=name, namespace=namespace, target=target, timeout=timeout)


def test_an_envoy_gateway_traffic_policy_on_the_gateway_sets_the_route_timeout(tmp_path: Path) -> None:
    report = run(tmp_path, {"chat.yaml": CHAT})
    assert len(messages(report, "AIA901")) == 1  # Envoy's 15 s default
    gateway = {"gateway/timeouts.yaml": policy("no-timeout", "gateway", ON_GATEWAY, '"0s"')}
    report = run(tmp_path, {"chat.yaml": CHAT, **gateway})
    assert messages(report, "AIA901") == []
    short = {"gateway/timeouts.yaml": policy("short", "gateway", ON_GATEWAY, "10s")}
    report = run(tmp_path, {"chat.yaml": CHAT, **short})
    assert messages(report, "AIA901") == [
        "37: the backend streams LLM answers, but BackendTrafficPolicy short sets "
        'timeout.http.requestTimeout "10s" for this route, which cuts them; use "0s"'
    ]
    # A policy on the route itself wins over the Gateway's.
    route = {"route-policy.yaml": policy("route", "ai", ON_ROUTE, "1h")}
    report = run(tmp_path, {"chat.yaml": CHAT, **short, **route})
    assert messages(report, "AIA901") == []
    # A policy on a Gateway of another namespace does not apply.
    elsewhere = {"gateway/timeouts.yaml": policy("other", "envoy-gateway-system", ON_GATEWAY, '"0s"')}
    report = run(tmp_path / "elsewhere", {"chat.yaml": CHAT, **elsewhere})
    assert len(messages(report, "AIA901")) == 1


def test_a_huge_shell_string_is_not_parsed_and_claims_nothing(tmp_path: Path) -> None:
    script = "exec vllm serve /models/llama " + 'a"b" ' * 20_000
    report = run(tmp_path, {"vllm.yaml": vllm(f"command: [sh, -c, '{script}']")})
    assert messages(report, "AIA801") == []
    short = "exec vllm serve /models/llama " + 'a"b" ' * 100
    report = run(tmp_path, {"vllm.yaml": vllm(f"command: [sh, -c, '{short}']")})
    assert len(messages(report, "AIA801")) == 1


def test_a_namespaced_policy_that_denies_nothing_does_not_isolate_a_workload(tmp_path: Path) -> None:
    allow_only = OWN_POLICY.replace(
        "spec:\n  endpointSelector:",
        "spec:\n  enableDefaultDeny: {ingress: false, egress: false}\n  endpointSelector:",
    )
    report = run(tmp_path, {"vllm.yaml": MODEL_SERVER + allow_only})
    assert len(messages(report, "AIA601")) == 1
    # Default deny in one direction is isolation.
    ingress_only = allow_only.replace("ingress: false, egress: false", "ingress: true, egress: false")
    report = run(tmp_path, {"vllm.yaml": MODEL_SERVER + ingress_only})
    assert messages(report, "AIA601") == []


def chat_policy(peer: str) -> str:
    """A CiliumNetworkPolicy of namespace `chat` admitting one fromEndpoints peer (indented YAML)."""
    return f"""\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {{name: chat, namespace: chat}}
spec:
  endpointSelector:
    matchLabels: {{app: chat}}
  ingress:
    - fromEndpoints:
        - {peer}
      toPorts: [{{ports: [{{port: "8080", protocol: TCP}}]}}]
"""


@pytest.mark.parametrize(
    "peer",
    [
        '{matchLabels: {"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name": gateway}}',
        '{matchExpressions: [{key: "k8s:io.kubernetes.pod.namespace", operator: In, values: [gateway]}]}',
    ],
)
def test_a_gateway_peer_written_another_way_is_the_gateway(tmp_path: Path, peer: str) -> None:
    """Cilium adds the policy's namespace to a peer only when the selector names neither the pod-namespace
    key (matchLabels or matchExpressions) nor a namespace-labels key (cilium pkg/k8s/apis/cilium.io/utils
    getEndpointSelector): both peers are the gateway's pods, not pods of `chat` (AIA605 said so)."""
    report = run(tmp_path, {"chat/policy.yaml": chat_policy(peer)})
    assert [item.rule_id for item in report.findings if item.rule_id.startswith("AIA60")] == []


def test_a_peer_chosen_by_other_namespace_labels_is_not_the_own_namespace(tmp_path: Path) -> None:
    """The true twin: pods of whatever namespaces carry `team: web` are not the gateway (AIA604), and not
    the policy's own namespace either (AIA605 took them for it)."""
    report = run(tmp_path, {"chat/policy.yaml": chat_policy(
        '{matchLabels: {"k8s:io.cilium.k8s.namespace.labels.team": web}}')})  # fmt: skip
    assert messages(report, "AIA605") == []
    assert [line.split(": ", 1)[1] for line in messages(report, "AIA604")] == [
        "ingress fromEndpoints selects pods of the namespaces with these labels; only the gateway namespace "
        "(gateway) may reach apps"
    ]
