"""The GPUs a repository's workloads hold in each pool, read the way `aiapp check` reads manifests (kustomize
builds, the scope of `check:`), for `aiapp status` and `aiapp new` (through the CLI, which may import
every capability)."""

from __future__ import annotations

from pathlib import Path

from generator.cluster.capacity import Demand


def gpu_in_use(root: Path) -> list[tuple[str, Demand]]:
    """(workload, demand) of every workload under `root` that holds GPUs in a pool of its profile."""
    from generator.policy import Options, check_paths, config

    settings = root / ".aiapp.yml"
    options = Options(jobs=1, build=True, config=config.load(settings if settings.is_file() else None))
    return check_paths([str(root)], options).gpu
