"""Evaluate a model on its test data, against the champion, through its quality gates.

``evaluate(config, model)`` trains (or reuses the cached run), scores the model on the test
data, finds the champion (``--champion`` or the registry's provider), scores it on the same
rows (with its own feature list), computes each metric's delta with a paired bootstrap
confidence interval, slices by the sensitive attributes, checks the gates, and writes
``evaluation.json`` beside ``run.json`` in the store.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gitops_ml.errors import DataCheckError, TrainingError
from gitops_ml.evaluate import fairness
from gitops_ml.evaluate import slices as slicing
from gitops_ml.evaluate.champion import (
    Champion,
    ChampionProvider,
    ExplicitChampion,
    default_provider,
)
from gitops_ml.evaluate.paired_bootstrap import (
    MULTINOMIAL_MAX_DRAWS,
    Predictions,
    paired_bootstrap_with_slices,
)
from gitops_ml.gates import (
    GateResult,
    all_passed,
    judge_check,
    judge_drift,
    judge_metric,
    judge_value,
    skip,
)
from gitops_ml.project.spec import ModelSpec, ProjectConfig
from gitops_ml.runs import artifacts
from gitops_ml.runs.key import run_key
from gitops_ml.runs.records import (
    EVALUATION_FILE,
    Bootstrap,
    ChampionRecord,
    Delta,
    DriftRecord,
    EvaluationRecord,
    read_drift,
)
from gitops_ml.runs.store import Store
from gitops_ml.train import TrainResult, as_config, load_model, read_datasets, train_keyed

if TYPE_CHECKING:
    import pandas as pd


# --- metrics --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scored:
    """One model's predictions on the test rows."""

    pred: np.ndarray
    proba: np.ndarray | None
    classes: np.ndarray | None


def _safe(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, str | None]:
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = float(fn(*args, **kwargs))
    except ValueError as exc:
        return math.nan, str(exc).strip().splitlines()[0]
    if math.isnan(value):
        said = [str(w.message).strip().splitlines()[0] for w in caught]
        return value, said[0] if said else "undefined on this data"
    return value, None


def classification_metrics(y: np.ndarray, s: Scored) -> tuple[dict[str, float], dict[str, str]]:
    """Every classification metric; NaN (with a reason) where one is undefined."""
    from sklearn import metrics as m

    assert s.classes is not None
    classes = s.classes
    binary = len(classes) == 2
    pos = classes[-1]
    out: dict[str, float] = {}
    why: dict[str, str] = {}

    def put(name: str, result: tuple[float, str | None]) -> None:
        out[name], reason = result
        if reason:
            why[name] = reason

    avg: dict[str, Any] = ({"average": "binary", "pos_label": pos} if binary
                           else {"average": "macro"})
    put("accuracy", _safe(m.accuracy_score, y, s.pred))
    put("balanced_accuracy", _safe(m.balanced_accuracy_score, y, s.pred))
    put("precision", _safe(m.precision_score, y, s.pred, zero_division=0, **avg))
    put("recall", _safe(m.recall_score, y, s.pred, zero_division=0, **avg))
    put("f1", _safe(m.f1_score, y, s.pred, zero_division=0, **avg))
    if s.proba is None:
        for name in ("roc_auc", "log_loss", "average_precision", "brier"):
            out[name] = math.nan
            why[name] = "the model gives no probabilities (no predict_proba)"
        return out, why
    if binary:
        score = s.proba[:, 1]
        put("roc_auc", _safe(m.roc_auc_score, y == pos, score))
        put("average_precision", _safe(m.average_precision_score, y == pos, score))
        put("brier", _safe(m.brier_score_loss, y == pos, score))
    else:
        put("roc_auc", _safe(m.roc_auc_score, y, s.proba, multi_class="ovr", labels=classes))
        onehot = (y[:, None] == classes[None, :]).astype(float)
        put("average_precision", _safe(m.average_precision_score, onehot, s.proba,
                                       average="macro"))
        put("brier", (float(np.mean(((s.proba - onehot) ** 2).sum(axis=1))), None))
    put("log_loss", _safe(m.log_loss, y, s.proba, labels=classes))
    return out, why


def regression_metrics(y: np.ndarray, s: Scored) -> tuple[dict[str, float], dict[str, str]]:
    from sklearn import metrics as m

    yt = y.astype(float)
    pred = s.pred.astype(float)
    out: dict[str, float] = {}
    why: dict[str, str] = {}
    table = {
        "rmse": (m.root_mean_squared_error, ()), "mae": (m.mean_absolute_error, ()),
        "r2": (m.r2_score, ()), "mape": (m.mean_absolute_percentage_error, ()),
        "mse": (m.mean_squared_error, ()), "medae": (m.median_absolute_error, ()),
    }
    for name, (fn, _) in table.items():
        out[name], reason = _safe(fn, yt, pred)
        if reason:
            why[name] = reason
    return out, why


def confusion(y: np.ndarray, s: Scored) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    assert s.classes is not None
    labels = list(s.classes)
    extra = [c for c in np.unique(y) if c not in set(labels)]
    labels = labels + extra
    cm = confusion_matrix(y, s.pred, labels=labels)
    p, r, f, support = precision_recall_fscore_support(y, s.pred, labels=labels,
                                                       zero_division=0)
    per_class = [{"class": _plain(c), "precision": float(p[i]), "recall": float(r[i]),
                  "f1": float(f[i]), "support": int(support[i])} for i, c in enumerate(labels)]
    return {"labels": [_plain(c) for c in labels], "matrix": cm.tolist()}, per_class


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


# --- gates ----------------------------------------------------------------------------------

def check_gates(spec: ModelSpec, metrics: dict[str, float], champion: dict[str, float] | None,
                fair: dict[str, fairness.AttributeFairness],
                drift: DriftRecord | None) -> list[GateResult]:
    """Every gate of the spec. Drift and check gates are judged from ``drift.json`` of the run
    when the drift step wrote it first; otherwise they are skipped ("evaluated by drift") and
    the drift step's verdict replaces the skip when the records are merged."""
    results: list[GateResult] = []
    for gate in spec.gates:
        kind = gate.kind
        if kind == "metric":
            results.append(judge_metric(gate, metrics, champion))
        elif kind == "fairness":
            if not spec.features.sensitive:
                results.append(skip(gate, "no sensitive attributes in the spec"))
                continue
            value, attr = fairness.worst(fair, gate.subject)
            results.append(judge_value(gate, value, f"worst attribute: {attr}" if attr
                                       else f"{gate.subject} is undefined for this model"))
        elif kind == "drift":
            results.append(judge_drift(gate, drift))
        else:
            checks = drift.checks.results if drift is not None and drift.checks else None
            results.append(judge_check(gate, checks))
    return results


# --- evaluation -----------------------------------------------------------------------------

@dataclass(frozen=True)
class EvaluationResult:
    model: str
    run_key: str
    task: str
    metrics: dict[str, float | None]
    champion: Champion | None
    champion_metrics: dict[str, float | None] | None
    deltas: dict[str, Delta]
    gates: tuple[GateResult, ...]
    confusion_matrix: dict[str, Any] | None
    per_class: list[dict[str, Any]] | None
    fairness: dict[str, fairness.AttributeFairness]
    test_rows: int
    train: TrainResult
    notes: tuple[str, ...] = ()
    evaluation_file: str = ""
    out_file: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    listed_metrics: tuple[str, ...] = ()
    bootstrap: Bootstrap | None = None
    slices: slicing.SliceReport | None = None  # where it got worse (with a champion)

    @property
    def gates_passed(self) -> bool:
        return all_passed(self.gates)

    def to_record(self) -> EvaluationRecord:
        """What ``evaluation.json`` holds."""
        champ = None
        if self.champion is not None:
            c = self.champion
            champ = ChampionRecord(c.version, c.run_key, c.artifact_sha256,
                                   dict(self.champion_metrics or {}), c.source)
        return EvaluationRecord(
            model=self.model, run_key=self.run_key, task=self.task,
            metrics=dict(self.metrics), gates=self.gates,
            listed_metrics=self.listed_metrics, champion=champ, bootstrap=self.bootstrap,
            deltas=dict(self.deltas), confusion_matrix=_jsonable(self.confusion_matrix),
            per_class=_jsonable(self.per_class),
            fairness=_jsonable({a: f.to_dict() for a, f in self.fairness.items()}),
            test_rows=self.test_rows, reused_run=self.train.reused,
            artifact_sha256=self.train.artifact_sha256, notes=self.notes,
            slices=_jsonable(self.slices.to_dict()) if self.slices is not None else None)

    def to_dict(self) -> dict[str, Any]:
        return self.to_record().to_dict()


def _clean(v: float) -> float | None:
    return None if v is None or math.isnan(v) else float(v)


def _score(model: Any, X: pd.DataFrame, task: str, who: str) -> Scored:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = np.asarray(model.predict(X))
            proba = None
            classes = None
            if task == "classification":
                classes = np.asarray(getattr(model, "classes_", np.unique(pred)))
                if hasattr(model, "predict_proba"):
                    try:
                        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
                    except (AttributeError, NotImplementedError):
                        proba = None
    except Exception as exc:
        detail = (str(exc).strip().splitlines() or [""])[0]
        raise TrainingError(f"predicting with the {who} failed: {type(exc).__name__}: "
                            f"{detail}") from exc
    return Scored(pred, proba, classes)


def _codes(values: np.ndarray, classes: np.ndarray) -> np.ndarray:
    lookup = {_plain(c): i for i, c in enumerate(classes)}
    k = len(classes)
    return np.fromiter((lookup.get(_plain(v), k) for v in values), dtype=np.int64,
                       count=len(values))


def _predictions(task: str, s: Scored, classes: np.ndarray | None) -> Predictions:
    if task == "regression":
        return Predictions(values=s.pred.astype(np.float64))
    assert classes is not None
    return Predictions(labels=_codes(s.pred, classes), proba=s.proba)


def _point(task: str, y: np.ndarray, candidate: Scored,
           champion: Scored) -> slicing.PointMetrics:
    """Both models' metrics on some of the test rows, as the overall metrics are computed."""
    fn = classification_metrics if task == "classification" else regression_metrics

    def on(rows: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
        def sub(s: Scored) -> Scored:
            return Scored(s.pred[rows], None if s.proba is None else s.proba[rows], s.classes)
        return fn(y[rows], sub(candidate))[0], fn(y[rows], sub(champion))[0]
    return on


def evaluate(config: ProjectConfig | str | Path | None, model: str | ModelSpec, *,
             champion: str | None = None,
             provider: ChampionProvider | None = None, bootstrap: int | None = None,
             out: str | Path | None = None) -> EvaluationResult:
    """Evaluate ``model`` (see the module docstring). Gates that fail are in the result
    (``gates_passed``); errors raise."""
    from gitops_ml.project.spec import find_spec

    start = time.perf_counter()
    config = as_config(config)
    spec = model if isinstance(model, ModelSpec) else find_spec(config, model)
    store = Store.open(config)
    key = run_key(config, spec)
    notes: list[str] = []

    # The champion first: its feature list decides which columns to read.
    chosen = ExplicitChampion(champion) if champion else (provider or default_provider())
    champ = chosen.find(config, spec)
    champ_model = None
    champ_features: tuple[str, ...] = ()
    if champ is not None:
        champ_model = artifacts.load(champ.artifact_path)
        names = getattr(champ_model, "feature_names_in_", None)
        champ_features = tuple(str(c) for c in names) if names is not None else \
            (champ.features or spec.features.model_inputs)
    own = {*spec.features.model_inputs, spec.target, *spec.features.sensitive}
    extra = tuple(c for c in champ_features if c not in own)

    outcome = train_keyed(config, key, store, start=start, extra_columns=extra)
    trained = outcome.result
    if outcome.pipeline is None or outcome.datasets is None:  # a reused run
        fitted = load_model(store, trained)
        datasets = read_datasets(config, key, extra, need_train=False)
        notes.append(trained.note)
    else:
        fitted, datasets = outcome.pipeline, outcome.datasets
    test = datasets.test
    if len(test) == 0:
        raise DataCheckError("the test data is empty (no rows)")
    y = np.asarray(test[spec.target])
    t0 = time.perf_counter()
    cand = _score(fitted, test[list(spec.features.model_inputs)], spec.task, "model")
    if spec.task == "classification":
        metrics, why = classification_metrics(y, cand)
    else:
        metrics, why = regression_metrics(y, cand)
    for name in spec.effective_metrics:
        value = metrics.get(name, math.nan)
        if math.isnan(value):
            raise TrainingError(f"metric '{name}' is NaN on the test data: "
                                f"{why.get(name, 'undefined')}", hint="check the test data "
                                "(e.g. both classes present) or drop the metric from the spec")

    champ_metrics: dict[str, float] | None = None
    deltas: dict[str, Delta] = {}
    slice_report: slicing.SliceReport | None = None
    boot_info: Bootstrap | None = None
    if champ is not None and champ_model is not None:
        missing = [c for c in champ_features if c not in test.columns]
        if missing:
            raise DataCheckError(f"the champion needs column(s) {', '.join(missing)}, which "
                                 "the test data does not have")
        cs = _score(champ_model, test[list(champ_features)], spec.task, "champion")
        if spec.task == "classification":
            assert cand.classes is not None and cs.classes is not None
            if [_plain(c) for c in cs.classes] != [_plain(c) for c in cand.classes]:
                raise TrainingError(
                    "the champion predicts classes "
                    f"{[_plain(c) for c in cs.classes]}, the model "
                    f"{[_plain(c) for c in cand.classes]}: they cannot be compared")
            champ_metrics, _ = classification_metrics(y, cs)
        else:
            champ_metrics, _ = regression_metrics(y, cs)
        n_boot = spec.evaluation.bootstrap if bootstrap is None else bootstrap
        boot_info = Bootstrap(n_boot, spec.evaluation.seed, spec.evaluation.confidence,
                              "multinomial" if len(y) * n_boot <= MULTINOMIAL_MAX_DRAWS
                              else "poisson")
        names = tuple(n for n in spec.effective_metrics
                      if not math.isnan(champ_metrics.get(n, math.nan)))
        classes = cand.classes
        y_codes = _codes(y, classes) if classes is not None else y.astype(np.float64)
        coding = slicing.code_columns(test, slicing.slice_columns(
            spec.features.sensitive, spec.features.categorical))
        intervals, per_slice = paired_bootstrap_with_slices(
            spec.task, y_codes, _predictions(spec.task, cand, classes),
            _predictions(spec.task, cs, classes), names, coding.codes, n_boot=n_boot,
            seed=spec.evaluation.seed, confidence=spec.evaluation.confidence,
            n_classes=len(classes) if classes is not None else 0)
        for name in spec.effective_metrics:
            a, b = metrics.get(name, math.nan), champ_metrics.get(name, math.nan)
            iv = intervals.get(name)
            deltas[name] = Delta(_clean(a - b), iv.low if iv else None,
                                 iv.high if iv else None, iv.delta_samples if iv else 0)
        if coding.codes:
            gains = {k: None if d.delta is None else slicing.gain_of(k, d.delta)
                     for k, d in deltas.items()}
            slice_report = slicing.report(coding, per_slice, tuple(spec.effective_metrics),
                                          _point(spec.task, y, cand, cs), gains,
                                          spec.evaluation.confidence)
    else:
        notes.append("no champion: comparisons against a champion were skipped")
    eval_s = time.perf_counter() - t0

    confusion_matrix = per_class = None
    positive = None
    if spec.task == "classification":
        confusion_matrix, per_class = confusion(y, cand)
        assert cand.classes is not None
        if len(cand.classes) == 2:
            positive = cand.classes[-1]
    fair = fairness.slices(test, spec.features.sensitive, y, cand.pred, task=spec.task,
                           positive=positive)
    drift = read_drift(store, trained.run_key)
    judged = check_gates(spec, metrics, champ_metrics if champ is not None else None, fair,
                         drift)
    result = EvaluationResult(
        model=spec.name, run_key=trained.run_key, task=spec.task,
        metrics={k: _clean(v) for k, v in metrics.items()}, champion=champ,
        champion_metrics=({k: _clean(v) for k, v in champ_metrics.items()}
                          if champ_metrics is not None else None),
        deltas=deltas, gates=tuple(judged), confusion_matrix=confusion_matrix,
        per_class=per_class, fairness=fair, test_rows=len(test), train=trained,
        notes=tuple(notes), timings={"evaluate_s": round(eval_s, 4)},
        listed_metrics=tuple(spec.effective_metrics), bootstrap=boot_info,
        slices=slice_report)
    payload = result.to_record().to_json()
    location = store.write_run_file(trained.run_key, EVALUATION_FILE, payload)
    out_file = None
    if out is not None:
        out_path = Path(out)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_bytes(payload)
        out_file = str(out_path)
    total = time.perf_counter() - start
    return EvaluationResult(**{**result.__dict__, "evaluation_file": location,
                               "out_file": out_file,
                               "timings": {**result.timings, "total_s": round(total, 4)}})


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if hasattr(obj, "item") and callable(obj.item):
        return _jsonable(obj.item())
    if isinstance(obj, Path):
        return obj.as_posix()
    return obj


