"""A catalogue of scikit-learn's estimators and their parameter names, read without importing
scikit-learn.

``import sklearn`` costs about 1.2 s here (it pulls in scipy and pandas); ``validate`` is the
pre-commit path and must cost about as much as ``import click, yaml``. So the first run builds
a JSON catalogue for the installed scikit-learn version (found from its ``.dist-info`` folder
name, without importing it) and caches it; later runs read the JSON. Estimators that are not in
the catalogue (a user's own class) fall back to a real import.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Any

from gitops_ml.util.frozen import Record

CATALOGUE_FORMAT = 2  # 2: required parameters recorded (meta-estimators are told apart)

# Parameters that hold other estimators. A class that requires one (Pipeline's steps,
# Stacking's estimators, OneVsRest's estimator, ColumnTransformer's transformers) is a
# meta-estimator: a spec's params are plain YAML values, so it can only come from a factory.
ESTIMATOR_PARAMS = frozenset({"steps", "estimators", "estimator", "transformers",
                              "transformer_list", "base_estimator", "final_estimator"})


class EstimatorInfo(Record):
    """What validate needs to know of an estimator class."""

    path: str  # public import path, e.g. sklearn.linear_model.LogisticRegression
    params: tuple[str, ...]
    kind: str | None  # classifier | regressor | transformer | cluster | None
    accepts_kwargs: bool = False
    required: tuple[str, ...] = ()  # parameters without a default

    @property
    def needs_estimators(self) -> tuple[str, ...]:
        """The required parameters that hold estimators (empty: not a meta-estimator)."""
        return tuple(p for p in self.required if p in ESTIMATOR_PARAMS)

    @property
    def stochastic(self) -> bool:
        """It takes a ``random_state``: unseeded, two fits give two models."""
        return "random_state" in self.params


def sklearn_version() -> str | None:
    """The installed scikit-learn version, from its dist-info folder name (no import)."""
    found = importlib.util.find_spec("sklearn")
    if found is None or not found.submodule_search_locations:
        return None
    site = Path(next(iter(found.submodule_search_locations))).parent
    for entry in os.listdir(site):
        m = re.fullmatch(r"scikit_learn-([^-]+)\.dist-info", entry)
        if m:
            return m.group(1)
    return None


def cache_dir() -> Path:
    base = os.environ.get("GITOPS_ML_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "gitops-ml" if not os.environ.get("GITOPS_ML_CACHE_DIR") else root


def _public_path(cls: type) -> str | None:
    """The public module path under which ``cls`` is exported (trim private modules)."""
    parts = cls.__module__.split(".")
    while parts:
        module_name = ".".join(parts)
        if not any(p.startswith("_") for p in parts):
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                return None
            if getattr(module, cls.__name__, None) is cls:
                return f"{module_name}.{cls.__name__}"
        parts.pop()
    return None


def build() -> dict[str, Any]:
    """Import scikit-learn and describe every public estimator. Slow (seconds): run once."""
    import inspect
    import warnings

    from sklearn.utils import all_estimators

    kinds: dict[type, str] = {}
    for kind in ("classifier", "regressor", "cluster", "transformer"):
        for _, cls in all_estimators(type_filter=kind):
            kinds.setdefault(cls, kind)
    estimators: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, cls in all_estimators():
            path = _public_path(cls)
            if path is None:
                continue
            sig = inspect.signature(cls.__init__)
            params = [p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            kwargs = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
            required = [p.name for p in sig.parameters.values()
                        if p.name != "self" and p.default is p.empty
                        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            estimators[path] = {"params": sorted(params), "kind": kinds.get(cls),
                                "accepts_kwargs": kwargs, "required": sorted(required)}
    return {"format": CATALOGUE_FORMAT, "sklearn": sklearn_version(), "estimators": estimators}


class Catalogue:
    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str | None = data.get("sklearn")
        self._est: dict[str, Any] = data["estimators"]

    def get(self, path: str) -> EstimatorInfo | None:
        entry = self._est.get(path)
        if entry is None:
            return None
        return EstimatorInfo(path, tuple(entry["params"]), entry["kind"],
                             bool(entry.get("accepts_kwargs")),
                             tuple(entry.get("required") or ()))

    def names(self) -> list[str]:
        return list(self._est)

    def __len__(self) -> int:
        return len(self._est)


_loaded: Catalogue | None = None


def load(*, build_if_missing: bool = True) -> Catalogue | None:
    """The catalogue of the installed scikit-learn, read from the cache or built once."""
    global _loaded
    if _loaded is not None:
        return _loaded
    version = sklearn_version()
    if version is None:
        return None
    path = cache_dir() / f"sklearn-catalogue-{version}-f{CATALOGUE_FORMAT}.json"
    try:
        data = json.loads(path.read_text())
        if data.get("sklearn") == version and data.get("format") == CATALOGUE_FORMAT:
            _loaded = Catalogue(data)
            return _loaded
    except (OSError, ValueError, KeyError):
        pass
    if not build_if_missing:
        return None
    data = build()
    try:
        from gitops_ml.util.files import atomic_write

        atomic_write(path, json.dumps(data, sort_keys=True))
    except OSError:
        pass  # a read-only cache is fine: we just rebuild next time
    _loaded = Catalogue(data)
    return _loaded
