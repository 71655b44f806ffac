"""Data checks: the spec's data contract and the automatic checks, each usable as a gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gitops_ml.data.checks import dtype_family, run_checks
from gitops_ml.project.spec import CHECK_GATES, ModelSpec, load_spec_document

SPEC = """name: churn
task: classification
data:
  train: data/train.csv
target: churned
features:
  numeric: [tenure, charges]
  categorical: [contract]
  sensitive: [gender]
estimator:
  class: sklearn.linear_model.LogisticRegression
"""


def make_spec(tmp_path: Path, extra: str = "") -> ModelSpec:
    path = tmp_path / "model.yaml"
    path.write_text(SPEC + extra)
    return load_spec_document(path, "models/churn/model.yaml")[0]


def frame(n: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(n),
        "tenure": rng.integers(0, 60, n),
        "charges": rng.uniform(20, 100, n),
        "contract": rng.choice(["monthly", "yearly"], n),
        "gender": rng.choice(["f", "m"], n),
        "churned": rng.integers(0, 2, n),
    })


def failed(result, name: str) -> list[str]:
    return [c.message for c in result.checks if c.name == name and not c.passed]


def test_clean_data_passes_every_gate(tmp_path) -> None:
    result = run_checks(make_spec(tmp_path), frame(), frame(seed=1))
    assert result.passed
    assert all(result.gate_passed(g) for g in CHECK_GATES)
    summary = result.summary()
    assert summary["failed"] == 0 and set(summary["gates"]) == set(CHECK_GATES)


def test_missing_columns(tmp_path) -> None:
    result = run_checks(make_spec(tmp_path), frame(), frame().drop(columns=["tenure", "gender"]))
    assert failed(result, "missing_columns") == [
        "the current data lacks column(s) tenure, gender"]
    assert not result.gate_passed("missing_columns") and not result.passed


def test_target_may_be_missing_from_current_but_not_from_training(tmp_path) -> None:
    spec = make_spec(tmp_path)
    assert run_checks(spec, frame(), frame().drop(columns=["churned"])).passed
    result = run_checks(spec, frame().drop(columns=["churned"]))
    assert failed(result, "missing_columns") == ["the reference data lacks column(s) churned"]


def test_empty_data(tmp_path) -> None:
    result = run_checks(make_spec(tmp_path), frame(), frame().iloc[:0])
    assert failed(result, "empty_data") == ["the current data has no rows"]
    assert not result.gate_passed("empty_data")
    assert run_checks(make_spec(tmp_path), frame().iloc[:0]).gate_passed("empty_data") is False


def test_dtype_changes(tmp_path) -> None:
    cur = frame().assign(tenure=lambda d: d["tenure"].astype(str),
                         charges=lambda d: d["charges"].round())  # float stays a number
    result = run_checks(make_spec(tmp_path), frame(), cur)
    assert failed(result, "dtype_changes") == [
        f"column 'tenure' changed from int64 (number) to {cur['tenure'].dtype} (string)"]
    assert not result.gate_passed("dtype_changes")


def test_int_to_float_is_not_a_dtype_change(tmp_path) -> None:
    cur = frame().assign(tenure=lambda d: d["tenure"].astype(float).where(d.index > 2))
    assert run_checks(make_spec(tmp_path), frame(), cur).gate_passed("dtype_changes")


def test_new_categories_are_a_warning_and_their_own_gate(tmp_path) -> None:
    cur = frame()
    cur.loc[:4, "contract"] = "weekly"
    cur.loc[5, "churned"] = 7
    result = run_checks(make_spec(tmp_path), frame(), cur)
    messages = failed(result, "new_categories")
    assert messages == ["column 'contract' has 1 value(s) unseen in the reference: 'weekly'",
                        "column 'churned' has 1 value(s) unseen in the reference: '7'"]
    assert not result.gate_passed("new_categories")
    assert result.passed  # a warning: data_checks looks at errors only


def test_contract_dtype_min_max_allowed_nulls_unique(tmp_path) -> None:
    spec = make_spec(tmp_path, """schema:
  id: {dtype: int, unique: true}
  tenure: {dtype: int, min: 0, max: 48}
  charges: {dtype: float, max_null_share: 0.1}
  contract: {dtype: string, allowed: [monthly, yearly]}
  gender: {dtype: category}
""")
    ref = frame()
    assert run_checks(spec, ref.assign(tenure=ref["tenure"].clip(0, 48))).gate_passed("schema")
    cur = frame(seed=3)
    cur.loc[0, "id"] = cur.loc[1, "id"]
    cur.loc[:9, "charges"] = np.nan
    cur.loc[10, "contract"] = "weekly"
    cur.loc[11, "tenure"] = -3
    result = run_checks(spec, ref.assign(tenure=ref["tenure"].clip(0, 48)), cur)
    messages = failed(result, "schema")
    assert "column 'id': 1 duplicate value(s), the contract says unique" in messages
    assert "column 'charges': null share 0.2 is above 0.1" in messages
    assert "column 'contract': 1 value(s) not allowed: 'weekly'" in messages
    assert "column 'tenure': 1 value(s) below min 0 (smallest -3)" in messages
    assert any(m.startswith("column 'tenure':") and "above max 48" in m for m in messages)
    assert not result.gate_passed("schema") and not result.passed
    assert result.gate_passed("missing_columns")


def test_contract_dtype_mismatch(tmp_path) -> None:
    spec = make_spec(tmp_path, "schema:\n  tenure: {dtype: string, min: 0}\n"
                               "  charges: {dtype: int}\n")
    result = run_checks(spec, frame())
    messages = failed(result, "schema")
    assert "column 'tenure': dtype is int64, the contract says string" in messages
    assert "column 'charges': dtype is float64, the contract says int" in messages


def test_contract_on_a_missing_column(tmp_path) -> None:
    spec = make_spec(tmp_path, "schema:\n  region: {allowed: [eu, us]}\n")
    result = run_checks(spec, frame())
    assert failed(result, "schema") == ["column 'region' is missing from the reference data"]


@pytest.mark.parametrize("values, family", [
    ([1, 2], "number"), ([1.5, None], "number"), ([True, False], "bool"),
    (["a", None], "string"), ([None, None], "empty"),
    (pd.Categorical(["a", "b"]), "category"),
    (pd.to_datetime(["2026-01-01", "2026-01-02"]), "datetime"), ([1, "a"], "other")])
def test_dtype_family(values, family) -> None:
    assert dtype_family(pd.Series(values)) == family


def test_unknown_gate_name_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown check gate"):
        run_checks(make_spec(tmp_path), frame()).for_gate("nonsense")


def test_to_dict_lists_every_check(tmp_path) -> None:
    result = run_checks(make_spec(tmp_path), frame(), frame().iloc[:0])
    doc = result.to_dict()
    assert doc["passed"] is False and doc["current_rows"] == 0
    assert {"name", "column", "data", "passed", "severity", "message", "examples"} == set(
        doc["results"][0])
