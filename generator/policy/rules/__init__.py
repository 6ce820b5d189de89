"""The rule families; importing this package registers every rule."""

from generator.policy.rules import (
    gpu,
    hardening,
    inputs,
    network,
    providers,
    qdrant,
    secrets,
    serving,
    storage,
)

__all__ = ["gpu", "hardening", "inputs", "network", "providers", "qdrant", "secrets", "serving", "storage"]
