"""Where the model got worse: champion-versus-candidate deltas per slice, with paired
bootstrap intervals.

A slice is one value of one column (every sensitive attribute and every categorical feature;
missing values form the slice ``(missing)``). For each slice and each listed metric the
result holds both models' values on the slice's rows (scikit-learn's, exactly as the overall
metrics), their difference, and the percentile interval of that difference over the paired
resamples of ``paired_bootstrap`` (resample the test rows, score each slice on the drawn rows
of it; in ``evaluate`` the very resamples of the overall interval).

A slice is flagged *worse* when the interval of its gain (the delta, turned so that positive
is better, whichever way the metric points) lies entirely below zero: "better overall, worse
for group X" when the overall gain is positive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gitops_ml.evaluate.paired_bootstrap import Interval, Predictions, slice_bootstrap
from gitops_ml.project.spec import LOWER_IS_BETTER

if TYPE_CHECKING:
    import pandas as pd

MISSING = "(missing)"
MIN_ROWS = 10  # fewer rows: the values are shown, with no interval
MAX_VALUES = 100  # per column, the most frequent; the rest are counted in a note

PointMetrics = Callable[[np.ndarray], tuple[Mapping[str, float], Mapping[str, float]]]


def gain_of(metric: str, delta: float) -> float:
    """``delta`` (candidate - champion) turned so that positive is better."""
    return -delta if metric in LOWER_IS_BETTER else delta


def _num(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


@dataclass(frozen=True)
class SliceDelta:
    """One metric on one slice: both models' values, the delta and its interval."""

    column: str
    value: str
    rows: int
    metric: str
    candidate: float | None
    champion: float | None
    delta: float | None  # candidate - champion
    ci_low: float | None
    ci_high: float | None
    n_boot: int  # resamples where the slice's delta was defined

    @property
    def gain(self) -> float | None:
        """The delta turned so that positive is better."""
        return None if self.delta is None else gain_of(self.metric, self.delta)

    @property
    def drop(self) -> float | None:
        return None if self.gain is None else -self.gain

    @property
    def worse(self) -> bool:
        """The interval of the gain lies entirely below zero."""
        if self.ci_low is None or self.ci_high is None:
            return False
        if self.metric in LOWER_IS_BETTER:
            return self.ci_low > 0
        return self.ci_high < 0

    @property
    def better(self) -> bool:
        if self.ci_low is None or self.ci_high is None:
            return False
        if self.metric in LOWER_IS_BETTER:
            return self.ci_high < 0
        return self.ci_low > 0

    @property
    def label(self) -> str:
        return f"{self.column}={self.value}"

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "value": self.value, "rows": self.rows,
                "metric": self.metric, "candidate": self.candidate,
                "champion": self.champion, "delta": self.delta, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "n_boot": self.n_boot, "gain": self.gain,
                "worse": self.worse, "better": self.better}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SliceDelta:
        return cls(str(raw["column"]), str(raw["value"]), int(raw["rows"]),
                   str(raw["metric"]), raw.get("candidate"), raw.get("champion"),
                   raw.get("delta"), raw.get("ci_low"), raw.get("ci_high"),
                   int(raw.get("n_boot", 0)))


@dataclass(frozen=True)
class SliceReport:
    """Every slice's deltas, and the flags of those that got worse."""

    columns: tuple[str, ...]
    metrics: tuple[str, ...]
    confidence: float
    slices: tuple[SliceDelta, ...]
    overall_gain: Mapping[str, float | None]
    notes: tuple[str, ...] = ()

    @property
    def worse(self) -> tuple[SliceDelta, ...]:
        """Slices whose gain interval lies below zero, the largest drop first."""
        hits = [s for s in self.slices if s.worse]
        return tuple(sorted(hits, key=lambda s: (-(s.drop or 0.0), s.label, s.metric)))

    @property
    def flags(self) -> tuple[str, ...]:
        """"roc_auc: better overall, worse for sex=F (-0.031, CI -0.052 to -0.010)"."""
        out = []
        for s in self.worse:
            overall = self.overall_gain.get(s.metric)
            lead = "better overall, worse" if overall is not None and overall > 0 else "worse"
            assert s.delta is not None and s.ci_low is not None and s.ci_high is not None
            out.append(f"{s.metric}: {lead} for {s.label} ({s.delta:+.4g}, "
                       f"CI {s.ci_low:+.4g} to {s.ci_high:+.4g})")
        return tuple(out)

    def worst_drop(self, metric: str) -> SliceDelta | None:
        """The slice where ``metric`` fell most (point estimate), or None."""
        found = [s for s in self.slices if s.metric == metric and s.drop is not None]
        return max(found, key=lambda s: (s.drop, s.label)) if found else None

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "metrics": list(self.metrics),
                "confidence": self.confidence,
                "overall_gain": {k: _num(v) for k, v in self.overall_gain.items()},
                "slices": [s.to_dict() for s in self.slices],
                "flags": list(self.flags), "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SliceReport:
        return cls(tuple(raw.get("columns", ())), tuple(raw.get("metrics", ())),
                   float(raw.get("confidence", 0.95)),
                   tuple(SliceDelta.from_dict(s) for s in raw.get("slices", ())),
                   dict(raw.get("overall_gain", {})), tuple(raw.get("notes", ())))


def slice_columns(sensitive: Sequence[str], categorical: Sequence[str]) -> tuple[str, ...]:
    """Every sensitive attribute, then every categorical feature, each once."""
    return tuple(dict.fromkeys([*sensitive, *categorical]))


def _codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    names = [str(u) for u in uniques]
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(names), codes)
        names.append(MISSING)
    return codes, names


@dataclass(frozen=True)
class Coding:
    """Each column's slice code per row, the value of each code, and the codes shown (the
    most frequent ``max_values``)."""

    codes: dict[str, np.ndarray]
    values: dict[str, list[str]]
    shown: dict[str, list[int]]
    notes: tuple[str, ...]


def code_columns(frame: pd.DataFrame, columns: Sequence[str],
                 max_values: int = MAX_VALUES) -> Coding:
    notes: list[str] = []
    codes: dict[str, np.ndarray] = {}
    values: dict[str, list[str]] = {}
    shown: dict[str, list[int]] = {}
    for col in columns:
        coded, names = _codes(frame[col])
        counts = np.bincount(coded, minlength=len(names))
        order = sorted(range(len(names)), key=lambda v: (-counts[v], names[v]))
        if len(order) > max_values:
            notes.append(f"{col}: {len(order) - max_values} of {len(order)} values left out "
                         f"(the {max_values} most frequent are shown)")
            order = order[:max_values]
        codes[col], values[col], shown[col] = coded, names, order
    return Coding(codes, values, shown, tuple(notes))


def report(coding: Coding, intervals: Mapping[str, Mapping[int, Mapping[str, Interval]]],
           names: tuple[str, ...], point: PointMetrics,
           overall_gain: Mapping[str, float | None], confidence: float,
           min_rows: int = MIN_ROWS) -> SliceReport:
    """The report from the slices' intervals (``paired_bootstrap.slice_bootstrap``'s)."""
    out: list[SliceDelta] = []
    small = 0
    for col, codes in coding.codes.items():
        for v in coding.shown[col]:
            rows = np.flatnonzero(codes == v)
            a, b = point(rows)
            with_ci = len(rows) >= min_rows
            small += not with_ci
            for name in names:
                va, vb = _num(a.get(name)), _num(b.get(name))
                iv = intervals.get(col, {}).get(v, {}).get(name) if with_ci else None
                out.append(SliceDelta(
                    col, coding.values[col][v], len(rows), name, va, vb,
                    None if va is None or vb is None else va - vb,
                    iv.low if iv is not None else None, iv.high if iv is not None else None,
                    iv.delta_samples if iv is not None else 0))
    notes = list(coding.notes)
    if small:
        notes.append(f"{small} slice(s) with fewer than {min_rows} rows: no interval")
    return SliceReport(tuple(coding.codes), names, confidence, tuple(out), dict(overall_gain),
                       tuple(notes))


def slice_deltas(task: str, frame: pd.DataFrame, columns: Sequence[str], y: np.ndarray,
                 candidate: Predictions, champion: Predictions, names: tuple[str, ...],
                 point: PointMetrics, overall_gain: Mapping[str, float | None], *,
                 n_classes: int, n_boot: int, seed: int, confidence: float = 0.95,
                 min_rows: int = MIN_ROWS, max_values: int = MAX_VALUES) -> SliceReport:
    """Per-slice deltas of ``names`` for each of ``columns`` of ``frame`` (the test rows, in
    the order of ``y`` and the predictions). ``point(rows)`` gives both models' metrics on
    those rows; ``y`` and the predictions are encoded as ``paired_bootstrap`` takes them."""
    coding = code_columns(frame, columns, max_values)
    intervals: dict[str, dict[int, dict[str, Interval]]] = {}
    if n_boot > 0 and coding.codes:
        intervals = slice_bootstrap(task, y, candidate, champion, names, coding.codes,
                                    n_boot=n_boot, seed=seed, confidence=confidence,
                                    n_classes=n_classes)
    return report(coding, intervals, names, point, overall_gain, confidence, min_rows)
