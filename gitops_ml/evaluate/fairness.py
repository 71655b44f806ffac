"""Bias slices: per-group figures for each sensitive attribute, and the usual differences.

For a binary classifier, with ``positive`` the positive class:

- selection rate = share of the group predicted positive;
- TPR = recall of the positive class in the group, FPR = share of the group's negatives
  predicted positive;
- demographic parity difference = max - min selection rate over groups (ratio = min / max);
- equalized odds difference = max(TPR spread, FPR spread) — fairlearn's definition.

For regression, the selection rate is the group's mean prediction (so demographic parity
compares mean predictions) and each group gets its rmse; TPR/FPR do not apply. For multiclass
classification only counts and accuracy are given. Groups where a rate is undefined (no
positives for TPR) are left out of that spread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

MISSING_GROUP = "(missing)"


@dataclass(frozen=True)
class GroupFigures:
    group: str
    count: int
    selection_rate: float | None
    tpr: float | None
    fpr: float | None
    accuracy: float | None = None
    rmse: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"group": self.group, "count": self.count,
                               "selection_rate": self.selection_rate, "tpr": self.tpr,
                               "fpr": self.fpr}
        if self.rmse is not None:
            out["rmse"] = self.rmse
        else:
            out["accuracy"] = self.accuracy
        return out


@dataclass(frozen=True)
class AttributeFairness:
    attribute: str
    groups: tuple[GroupFigures, ...]
    demographic_parity_difference: float | None
    demographic_parity_ratio: float | None
    equalized_odds_difference: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"groups": [g.to_dict() for g in self.groups],
                "demographic_parity_difference": self.demographic_parity_difference,
                "demographic_parity_ratio": self.demographic_parity_ratio,
                "equalized_odds_difference": self.equalized_odds_difference}

    def value(self, name: str) -> float | None:
        value: float | None = getattr(self, name)
        return value


def _f(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _spread(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return max(vals) - min(vals) if len(vals) >= 2 else (0.0 if vals else None)


def _group_labels(column: Any) -> np.ndarray:
    values = np.asarray(column, dtype=object)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        out[i] = MISSING_GROUP if missing else str(v)
    return out


def slice_attribute(attribute: str, column: Any, y_true: Any, y_pred: Any, *, task: str,
                    positive: Any = None) -> AttributeFairness:
    """Per-group figures for one sensitive attribute (see the module docstring)."""
    groups = _group_labels(column)
    yt = np.asarray(y_true)
    yp = np.asarray(y_pred)
    binary = task == "classification" and positive is not None
    rows: list[GroupFigures] = []
    for g in sorted(set(groups.tolist())):
        mask = groups == g
        n = int(mask.sum())
        t, p = yt[mask], yp[mask]
        if task == "regression":
            pf = p.astype(float)
            err = pf - t.astype(float)
            rows.append(GroupFigures(g, n, _f(float(pf.mean())), None, None,
                                     rmse=_f(float(np.sqrt(np.mean(err * err))))))
            continue
        acc = float(np.mean(t == p))
        if binary:
            pos_true = t == positive
            pos_pred = p == positive
            sel = float(pos_pred.mean())
            tpr = float(pos_pred[pos_true].mean()) if pos_true.any() else None
            fpr = float(pos_pred[~pos_true].mean()) if (~pos_true).any() else None
            rows.append(GroupFigures(g, n, sel, tpr, fpr, accuracy=acc))
        else:
            rows.append(GroupFigures(g, n, None, None, None, accuracy=acc))
    sels = [r.selection_rate for r in rows]
    dpd = _spread(sels)
    present = [s for s in sels if s is not None]
    dpr = None
    if len(present) >= 1 and task == "classification" and binary:
        dpr = (min(present) / max(present)) if max(present) > 0 else 1.0
    eod = None
    if binary:
        tpr_spread = _spread([r.tpr for r in rows])
        fpr_spread = _spread([r.fpr for r in rows])
        spreads = [s for s in (tpr_spread, fpr_spread) if s is not None]
        eod = max(spreads) if spreads else None
    if task == "classification" and not binary:
        dpd = None
    return AttributeFairness(attribute, tuple(rows), dpd, dpr, eod)


def slices(frame: Any, attributes: tuple[str, ...], y_true: Any, y_pred: Any, *, task: str,
           positive: Any = None) -> dict[str, AttributeFairness]:
    return {a: slice_attribute(a, frame[a], y_true, y_pred, task=task, positive=positive)
            for a in attributes}


def worst(results: dict[str, AttributeFairness], name: str) -> tuple[float | None, str | None]:
    """The worst value of a fairness figure over the attributes: the largest difference, or
    the smallest ratio. Returns (value, attribute)."""
    found = [(r.value(name), a) for a, r in results.items() if r.value(name) is not None]
    if not found:
        return None, None
    pick = min if name.endswith("_ratio") else max
    value, attr = pick(found, key=lambda x: x[0])  # type: ignore[arg-type,return-value]
    return value, attr
