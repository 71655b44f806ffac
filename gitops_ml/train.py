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
from gitops_ml.runs.store import Store
from gitops_ml.util.hashing import sha256_file

if TYPE_CHECKING:
    import pandas as pd

    from gitops_ml.data.cache import LocalData
    from gitops_ml.data.pointers import DataPointer

# Estimators fitted on scaled numeric inputs (distance-, gradient- or kernel-based).
SCALED_MODULES = ("sklearn.linear_model", "sklearn.svm", "sklearn.neighbors",
                  "sklearn.neural_network", "sklearn.gaussian_process", "sklearn.kernel_ridge",
                  "sklearn.cross_decomposition", "sklearn.semi_supervised")
# Tree ensembles split on ordinal codes; one-hot only makes them slower.
TREE_MODULES = ("sklearn.tree", "sklearn.ensemble", "xgboost", "lightgbm", "catboost")
HGB_MAX_CATEGORIES = 255


# --- preparing: pointers, hashes, run key ---------------------------------------------------

@dataclass(frozen=True)
class Prepared:
    """Everything the run key needs, computed without reading a table."""

    spec: ModelSpec
    pointers: dict[str, DataPointer]
    data_sha256: dict[str, str]
    local: dict[str, LocalData]  # data materialised so far (see :func:`materialize`)
    versions: dict[str, str]
    extra: dict[str, str]
    run_key: str


def _factory_file(config: ProjectConfig, spec: ModelSpec) -> tuple[Path, str]:
    assert spec.estimator.factory is not None
    rel, func = spec.estimator.factory.rsplit(":", 1)
    path = config.check_inside(config.resolve(rel), "the factory file", _spec_loc(spec),
                               repo_only=True)  # code that train runs: the repository's own
    if not path.is_file():
        raise ConfigError(f"factory file not found: {rel}", location=_spec_loc(spec),
                          key_path="estimator.factory")
    return path, func


def _spec_loc(spec: ModelSpec) -> Location | None:
    return Location(spec.file) if spec.file else None


def prepare(config: ProjectConfig, spec: ModelSpec) -> Prepared:
    from gitops_ml.data.cache import materialize
    from gitops_ml.data.pointers import spec_pointers

    pointers = spec_pointers(config, spec)
    if "train" not in pointers:
        raise ConfigError("the spec has no training data", location=_spec_loc(spec))
    # A pointer that names its sha256 needs no download for the key: a cache hit on remote
    # data reads nothing. Plain files are hashed (remembered by stat in the data cache).
    local: dict[str, LocalData] = {}
    shas: dict[str, str] = {}
    for role in runs.KEYED_ROLES:
        if role not in pointers:
            continue
        known = pointers[role].sha256
        if known is None:
            local[role] = materialize(config, pointers[role])
            known = local[role].sha256
        shas[role] = known
    extra: dict[str, str] = {}
    if spec.estimator.factory is not None:
        path, _ = _factory_file(config, spec)
        extra["factory_sha256"] = sha256_file(path)
    versions = runs.library_versions()
    key = runs.compute_run_key(spec.canonical_hash(), shas, versions, extra)
    return Prepared(spec, pointers, shas, local, versions, extra, key)


def materialize(config: ProjectConfig, prep: Prepared) -> dict[str, LocalData]:
    """Verified local copies of the keyed data (fetched and checked when not done yet)."""
    from gitops_ml.data.cache import materialize as fetch

    for role in prep.data_sha256:
        if role not in prep.local:
            prep.local[role] = fetch(config, prep.pointers[role])
    return prep.local


# --- data ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Datasets:
    train: pd.DataFrame
    test: pd.DataFrame
    rows: dict[str, int]
    split: dict[str, Any] | None


def _check_frame(spec: ModelSpec, frame: pd.DataFrame, where: str, role: str,
                 loc: Location | None) -> pd.DataFrame:
    import pandas as pd

    if len(frame) == 0:
        raise DataCheckError(f"{where}: the {role} data is empty (no rows)", location=loc)
    for col in spec.features.model_inputs:
        if frame[col].isna().all():
            raise DataCheckError(f"{where}: feature '{col}' is entirely null in the {role} data",
                                 location=loc, hint="fix the data or drop the feature")
    y = frame[spec.target]
    n_null = int(y.isna().sum())
    if n_null:
        raise DataCheckError(f"{where}: target '{spec.target}' has {n_null} missing value(s) "
                             f"in the {role} data", location=loc)
    if spec.task == "regression" and not pd.api.types.is_numeric_dtype(y):
        converted = pd.to_numeric(y, errors="coerce")
        bad = y[converted.isna()]
        if len(bad):
            raise DataCheckError(f"{where}: target '{spec.target}' is not numeric (e.g. "
                                 f"{str(bad.iloc[0])!r}) but the task is regression",
                                 location=loc, hint="use task: classification, or fix the data")
        frame = frame.assign(**{spec.target: converted})
    for col in spec.features.numeric:
        s = frame[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            converted = pd.to_numeric(s, errors="coerce")
            bad = s[converted.isna() & s.notna()]
            if len(bad):
                raise DataCheckError(f"{where}: numeric feature '{col}' has non-numeric values "
                                     f"(e.g. {str(bad.iloc[0])!r})", location=loc,
                                     hint="list it under features.categorical instead")
            frame = frame.assign(**{col: converted})
    cats = {}
    for col in spec.features.categorical:
        s = frame[col]
        # Categories as Python strings (numbers too) with NaN for missing: one dtype for all
        # encoders, whatever pandas inferred from the file.
        if (s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "string") or (
                s.dtype != object and pd.api.types.is_string_dtype(s)):
            continue  # already strings (with NaN for missing)
        if pd.api.types.is_float_dtype(s) and bool((s.dropna() % 1 == 0).all()):
            s = s.astype("Int64")  # 3.0 (an integer column with gaps) is the category "3"
        cats[col] = s.astype(str).astype(object).where(s.notna(), other=float("nan"))
    if cats:
        frame = frame.assign(**cats)
    return frame


def read_datasets(config: ProjectConfig, prep: Prepared, extra_columns: tuple[str, ...] = (),
                  *, need_train: bool = True) -> Datasets:
    """Read the train (and test) tables, check them, and split when there is no test data.
    ``need_train=False`` (evaluate on a cached run) keeps only the test rows of a split."""
    from gitops_ml.data.tables import read_header, read_table

    spec = prep.spec
    wanted = list(dict.fromkeys((*spec.features.model_inputs, spec.target,
                                 *spec.features.sensitive, *extra_columns)))
    frames: dict[str, pd.DataFrame] = {}
    for role, ld in materialize(config, prep).items():
        pointer = prep.pointers[role]
        header = read_header(ld.path, ld.format)
        loc = pointer.location
        where = pointer.uri
        if spec.target not in header:
            raise DataCheckError(f"{where}: target column '{spec.target}' is missing from the "
                                 f"{role} data", location=loc, hint=_has(header))
        missing = [c for c in spec.features.model_inputs if c not in header]
        if missing:
            raise DataCheckError(f"{where}: feature column(s) {', '.join(missing)} missing from "
                                 f"the {role} data", location=loc, hint=_has(header))
        missing = [c for c in (*spec.features.sensitive, *extra_columns) if c not in header]
        if missing:
            raise DataCheckError(f"{where}: column(s) {', '.join(missing)} missing from the "
                                 f"{role} data", location=loc, hint=_has(header))
        frame = read_table(ld.path, ld.format, columns=wanted)
        frames[role] = _check_frame(spec, frame, where, role, loc)
    rows = {role: len(f) for role, f in frames.items()}
    if "test" in frames:
        return Datasets(frames["train"], frames["test"], rows, None)
    return _split(spec, frames["train"], rows, need_train=need_train)


def _has(header: list[str]) -> str:
    return "the file has: " + ", ".join(header[:20]) + (" …" if len(header) > 20 else "")


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
    path, func = _factory_file(config, spec)
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
    _model: Any = field(default=None, repr=False, compare=False)
    _datasets: Datasets | None = field(default=None, repr=False, compare=False)

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
            if r in runs.KEYED_ROLES}


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


def train(config: ProjectConfig | str | Path | None, model: str | ModelSpec, *,
          force: bool = False, extra_columns: tuple[str, ...] = ()) -> TrainResult:
    """Train ``model`` (a name, a spec path, or a loaded spec), or reuse its cached run."""
    from gitops_ml.project.spec import find_spec

    start = time.perf_counter()
    config = as_config(config)
    spec = model if isinstance(model, ModelSpec) else find_spec(config, model)
    prep = prepare(config, spec)
    store = Store.open(config)
    return train_prepared(config, prep, store, force=force, start=start,
                          extra_columns=extra_columns)


def check_contract_before_fit(spec: ModelSpec, train: pd.DataFrame, pointer: Any) -> None:
    """The spec's data contract (``schema:``) must hold on the training data before anything is
    fitted: a model trained on data that breaks its contract is not worth a review."""
    if not spec.schema_:
        return
    from gitops_ml.data.checks import run_checks

    failed = [c for c in run_checks(spec, train).failures if c.severity == "error"]
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        first = failed[0]
        column = f"{first.column}: " if first.column else ""
        raise DataCheckError(
            f"{pointer.uri}: the training data breaks the data contract: {column}"
            f"{first.message}{more}", location=_spec_loc(spec),
            hint="fix the data, or the 'schema:' section of the spec")


def train_prepared(config: ProjectConfig, prep: Prepared, store: Store, *, force: bool,
                   start: float, extra_columns: tuple[str, ...] = ()) -> TrainResult:
    spec = prep.spec
    if not force and store.has_run(prep.run_key):
        record = load_run(store, prep.run_key)
        if store.has(record.artifact_sha256):
            total = time.perf_counter() - start
            return TrainResult(
                model=spec.name, run_key=prep.run_key, reused=True,
                artifact_sha256=record.artifact_sha256, artifact_uri=record.artifact["uri"],
                run_file=store.run_file_uri(prep.run_key, runs.RUN_FILE),
                rows=_rows(record),
                timings={"total_s": round(total, 4)}, record=record)
    contract_columns = tuple(c for c in spec.schema_ if c not in extra_columns)
    datasets = read_datasets(config, prep, (*extra_columns, *contract_columns))
    check_contract_before_fit(spec, datasets.train, prep.pointers["train"])
    X = datasets.train[list(spec.features.model_inputs)]
    y = datasets.train[spec.target]
    if spec.task == "classification":
        n_classes = y.nunique()
        if n_classes < 2:
            raise DataCheckError(
                f"{prep.pointers['train'].uri}: target '{spec.target}' has a single class "
                f"({y.iloc[0]!r}) in the training data; classification needs at least two",
                location=prep.pointers["train"].location)
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
        raise ArtifactError(
            "the fitted model holds types outside the artifact allow-list, which could not be "
            f"loaded safely: {exc.message.partition('untrusted types: ')[2] or exc.message}",
            hint=exc.hint, location=_spec_loc(spec)) from exc
    sha = store.put_bytes(payload)
    total = time.perf_counter() - start
    data_info = {}
    for role, pointer in prep.pointers.items():
        data_info[role] = {"uri": pointer.uri,
                           "sha256": prep.data_sha256.get(role, pointer.sha256),
                           "rows": datasets.rows.get(role)}
    record = runs.RunRecord(
        run_key=prep.run_key, model=spec.name, spec_file=spec.file,
        spec_hash=spec.spec_hash(), canonical_spec_hash=spec.canonical_hash(), task=spec.task,
        target=spec.target, features=tuple(spec.features.model_inputs), data=data_info,
        git=_git_info(config), versions=prep.versions,
        timings={"fit_s": round(fit_s, 4), "total_s": round(total, 4)},
        artifact={"sha256": sha, "uri": store.uri_of(sha), "size": len(payload),
                  "format": artifacts.ARTIFACT_FORMAT},
        estimator=spec.estimator.class_ or f"factory:{spec.estimator.factory}",
        split=datasets.split)
    run_file = store.write_run_file(prep.run_key, runs.RUN_FILE, record.to_json())
    rows = dict(datasets.rows)
    if datasets.split:
        rows = {"train": datasets.split["train_rows"], "test": datasets.split["test_rows"]}
    return TrainResult(model=spec.name, run_key=prep.run_key, reused=False, artifact_sha256=sha,
                       artifact_uri=store.uri_of(sha), run_file=run_file, rows=rows,
                       timings=record.timings, record=record, warnings=tuple(caught),
                       _model=pipeline, _datasets=datasets)
