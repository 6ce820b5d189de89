"""Model serving rules: a vLLM server that starts (context, tensor parallelism, writable caches) and that
LiteLLM, its one consumer, can reach."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from generator.cluster.facts import Cluster
from generator.policy.k8s import (
    LEADER_AND_WORKER,
    LWS_KIND,
    WORKLOAD_KINDS,
    Container,
    Pod,
    containers,
    env_values,
    group_size,
    mapping,
    sequence,
)
from generator.policy.model import Hit, K8sObject, Severity, Summary
from generator.policy.registry import each_pod, object_rule, set_rule
from generator.policy.selectors import NAMESPACE_KEY, match_labels, policy_specs
from generator.policy.vllm_cli import CONFIG_MAPS, Invocation, Option, invocation

# Every variable that moves a cache or home directory a model server writes to (docs/patterns.md).
CACHE_VARIABLES = frozenset(
    {
        "HOME",
        "XDG_CACHE_HOME",
        "VLLM_CACHE_ROOT",
        "VLLM_CONFIG_ROOT",
        "TORCHINDUCTOR_CACHE_DIR",
        "TRITON_CACHE_DIR",
        "HF_HOME",
        "HF_HUB_CACHE",
        "TRANSFORMERS_CACHE",
        "NUMBA_CACHE_DIR",
        "OUTLINES_CACHE_DIR",
    }
)


def _words(container: Container) -> list[str]:
    return [str(item) for field in ("command", "args") for item in sequence(container.data.get(field))]


def is_vllm(container: Container, marker: str) -> bool:
    """A vLLM server: its image is a vLLM image, or its command runs vLLM (`marker`: copier.yml's
    house_limits.vllm_marker, which the container_args validator refuses on a custom engine)."""
    image = str(container.data.get("image", "")).split("@")[0].rsplit("/", 1)[-1].split(":")[0].lower()
    return marker in image or any(marker in word.lower() for word in _words(container)[:3])


def server_invocation(obj: K8sObject, pod: Pod, container: Container) -> Invocation | None:
    """The vLLM server options of a container (command line, shell script, --config file)."""
    return invocation(container, pod, obj.namespace, obj.memo.get(CONFIG_MAPS))


def vllm_containers(pod: Pod, cluster: Cluster) -> Iterator[Container]:
    """The containers of a pod that run vLLM (its image or its command)."""
    for container in containers(pod, init=False):
        if is_vllm(container, cluster.vllm_marker):
            yield container


def headless(found: Invocation | None) -> bool:
    """A vLLM `--headless` rank: it joins a multi-node engine and starts no API server (vLLM's
    docs/serving/parallelism_scaling.md, "Running vLLM with MultiProcessing"; vllm/entrypoints/cli/serve.py
    sets no API server for `--headless` and runs the engine's workers only): no port, no API key, no
    health endpoint."""
    return found is not None and found.option("--headless") is not None


def serves_api(obj: K8sObject, pod: Pod, container: Container, role_worker: bool) -> bool:
    """Whether a vLLM container serves the OpenAI API: not a `--headless` rank; and, in the worker pods
    of a LeaderWorkerSet, only a `vllm serve` this module reads: a Ray worker (`ray start --address=...
    --block`, the vLLM docs' LWS example) only lends its GPUs to the leader's engine."""
    # One template for both roles: its workers run the script's `--headless` command, if it has one.
    both = role_worker and pod.role == LEADER_AND_WORKER
    found = invocation(container, pod, obj.namespace, obj.memo.get(CONFIG_MAPS), headless=both)
    if headless(found):
        return False
    return found is not None or not role_worker


@object_rule(
    id="AIA801",
    slug="vllm-without-max-model-len",
    title="A vLLM server sets --max-model-len",
    severity=Severity.ERROR,
    family="serving",
    section=None,
    quote=None,
    why="Without --max-model-len vLLM takes the model's native context (131,072 tokens for Llama 3.1) and "
    "refuses to start when its KV cache does not fit in the GPU memory left after the weights.",
    fix="Add `--max-model-len <tokens>` with a context whose KV cache fits (docs/sizing.md; "
    "`aiapp new` computes it).",
    kinds=sorted(WORKLOAD_KINDS),
)
@each_pod
def vllm_without_max_model_len(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    # Every rank builds its engine from its own options, a `--headless` worker's too.
    for container in vllm_containers(pod, cluster):
        found = server_invocation(obj, pod, container)
        if found is not None and found.complete and found.option("--max-model-len") is None:
            yield Hit(
                found.marker.path,
                f"{container.label} runs vLLM without --max-model-len",
                found.marker.offset,
            )


def _gpus(container: Container, cluster: Cluster) -> int | None:
    limits = mapping(mapping(container.data.get("resources")).get("limits"))
    value = limits.get(cluster.gpu_resource)
    try:
        return None if value is None else int(str(value))
    except ValueError:
        return None


def _count(found: Option | None) -> int | None:
    if found is None:
        return 1
    try:
        return int(str(found.value))
    except ValueError:
        return None


@object_rule(
    id="AIA802",
    slug="tensor-parallel-not-gpu-count",
    title="vLLM's tensor-parallel size equals the container's GPU count",
    severity=Severity.ERROR,
    family="serving",
    section=None,
    quote=None,
    why="vLLM uses one GPU unless told: with more GPUs than --tensor-parallel-size (times "
    "--pipeline-parallel-size) the others sit idle and the model may not fit; with fewer, it fails to start.",
    fix="Set `--tensor-parallel-size` to the container's `{gpu_resource}` limit.",
    kinds=sorted(WORKLOAD_KINDS),
)
@each_pod
def tensor_parallel_not_gpu_count(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    for container in vllm_containers(pod, cluster):
        gpus = _gpus(container, cluster)
        found = server_invocation(obj, pod, container)
        if gpus is None or found is None:
            continue
        tp_flag = found.option("--tensor-parallel-size", "-tp")
        pp_flag = found.option("--pipeline-parallel-size", "-pp")
        nodes_flag = found.option("--nnodes")
        if not found.complete and (tp_flag is None or pp_flag is None):
            continue  # an option not seen may set them
        tp, pp = _count(tp_flag), _count(pp_flag)
        nodes = _nodes(obj, nodes_flag)
        if tp is None or pp is None or nodes is None or tp * pp == gpus * nodes:
            continue
        word = tp_flag.word if tp_flag is not None else None
        path = word.path if word is not None else found.marker.path
        split = f"{tp} x {pp} (tensor x pipeline parallel)" if pp != 1 else f"tensor-parallel size {tp}"
        if any(found is not None and found.from_config for found in (tp_flag, pp_flag)):
            split += " (from its --config file)"
        uses = f"{tp * pp}" if nodes == 1 else f"{tp * pp} over {nodes} pods ({tp * pp / nodes:g} a pod)"
        yield Hit(
            path,
            f"{container.label} has {gpus} GPU(s) but vLLM's {split} uses {uses}",
            word.offset if word is not None else found.marker.offset,
        )


def _nodes(obj: K8sObject, given: Option | None) -> int | None:
    """The pods one vLLM engine spans: `--nnodes` (multiprocessing across nodes), else the group size of
    a LeaderWorkerSet (a Ray cluster of the group's pods: vLLM's docs/deployment/frameworks/lws.md sets
    tensor x pipeline parallel to the GPUs of the whole group), else one. None when unknown."""
    if given is not None:
        return _count(given)
    return group_size(obj) if obj.kind == LWS_KIND else 1


def _writable_mounts(container: Container) -> list[str]:
    return [
        str(mapping(mount).get("mountPath", "")).rstrip("/") or "/"
        for mount in sequence(container.data.get("volumeMounts"))
        if not mapping(mount).get("readOnly")
    ]


def _read_only_root(container: Container) -> bool:
    return bool(mapping(container.data.get("securityContext")).get("readOnlyRootFilesystem"))


@object_rule(
    id="AIA803",
    slug="cache-on-read-only-path",
    title="Cache variables point into a writable volume",
    severity=Severity.ERROR,
    family="serving",
    section=None,
    quote=None,
    why="With a read-only root filesystem, a cache or home directory outside the container's writable "
    "volume mounts makes vLLM, torch, Triton or Hugging Face fail at start-up or at the first compile. "
    "Only values written in the container's own `env` are seen, not those of ConfigMaps.",
    fix="Point the variable into a writable volume mount of the container (the cache PVC, or /tmp).",
    kinds=sorted(WORKLOAD_KINDS),
)
@each_pod
def cache_on_read_only_path(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    del cluster
    for container in containers(pod):
        if not _read_only_root(container):
            continue
        mounts = _writable_mounts(container)
        for name, value, path in env_values(container):
            if name not in CACHE_VARIABLES or not value.startswith("/"):
                continue
            target = value.rstrip("/") or "/"
            if not any(target == mount or target.startswith(mount + "/") for mount in mounts):
                shown = ", ".join(mounts) or "none"
                yield Hit(
                    path,
                    f'{container.label} sets {name}="{value}" on the read-only root filesystem; '
                    f"writable mounts: {shown}",
                )


def admits_litellm(obj: K8sObject, cluster: Cluster) -> bool:
    """Whether a policy has an ingress rule from LiteLLM's pods (its namespace and selector)."""
    wanted = dict(cluster.litellm_selector)
    for _, spec in policy_specs(obj):
        for rule in sequence(spec.get("ingress")):
            for selector in sequence(mapping(rule).get("fromEndpoints")):
                labels = match_labels(selector)
                if labels.get(NAMESPACE_KEY) == cluster.litellm_namespace and all(
                    labels.get(key) == value for key, value in wanted.items()
                ):
                    return True
    return False


# Other engines by image name (the last path segment, without tag): Ollama (docker.io/ollama/ollama) and
# llama.cpp's server (ghcr.io/ggml-org/llama.cpp:server); `llama-server` is llama.cpp's server binary.
OLLAMA = "ollama"
LLAMA_CPP = "llama.cpp"
_ENGINE_IMAGES = ((OLLAMA, (OLLAMA,)), (LLAMA_CPP, ("llama.cpp", "llama-cpp")))
_ENGINE_COMMANDS = ((LLAMA_CPP, "llama-server"),)
# How each engine requires a key of its callers: vLLM's `--api-key` or VLLM_API_KEY (docs.vllm.ai,
# "OpenAI-Compatible Server"); llama.cpp's `--api-key`/`--api-key-file` or LLAMA_API_KEY (its server
# README). Ollama has no API key of its own: anyone who reaches its port may use it.
_KEY_FLAGS = {"vllm": ("--api-key",), LLAMA_CPP: ("--api-key", "--api-key-file")}
_KEY_VARIABLES = {"vllm": ("VLLM_API_KEY",), LLAMA_CPP: ("LLAMA_API_KEY",)}


def _engine(container: Container, cluster: Cluster) -> str:
    if is_vllm(container, cluster.vllm_marker):
        return "vllm"
    image = str(container.data.get("image", "")).split("@")[0].rsplit("/", 1)[-1].split(":")[0].lower()
    for engine, names in _ENGINE_IMAGES:
        if any(name in image for name in names):
            return engine
    words = [word.lower() for word in _words(container)[:3]]
    for engine, binary in _ENGINE_COMMANDS:
        if any(binary in word for word in words):
            return engine
    return ""


def _requires_key(container: Container, engine: str) -> bool:
    flags = _KEY_FLAGS.get(engine, ())
    if any(flag in word for word in _words(container) for flag in flags):
        return True
    variables = _KEY_VARIABLES.get(engine, ())
    return any(
        mapping(entry).get("name") in variables and ("value" in entry or "valueFrom" in entry)
        for entry in map(mapping, sequence(container.data.get("env")))
    )


def served_engine(obj: K8sObject, pod: Pod, cluster: Cluster, role_worker: bool = False) -> tuple[str, bool]:
    """The model server engine of a pod template ("" when none serves a model) and whether every serving
    container requires an API key of its callers (a vLLM rank that serves no API: see serves_api)."""
    found = [
        (container, engine)
        for container in containers(pod, init=False)
        if (engine := _engine(container, cluster))
        and (engine != "vllm" or serves_api(obj, pod, container, role_worker))
    ]
    if not found:
        return "", False
    return found[0][1], all(_requires_key(container, engine) for container, engine in found)


ENGINE_NAMES = {"vllm": "vLLM", OLLAMA: "Ollama", LLAMA_CPP: "llama.cpp"}


VLLM_DEFAULT_PORT = "8000"  # `vllm serve` without `--port` (docs.vllm.ai, "OpenAI-Compatible Server")


def api_ports(obj: K8sObject, pod: Pod, cluster: Cluster) -> tuple[str, ...]:
    """The ports (numbers and names, as text) on which the vLLM containers of a pod serve the API:
    `--port` (else vLLM's default) and the name of a containerPort with that number."""
    found: list[str] = []
    for container in vllm_containers(pod, cluster):
        if not serves_api(obj, pod, container, not pod.leads):
            continue
        given = server_invocation(obj, pod, container)
        option = given.option("--port") if given is not None else None
        port = option.value if option is not None and option.value else VLLM_DEFAULT_PORT
        found.append(port)
        for entry in map(mapping, sequence(container.data.get("ports"))):
            if str(entry.get("containerPort")) == port and entry.get("name"):
                found.append(str(entry["name"]))
    return tuple(dict.fromkeys(found))


def is_model_server(obj: K8sObject, pod: Pod, cluster: Cluster, role_worker: bool = False) -> bool:
    """A pod template that serves a model: a vLLM container serving the API (serves_api)."""
    return any(serves_api(obj, pod, container, role_worker) for container in vllm_containers(pod, cluster))


@set_rule(
    id="AIA804",
    slug="model-server-unreachable-from-litellm",
    title="A model server admits LiteLLM",
    severity=Severity.ERROR,
    family="serving",
    section=None,
    quote=None,
    why="Apps reach models through LiteLLM only ({litellm_namespace}, {litellm_selector}): a model "
    "server whose network policies admit nobody else but the gateway cannot be used by any app. Only a "
    "policy that puts the server in default deny for ingress can block LiteLLM: one with ingress rules, "
    "unless it sets `enableDefaultDeny: {{ingress: false}}` (Cilium's CRD documentation of "
    "enableDefaultDeny: absent means true for a direction that has rules; an allow or audit baseline sets "
    "it false and only adds allowances). An egress-only policy leaves ingress open.",
    fix="Add an ingress rule on the server port from LiteLLM's pods: `fromEndpoints: [{{matchLabels: "
    '{{k8s:io.kubernetes.pod.namespace: "{litellm_namespace}", <its pod labels: {litellm_selector}>}}}}]`.',
)
def model_server_unreachable_from_litellm(
    summaries: Sequence[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    from generator.policy.selectors import selects

    del cluster
    policies: list[Summary] = [summary for summary in summaries if summary.selectors]
    for summary in summaries:
        if not summary.model_server or summary.pod_labels is None:
            continue
        selecting: list[tuple[Summary, bool]] = []
        for policy in policies:
            if not (policy.cluster_wide or policy.namespace == summary.namespace):
                continue
            chosen = [
                index
                for index, selector in enumerate(policy.selectors)
                if selects(selector, summary.pod_labels, summary.namespace, summary.service_account)
            ]
            if chosen:
                deny = any(policy.ingress_deny[index] for index in chosen if index < len(policy.ingress_deny))
                selecting.append((policy, deny))
        # Only policies that put the server in default deny for ingress can block LiteLLM; any policy
        # selecting it may admit it.
        denying = [policy for policy, deny in selecting if deny]
        if denying and not any(policy.admits_litellm for policy, _ in selecting):
            names = ", ".join(dict.fromkeys(policy.name for policy in denying))
            yield (
                summary,
                Hit(
                    summary.pod_labels_path,
                    f"model server {summary.kind}/{summary.name}: no ingress from LiteLLM in the policies "
                    f"that deny its ingress by default ({names})",
                ),
            )
