"""Helpers every layer may use, one of each: hashing and the sha256 pattern
(:mod:`~gitops_ml.util.hashing`), atomic writes (:mod:`~gitops_ml.util.files`), Git
(:mod:`~gitops_ml.util.git`)."""
