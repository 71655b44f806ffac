"""Bias slices: per-group figures for each sensitive attribute, and the differences between
groups that a spec can gate on. What is measured depends on the task, and says so:

- **binary classification** (``method: binary``), with ``positive`` the positive class:
  selection rate = share of the group predicted positive; TPR = recall of the positive class in
  the group; FPR = share of the group's negatives predicted positive; accuracy. Demographic
  parity difference = max - min selection rate over groups (ratio = min / max); equalized odds
  difference = max(TPR spread, FPR spread) — fairlearn's definitions.
- **multiclass classification** (``method: one-vs-rest``): each class in turn is the positive
  class against the rest, and each figure is the largest over the classes (the ratio the
  smallest); ``worst_class`` names the class it comes from. Groups show their accuracy and
  their selection rate of every class.
- **regression** (``method: group errors``): selection rates and parity do not apply (a spread
  of mean predictions is in the target's unit, not a rate). Each group gets its mean error
  (prediction − actual: its bias), MAE and RMSE, and the differences are the spreads of the mean
  error and of the MAE over groups (``mean_error_difference``, ``mae_difference``).

Groups where a rate is undefined (no positives for TPR) are left out of that spread.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitops_ml.project.spec import CLASSIFICATION_FAIRNESS, REGRESSION_FAIRNESS

if TYPE_CHECKING:
    import numpy as np

MISSING_GROUP = "(missing)"
BINARY = "binary"
ONE_VS_REST = "one-vs-rest"
GROUP_ERRORS = "group errors"

# The differences each task measures (the subjects of its fairness gates).
CLASSIFICATION_DIFFERENCES = CLASSIFICATION_FAIRNESS
REGRESSION_DIFFERENCES = REGRESSION_FAIRNESS

FIGURE_LABELS = {"selection_rate": "selection rate", "tpr": "TPR", "fpr": "FPR",
                 "accuracy": "accuracy", "mean_error": "mean error (prediction − actual)",
                 "mae": "MAE", "rmse": "RMSE"}
DIFFERENCE_LABELS = {"demographic_parity_difference": "demographic parity difference",
                     "demographic_parity_ratio": "demographic parity ratio",
                     "equalized_odds_difference": "equalized odds difference",
                     "mean_error_difference": "mean error difference",
                     "mae_difference": "MAE difference"}


METHOD_NOTES = {BINARY: "rates of the positive class",
                ONE_VS_REST: "each class against the rest; the worst class counts",
                GROUP_ERRORS: "errors per group, in the target's unit"}


def figure_label(name: str) -> str:
    """A group figure's name for people: ``selection_rate:setosa`` -> ``selection rate
    (setosa)``."""
    base, _, cls = name.partition(":")
    label = FIGURE_LABELS.get(base, base.replace("_", " "))
    return f"{label} ({cls})" if cls else label


@dataclass(frozen=True)
class GroupFigures:
    group: str
    count: int
    figures: dict[str, float | None] = field(default_factory=dict)

    def get(self, name: str) -> float | None:
        return self.figures.get(name)

    @property
    def selection_rate(self) -> float | None:
        return self.figures.get("selection_rate")

    @property
    def tpr(self) -> float | None:
        return self.figures.get("tpr")

    @property
    def fpr(self) -> float | None:
        return self.figures.get("fpr")

    @property
    def accuracy(self) -> float | None:
        return self.figures.get("accuracy")

    @property
    def rmse(self) -> float | None:
        return self.figures.get("rmse")

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "count": self.count, **self.figures}


@dataclass(frozen=True)
class AttributeFairness:
    attribute: str
    groups: tuple[GroupFigures, ...]
    differences: dict[str, float | None]
    method: str = BINARY
    columns: tuple[str, ...] = ()  # the group figures, in table order
    worst_class: dict[str, str] = field(default_factory=dict)  # one-vs-rest only

    @property
    def demographic_parity_difference(self) -> float | None:
        return self.differences.get("demographic_parity_difference")

    @property
    def demographic_parity_ratio(self) -> float | None:
        return self.differences.get("demographic_parity_ratio")

    @property
    def equalized_odds_difference(self) -> float | None:
        return self.differences.get("equalized_odds_difference")

    def to_dict(self) -> dict[str, Any]:
        # the differences also stay at the top level, where evaluation.json always had them
        return {"method": self.method, "columns": list(self.columns),
                "groups": [g.to_dict() for g in self.groups],
                "differences": dict(self.differences), "worst_class": dict(self.worst_class),
                **self.differences}

    def value(self, name: str) -> float | None:
        return self.differences.get(name)


def _f(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _spread(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return max(vals) - min(vals) if len(vals) >= 2 else (0.0 if vals else None)


def _ratio(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return min(vals) / max(vals) if max(vals) > 0 else 1.0


def _group_labels(column: Any) -> np.ndarray:
    import numpy as np

    values = np.asarray(column, dtype=object)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        out[i] = MISSING_GROUP if missing else str(v)
    return out


def _rates(t: np.ndarray, p: np.ndarray, positive: Any) -> tuple[float, float | None,
                                                                  float | None]:
    """Selection rate, TPR and FPR of one group with ``positive`` as the positive class."""

    pos_true = t == positive
    pos_pred = p == positive
    sel = float(pos_pred.mean())
    tpr = float(pos_pred[pos_true].mean()) if pos_true.any() else None
    fpr = float(pos_pred[~pos_true].mean()) if (~pos_true).any() else None
    return sel, tpr, fpr


def _class_differences(per_group: list[tuple[float, float | None, float | None]]
                       ) -> dict[str, float | None]:
    sels = [s for s, _, _ in per_group]
    spreads = [s for s in (_spread([t for _, t, _ in per_group]),
                           _spread([f for _, _, f in per_group])) if s is not None]
    return {"demographic_parity_difference": _spread(list(sels)),
            "demographic_parity_ratio": _ratio(list(sels)),
            "equalized_odds_difference": max(spreads) if spreads else None}


def slice_attribute(attribute: str, column: Any, y_true: Any, y_pred: Any, *, task: str,
                    positive: Any = None) -> AttributeFairness:
    """Per-group figures for one sensitive attribute (see the module docstring)."""
    import numpy as np

    groups = _group_labels(column)
    yt = np.asarray(y_true)
    yp = np.asarray(y_pred)
    names = sorted(set(groups.tolist()))
    masks = [(g, groups == g) for g in names]
    if task == "regression":
        return _regression(attribute, masks, yt.astype(float), yp.astype(float))
    if positive is not None:
        rows = []
        rates = []
        for g, mask in masks:
            t, p = yt[mask], yp[mask]
            sel, tpr, fpr = _rates(t, p, positive)
            rates.append((sel, tpr, fpr))
            rows.append(GroupFigures(g, int(mask.sum()), {
                "selection_rate": sel, "tpr": tpr, "fpr": fpr,
                "accuracy": float(np.mean(t == p))}))
        return AttributeFairness(attribute, tuple(rows), _class_differences(rates), BINARY,
                                 ("selection_rate", "tpr", "fpr", "accuracy"))
    return _one_vs_rest(attribute, masks, yt, yp)


def _one_vs_rest(attribute: str, masks: list[tuple[str, np.ndarray]], yt: np.ndarray,
                 yp: np.ndarray) -> AttributeFairness:
    import numpy as np

    classes = sorted(set(yt.tolist()) | set(yp.tolist()), key=str)
    figures: list[dict[str, float | None]] = [
        {"accuracy": float(np.mean(yt[m] == yp[m]))} for _, m in masks]
    differences: dict[str, float | None] = {}
    worst_class: dict[str, str] = {}
    for cls in classes:
        rates = [_rates(yt[m], yp[m], cls) for _, m in masks]
        for fig, (sel, _, _) in zip(figures, rates, strict=True):
            fig[f"selection_rate:{cls}"] = sel
        for name, value in _class_differences(rates).items():
            if value is None:
                continue
            best = differences.get(name)
            worse = value < best if name.endswith("_ratio") and best is not None else (
                best is None or value > best)
            if worse:
                differences[name] = value
                worst_class[name] = str(cls)
    rows = tuple(GroupFigures(g, int(m.sum()), fig)
                 for (g, m), fig in zip(masks, figures, strict=True))
    columns = ("accuracy", *(f"selection_rate:{c}" for c in classes))
    for name in CLASSIFICATION_DIFFERENCES:
        differences.setdefault(name, None)
    return AttributeFairness(attribute, rows, differences, ONE_VS_REST, columns, worst_class)


def _regression(attribute: str, masks: list[tuple[str, np.ndarray]], yt: np.ndarray,
                yp: np.ndarray) -> AttributeFairness:
    import numpy as np

    rows = []
    for g, m in masks:
        err = yp[m] - yt[m]
        rows.append(GroupFigures(g, int(m.sum()), {
            "mean_error": _f(float(err.mean())), "mae": _f(float(np.abs(err).mean())),
            "rmse": _f(float(np.sqrt(np.mean(err * err))))}))
    differences = {"mean_error_difference": _spread([r.get("mean_error") for r in rows]),
                   "mae_difference": _spread([r.get("mae") for r in rows])}
    return AttributeFairness(attribute, tuple(rows), differences, GROUP_ERRORS,
                             ("mean_error", "mae", "rmse"))


def slices(frame: Any, attributes: tuple[str, ...], y_true: Any, y_pred: Any, *, task: str,
           positive: Any = None) -> dict[str, AttributeFairness]:
    return {a: slice_attribute(a, frame[a], y_true, y_pred, task=task, positive=positive)
            for a in attributes}


def worst(results: dict[str, AttributeFairness], name: str) -> tuple[float | None, str | None]:
    """The worst value of a fairness figure over the attributes: the largest difference, or
    the smallest ratio. Returns (value, attribute)."""
    found = [(v, a) for a, r in results.items() if (v := r.value(name)) is not None]
    if not found:
        return None, None
    pick = min if name.endswith("_ratio") else max
    value, attr = pick(found, key=lambda x: x[0])
    return value, attr


@dataclass(frozen=True)
class FairnessTable:
    """An ``evaluation.json`` fairness record as people read it (report, card, terminal): the
    figures its task measures, named for what they are."""

    attribute: str
    method: str
    method_note: str
    columns: tuple[tuple[str, str], ...]  # (figure, label)
    differences: tuple[tuple[str, str, float | None, str | None], ...]  # name, label, v, class
    groups: tuple[Mapping[str, Any], ...]  # largest group first


def table(attribute: str, record: Mapping[str, Any]) -> FairnessTable:
    """Read one attribute's record; records written before ``method`` and ``columns`` existed
    read as they were written (selection rate, TPR, FPR and accuracy or RMSE)."""
    groups = tuple(sorted((g for g in record.get("groups") or [] if isinstance(g, Mapping)),
                          key=lambda g: (-(g.get("count") or 0), str(g.get("group")))))
    columns = [str(c) for c in record.get("columns") or []]
    if not columns:
        error = "rmse" if any("rmse" in g for g in groups) else "accuracy"
        columns = ["selection_rate", "tpr", "fpr", error]
    differences = record.get("differences")
    if not isinstance(differences, Mapping):
        differences = {k: record.get(k) for k in ("demographic_parity_difference",
                                                   "equalized_odds_difference")}
    worst_class = record.get("worst_class") or {}
    method = str(record.get("method") or "")
    return FairnessTable(
        attribute=attribute, method=method, method_note=METHOD_NOTES.get(method, ""),
        columns=tuple((c, figure_label(c)) for c in columns),
        differences=tuple((str(k), DIFFERENCE_LABELS.get(str(k), str(k).replace("_", " ")),
                           v, worst_class.get(k)) for k, v in differences.items()),
        groups=groups)
