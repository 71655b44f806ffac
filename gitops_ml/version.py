"""The version of gitops-ml (recorded in run records, manifests and report bundles)."""

__version__ = "0.1.0"
