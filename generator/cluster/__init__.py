"""The cluster's facts (storage class, secret store, shared services, GPU labels): a shared foundation.

Owns: the one description of the cluster that the template's answers, the wizard, the fleet commands and
the checker all read, so that a house rule never names a constant of its own.

May import: `generator.template` (the defaults live in copier.yml), `generator.reader` and `generator.errors`.
"""
