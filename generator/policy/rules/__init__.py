"""The rule families; importing this package registers every rule."""

from generator.policy.rules import (
    apps,
    backups,
    gpu,
    hardening,
    ingresses,
    inputs,
    network,
    objects,
    providers,
    qdrant,
    secrets,
    serving,
    storage,
)

__all__ = [
    "apps",
    "backups",
    "gpu",
    "hardening",
    "ingresses",
    "inputs",
    "network",
    "objects",
    "providers",
    "qdrant",
    "secrets",
    "serving",
    "storage",
]
