"""The run records: run.json, evaluation.json and drift.json, written and read by one type each,
and the records written before gate status (schema 1) still read.

``tests/data/records_v1/`` holds the three files exactly as gitops-ml wrote them before this
schema change (the report scenario with a check gate, trained, drifted and evaluated by main at
80750ef; only the temporary folder in the paths was renamed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_ml.errors import ArtifactError, DataError
from gitops_ml.gates import Bounds
from gitops_ml.runs.records import (
    DRIFT_SCHEMA_VERSION,
    EVALUATION_SCHEMA_VERSION,
    DriftRecord,
    EvaluationRecord,
    RunRecord,
    run_gates,
)

V1 = Path(__file__).parent / "data" / "records_v1"


def _v1(name: str) -> bytes:
    return (V1 / f"{name}.json").read_bytes()


def test_schema_1_records_are_read() -> None:
    run = RunRecord.from_json(_v1("run"))
    ev = EvaluationRecord.from_json(_v1("evaluation"))
    dr = DriftRecord.from_json(_v1("drift"))
    assert run.model == ev.model == dr.model == "cancer" and run.run_key == ev.run_key
    assert run.commit == "e741a66b640e1fed7d72359e03977d3ac8c97aad"
    assert ev.schema_version == dr.schema_version == 1
    assert ev.champion is not None and ev.champion.version is None and ev.confidence == 0.95
    assert ev.deltas["roc_auc"].n_boot == 200
    assert [c.column for c in dr.columns][:2] == ["mean radius", "mean texture"]
    assert dr.checks is not None and dr.checks.passed and len(dr.checks.results) == 6
    assert dr.number_of_drifted_columns == 3 and dr.reference.rows == 400
    by = {g.gate: g for g in ev.gates}
    drop = by["roc_auc drop ≤ 0.002 vs champion"]
    assert drop.value == pytest.approx(0.0016581248115767888)  # schema 1 wrote the gain
    assert by["data_checks"].skipped and by["data_checks"].note == "evaluated by drift"
    assert {g.gate: g.threshold for g in dr.gates}["share_of_drifted_columns ≤ 0.2"] == \
        Bounds(max=0.2)


def test_schema_1_gates_merge_once_each() -> None:
    """evaluate skipped the check gates ("evaluated by drift"); drift judged them. Merged, each
    gate of the spec is there once, with drift's verdict."""
    gates = run_gates(EvaluationRecord.from_json(_v1("evaluation")),
                      DriftRecord.from_json(_v1("drift")))
    assert [(g.gate, g.status) for g in gates] == [
        ("roc_auc ≥ 0.95", "pass"), ("roc_auc drop ≤ 0.002 vs champion", "pass"),
        ("demographic_parity_difference ≤ 0.25", "pass"),
        ("share_of_drifted_columns ≤ 0.2", "fail"), ("data_checks", "pass"),
        ("new_categories", "pass")]


def test_records_round_trip_in_the_current_schema() -> None:
    for cls, name, version in ((EvaluationRecord, "evaluation", EVALUATION_SCHEMA_VERSION),
                               (DriftRecord, "drift", DRIFT_SCHEMA_VERSION)):
        old = cls.from_json(_v1(name))
        written = old.to_json()
        raw = json.loads(written)
        assert raw["schema_version"] == version
        again = cls.from_json(written)
        assert again.to_dict() == old.to_dict() and again.gates == old.gates
        assert all("status" in g and isinstance(g["threshold"], dict) for g in raw["gates"])
    run = RunRecord.from_json(_v1("run"))
    assert RunRecord.from_json(run.to_json()) == run


def test_drift_record_summary_is_derived() -> None:
    dr = DriftRecord.from_json(_v1("drift"))
    out = json.loads(dr.to_json())
    old = json.loads(_v1("drift"))
    for key in ("passed", "checks", "failed", "errors", "warnings", "results"):
        assert out["checks"][key] == old["checks"][key]
    # per check gate (a gate added since, such as empty_columns, is derived too)
    assert out["checks"]["gates"].items() >= old["checks"]["gates"].items()
    assert out["number_of_drifted_columns"] == old["number_of_drifted_columns"]
    assert out["columns"] == old["columns"]


def test_nan_is_written_as_null() -> None:
    ev = EvaluationRecord.from_json(_v1("evaluation"))
    ev = EvaluationRecord(**{**ev.__dict__, "metrics": {"roc_auc": float("nan")}})
    assert json.loads(ev.to_json())["metrics"] == {"roc_auc": None}


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(schema_version=9), "unsupported evaluation.json schema_version 9"),
    (lambda d: d.pop("schema_version"), "unsupported evaluation.json schema_version None"),
    (lambda d: d.pop("run_key"), "corrupt evaluation.json (KeyError"),
    (lambda d: d.update(gates={"a": 1}), "corrupt evaluation.json (ValueError: gates is not"),
    (lambda d: d["gates"][0].update(value="high"), "gate value is not a number"),
    (lambda d: d.update(metrics=[1]), "metrics is not an object"),
    (lambda d: d.update(gates_passed=True), "gates_passed is True, but its gates say"),
])
def test_bad_evaluation_records_name_the_file(mutate, message) -> None:
    raw = json.loads(_v1("evaluation"))
    mutate(raw)
    with pytest.raises(ArtifactError) as err:
        EvaluationRecord.from_json(json.dumps(raw).encode(), source="store/evaluation.json")
    assert str(err.value).startswith("store/evaluation.json: ") and message in str(err.value)


def test_bad_files_of_each_kind() -> None:
    with pytest.raises(DataError, match=r"^x.json: cannot read drift.json: Expecting value"):
        DriftRecord.from_json(b"not json", source="x.json", error=DataError)
    with pytest.raises(ArtifactError, match=r"run.json is not a JSON object"):
        RunRecord.from_json(b"[1, 2]")
    raw = json.loads(_v1("run"))
    raw["artifact"] = {}
    with pytest.raises(ArtifactError, match=r"corrupt run.json \(KeyError: 'sha256'\)"):
        RunRecord.from_json(json.dumps(raw))
    raw = json.loads(_v1("drift"))
    raw["checks"]["results"] = "many"
    with pytest.raises(ArtifactError, match=r"checks.results is not a list"):
        DriftRecord.from_json(json.dumps(raw))
