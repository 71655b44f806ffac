"""gates: every verdict, the value a gate tests, and the merge of evaluate's and drift's gates."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from gitops_ml import gates
from gitops_ml.gates import Bounds, GateResult, judge_check, judge_drift, judge_metric, merge
from gitops_ml.project.spec import Gate

NEW, CHAMP = {"roc_auc": 0.80, "rmse": 11.0}, {"roc_auc": 0.85, "rmse": 10.0}


def test_absolute_metric_bounds() -> None:
    ok = judge_metric(Gate(metric="roc_auc", min=0.7), NEW, None)
    assert ok.status == "pass" and ok.value == 0.80 and ok.gate == "roc_auc ≥ 0.7"
    low = judge_metric(Gate(metric="rmse", max=10.5), NEW, None)
    assert low.status == "fail" and "11 > max 10.5" in low.note
    nan = judge_metric(Gate(metric="roc_auc", min=0.7), {"roc_auc": math.nan}, None)
    assert nan.status == "fail" and nan.value is None and "could not be computed" in nan.note


def test_max_drop_records_the_drop_it_tests() -> None:
    g = judge_metric(Gate(metric="roc_auc", max_drop=0.04), NEW, CHAMP)
    assert g.status == "fail" and g.value == pytest.approx(0.05)  # the drop, not the gain
    assert "drop 0.05 > max_drop 0.04" in g.note and "vs champion 0.85" in g.note
    assert judge_metric(Gate(metric="roc_auc", max_drop=0.06), NEW, CHAMP).passed
    rel = judge_metric(Gate(metric="roc_auc", max_drop=0.06, relative=True), NEW, CHAMP)
    assert rel.passed and rel.value == pytest.approx(0.05 / 0.85)
    assert rel.threshold == Bounds(max_drop=0.06, relative=True)
    # rmse went up by 1: a drop of 1 (10 % relative) for a lower-is-better metric
    rmse = judge_metric(Gate(metric="rmse", max_drop=0.5), NEW, CHAMP)
    assert rmse.failed and rmse.value == pytest.approx(1.0)
    assert judge_metric(Gate(metric="rmse", max_drop=0.11, relative=True), NEW, CHAMP).passed
    gain = judge_metric(Gate(metric="rmse", min_gain=0.0), NEW, CHAMP)
    assert gain.failed and gain.value == pytest.approx(-1.0)  # min_gain tests the gain


def test_relative_gates_without_a_champion() -> None:
    rel = judge_metric(Gate(metric="roc_auc", max_drop=0.01), NEW, None)
    assert rel.skipped and rel.value is None and rel.note == "no champion: comparison skipped"
    both = judge_metric(Gate(metric="roc_auc", min=0.7, max_drop=0.01), NEW, None)
    assert both.passed and both.value == 0.80 and "no champion" in both.note
    assert judge_metric(Gate(metric="f1", max_drop=0.01), {"f1": 0.5}, {"roc_auc": 1}).skipped


@dataclass(frozen=True)
class Flag:
    drifted: bool


@dataclass(frozen=True)
class Drift:
    share_of_drifted_columns: float = 0.25
    dataset_drift: bool = False
    target: Flag | None = None
    prediction: Flag | None = None


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    severity: str = "error"
    message: str = ""


def test_drift_gates() -> None:
    assert judge_drift(Gate(drift="share_of_drifted_columns", max=0.3), Drift()).passed
    flag = judge_drift(Gate(drift="dataset_drift", max=0), Drift(dataset_drift=True))
    assert flag.failed and flag.value == 1.0
    target = judge_drift(Gate(drift="target_drift", max=0), Drift())
    assert target.skipped and "target is not in both" in target.note
    assert judge_drift(Gate(drift="prediction_drift", max=0), Drift(prediction=Flag(False))).passed
    later = judge_drift(Gate(drift="share_of_drifted_columns", max=0.3), None)
    assert later.skipped and later.note == gates.LEFT_TO_DRIFT


def test_check_gates() -> None:
    checks = [Check("schema", False, message="tenure: 3 values < min 0"),
              Check("new_categories", False, "warning", "contract: weekly"),
              Check("empty_data", True)]
    every = judge_check(Gate(check_="data_checks"), checks)
    assert every.failed and every.value == 1 and "tenure" in every.note  # errors only
    assert every.threshold == Bounds() and every.gate == "data_checks"
    assert judge_check(Gate(check_="new_categories"), checks).failed
    assert judge_check(Gate(check_="schema", max=2), checks).passed
    assert judge_check(Gate(check_="empty_data"), checks).passed
    assert judge_check(Gate(check_="dtype_changes"), checks).passed  # none ran: none failed
    assert judge_check(Gate(check_="data_checks"), None).skipped


def test_merge_is_by_gate_identity() -> None:
    share = Gate(drift="share_of_drifted_columns", max=0.3)
    skipped = judge_drift(share, None)
    judged = judge_drift(share, Drift(share_of_drifted_columns=0.5))
    metric = judge_metric(Gate(metric="roc_auc", min=0.7), NEW, None)
    checks = judge_check(Gate(check_="data_checks"), None)
    merged = merge([metric, skipped, checks], [judged, judge_check(Gate(check_="data_checks"),
                                                                   [Check("schema", True)])])
    assert [g.gate for g in merged] == ["roc_auc ≥ 0.7", "share_of_drifted_columns ≤ 0.3",
                                        "data_checks"]
    assert merged[1] is judged and merged[2].passed
    # a skip never hides a verdict; different bounds are different gates
    assert merge([judged], [skipped]) == (judged,)
    other = judge_drift(Gate(drift="share_of_drifted_columns", max=0.5), None)
    assert len(merge([judged], [other])) == 2
    assert gates.outcome(merged) == "failed" and gates.outcome(()) == "none"
    assert gates.outcome([skipped]) == "passed"


def test_round_trip_and_schema_1() -> None:
    g = judge_metric(Gate(metric="roc_auc", max_drop=0.04), NEW, CHAMP)
    assert GateResult.from_dict(g.to_dict()) == g
    assert g.to_dict()["threshold"] == {"max_drop": 0.04}
    assert g.to_dict()["passed"] is False and g.to_dict()["skipped"] is False
    # evaluation.json schema 1: passed null when skipped; a max_drop gate's value was the gain
    old = GateResult.from_dict({"gate": "roc_auc drop ≤ 0.04 vs champion", "kind": "metric",
                                "subject": "roc_auc", "value": -0.05,
                                "threshold": {"max_drop": 0.04, "relative": False},
                                "passed": False, "skipped": False, "note": ""},
                               schema_version=1)
    assert old == GateResult(g.gate, "metric", "roc_auc", 0.05, Bounds(max_drop=0.04), "fail")
    skipped = GateResult.from_dict({"gate": "data_checks ", "kind": "check",
                                    "subject": "data_checks", "value": None, "threshold": {},
                                    "passed": None, "skipped": True,
                                    "note": "evaluated by drift"}, schema_version=1)
    # drift.json schema 1: the threshold is the gate described, or "pass"
    from_drift = GateResult.from_dict({"gate": "data_checks", "kind": "check",
                                       "subject": "data_checks", "value": 0.0,
                                       "threshold": "pass", "passed": True, "skipped": False,
                                       "note": None}, schema_version=1)
    assert skipped.skipped and skipped.identity == from_drift.identity
    share = GateResult.from_dict({"gate": "share_of_drifted_columns ≤ 0.3", "kind": "drift",
                                  "subject": "share_of_drifted_columns", "value": 0.5,
                                  "threshold": "share_of_drifted_columns ≤ 0.3",
                                  "passed": False, "skipped": False, "note": None},
                                 schema_version=1)
    assert share.threshold == Bounds(max=0.3) and share.failed


@pytest.mark.parametrize("raw, message", [
    ({"kind": "metric", "subject": "x", "status": "maybe"}, "status 'maybe'"),
    ({"kind": "metric", "subject": "x", "status": "pass", "value": "high"}, "not a number"),
    ({"kind": "metric", "subject": "x", "status": "pass", "threshold": 3}, "neither bounds"),
    ({"kind": "metric", "subject": "x", "status": "pass", "passed": False},
     "passed=False contradicts its status 'pass'"),
    ({"kind": "metric", "subject": "x", "status": "pass", "threshold": {"min": "a"}},
     "min is not a number"),
])
def test_bad_gates_are_refused(raw: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GateResult.from_dict(raw)
