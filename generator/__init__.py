"""aiapp: scaffold AI applications for the GitOps cluster from one Copier template."""

__version__ = "0.2.0"
