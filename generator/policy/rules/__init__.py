"""The rule families; importing this package registers every rule."""

from generator.policy.rules import (
    apps,
    gpu,
    hardening,
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
    "gpu",
    "hardening",
    "inputs",
    "network",
    "objects",
    "providers",
    "qdrant",
    "secrets",
    "serving",
    "storage",
]
