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


def test_regression_slices_compare_mean_predictions_and_rmse() -> None:
    group = ["a", "a", "b", "b"]
    y_true = [1.0, 3.0, 2.0, 2.0]
    y_pred = [2.0, 2.0, 4.0, 2.0]
    result = slice_attribute("g", group, y_true, y_pred, task="regression")
    a, b = result.groups
    assert a.selection_rate == 2.0 and a.rmse == 1.0
    assert b.selection_rate == 3.0 and b.rmse == pytest.approx(math.sqrt(2.0))
    assert result.demographic_parity_difference == 1.0
    assert result.equalized_odds_difference is None
    assert "rmse" in a.to_dict() and "accuracy" not in a.to_dict()


def test_worst_over_attributes() -> None:
    frame = pd.DataFrame({"g": ["a", "a", "b", "b"], "h": ["u", "v", "u", "v"]})
    y_true = [1, 0, 1, 0]
    y_pred = [1, 1, 0, 0]
    res = slices(frame, ("g", "h"), y_true, y_pred, task="classification", positive=1)
    assert res["g"].demographic_parity_difference == 1.0
    assert res["h"].demographic_parity_difference == 0.0
    assert worst(res, "demographic_parity_difference") == (1.0, "g")
    assert worst(res, "demographic_parity_ratio") == (0.0, "g")
