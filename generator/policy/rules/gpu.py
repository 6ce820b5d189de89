"""GPU rules: the resource name, equal requests and limits, node selector and toleration, and the
capacity of each GPU pool across the repository."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from generator.cluster.capacity import affinity_requires, selected_pool, tolerates
from generator.cluster.facts import Cluster
from generator.policy.k8s import WORKLOAD_KINDS, Container, Pod, containers, mapping, sequence
from generator.policy.model import Applies, Hit, K8sObject, Severity, Summary, YamlPath
from generator.policy.registry import each_pod, object_rule, set_rule

SECTION = "GPU Access Pattern"


def gpu_keys(container: Container) -> Iterator[tuple[str, str, YamlPath]]:
    """(requests|limits, resource name, path) of every resource whose name mentions a GPU."""
    resources = mapping(container.data.get("resources"))
    for section in ("requests", "limits"):
        for key in mapping(resources.get(section)):
            if "gpu" in str(key).lower():
                yield section, str(key), (*container.path, "resources", section, key)


def uses_gpu(pod: Pod) -> bool:
    """A GPU workload: some container asks for a GPU resource, spelt right or wrong."""
    return any(True for container in containers(pod) for _ in gpu_keys(container))


@object_rule(
    id="AIA101",
    slug="gpu-resource-name",
    title="GPU resource is {gpu_resource}",
    severity=Severity.ERROR,
    family="gpu",
    section=f"{SECTION} > Requirements; AI-DOMAIN ANTI-PATTERNS > Resource Management",
    quote="Use `nvidia.com/gpu` resource name (not standard `gpu`)",
    why="The NVIDIA device plugin advertises `{gpu_resource}`; any other name (`gpu`, a misspelling, "
    "another vendor's resource) is refused by the API server or never allocated, so the pod stays Pending.",
    fix="Rename the resource to `{gpu_resource}` in both resources.requests and resources.limits.",
    applies=Applies.SCOPE,
    kinds=sorted(WORKLOAD_KINDS),
)
@each_pod
def gpu_resource_name(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    for container in containers(pod):
        for section, key, path in gpu_keys(container):
            if key != cluster.gpu_resource:
                yield Hit(
                    path,
                    f'{container.label} {section} "{key}"; the GPU resource of this cluster is '
                    f'"{cluster.gpu_resource}"',
                )


@object_rule(
    id="AIA102",
    slug="gpu-requests-equal-limits",
    title="GPU requests equal GPU limits",
    severity=Severity.ERROR,
    family="gpu",
    section=SECTION,
    quote="  requests:\n    nvidia.com/gpu: 1\n  limits:\n    nvidia.com/gpu: 1",
    why="GPUs cannot be overcommitted: Kubernetes requires the request of an extended resource to equal "
    "its limit, and refuses a request without a limit. A limit alone is fine: Kubernetes defaults the "
    "request to the limit (kubernetes.io, Schedule GPUs: GPUs are specified in limits, and a limit without "
    "a request is used as the request), although the house pattern writes both.",
    fix="Set resources.requests and resources.limits of `{gpu_resource}` to the same whole number.",
    applies=Applies.SCOPE,
    kinds=sorted(WORKLOAD_KINDS),
)
@each_pod
def gpu_requests_equal_limits(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    gpu = cluster.gpu_resource
    for container in containers(pod):
        resources = mapping(container.data.get("resources"))
        requests, limits = mapping(resources.get("requests")), mapping(resources.get("limits"))
        wanted, limit = requests.get(gpu), limits.get(gpu)
        base = (*container.path, "resources")
        if wanted is None and limit is None:
            continue
        if limit is None:
            yield Hit(
                (*base, "requests", gpu), f"{container.label} requests {wanted} {gpu} but sets no limit"
            )
        elif wanted is not None and str(wanted) != str(limit):
            yield Hit(
                (*base, "requests", gpu), f"{container.label} requests {wanted} {gpu} but limits {limit}"
            )


def _shown(pairs: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f'{key}: "{value}"' for key, value in pairs)


@object_rule(
    id="AIA103",
    slug="gpu-node-selector",
    title="GPU workloads select GPU nodes ({gpu_node_selector})",
    severity=Severity.ERROR,
    family="gpu",
    section=f"{SECTION}; AI-DOMAIN ANTI-PATTERNS > Resource Management",
    quote="Never skip GPU node affinity for GPU workloads",
    why="Without the selector the scheduler may try nodes without GPUs; the cluster profile's node "
    "selector (`{gpu_node_selector}`) marks the GPU nodes.",
    fix="Add the profile's node selector ({gpu_node_selector}) to the pod template's `nodeSelector` (or a "
    "required node affinity on those labels).",
    applies=Applies.SCOPE,
    kinds=sorted(WORKLOAD_KINDS),
)
@each_pod
def gpu_node_selector(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    if not uses_gpu(pod):
        return
    if len(cluster.gpu_pools) > 1 and selected_pool(pod.spec, cluster.gpu_pools) is not None:
        return  # the nodes of another pool of the profile (gpu.pools)
    selector = pod.spec.get("nodeSelector")
    wanted = _shown(cluster.gpu_node_selector)
    for label, expected in cluster.gpu_node_selector:
        value = mapping(selector).get(label)
        if value == expected or affinity_requires(pod.spec, label, expected):
            continue
        if value is not None and str(value).lower() == expected.lower() and not isinstance(value, str):
            yield Hit(
                (*pod.spec_path, "nodeSelector", label),
                f"nodeSelector {label} is the YAML {type(value).__name__} {value}; node selector values are "
                f'strings: write "{expected}"',
            )
        elif value is not None:
            yield Hit(
                (*pod.spec_path, "nodeSelector", label),
                f'nodeSelector {label} is "{value}"; GPU nodes are labelled {label}="{expected}"',
            )
        else:
            where = (*pod.spec_path, "nodeSelector") if selector is not None else pod.spec_path
            yield Hit(
                where,
                f'the pod requests a GPU but has no nodeSelector {label}: "{expected}" (nor a required node '
                f"affinity); GPU nodes are selected by {wanted}",
            )
        return


@object_rule(
    id="AIA104",
    slug="gpu-toleration",
    title="GPU workloads tolerate the GPU nodes' taints ({gpu_tolerations})",
    severity=Severity.ERROR,
    family="gpu",
    section=SECTION,
    quote='tolerations:\n- key: "nvidia.com/gpu"\n  operator: "Exists"\n  effect: "NoSchedule"',
    why="GPU nodes carry the taints the cluster profile's tolerations name ({gpu_tolerations}); a pod "
    "that does not tolerate them is never scheduled on them.",
    fix="Add the profile's tolerations to the pod template spec: {gpu_tolerations}.",
    applies=Applies.SCOPE,
    kinds=sorted(WORKLOAD_KINDS),
)
@each_pod
def gpu_toleration(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    if not uses_gpu(pod):
        return
    tolerations = pod.spec.get("tolerations")
    written = [(index, item) for index, item in enumerate(sequence(tolerations)) if isinstance(item, dict)]
    # The taints of the pool the pod selects (gpu.pools), else the default pool's.
    pool = selected_pool(pod.spec, cluster.gpu_pools)
    for pairs in pool.tolerations if pool is not None else cluster.gpu_tolerations:
        wanted = dict(pairs)
        if any(tolerates(item, wanted) for _, item in written):
            continue
        taint = (
            f"{wanted.get('key')}{'=' + wanted['value'] if 'value' in wanted else ''}:{wanted.get('effect')}"
        )
        near = next(((index, item) for index, item in written if item.get("key") == wanted.get("key")), None)
        if near is not None:
            index, item = near
            yield Hit(
                (*pod.spec_path, "tolerations", index),
                f"the toleration of {wanted.get('key')} (operator {item.get('operator', 'Equal')}, effect "
                f"{item.get('effect') or 'any'}) does not match the GPU nodes' taint {taint}; use "
                + (
                    "operator Exists"
                    if wanted.get("operator") == "Exists"
                    else f'value "{wanted.get("value")}"'
                )
                + f" and effect {wanted.get('effect')}",
            )
        else:
            where = (*pod.spec_path, "tolerations") if tolerations is not None else pod.spec_path
            yield Hit(where, f"the pod requests a GPU but does not tolerate the GPU nodes' taint {taint}")
        return


@set_rule(
    id="AIA105",
    slug="gpu-pool-over-capacity",
    title="The workloads of a GPU pool request no more GPUs than it has",
    severity=Severity.ERROR,
    family="gpu",
    section=f"{SECTION} > Requirements; AI-DOMAIN ANTI-PATTERNS > Resource Management",
    quote="Check GPU capacity: `kubectl describe nodes | grep gpu`",
    why="A GPU pod that finds no free GPU stays Pending; with the RollingUpdate strategy the first new pod "
    "of a rollout waits for a GPU its old pod never frees. The GPUs every workload of a pool requests "
    "(replicas x GPUs, LeaderWorkerSet groups x pods x GPUs, plus a Deployment's maxSurge pods during a "
    "rollout) must fit in the pool: gpus_per_node x nodes of the profile's gpu.pools. Checked only for "
    "pools whose size the profile gives ({gpu_pools}).",
    fix="Lower the replicas or GPUs of a workload of the pool, use the Recreate strategy for a GPU "
    "Deployment (no surge pod), move a workload to another pool, or add nodes (and their count in "
    "gpu.pools).",
    applies=Applies.SCOPE,
)
def gpu_pool_over_capacity(summaries: Sequence[Summary], cluster: Cluster) -> Iterator[tuple[Summary, Hit]]:
    workloads = sorted(
        (summary for summary in summaries if summary.gpu is not None),
        key=lambda summary: (summary.origin.file, summary.ref),
    )
    for pool in cluster.gpu_pools:
        capacity = pool.capacity
        members = [summary for summary in workloads if summary.gpu and summary.gpu.pool == pool.name]
        if capacity is None or not members:
            continue
        total, crossing = 0, None
        for summary in members:
            assert summary.gpu is not None
            total += summary.gpu.peak
            if total > capacity and crossing is None:
                crossing = summary
        if crossing is None:
            continue
        # The finding goes to the workload that crosses the capacity, or the last one in scope.
        in_scope = [summary for summary in members if summary.in_scope]
        owner = crossing if crossing.in_scope else (in_scope[-1] if in_scope else crossing)
        listed = "; ".join(_requested(summary) for summary in members)
        yield (
            owner,
            Hit(
                ("spec",),
                f'GPU pool "{pool.name}" has {capacity} GPUs ({pool.nodes} nodes x {pool.gpus_per_node}) but '
                f"its workloads request {total}: {listed}",
            ),
        )


def _requested(summary: Summary) -> str:
    gpu = summary.gpu
    assert gpu is not None
    surge = f" + {gpu.surge} during a rollout" if gpu.surge else ""
    return f"{summary.ref} {gpu.gpus} ({gpu.shape}){surge}"
