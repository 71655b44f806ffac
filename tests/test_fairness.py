"""Bias slices against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gitops_ml.evaluate.fairness import MISSING_GROUP, slice_attribute, slices, worst


def test_binary_slices_match_hand_computed_values() -> None:
    # group a: true 1 1 0 0, pred 1 0 1 0 -> selection 2/4, TPR 1/2, FPR 1/2, accuracy 2/4
    # group b: true 1 1 0 0 0, pred 1 1 1 0 0 -> selection 3/5, TPR 1, FPR 1/3, accuracy 4/5
    group = ["a"] * 4 + ["b"] * 5
    y_true = [1, 1, 0, 0, 1, 1, 0, 0, 0]
    y_pred = [1, 0, 1, 0, 1, 1, 1, 0, 0]
    result = slice_attribute("g", group, y_true, y_pred, task="classification", positive=1)
    a, b = result.groups
    assert (a.group, a.count, a.selection_rate, a.tpr, a.fpr, a.accuracy) == \
        ("a", 4, 0.5, 0.5, 0.5, 0.5)
    assert (b.group, b.count) == ("b", 5)
    assert b.selection_rate == pytest.approx(0.6) and b.tpr == 1.0
    assert b.fpr == pytest.approx(1 / 3) and b.accuracy == pytest.approx(0.8)
    assert result.demographic_parity_difference == pytest.approx(0.1)
    assert result.demographic_parity_ratio == pytest.approx(0.5 / 0.6)
    # equalized odds: max(TPR spread 0.5, FPR spread 1/6)
    assert result.equalized_odds_difference == pytest.approx(0.5)


def test_string_labels_missing_groups_and_undefined_rates() -> None:
    group = pd.Series(["x", "x", None, None])
    y_true = np.array(["no", "no", "yes", "no"])
    y_pred = np.array(["yes", "no", "yes", "yes"])
    result = slice_attribute("g", group, y_true, y_pred, task="classification",
                             positive="yes")
    missing, x = result.groups
    assert missing.group == MISSING_GROUP and missing.tpr == 1.0 and missing.fpr == 1.0
    assert x.tpr is None  # no positives in group x: left out of the TPR spread
    assert x.fpr == 0.5 and x.selection_rate == 0.5
    assert result.equalized_odds_difference == pytest.approx(0.5)


def test_regression_slices_are_group_errors_not_a_parity_of_predictions() -> None:
    """A "demographic parity difference 11.08" on a regression was a spread of mean
    predictions in the target's unit; regression slices now measure each group's errors."""
    group = ["a", "a", "b", "b"]
    y_true = [1.0, 3.0, 2.0, 2.0]
    y_pred = [2.0, 2.0, 4.0, 2.0]
    result = slice_attribute("g", group, y_true, y_pred, task="regression")
    a, b = result.groups
    assert (a.get("mean_error"), a.get("mae"), a.rmse) == (0.0, 1.0, 1.0)
    assert (b.get("mean_error"), b.get("mae")) == (1.0, 1.0)
    assert b.rmse == pytest.approx(math.sqrt(2.0))
    assert result.method == "group errors"
    assert result.differences == {"mean_error_difference": 1.0, "mae_difference": 0.0}
    assert result.demographic_parity_difference is None
    assert result.equalized_odds_difference is None
    assert "selection_rate" not in a.to_dict() and "accuracy" not in a.to_dict()
    assert result.columns == ("mean_error", "mae", "rmse")


def test_multiclass_parity_is_one_vs_rest_worst_class() -> None:
    """A multiclass demographic-parity gate used to be skipped (no figure) while the gates
    passed; one-vs-rest gives it a value."""
    group = ["a"] * 4 + ["b"] * 4
    y_true = ["x", "y", "z", "x", "x", "y", "z", "z"]
    y_pred = ["x", "x", "x", "x", "y", "y", "z", "z"]  # a: all x; b: half y, half z
    result = slice_attribute("g", group, y_true, y_pred, task="classification")
    assert result.method == "one-vs-rest"
    a, b = result.groups
    assert a.get("selection_rate:x") == 1.0 and b.get("selection_rate:x") == 0.0
    assert a.get("selection_rate:y") == 0.0 and b.get("selection_rate:y") == 0.5
    # the worst class for parity is x: 1.0 - 0.0
    assert result.demographic_parity_difference == 1.0
    assert result.worst_class["demographic_parity_difference"] == "x"
    assert result.demographic_parity_ratio == 0.0
    # one-vs-rest for class x: TPR a = 2/2, b = 0/1 -> spread 1.0
    assert result.equalized_odds_difference == 1.0
    assert a.accuracy == 0.5 and b.accuracy == 0.75
    assert result.columns == ("accuracy", "selection_rate:x", "selection_rate:y",
                              "selection_rate:z")
    record = result.to_dict()
    assert record["demographic_parity_difference"] == 1.0 and record["method"] == "one-vs-rest"


def test_worst_over_attributes() -> None:
    frame = pd.DataFrame({"g": ["a", "a", "b", "b"], "h": ["u", "v", "u", "v"]})
    y_true = [1, 0, 1, 0]
    y_pred = [1, 1, 0, 0]
    res = slices(frame, ("g", "h"), y_true, y_pred, task="classification", positive=1)
    assert res["g"].demographic_parity_difference == 1.0
    assert res["h"].demographic_parity_difference == 0.0
    assert worst(res, "demographic_parity_difference") == (1.0, "g")
    assert worst(res, "demographic_parity_ratio") == (0.0, "g")
