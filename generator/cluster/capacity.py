"""GPU capacity: which pool of the profile a workload's pods land in, and how many GPUs it holds there.

Shared by `aiapp check` (rule AIA105), `aiapp status` and `aiapp new`, so that all three add up a
repository the same way. Works on plain manifests (dicts), including those aiapp did not write:

- a pod lands in a pool when its `nodeSelector` (or every required node-affinity term) demands each
  label of the pool's node selector and its tolerations cover each of the pool's taints; a pod that
  fits several pools is counted in the most specific (the most selector labels), then the first;
- a pod holds the GPUs its containers request (their sum), or its largest init container's when that
  is more: Kubernetes' effective request of a pod (kubernetes.io, "Resource sharing within containers",
  Init Containers);
- replicas: Deployments, StatefulSets, ReplicaSets and ReplicationControllers hold `replicas` pods
  (default 1), a Pod one, a DaemonSet one per node of its pool, a LeaderWorkerSet `replicas` groups of
  `size` pods (the leader from `leaderTemplate`, else `workerTemplate`). Jobs and CronJobs hold GPUs only
  while they run and are not counted;
- a rollout: a Deployment with the RollingUpdate strategy (Kubernetes' default) starts `maxSurge` new
  pods (default 25%, rounded up) before it stops old ones; a LeaderWorkerSet surges
  `rolloutStrategy.rollingUpdateConfiguration.maxSurge` groups (default 0; its CRD's field doc). A
  StatefulSet replaces pods one by one, without surge.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.cluster.facts import GpuPool

COUNTED_KINDS = frozenset(
    {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "DaemonSet", "Pod"}
    | {"LeaderWorkerSet"}
)
DEPLOYMENT_SURGE = "25%"
_PERCENT = re.compile(r"^(\d{1,9})%$")


@dataclass(frozen=True)
class Demand:
    """The GPUs one workload holds in its pool: steadily, and more during a rollout."""

    pool: str
    gpus: int
    surge: int
    # How the figure was made, for messages: "2 x 1 GPU", "1 group of 2 pods x 8 GPUs".
    shape: str

    @property
    def peak(self) -> int:
        return self.gpus + self.surge


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _count(value: Any) -> int:
    """A whole resource quantity ("2", 2); 0 for anything else (AIA102 reports odd values)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and value.isdigit() and len(value) < 6:
        return int(value)
    return 0


def _container_gpus(container: Any, resource: str) -> int:
    resources = _mapping(_mapping(container).get("resources"))
    requested = _mapping(resources.get("requests")).get(resource)
    return _count(requested if requested is not None else _mapping(resources.get("limits")).get(resource))


def pod_gpus(spec: Mapping[str, Any], resource: str) -> int:
    """GPUs one pod holds: the sum of its containers', or its largest init container's if more."""
    main = sum(_container_gpus(item, resource) for item in _sequence(spec.get("containers")))
    init = max((_container_gpus(item, resource) for item in _sequence(spec.get("initContainers"))), default=0)
    return max(main, init)


def affinity_requires(spec: Mapping[str, Any], label: str, value: str) -> bool:
    """Every required node-affinity term demands `label In [value]`."""
    terms = _sequence(
        _mapping(
            _mapping(_mapping(spec.get("affinity")).get("nodeAffinity")).get(
                "requiredDuringSchedulingIgnoredDuringExecution"
            )
        ).get("nodeSelectorTerms")
    )
    return bool(terms) and all(
        any(
            isinstance(expression, dict)
            and expression.get("key") == label
            and expression.get("operator") == "In"
            and _sequence(expression.get("values")) == [value]
            for expression in _sequence(_mapping(term).get("matchExpressions"))
        )
        for term in terms
    )


def tolerates(toleration: Mapping[str, object], wanted: Mapping[str, str]) -> bool:
    """Whether a pod's toleration covers the taint the profile's toleration stands for.

    Kubernetes: an empty key with Exists tolerates every taint; an empty effect every effect; Exists
    matches any value, Equal only its own.
    """
    key, operator = toleration.get("key") or "", toleration.get("operator") or "Equal"
    effect = toleration.get("effect") or ""
    if effect and effect != wanted.get("effect"):
        return False
    if operator == "Exists":
        return key in ("", wanted.get("key"))
    if key != wanted.get("key") or wanted.get("operator") != "Equal":
        return False
    return str(toleration.get("value", "")) == wanted.get("value", "")


def selects(spec: Mapping[str, Any], pool: GpuPool) -> bool:
    """Whether a pod with this spec demands every label of the pool's node selector."""
    selector = _mapping(spec.get("nodeSelector"))
    return all(
        str(selector.get(label)) == value or affinity_requires(spec, label, value)
        for label, value in pool.node_selector
    )


def selected_pool(spec: Mapping[str, Any], pools: Sequence[GpuPool]) -> GpuPool | None:
    """The most specific pool whose node selector the pod demands (tolerations aside), None for none."""
    matching = [pool for pool in pools if selects(spec, pool)]
    return max(matching, key=lambda pool: len(pool.node_selector), default=None)


def lands_in(spec: Mapping[str, Any], pool: GpuPool) -> bool:
    """Whether a pod with this spec selects the pool's nodes and tolerates their taints."""
    if not selects(spec, pool):
        return False
    written = [item for item in _sequence(spec.get("tolerations")) if isinstance(item, dict)]
    return all(any(tolerates(item, dict(pairs)) for item in written) for pairs in pool.tolerations)


def pool_of(spec: Mapping[str, Any], pools: Sequence[GpuPool]) -> GpuPool | None:
    """The pool a pod lands in: the most specific that it selects and tolerates, None for none."""
    matching = [pool for pool in pools if lands_in(spec, pool)]
    return max(matching, key=lambda pool: len(pool.node_selector), default=None)


def _surge(value: Any, replicas: int) -> int:
    """maxSurge as a number of pods (or groups): an integer, or a percentage of replicas rounded up."""
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    match = _PERCENT.match(str(value)) if isinstance(value, str) else None
    return math.ceil(int(match[1]) * replicas / 100) if match else 0


def _replicas(spec: Mapping[str, Any]) -> int:
    value = spec.get("replicas", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 1


def _pod_spec(template: Any) -> dict[str, Any] | None:
    spec = _mapping(template).get("spec")
    return spec if isinstance(spec, dict) else None


def _gpus(n: int) -> str:
    return f"{n} GPU" if n == 1 else f"{n} GPUs"


def demand(obj: Mapping[str, Any], resource: str, pools: Sequence[GpuPool]) -> Demand | None:
    """The GPUs a workload holds in its pool; None when it holds none or lands in no pool."""
    kind = obj.get("kind")
    if kind not in COUNTED_KINDS:
        return None
    spec = _mapping(obj.get("spec"))
    if kind == "LeaderWorkerSet":
        return _group_demand(spec, resource, pools)
    pod = _mapping(obj.get("spec")) if kind == "Pod" else _pod_spec(spec.get("template"))
    if pod is None:
        return None
    per_pod = pod_gpus(pod, resource)
    pool = pool_of(pod, pools) if per_pod else None
    if pool is None:
        return None
    if kind == "Pod":
        return Demand(pool.name, per_pod, 0, f"1 pod x {_gpus(per_pod)}")
    if kind == "DaemonSet":
        nodes = pool.nodes or 1
        return Demand(pool.name, nodes * per_pod, 0, f"one pod per node ({nodes}) x {_gpus(per_pod)}")
    replicas = _replicas(spec)
    surge = 0
    strategy = _mapping(spec.get("strategy"))
    if kind == "Deployment" and strategy.get("type", "RollingUpdate") == "RollingUpdate":
        surge = _surge(_mapping(strategy.get("rollingUpdate")).get("maxSurge", DEPLOYMENT_SURGE), replicas)
    return Demand(pool.name, replicas * per_pod, surge * per_pod, f"{replicas} x {_gpus(per_pod)}")


def _group_demand(spec: Mapping[str, Any], resource: str, pools: Sequence[GpuPool]) -> Demand | None:
    """A LeaderWorkerSet: `replicas` groups of one leader and `size - 1` workers."""
    template = _mapping(spec.get("leaderWorkerTemplate"))
    worker = _pod_spec(template.get("workerTemplate"))
    leader = _pod_spec(template.get("leaderTemplate")) or worker
    if worker is None or leader is None:
        return None
    size = template.get("size", 1)
    size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 1 else 1
    per_group = pod_gpus(leader, resource) + (size - 1) * pod_gpus(worker, resource)
    pool = pool_of(worker, pools) or pool_of(leader, pools)
    if not per_group or pool is None:
        return None
    replicas = _replicas(spec)
    rolling = _mapping(_mapping(spec.get("rolloutStrategy")).get("rollingUpdateConfiguration"))
    surge = _surge(rolling.get("maxSurge", 0), replicas)
    shape = f"{replicas} groups of {size} pods, {_gpus(per_group)} a group"
    return Demand(pool.name, replicas * per_group, surge * per_group, shape)


@dataclass(frozen=True)
class PoolUse:
    """What the workloads of a repository hold in one pool: (workload, demand) in file order."""

    pool: GpuPool
    workloads: tuple[tuple[str, Demand], ...]

    @property
    def used(self) -> int:
        """GPUs held at the peak of a rollout of every workload."""
        return sum(demand.peak for _, demand in self.workloads)

    def text(self) -> str:
        """One line: the pool's size, what its workloads hold, what is left."""
        capacity = self.pool.capacity
        size = (
            f"{self.pool.nodes} nodes x {self.pool.gpus_per_node} GPUs = {capacity}"
            if capacity is not None
            else "size unknown"
        )
        left = ""
        if capacity is not None:
            left = f"; {capacity - self.used} left" if self.used <= capacity else "; OVER CAPACITY (AIA105)"
        count = f"{len(self.workloads)} workload{'' if len(self.workloads) == 1 else 's'}"
        return f"GPU pool {self.pool.name} ({size}): {self.used} requested by {count}{left}"


def pool_usage(pools: Sequence[GpuPool], demands: Iterable[tuple[str, Demand]]) -> list[PoolUse]:
    """Every pool with the workloads that hold GPUs in it."""
    listed = list(demands)
    return [
        PoolUse(pool, tuple((ref, demand) for ref, demand in listed if demand.pool == pool.name))
        for pool in pools
    ]
