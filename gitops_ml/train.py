"""Train a model from its spec, cached by run key.

``train(config, model)`` resolves the spec's data pointers, computes the run key from the
canonical spec, the data sha256s, the factory file (if any) and the library versions, and
reuses the run stored under that key when there is one (no data is read, no library imported
beyond what hashing needs). Otherwise it reads the data, checks that it fits the spec, builds
a scikit-learn Pipeline (or calls the spec's factory), fits it with seeds from the spec, saves
a canonical skops artifact into the store under its sha256, and writes ``run.json``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops_ml.errors import (
    ArtifactError,
    ConfigError,
    DataCheckError,
    GitopsMLError,
    Location,
    TrainingError,
)
from gitops_ml.project.spec import ModelSpec, ProjectConfig
from gitops_ml.runs import artifacts
from gitops_ml.runs import records as runs
from gitops_ml.runs.key import KEYED_ROLES, RunKey, factory_file, run_key
from gitops_ml.runs.store import Store
from gitops_ml.util.hashing import sha256_file

if TYPE_CHECKING:
    import pandas as pd

# Estimators fitted on scaled numeric inputs (distance-, gradient- or kernel-based).
SCALED_MODULES = ("sklearn.linear_model", "sklearn.svm", "sklearn.neighbors",
                  "sklearn.neural_network", "sklearn.gaussian_process", "sklearn.kernel_ridge",
                  "sklearn.cross_decomposition", "sklearn.semi_supervised")
# Tree ensembles split on ordinal codes; one-hot only makes them slower.
TREE_MODULES = ("sklearn.tree", "sklearn.ensemble", "xgboost", "lightgbm", "catboost")
HGB_MAX_CATEGORIES = 255


def _spec_loc(spec: ModelSpec) -> Location | None:
    return Location(spec.file) if spec.file else None


# --- data ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Datasets:
    """The training and test rows as the model sees them (categorical features as labels)."""

    train: pd.DataFrame
    test: pd.DataFrame
    rows: dict[str, int]
    split: dict[str, Any] | None


def read_datasets(config: ProjectConfig, key: RunKey, extra_columns: tuple[str, ...] = (),
                  *, need_train: bool = True) -> Datasets:
    """Read the train (and test) tables of a run key, check them, and split when there is no
    test data. The bytes are verified against the sha256s the key was computed from.
    ``need_train=False`` (evaluate on a cached run) keeps only the test rows of a split."""
    from gitops_ml.data.cache import materialize
    from gitops_ml.data.checks import prepare_frame, require_columns
    from gitops_ml.data.tables import read_header, read_table

    spec = key.spec
    wanted = list(dict.fromkeys((*spec.features.model_inputs, spec.target,
                                 *spec.features.sensitive, *extra_columns)))
    frames: dict[str, pd.DataFrame] = {}
    for role in key.data_sha256:
        pointer = key.pointers[role]
        local = materialize(config, pointer)
        header = read_header(local.path, local.format)
        require_columns(spec, header, pointer.uri, role, pointer.location, extra_columns)
        frame = read_table(local.path, local.format, columns=wanted)
        frames[role] = prepare_frame(spec, frame, pointer.uri, role, pointer.location)
    rows = {role: len(f) for role, f in frames.items()}
    if "test" in frames:
        return Datasets(frames["train"], frames["test"], rows, None)
    return _split(spec, frames["train"], rows, need_train=need_train)


def _split(spec: ModelSpec, frame: pd.DataFrame, rows: dict[str, int], *,
           need_train: bool = True) -> Datasets:
    """The same split as ``train_test_split(test_size, random_state=seed, stratify=...)``
    (the splitters it uses, called directly, so that evaluate can take the test rows only)."""
    import numpy as np
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    split = spec.data.split
    stratified = False
    if split.stratify and spec.task == "classification":
        counts = frame[spec.target].value_counts()
        stratified = bool(len(counts) > 1 and counts.min() >= 2)
    splitter = (StratifiedShuffleSplit if stratified else ShuffleSplit)(
        n_splits=1, test_size=split.test_size, random_state=split.seed)
    try:
        train_idx, test_idx = next(splitter.split(np.zeros(len(frame)),
                                                  frame[spec.target] if stratified else None))
    except ValueError as exc:
        raise DataCheckError(f"cannot split the training data: {exc}",
                             location=_spec_loc(spec), key_path="data.split") from exc
    train = frame.iloc[train_idx] if need_train else frame.iloc[:0]
    test = frame.iloc[test_idx]
    info = {"test_size": split.test_size, "seed": split.seed, "stratified": stratified,
            "train_rows": len(train_idx), "test_rows": len(test_idx)}
    return Datasets(train, test, rows, info)


# --- the pipeline ----------------------------------------------------------------------------

def _import_class(spec: ModelSpec) -> type:
    from gitops_ml.project import catalogue

    path = spec.estimator.class_ or ""
    cat = catalogue.load()
    if cat is None or cat.get(path) is None:  # never import a module an untrusted spec names
        raise ConfigError(f"'{path}' is not a scikit-learn estimator", location=_spec_loc(spec),
                          key_path="estimator.class",
                          hint="gitops-ml validate suggests the nearest name")
    module, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name) if module else None
    except ImportError as exc:
        raise ConfigError(f"cannot import estimator '{path}': {exc}", location=_spec_loc(spec),
                          key_path="estimator.class") from exc
    except AttributeError:
        cls = None
    if not isinstance(cls, type):
        raise ConfigError(f"estimator class '{path}' not found", location=_spec_loc(spec),
                          key_path="estimator.class")
    return cls


def estimator_family(cls: type) -> str:
    """'hgb', 'tree', 'scaled' or 'other': decides scaling and categorical encoding."""
    module = cls.__module__
    if cls.__name__.startswith("HistGradientBoosting"):
        return "hgb"
    if module.startswith(TREE_MODULES):
        return "tree"
    if module.startswith(SCALED_MODULES):
        return "scaled"
    return "other"


def make_estimator(spec: ModelSpec) -> Any:
    cls = _import_class(spec)
    params = dict(spec.estimator.params)
    try:
        accepted = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        accepted = {}  # type: ignore[assignment]
    if "random_state" in accepted and "random_state" not in params:
        params["random_state"] = spec.data.split.seed
    try:
        return cls(**params)
    except TypeError as exc:
        raise ConfigError(f"bad params for {cls.__name__}: {exc}", location=_spec_loc(spec),
                          key_path="estimator.params") from exc


def build_pipeline(spec: ModelSpec, train: pd.DataFrame) -> Any:
    """ColumnTransformer (imputation; scaling and encoding as the estimator needs) + estimator."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    estimator = make_estimator(spec)
    family = estimator_family(type(estimator))
    numeric = list(spec.features.numeric)
    categorical = list(spec.features.categorical)
    parts: list[tuple[str, Any, list[str]]] = []
    if numeric:
        if family == "hgb":
            parts.append(("num", "passthrough", numeric))  # native missing-value support
        else:
            steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
            if family == "scaled":
                steps.append(("scale", StandardScaler()))
            parts.append(("num", Pipeline(steps), numeric))
    if categorical:
        if family == "hgb":
            enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                 encoded_missing_value=np.nan)
            parts.append(("cat", enc, categorical))
            params = spec.estimator.params
            if "categorical_features" not in params:
                native = [len(numeric) + i for i, col in enumerate(categorical)
                          if train[col].nunique(dropna=True) <= HGB_MAX_CATEGORIES]
                estimator.set_params(categorical_features=native or None)
        elif family == "tree":
            parts.append(("cat", Pipeline([
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("encode", OrdinalEncoder(handle_unknown="use_encoded_value",
                                          unknown_value=-1))]), categorical))
        else:
            parts.append(("cat", Pipeline([
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("encode", OneHotEncoder(handle_unknown="ignore"))]), categorical))
    pre = ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)
    return Pipeline([("preprocess", pre), ("model", estimator)])


def build_from_factory(config: ProjectConfig, spec: ModelSpec) -> Any:
    path, func = factory_file(config, spec)
    name = "gitops_ml_factory_" + sha256_file(path)[:16]
    try:
        module_spec = importlib.util.spec_from_file_location(name, path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise TrainingError(f"{spec.estimator.factory}: cannot load the factory: "
                            f"{type(exc).__name__}: {exc}", location=_spec_loc(spec)) from exc
    build = getattr(module, func, None)
    if not callable(build):
        raise ConfigError(f"{path.name} has no function '{func}'", location=_spec_loc(spec),
                          key_path="estimator.factory")
    try:
        takes_spec = len(inspect.signature(build).parameters) >= 1
        model = build(spec) if takes_spec else build()
    except Exception as exc:
        raise TrainingError(f"factory {spec.estimator.factory} failed: "
                            f"{type(exc).__name__}: {exc}", location=_spec_loc(spec)) from exc
    if not (hasattr(model, "fit") and hasattr(model, "predict")):
        raise TrainingError(f"factory {spec.estimator.factory} returned "
                            f"{type(model).__name__}, not an estimator with fit and predict")
    # Seed every unset random_state in the pipeline, as for a class estimator.
    if hasattr(model, "get_params"):
        seeds = {k: spec.data.split.seed for k, v in model.get_params(deep=True).items()
                 if (k == "random_state" or k.endswith("__random_state")) and v is None}
        if seeds:
            model.set_params(**seeds)
    return model


# --- training -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainResult:
    model: str
    run_key: str
    reused: bool
    artifact_sha256: str
    artifact_uri: str
    run_file: str
    rows: dict[str, int]
    timings: dict[str, float]
    record: runs.RunRecord
    warnings: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        if self.reused:
            return (f"reused run {self.run_key[:12]} (same spec, data and library versions; "
                    f"trained {self.record.created_at})")
        return f"trained run {self.run_key[:12]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "run_key": self.run_key, "reused": self.reused,
            "note": self.note, "artifact_sha256": self.artifact_sha256,
            "artifact_uri": self.artifact_uri, "run_file": self.run_file, "rows": self.rows,
            "timings": self.timings, "warnings": list(self.warnings),
            "run": self.record.to_dict(),
        }


def _rows(record: runs.RunRecord) -> dict[str, int]:
    if record.split:
        return {"train": int(record.split["train_rows"]), "test": int(record.split["test_rows"])}
    return {r: int(d.get("rows") or 0) for r, d in record.data.items()
            if r in KEYED_ROLES}


def load_run(store: Store, run_key: str) -> runs.RunRecord:
    source = store.run_file_uri(run_key, runs.RUN_FILE)
    return runs.RunRecord.from_json(store.read_run_file(run_key, runs.RUN_FILE), source=source)


def _git_info(config: ProjectConfig) -> dict[str, Any]:
    from gitops_ml.util import git as gitutil

    root = config.root_path
    try:
        if not gitutil.is_repo(root):
            return {"commit": None, "dirty": None, "branch": None}
        return {"commit": gitutil.head_commit(root), "dirty": gitutil.is_dirty(root),
                "branch": gitutil.current_branch(root)}
    except GitopsMLError:
        return {"commit": None, "dirty": None, "branch": None}


def _fit(model: Any, X: pd.DataFrame, y: pd.Series, spec: ModelSpec) -> list[str]:
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        try:
            model.fit(X, y)
        except GitopsMLError:
            raise
        except MemoryError as exc:
            raise TrainingError("fitting ran out of memory", location=_spec_loc(spec)) from exc
        except Exception as exc:
            message = str(exc).strip().splitlines()
            detail = message[0] if message else ""
            raise TrainingError(f"fitting {_estimator_name(spec)} failed: "
                                f"{type(exc).__name__}: {detail}",
                                location=_spec_loc(spec)) from exc
    for record in records:
        line = f"{record.category.__name__}: {str(record.message).strip().splitlines()[0]}"
        if line not in caught:
            caught.append(line)
    return caught


def _estimator_name(spec: ModelSpec) -> str:
    if spec.estimator.class_:
        return spec.estimator.class_.rsplit(".", 1)[-1]
    return f"factory {spec.estimator.factory}"


def as_config(config: ProjectConfig | str | Path | None) -> ProjectConfig:
    """A loaded config, or the config found at (or above) a folder; None: the cwd."""
    from gitops_ml.project.spec import load_config

    return config if isinstance(config, ProjectConfig) else load_config(config)


@dataclass(frozen=True)
class Trained:
    """What :func:`train_keyed` gives: the run, and (when this call fitted it) the fitted
    pipeline and the data it was fitted on, still in memory, so that ``evaluate`` does not
    load or read them again. Both are None when the run was reused; then
    :func:`load_model` and :func:`read_datasets` give them."""

    result: TrainResult
    pipeline: Any = field(default=None, repr=False, compare=False)
    datasets: Datasets | None = field(default=None, repr=False, compare=False)


def train(config: ProjectConfig | str | Path | None, model: str | ModelSpec, *,
          force: bool = False, extra_columns: tuple[str, ...] = ()) -> TrainResult:
    """Train ``model`` (a name, a spec path, or a loaded spec), or reuse its cached run."""
    from gitops_ml.project.spec import find_spec

    start = time.perf_counter()
    config = as_config(config)
    spec = model if isinstance(model, ModelSpec) else find_spec(config, model)
    key = run_key(config, spec)
    store = Store.open(config)
    return train_keyed(config, key, store, force=force, start=start,
                       extra_columns=extra_columns).result


def load_model(store: Store, result: TrainResult) -> Any:
    """The fitted model of a run, loaded from its verified artifact in the store."""
    return artifacts.load(store.path_of(result.artifact_sha256))


def train_keyed(config: ProjectConfig, key: RunKey, store: Store, *, force: bool = False,
                start: float | None = None, extra_columns: tuple[str, ...] = ()) -> Trained:
    """Train the run of ``key``, or reuse it when the store has it (and ``force`` is false).
    ``extra_columns`` are read with the data (and kept in :attr:`Trained.datasets`)."""
    from gitops_ml.data.checks import require_classes, require_contract

    start = time.perf_counter() if start is None else start
    spec = key.spec
    if not force and store.has_run(key.key):
        record = load_run(store, key.key)
        if store.has(record.artifact_sha256):
            total = time.perf_counter() - start
            return Trained(TrainResult(
                model=spec.name, run_key=key.key, reused=True,
                artifact_sha256=record.artifact_sha256, artifact_uri=record.artifact["uri"],
                run_file=store.run_file_uri(key.key, runs.RUN_FILE),
                rows=_rows(record),
                timings={"total_s": round(total, 4)}, record=record))
    contract_columns = tuple(c for c in spec.schema_ if c not in extra_columns)
    datasets = read_datasets(config, key, (*extra_columns, *contract_columns))
    train_pointer = key.pointers["train"]
    require_contract(spec, datasets.train, train_pointer.uri)
    X = datasets.train[list(spec.features.model_inputs)]
    y = datasets.train[spec.target]
    require_classes(spec, y, train_pointer.uri, train_pointer.location)
    if spec.estimator.factory is not None:
        pipeline = build_from_factory(config, spec)
    else:
        pipeline = build_pipeline(spec, datasets.train)
    t0 = time.perf_counter()
    caught = _fit(pipeline, X, y, spec)
    fit_s = time.perf_counter() - t0
    payload = artifacts.dumps(pipeline)
    try:  # the allow-list every load applies: refuse now, before the artifact is stored
        artifacts.audit(payload, source="the fitted model")
    except ArtifactError as exc:
        refused = exc.message.partition("untrusted types: ")[2] or exc.message
        outside = [n.strip() for n in refused.split(",")
                   if not n.strip().startswith(("sklearn.", "numpy.", "scipy.", "builtins."))]
        hint = exc.hint
        if outside:  # e.g. FunctionTransformer(func=features.ratio) from a factory
            hint = (f"{outside[0]} is the repository's own code: loading it would run that "
                    "code in every later job (the promote job holds a write token). Compute "
                    "the feature in the data, or use scikit-learn transformers and numpy "
                    "functions (e.g. FunctionTransformer(numpy.log1p)) in the factory")
        raise ArtifactError(
            "the fitted model holds types outside the artifact allow-list, which could not be "
            f"loaded safely: {refused}", hint=hint, location=_spec_loc(spec)) from exc
    sha = store.put_bytes(payload)
    total = time.perf_counter() - start
    data_info = {}
    for role, pointer in key.pointers.items():
        data_info[role] = {"uri": pointer.uri,
                           "sha256": key.data_sha256.get(role, pointer.sha256),
                           "rows": datasets.rows.get(role)}
    record = runs.RunRecord(
        run_key=key.key, model=spec.name, spec_file=spec.file,
        spec_hash=spec.spec_hash(), canonical_spec_hash=spec.canonical_hash(), task=spec.task,
        target=spec.target, features=tuple(spec.features.model_inputs), data=data_info,
        git=_git_info(config), versions=dict(key.versions),
        timings={"fit_s": round(fit_s, 4), "total_s": round(total, 4)},
        artifact={"sha256": sha, "uri": store.uri_of(sha), "size": len(payload),
                  "format": artifacts.ARTIFACT_FORMAT},
        estimator=spec.estimator.class_ or f"factory:{spec.estimator.factory}",
        split=datasets.split)
    run_file = store.write_run_file(key.key, runs.RUN_FILE, record.to_json())
    rows = dict(datasets.rows)
    if datasets.split:
        rows = {"train": datasets.split["train_rows"], "test": datasets.split["test_rows"]}
    result = TrainResult(model=spec.name, run_key=key.key, reused=False, artifact_sha256=sha,
                         artifact_uri=store.uri_of(sha), run_file=run_file, rows=rows,
                         timings=record.timings, record=record, warnings=tuple(caught))
    return Trained(result, pipeline, datasets)
