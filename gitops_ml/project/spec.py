"""The project config (``gitops-ml.yaml``) and model specs (``models/*/model.yaml``).

These are frozen records (:mod:`gitops_ml.util.frozen`: declared like dataclasses, nothing
compiled when defined) loaded by :mod:`gitops_ml.project.typed_yaml`, so every error names
``file:line:column`` and the key path. Validation that needs the world (does the estimator
class exist, are its params right, is the data's header right) lives in
:mod:`gitops_ml.project.validate`; this module checks only what the file itself says.

Annotations are evaluated when the classes are defined (no ``from __future__ import
annotations``): the loader reads them as types, and evaluating them from strings would
compile each one again at every start.
"""

import glob
import os
import re
from pathlib import Path
from typing import Any, Literal

from gitops_ml.errors import ConfigError, Location, NoConfigError
from gitops_ml.project import typed_yaml
from gitops_ml.project import yaml_document as yamlio
from gitops_ml.project.yaml_document import Document, KeyPath
from gitops_ml.util.frozen import Record, asdict, field, replace
from gitops_ml.util.hashing import SHA256_PATTERN

CONFIG_FILE = "gitops-ml.yaml"
SCHEMA_BASE = "https://gitops-ml.dev/schemas"
NAME_PATTERN = "[a-z0-9][a-z0-9_-]*"

Task = Literal["classification", "regression"]

CLASSIFICATION_METRICS = (
    "accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss",
    "average_precision", "brier",
)
REGRESSION_METRICS = ("rmse", "mae", "r2", "mape", "mse", "medae")
METRICS_BY_TASK: dict[str, tuple[str, ...]] = {
    "classification": CLASSIFICATION_METRICS,
    "regression": REGRESSION_METRICS,
}
# Metrics where smaller is better: gates and deltas read them the other way round.
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "rmse", "mae", "mape", "mse", "medae"})

DRIFT_METHODS = ("ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi", "kl_div",
                 "hellinger")
DRIFT_GATES = ("share_of_drifted_columns", "dataset_drift", "target_drift",
               "prediction_drift")
# What each task's bias slices measure (gitops_ml.evaluate.fairness): rates and parity for
# classifiers (one-vs-rest for multiclass), group error differences for regression.
CLASSIFICATION_FAIRNESS = ("demographic_parity_difference", "demographic_parity_ratio",
                           "equalized_odds_difference")
REGRESSION_FAIRNESS = ("mean_error_difference", "mae_difference")
FAIRNESS_GATES = (*CLASSIFICATION_FAIRNESS, *REGRESSION_FAIRNESS)


def fairness_gate_mismatch(subject: str, task: str) -> tuple[str, str] | None:
    """(message, hint) when a fairness gate does not apply to the task; None when it does."""
    fits = CLASSIFICATION_FAIRNESS if task == "classification" else REGRESSION_FAIRNESS
    if subject not in FAIRNESS_GATES or subject in fits:
        return None
    why = ("a regression model has no selection rate or odds: its bias slices measure each "
           "group's errors" if task == "regression" else
           "a classifier's bias slices measure rates and parity, not errors in the target's "
           "unit")
    return (f"fairness gate '{subject}' does not apply to a {task} model ({why})",
            "use " + " or ".join(fits))
CHECK_GATES = ("data_checks", "schema", "missing_columns", "new_categories", "empty_data",
               "empty_columns", "dtype_changes")


# --- project config ------------------------------------------------------------------------
# The models below are frozen records compared by identity (eq=False): nothing compares specs
# by value.

class ProjectConfig(Record, eq=False):
    """gitops-ml project configuration, at the repository root."""

    models: str | tuple[str, ...] = field(
        default="models/*/model.yaml",
        metadata={"doc": "Glob(s), relative to the repo root, that find the model specs."})
    store: str = field(
        default=".gitops-ml/store",
        metadata={"doc": "Artifact store: a folder (relative to the repo) or an fsspec URI."})
    registry: Literal["git", "github"] = field(
        default="git",
        metadata={"doc": "git: annotated tags; github: tags plus GitHub Releases."})
    cache: str = field(
        default=".gitops-ml/cache",
        metadata={"doc": "Local content-addressed cache of data."})
    outside_roots: tuple[str, ...] = field(
        default=(),
        metadata={"doc": "Absolute folders outside the repository that spec globs and data "
                         "paths may read. By default nothing outside the repository is read."})
    root: str = field(default=".", metadata={"internal": True})
    file: str = field(default=CONFIG_FILE, metadata={"internal": True})

    @property
    def model_globs(self) -> tuple[str, ...]:
        return (self.models,) if isinstance(self.models, str) else tuple(self.models)

    @property
    def root_path(self) -> Path:
        return Path(self.root)

    def resolve(self, rel: str) -> Path:
        """A path relative to the repo root (URIs are not paths: see ``data``)."""
        p = Path(rel)
        return p if p.is_absolute() else self.root_path / p

    def contains(self, path: Path, *, repo_only: bool = False) -> bool:
        """``path`` (symbolic links followed) is inside the repository, or under one of
        ``outside_roots`` unless ``repo_only``."""
        real = Path(os.path.realpath(path))
        roots = [self.root_path] + ([] if repo_only else [self.resolve(r) for r in
                                                           self.outside_roots])
        return any(real.is_relative_to(os.path.realpath(r)) for r in roots)

    def check_inside(self, path: Path, what: str, location: Location | None = None,
                     *, repo_only: bool = False) -> Path:
        """``path``, or a ConfigError when it leaves the repository (see :meth:`contains`)."""
        if not self.contains(path, repo_only=repo_only):
            raise ConfigError(
                f"{what} {path} is outside the repository; refused", location=location,
                hint=None if repo_only else "list its folder in outside_roots in "
                                            f"{self.file} to allow it")
        return path


# --- model spec ----------------------------------------------------------------------------

class InlinePointer(Record):
    """A data pointer written inline in the spec instead of in a pointer file."""

    uri: str = field(metadata={"doc": "Where the data lives: a repo path, file://, https://, s3://"})
    sha256: str | None = field(
        default=None, metadata={"pattern": SHA256_PATTERN,
                                "pattern_hint": "a sha256 is 64 lowercase hex characters",
                                "doc": "sha256 of the file's bytes."})
    size: int | None = field(default=None, metadata={"ge": 0})
    format: Literal["csv", "parquet", "jsonl"] | None = None


PointerRef = str | InlinePointer


class Split(Record, eq=False):
    """How to split the training data when there is no test pointer."""

    test_size: float = field(default=0.2, metadata={"gt": 0, "lt": 1})
    seed: int = 42
    stratify: bool = True


class DataSpec(Record, eq=False):
    """The model's data, as pointers."""

    train: PointerRef = field(metadata={"doc": "Pointer file, DVC .dvc file, or inline pointer."})
    test: PointerRef | None = None
    current: PointerRef | None = field(
        default=None, metadata={"doc": "Fresh data for drift; defaults to the test data."})
    split: Split = field(default_factory=Split)


class Features(Record, eq=False):
    """Model inputs by kind, and the sensitive attributes sliced for bias."""

    numeric: tuple[str, ...] = field(default_factory=tuple)
    categorical: tuple[str, ...] = field(default_factory=tuple)
    sensitive: tuple[str, ...] = field(
        default_factory=tuple,
        metadata={"doc": "Sliced for bias; not used as a feature unless listed above."})

    @property
    def model_inputs(self) -> tuple[str, ...]:
        return (*self.numeric, *self.categorical)

    def check(self, doc: Document, path: KeyPath) -> None:
        if not self.model_inputs:
            raise doc.error(path, "no features: list at least one numeric or categorical column")
        seen: dict[str, str] = {}
        for kind in ("numeric", "categorical"):
            for i, name in enumerate(getattr(self, kind)):
                if name in seen:
                    raise doc.error((*path, kind, i),
                                    f"feature '{name}' is listed twice ({seen[name]} and {kind})")
                seen[name] = kind


class Estimator(Record, eq=False):
    """A scikit-learn estimator by class path, or a factory that builds a whole pipeline."""

    class_: str | None = field(
        default=None, metadata={"key": "class",
                                "doc": "Import path, e.g. sklearn.ensemble.RandomForestClassifier"})
    params: dict[str, Any] = field(default_factory=dict)
    factory: str | None = field(
        default=None, metadata={"doc": "path/to/file.py:function returning a Pipeline",
                                "pattern": r"[^:]+\.py:[A-Za-z_][A-Za-z0-9_]*",
                                "pattern_hint": "write it as path/to/file.py:function"})

    def check(self, doc: Document, path: KeyPath) -> None:
        if (self.class_ is None) == (self.factory is None):
            raise doc.error(path, "give exactly one of 'class' and 'factory'")
        if self.factory is not None and self.params:
            raise doc.error((*path, "params"), "'params' goes with 'class', not 'factory'")


class Gate(Record, eq=False):
    """A quality gate. Exactly one of metric, drift, fairness, check."""

    metric: str | None = None
    drift: str | None = None
    fairness: str | None = None
    check_: str | None = field(default=None, metadata={"key": "check"})
    min: float | None = None
    max: float | None = None
    max_drop: float | None = field(default=None, metadata={"ge": 0,
                                   "doc": "Largest allowed fall against the champion."})
    min_gain: float | None = field(default=None, metadata={"doc": "Least required gain."})
    relative: bool = field(default=False, metadata={
        "doc": "max_drop/min_gain as a fraction of the champion's value."})

    @property
    def kind(self) -> str:
        for kind in ("metric", "drift", "fairness", "check"):
            if self.subject_of(kind) is not None:
                return kind
        raise AssertionError("unchecked gate")

    def subject_of(self, kind: str) -> str | None:
        value: str | None = getattr(self, "check_" if kind == "check" else kind)
        return value

    @property
    def subject(self) -> str:
        value = self.subject_of(self.kind)
        assert value is not None
        return value

    @property
    def is_relative_to_champion(self) -> bool:
        return self.max_drop is not None or self.min_gain is not None

    def describe(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f"≥ {self.min:g}")
        if self.max is not None:
            parts.append(f"≤ {self.max:g}")
        unit = "" if not self.relative else " (relative)"
        if self.max_drop is not None:
            parts.append(f"drop ≤ {self.max_drop:g}{unit} vs champion")
        if self.min_gain is not None:
            parts.append(f"gain ≥ {self.min_gain:g}{unit} vs champion")
        return f"{self.subject} " + ", ".join(parts)

    def check(self, doc: Document, path: KeyPath) -> None:
        kinds = [k for k in ("metric", "drift", "fairness", "check") if self.subject_of(k)]
        if len(kinds) != 1:
            raise doc.error(path, "a gate names exactly one of metric, drift, fairness, check")
        kind = kinds[0]
        bounds = [b for b in ("min", "max", "max_drop", "min_gain") if getattr(self, b) is not None]
        if not bounds and kind != "check":
            raise doc.error(path, "a gate needs a bound: min, max, max_drop or min_gain")
        if kind != "metric" and (self.max_drop is not None or self.min_gain is not None):
            raise doc.error(path, "max_drop and min_gain apply to metric gates only")
        allowed = {"drift": DRIFT_GATES, "fairness": FAIRNESS_GATES, "check": CHECK_GATES}
        subject = self.subject
        if kind in allowed and subject not in allowed[kind]:
            raise doc.error((*path, kind), f"unknown {kind} gate '{subject}'",
                            hint=typed_yaml.did_you_mean(subject, allowed[kind])
                            or "allowed: " + ", ".join(allowed[kind]))


class ColumnContract(Record, eq=False):
    """What a column must look like (a data contract)."""

    dtype: Literal["int", "float", "number", "string", "bool", "category", "datetime"] | None = None
    min: float | None = None
    max: float | None = None
    allowed: tuple[str | int | float | bool, ...] | None = None
    max_null_share: float | None = field(default=None, metadata={"ge": 0, "le": 1})
    unique: bool = False


# The column kinds each drift method applies to: Evidently's ``allowed_feature_types`` (it
# refuses chi-square and Z on a numeric column). gitops_ml.drift.stats runs the methods.
DRIFT_METHOD_KINDS: dict[str, tuple[str, ...]] = {
    "ks": ("numerical",), "chisquare": ("categorical",), "z": ("categorical",),
    "wasserstein": ("numerical",), "jensenshannon": ("numerical", "categorical"),
    "psi": ("numerical", "categorical"), "kl_div": ("numerical", "categorical"),
    "hellinger": ("numerical", "categorical"),
}


def drift_method_mismatch(method: str, kind: str, column: str) -> tuple[str, str] | None:
    """(message, hint) when ``method`` cannot test a ``kind`` column, as Evidently refuses it;
    None when it can (or the method is unknown: the spec's type check says that)."""
    kinds = DRIFT_METHOD_KINDS.get(method)
    if kinds is None or kind in kinds:
        return None
    fits = ", ".join(m for m, ks in DRIFT_METHOD_KINDS.items() if kind in ks)
    return (f"drift method '{method}' applies to {' and '.join(kinds)} columns only, and "
            f"column '{column}' is {kind}", f"for a {kind} column use {fits}")


class DriftColumn(Record, eq=False):
    """Per-column drift method and threshold (Evidently's names)."""

    method: Literal["ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi", "kl_div",
                    "hellinger"] | None = None
    threshold: float | None = None


class DriftSettings(Record, eq=False):
    """Drift detection settings. Defaults reproduce Evidently's DataDriftPreset."""

    method: Literal["ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi", "kl_div",
                    "hellinger"] | None = field(
        default=None, metadata={"doc": "One method for every column (default: per column, "
                                       "as Evidently chooses)."})
    threshold: float | None = None
    drift_share: float = field(default=0.5, metadata={"gt": 0, "le": 1})
    columns: dict[str, DriftColumn] = field(default_factory=dict)
    report_sample_rows: int = field(default=50_000, metadata={"ge": 1})


class Evaluation(Record, eq=False):
    """How deltas against the champion get their confidence intervals."""

    bootstrap: int = field(default=1000, metadata={"ge": 0, "le": 100_000,
                           "doc": "Paired bootstrap resamples for metric deltas (0: none)."})
    seed: int = 0
    confidence: float = field(default=0.95, metadata={"gt": 0, "lt": 1})


class Promotion(Record, eq=False):
    """The stage a merge promotes to, and the version bump."""

    stage: str = field(default="production", metadata={"pattern": NAME_PATTERN})
    bump: Literal["major", "minor", "patch"] = "minor"


class ModelSpec(Record, eq=False):
    """A model: its data, features, estimator, metrics and quality gates."""

    name: str = field(metadata={"pattern": NAME_PATTERN,
                                "pattern_hint": "lowercase letters, digits, '-' and '_'"})
    task: Task
    data: DataSpec
    target: str
    features: Features
    estimator: Estimator
    description: str = ""
    metrics: tuple[str, ...] = field(default_factory=tuple)
    gates: tuple[Gate, ...] = field(default_factory=tuple)
    schema_: dict[str, ColumnContract] = field(default_factory=dict, metadata={"key": "schema"})
    drift: DriftSettings = field(default_factory=DriftSettings)
    evaluation: Evaluation = field(default_factory=Evaluation)
    promotion: Promotion = field(default_factory=Promotion)
    file: str = field(default="", metadata={"internal": True})

    @property
    def folder(self) -> str:
        """The spec's folder, repo-relative (POSIX)."""
        return str(Path(self.file).parent.as_posix())

    @property
    def effective_metrics(self) -> tuple[str, ...]:
        if self.metrics:
            return tuple(self.metrics)
        if self.task == "classification":
            return ("accuracy", "f1", "roc_auc")
        return ("rmse", "mae", "r2")

    def check(self, doc: Document, path: KeyPath) -> list[ConfigError]:
        """Every problem across fields (each independent of the others), gathered."""
        errors: list[ConfigError] = []
        valid = METRICS_BY_TASK[self.task]
        for i, metric in enumerate(self.metrics):
            if metric not in valid:
                errors.append(doc.error(
                    (*path, "metrics", i), f"metric '{metric}' is not valid for {self.task}",
                    hint=typed_yaml.did_you_mean(metric, valid) or "valid: " + ", ".join(valid)))
        listed = set(self.effective_metrics)
        for i, gate in enumerate(self.gates):
            if gate.metric is not None and gate.metric not in listed:
                errors.append(doc.error(
                    (*path, "gates", i, "metric"),
                    f"gate on metric '{gate.metric}', which is not in metrics",
                    hint="add it to 'metrics' or fix the name"
                    + (f"; {m}" if (m := typed_yaml.did_you_mean(gate.metric, listed)) else "")))
        inputs = set(self.features.model_inputs)
        if self.target in inputs:
            errors.append(doc.error((*path, "target"),
                                    f"target '{self.target}' is also a feature"))
        for i, name in enumerate(self.features.sensitive):
            if name == self.target:
                errors.append(doc.error((*path, "features", "sensitive", i),
                                        "the target cannot be a sensitive attribute"))
        if self.task == "regression" and any(
                g.fairness == "demographic_parity_difference" for g in self.gates):
            pass  # defined for regression too (as a difference in mean prediction)
        return errors

    def canonical(self) -> dict[str, Any]:
        """The spec as plain data, without fields that do not change the model."""
        data: dict[str, Any] = asdict(self)
        for key in ("file", "description", "gates", "promotion", "drift", "evaluation"):
            data.pop(key, None)
        return data

    def canonical_hash(self) -> str:
        """sha256 of the canonical spec: what goes into the run key."""
        import hashlib
        import json

        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def spec_hash(self) -> str:
        """sha256 of the whole spec, gates included (recorded in manifests)."""
        data: dict[str, Any] = asdict(self)
        data.pop("file", None)
        import hashlib
        import json

        blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


# --- loading -------------------------------------------------------------------------------

def find_root(start: str | Path = ".") -> Path:
    """The nearest folder at or above ``start`` holding gitops-ml.yaml."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise NoConfigError(
        f"no {CONFIG_FILE} found in {here} or any parent folder",
        hint="run 'gitops-ml init' to create one, or pass -C DIR",
    )


def load_config(root: str | Path | None = None) -> ProjectConfig:
    """Load ``gitops-ml.yaml`` from ``root`` (or the nearest folder above the cwd)."""
    root_path = find_root(root or ".")
    doc = yamlio.load(root_path / CONFIG_FILE, display=CONFIG_FILE)
    data = {} if doc.data is None else doc.data
    cfg = typed_yaml.load_record(ProjectConfig, data, doc)
    return replace(cfg, root=str(root_path))


def load_spec_document(path: Path, display: str) -> tuple[ModelSpec, Document]:
    doc = yamlio.load(path, display=display)
    if doc.data is None:
        raise ConfigError("the model spec is empty", location=Location(display))
    spec = typed_yaml.load_record(ModelSpec, doc.data, doc)
    return replace(spec, file=display), doc


def load_spec(path: str | Path, config: ProjectConfig | None = None) -> ModelSpec:
    p = Path(path)
    display = _display(p, config)
    return load_spec_document(p if p.is_absolute() or config is None else config.resolve(str(p)),
                              display)[0]


def _display(p: Path, config: ProjectConfig | None) -> str:
    if config is None:
        return p.as_posix()
    try:
        return p.resolve().relative_to(config.root_path.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def spec_files(config: ProjectConfig) -> list[str]:
    """Repo-relative POSIX paths of every spec the config's globs match, sorted."""
    root = config.root_path
    found: set[str] = set()
    for pattern in config.model_globs:
        for hit in glob.glob(pattern, root_dir=root, recursive=True):
            config.check_inside(config.resolve(hit), f"the spec glob '{pattern}' matches",
                                Location(config.file))
            found.add(Path(hit).as_posix())
    return sorted(found)


def load_specs(config: ProjectConfig) -> list[ModelSpec]:
    """Every spec the config finds. Names must be unique."""
    specs: list[ModelSpec] = []
    seen: dict[str, ModelSpec] = {}
    for rel in spec_files(config):
        spec, doc = load_spec_document(config.resolve(rel), rel)
        if spec.name in seen:
            raise doc.error(("name",), f"model name '{spec.name}' is already used by "
                            f"{seen[spec.name].file}", hint="model names must be unique")
        seen[spec.name] = spec
        specs.append(spec)
    return specs


# A top-level ``name:`` line: in block style a top-level key starts in column 0, and nothing
# nested (or inside a block scalar) does. The value is a plain or quoted model name.
_NAME_LINE = re.compile(
    r"^name[ \t]*:[ \t]*(?P<q>['\"]?)(?P<name>" + NAME_PATTERN + r")(?P=q)[ \t]*(?:#.*)?$",
    re.MULTILINE)
_ANY_NAME_LINE = re.compile(r"^['\"]?name['\"]?[ \t]*:", re.MULTILINE)


def claimed_name(path: Path) -> str | None:
    """The model name a spec file claims, read from its top-level ``name:`` line without
    parsing or validating the rest; ``None`` when no such line says it plainly (flow style,
    a tag, an unreadable file). Finding one model this way costs a read per spec, so a broken
    spec elsewhere cannot stop a command about another model."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = [m.group("name") for m in _NAME_LINE.finditer(text)]
    if len(found) == 1 and len(_ANY_NAME_LINE.findall(text)) == 1:
        return found[0]
    return None  # missing, ambiguous, or unusual: only a full load can say


def _document_name(path: Path, rel: str) -> str | None:
    """The top-level ``name`` of a spec whose name line is unusual: parsed, not validated.
    ``None`` when the file does not parse or has no string name."""
    try:
        doc = yamlio.load(path, display=rel)
    except ConfigError:
        return None
    name = doc.data.get("name") if isinstance(doc.data, dict) else None
    return name if isinstance(name, str) else None


def find_spec(config: ProjectConfig, model: str) -> ModelSpec:
    """A model by name, or by the path of its spec file.

    Only that model's spec is loaded and validated: the others are read just far enough to
    see the name they claim (their top-level ``name:`` line), so one broken spec does not stop
    a command about another model (``validate`` and ``plan`` still load every spec). Two spec
    files claiming the name are an error, since either could be meant.
    """
    p = Path(model)
    if model.endswith((".yaml", ".yml")) or p.suffix in (".yaml", ".yml"):
        rel = _display(p if p.is_absolute() else Path.cwd() / p, config)
        if not config.resolve(rel).is_file():
            raise ConfigError(f"spec file not found: {model}")
        return load_spec_document(config.resolve(rel), rel)[0]
    rels = spec_files(config)
    claims = {rel: claimed_name(config.resolve(rel)) for rel in rels}
    for rel, name in claims.items():
        if name is None:  # rare: parse (without validating) to learn the name
            claims[rel] = _document_name(config.resolve(rel), rel)
    matches = [rel for rel, name in claims.items() if name == model]
    if not matches:
        names = sorted({n for n in claims.values() if n is not None})
        unread = [rel for rel, name in claims.items() if name is None]
        hint = typed_yaml.did_you_mean(model, names) or \
            ("models: " + ", ".join(names) if names else "no model specs found")
        if unread:
            hint += f"; {len(unread)} spec(s) could not be read ({', '.join(unread[:3])}" \
                    f"{', ...' if len(unread) > 3 else ''}): run 'gitops-ml validate'"
        raise ConfigError(f"no model named '{model}'", hint=hint)
    spec, doc = load_spec_document(config.resolve(matches[0]), matches[0])
    if len(matches) > 1:
        raise ConfigError(f"model name '{model}' is claimed by {len(matches)} specs: "
                          + ", ".join(matches), location=doc.location(("name",)),
                          hint="model names must be unique; rename or remove all but one")
    if spec.name != model:  # the name line and the document disagree (cannot in block YAML)
        raise doc.error(("name",), f"the spec's name is '{spec.name}', not '{model}'")
    return spec


def spec_json_schema() -> dict[str, Any]:
    return typed_yaml.json_schema(ModelSpec, "gitops-ml model spec", f"{SCHEMA_BASE}/model.json")


def config_json_schema() -> dict[str, Any]:
    return typed_yaml.json_schema(ProjectConfig, "gitops-ml project config",
                              f"{SCHEMA_BASE}/config.json")
