"""Run, evaluation and drift records in the formats train, evaluate and drift write (run.json
schema 1, evaluation.json and drift.json schema 2), for report and comment tests and the report
benchmark. Tests change the dicts, then :func:`report_inputs` reads them with the records'
own readers."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from gitops_ml.report.view import ReportInputs
from gitops_ml.runs.records import DriftRecord, EvaluationRecord, RunRecord

RUN_KEY = "3f2a9c" + "0" * 58
HEAD_SHA = "c0ffee" + "1" * 34


def sample_run(model: str = "churn", features: list[str] | None = None) -> dict[str, Any]:
    features = features or ["tenure", "monthly_charges", "contract", "payment_method"]
    return {
        "schema_version": 1, "run_key": RUN_KEY, "model": model,
        "spec_file": f"models/{model}/model.yaml", "spec_hash": "ab" * 32,
        "canonical_spec_hash": "cd" * 32, "task": "classification", "target": "churned",
        "features": features,
        "data": {"train": {"uri": "data/churn-train.csv", "sha256": "11" * 32, "rows": 5634},
                 "test": {"uri": "data/churn-test.csv", "sha256": "22" * 32, "rows": 1409}},
        "git": {"commit": "9" * 40, "dirty": False, "branch": "feature/better-churn"},
        "versions": {"gitops_ml": "0.1.0", "python": "3.11", "sklearn": "1.9.1",
                     "numpy": "2.3.0", "pandas": "3.0.0", "skops": "0.16.0"},
        "timings": {"fit_s": 3.21, "total_s": 4.87},
        "artifact": {"sha256": "ef" * 32, "uri": "store/blobs/ef/efef", "size": 123456,
                     "format": "skops"},
        "estimator": "HistGradientBoostingClassifier", "split": None,
        "created_at": "2026-11-30T02:00:00Z",
    }


def sample_evaluation(model: str = "churn", *, champion: bool = True,
                      failing: bool = True, groups: list[str] | None = None) -> dict[str, Any]:
    metrics = {"roc_auc": 0.8912, "f1": 0.6134, "accuracy": 0.8021}
    champ = {"roc_auc": 0.9054, "f1": 0.6021, "accuracy": 0.8102}
    groups = groups or ["Female", "Male"]
    return {
        "schema_version": 2, "model": model, "run_key": RUN_KEY, "task": "classification",
        "metrics": metrics,
        "champion": {"version": "v1.2.0", "run_key": "77" * 32, "artifact_sha256": "88" * 32,
                     "metrics": champ} if champion else None,
        "deltas": {k: {"delta": metrics[k] - champ[k], "ci_low": metrics[k] - champ[k] - 0.01,
                       "ci_high": metrics[k] - champ[k] + 0.01, "n_boot": 1000}
                   for k in metrics} if champion else {},
        "bootstrap": {"n_boot": 1000, "seed": 0, "confidence": 0.95, "method": "multinomial"},
        "gates": [
            gate("roc_auc ≥ 0.8", "metric", "roc_auc", 0.8912, {"min": 0.8}, "pass"),
            gate("roc_auc drop ≤ 0.01 vs champion", "metric", "roc_auc",
                 0.0142 if failing else 0.0042, {"max_drop": 0.01},
                 "fail" if failing else "pass", "drop 0.0142 > max_drop 0.01"
                 if failing else ""),
            gate("demographic_parity_difference ≤ 0.1", "fairness",
                 "demographic_parity_difference", 0.043, {"max": 0.1}, "pass",
                 "worst attribute: gender"),
        ],
        "gates_passed": not failing,
        "confusion_matrix": {"labels": [0, 1], "matrix": [[900, 120], [160, 229]]},
        "per_class": [{"class": 0, "precision": 0.85, "recall": 0.88, "f1": 0.86,
                       "support": 1020}],
        "fairness": {"gender": {
            "groups": [{"group": g, "count": 700 - 10 * i, "selection_rate": 0.25 + 0.01 * i,
                        "tpr": 0.6, "fpr": 0.1, "accuracy": 0.8} for i, g in enumerate(groups)],
            "demographic_parity_difference": 0.043, "equalized_odds_difference": 0.031}},
        "test_rows": 1409, "reused_run": False, "artifact_sha256": "ef" * 32, "notes": [],
        "listed_metrics": list(metrics),
    }


def gate(label: str, kind: str, subject: str, value: float | None, bounds: dict[str, Any],
         status: str, note: str = "") -> dict[str, Any]:
    return {"gate": label, "kind": kind, "subject": subject, "value": value,
            "threshold": bounds, "status": status, "passed": status == "pass",
            "skipped": status == "skip", "note": note}


def set_gates(record: dict[str, Any], gates: list[dict[str, Any]]) -> None:
    """Replace a record's gates, with ``gates_passed`` as the writer derives it."""
    record["gates"] = gates
    record["gates_passed"] = not any(g["status"] == "fail" for g in gates)


def check(name: str, passed: bool = True, message: str = "", column: str | None = None,
          severity: str = "error") -> dict[str, Any]:
    return {"name": name, "column": column, "data": "current", "passed": passed,
            "severity": severity, "message": message, "examples": []}


def sample_drift(n_columns: int = 6, *, name_len: int = 0, seed: int = 0,
                 names: list[str] | None = None) -> dict[str, Any]:
    rng = random.Random(seed)
    names = names or [(f"feature_{i:05d}_" + "x" * name_len)[:max(name_len, 14)]
                      if name_len else f"col_{i}" for i in range(n_columns)]
    columns = []
    for i, name in enumerate(names):
        numeric = i % 3 != 2
        score = rng.random() * (0.25 if numeric else 0.2)
        columns.append({"column": name, "kind": "numerical" if numeric else "categorical",
                        "method": "wasserstein" if numeric else "jensenshannon",
                        "stattest_name": "Wasserstein distance (normed)" if numeric
                        else "Jensen-Shannon distance",
                        "score": score, "threshold": 0.1, "drifted": score >= 0.1,
                        "reference_values": 5000, "current_values": 5000, "note": None})
    drifted = sum(c["drifted"] for c in columns)
    return {
        "schema_version": 2, "model": "churn",
        "reference": {"uri": "data/churn-train.csv", "sha256": "11" * 32, "rows": 5000},
        "current": {"uri": "data/churn-live.csv", "sha256": "33" * 32, "rows": 5000},
        "columns": columns, "share_of_drifted_columns": drifted / len(columns),
        "number_of_drifted_columns": drifted, "dataset_drift": drifted / len(columns) >= 0.5,
        "drift_share": 0.5, "target": None, "prediction": None,
        "checks": {"passed": True, "checks": 1, "failed": 0, "errors": 0, "warnings": 0,
                   "gates": {}, "reference_rows": 5000, "current_rows": 5000,
                   "results": [check("missing_columns",
                                     message="the current data has every spec column")]},
        "report_html": None, "sampled_rows": None, "warnings": [],
        "gates": [gate("share_of_drifted_columns ≤ 0.3", "drift", "share_of_drifted_columns",
                       drifted / len(columns), {"max": 0.3},
                       "pass" if drifted / len(columns) <= 0.3 else "fail")],
        "gates_passed": drifted / len(columns) <= 0.3,
    }


def write_records(folder: Path, **drift_kwargs: Any) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rec in (("run", sample_run()), ("evaluation", sample_evaluation()),
                      ("drift", sample_drift(**drift_kwargs))):
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(json.dumps(rec))
    return paths


def report_inputs(model: str = "churn", run: dict[str, Any] | None = None,
                  evaluation: dict[str, Any] | None = None, drift: dict[str, Any] | None = None,
                  context: dict[str, Any] | None = None) -> ReportInputs:
    """The dicts read as the report reads the files."""
    return ReportInputs(model, RunRecord.from_json(run) if run is not None else None,
                        EvaluationRecord.from_json(evaluation) if evaluation is not None
                        else None,
                        DriftRecord.from_json(drift) if drift is not None else None,
                        dict(context or {}))
