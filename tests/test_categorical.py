"""One spelling of a category (gitops_ml.data.categorical) for training, evaluation, drift and
the data checks: an integer-coded categorical column with a gap in one file reads as floats
(3.0) there and as integers (3) in the other, and must still give the same categories."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gitops_ml.data.categorical import category_label, category_labels
from gitops_ml.data.checks import run_checks
from gitops_ml.project.spec import load_spec_document
from gitops_ml.runs import artifacts

SPEC = """name: cars
task: classification
data:
  train: data/train.csv
  current: data/current.csv
target: label
features:
  numeric: [x]
  categorical: [cyl, mass]
estimator:
  class: sklearn.linear_model.LogisticRegression
gates:
  - {drift: share_of_drifted_columns, max: 0.3}
  - {check: new_categories}
  - {check: dtype_changes}
"""


def cars(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Generated data: cyl coded 3, 4, 5, 6, 8 and mass in 12 steps of 50, both categories."""
    rng = np.random.default_rng(seed)
    cyl = rng.choice([3, 4, 5, 6, 8], n)
    x = rng.normal(size=n).round(3)
    return pd.DataFrame({"cyl": cyl, "mass": rng.choice(np.arange(3000, 3600, 50), n),
                         "x": x, "label": ((cyl >= 6) ^ (x > 0.5)).astype(int)})


def with_gap(frame: pd.DataFrame, column: str, row: int = 7) -> pd.DataFrame:
    """The same data with one value missing: the CSV column then reads as floats."""
    out = frame.copy()
    out[column] = out[column].astype("float64")
    out.loc[row, column] = np.nan
    return out


@pytest.fixture
def project(make_repo) -> Path:
    df = cars()
    return make_repo({"gitops-ml.yaml": "models: models/*/model.yaml\n",
                      "models/cars/model.yaml": SPEC,
                      "data/train.csv": df.to_csv(index=False),
                      "data/current.csv": with_gap(df, "cyl").to_csv(index=False)})


def failed_checks(result: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for check in result["checks"]["results"]:
        if not check["passed"]:
            out.setdefault(check["name"], []).append(check["message"])
    return out


# --- the labels ---------------------------------------------------------------------------

def test_a_whole_number_has_one_label_whatever_its_dtype() -> None:
    as_ints = category_labels(pd.Series([3, 4, 8]))
    as_floats = category_labels(pd.Series([3.0, 4.0, 8.0, np.nan]))
    as_nullable = category_labels(pd.Series(pd.array([3, 4, 8, None], dtype="Int64")))
    as_objects = category_labels(pd.Series([np.int64(3), 4.0, "8", None], dtype=object))
    assert list(as_ints) == ["3", "4", "8"]
    for labels in (as_floats, as_nullable, as_objects):
        assert list(labels[:3]) == ["3", "4", "8"] and math.isnan(labels[3])
        assert labels.dtype == object


def test_other_values_keep_their_spelling_and_labels_map_to_themselves() -> None:
    mixed = pd.Series([2.5, 3.0, np.nan, 1e20])
    assert list(category_labels(mixed)[[0, 1, 3]]) == ["2.5", "3", "1e+20"]
    text = pd.Series(["3.0", "three", None, "3"])
    labels = category_labels(text)
    assert list(labels[[0, 1, 3]]) == ["3.0", "three", "3"] and math.isnan(labels[2])
    again = category_labels(labels)
    assert again.isna().tolist() == labels.isna().tolist()
    assert list(again.dropna()) == list(labels.dropna())
    assert list(category_labels(pd.Series([True, False]))) == ["True", "False"]
    assert category_label(np.float64(6.0)) == "6" and math.isnan(category_label(None))


# --- the data checks ----------------------------------------------------------------------

def test_checks_see_no_change_when_a_gap_turns_integers_into_floats(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(SPEC)
    spec = load_spec_document(path, "models/cars/model.yaml")[0]
    ref = cars()
    result = run_checks(spec, ref, with_gap(with_gap(ref, "cyl"), "mass", row=3))
    assert result.gate_passed("new_categories") and result.gate_passed("dtype_changes")
    # and a reference already in labels (as training hands it over) gives the same verdicts
    labelled = ref.assign(cyl=category_labels(ref["cyl"]), mass=category_labels(ref["mass"]))
    again = run_checks(spec, labelled, with_gap(ref, "cyl"))
    assert again.gate_passed("new_categories") and again.gate_passed("dtype_changes")


def test_contract_on_an_integer_coded_category_holds_in_training_and_drift(
        project: Path, gml) -> None:
    spec = project / "models/cars/model.yaml"
    spec.write_text(SPEC + "schema:\n  cyl: {dtype: int, allowed: [3, 4, 5, 6, 8]}\n")
    r = gml("train", "cars", "-o", "json", cwd=project)
    assert r.exit_code == 0, r.output
    r = gml("drift", "cars", "-o", "json", cwd=project)
    assert r.exit_code == 0, r.output
    assert "schema" not in failed_checks(r.json()["result"])


# --- through the CLI ----------------------------------------------------------------------

def test_identical_data_with_one_gap_is_no_drift_and_no_new_category(project: Path, gml) -> None:
    """The reference is the training data (read as integers), the current file the same rows
    with one value missing (read as floats)."""
    r = gml("drift", "cars", "-o", "json", cwd=project)
    assert r.exit_code == 0, r.output
    result = r.json()["result"]
    assert failed_checks(result) == {}
    cyl = next(c for c in result["columns"] if c["column"] == "cyl")
    assert cyl["drifted"] is False
    assert result["share_of_drifted_columns"] == 0


def test_only_genuinely_new_values_are_new_categories(project: Path, gml) -> None:
    cur = with_gap(cars(), "mass", row=5)
    cur.loc[10:12, "mass"] = [9000, 9050, 9100]  # three new values among 300 rows
    (project / "data/new.csv").write_text(cur.to_csv(index=False))
    for reference in (None, "data/train.csv"):  # the training data, or the file as it is
        args = ["--reference", reference] if reference else []
        r = gml("drift", "cars", *args, "--current", "data/new.csv", "-o", "json", cwd=project)
        result = r.json()["result"]
        assert failed_checks(result)["new_categories"] == [
            "column 'mass' has 3 value(s) unseen in the reference: '9000', '9050', '9100'"]
        assert "dtype_changes" not in failed_checks(result)
        assert r.exit_code == 5  # the new_categories gate fails


def test_the_model_sees_the_same_categories_in_training_evaluation_and_drift(
        project: Path, gml) -> None:
    """Trained on integers, evaluated on a test file with a gap, and prediction drift on the
    gap file: the categories the encoder learnt are the labels, and nothing drifts."""
    df = cars()
    (project / "data/test.csv").write_text(with_gap(df.iloc[200:].reset_index(drop=True),
                                                    "cyl", row=3).to_csv(index=False))
    spec = project / "models/cars/model.yaml"
    spec.write_text(SPEC.replace("  current: data/current.csv\n",
                                 "  test: data/test.csv\n  current: data/current.csv\n"))
    r = gml("train", "cars", "-o", "json", cwd=project)
    assert r.exit_code == 0, r.output
    sha = r.json()["result"]["artifact_sha256"]
    artifact = project / ".gitops-ml/store/blobs/sha256" / sha[:2] / sha[2:]
    model = artifacts.load(artifact)
    encoder = model.named_steps["preprocess"].named_transformers_["cat"].named_steps["encode"]
    assert list(encoder.categories_[0]) == ["3", "4", "5", "6", "8"]

    r = gml("evaluate", "cars", "-o", "json", cwd=project)
    assert r.exit_code == 0, r.output
    test = pd.read_csv(project / "data/test.csv")
    labelled = test.assign(cyl=category_labels(test["cyl"]),
                           mass=category_labels(test["mass"]))
    expected = float(np.mean(model.predict(labelled[["x", "cyl", "mass"]]) == test["label"]))
    assert r.json()["result"]["metrics"]["accuracy"] == pytest.approx(expected)

    r = gml("drift", "cars", "--reference", "data/train.csv", "--model-artifact",
            str(artifact), "-o", "json", cwd=project)
    assert r.exit_code == 0, r.output
    result = r.json()["result"]
    assert result["prediction"]["drifted"] is False and failed_checks(result) == {}
