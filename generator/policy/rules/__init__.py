"""The rule families; importing this package registers every rule."""

from generator.policy.rules import apps, gpu, hardening, inputs, network, providers, qdrant, secrets, storage

__all__ = ["apps", "gpu", "hardening", "inputs", "network", "providers", "qdrant", "secrets", "storage"]
