"""Drift verdicts: Evidently's methods and choices, computed with numpy and scipy.

For each column this picks the statistical test exactly as Evidently 0.7's ``DataDriftPreset``
does by default (``evidently.legacy.calculations.stattests.registry._get_default_stattest``):

* values are cleaned first: ``±inf`` become null and nulls are dropped (on each side);
* a reference of at most 1000 (non-null) values: numeric columns with more than 5 distinct
  values (reference and current together) get the two-sample Kolmogorov–Smirnov test, numeric
  columns with 3–5 values and categorical columns with more than 2 values get chi-square, and
  columns with at most 2 values get the two-proportion Z-test; drift when the p-value is below
  the threshold (0.05; ``<=`` for KS, ``<`` for the others, as Evidently compares);
* a larger reference: numeric columns with more than 5 values get the Wasserstein distance
  divided by the reference's standard deviation (floored at 0.001, which is what happens to a
  constant column), everything else the Jensen–Shannon distance; drift when the score is at
  least the threshold (0.1).

The dataset drifted when the share of drifted columns is at least ``drift_share`` (0.5).

Each column is sorted (numeric) or counted (categorical) once; every score is then a few
vectorised passes over those arrays, and only one column is held at a time. pandas is used only
to take columns out of a DataFrame and to count categorical values (its hash tables).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gitops_ml.errors import ConfigError, DataCheckError
from gitops_ml.gates import GateResult
from gitops_ml.project.spec import DRIFT_METHOD_KINDS, drift_method_mismatch
from gitops_ml.runs.records import (
    ChecksRecord,
    ColumnDrift,
    ColumnVerdicts,
    DataRef,
    DriftRecord,
)

if TYPE_CHECKING:
    import pandas as pd

    from gitops_ml.project.spec import DriftSettings

NUMERICAL = "numerical"
CATEGORICAL = "categorical"
KINDS = (NUMERICAL, CATEGORICAL)
TEXT = "text"  # inferred only: Evidently tests text with a content model, gitops-ml reports it
TEXT_UNIQUE_SHARE = 0.5  # Evidently: a string column with more distinct values than this share
#                          of its non-null values is text
SMALL_REFERENCE_ROWS = 1000  # Evidently: reference <= 1000 rows -> statistical tests
FEW_VALUES = 5  # Evidently: a numeric column with <= 5 distinct values is tested as categories
BINARY_VALUES = 2
INTEGER_CARDINALITY_LIMIT = 10  # Evidently: int columns with <= 10 distinct values are categories
BINS_BY_VALUE_LIMIT = 20  # Evidently's get_binned_data: > 20 distinct -> Sturges bins
WASSERSTEIN_MIN_STD = 0.001
WASSERSTEIN_BLOCK = 1 << 16  # merged points per block when summing CDF gaps


@dataclass(frozen=True)
class Method:
    """A drift method under Evidently's name, with its default threshold and direction."""

    name: str
    display_name: str  # Evidently's ``stattest_name``
    default_threshold: float
    kinds: tuple[str, ...]
    p_value: bool  # True: drift when the p-value is below the threshold

    def drifted(self, score: float, threshold: float) -> bool:
        if self.name == "ks":
            return score <= threshold
        if self.p_value:
            return score < threshold
        return score >= threshold


# The kinds each method applies to are Evidently's own (``allowed_feature_types`` of its
# stattests): chi-square and Z are categorical tests, and Evidently refuses them on a numeric
# column, so gitops-ml refuses them too (at validate and at run time).
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("ks", "K-S p_value", 0.05, DRIFT_METHOD_KINDS["ks"], True),
    Method("chisquare", "chi-square p_value", 0.05, DRIFT_METHOD_KINDS["chisquare"], True),
    Method("z", "Z-test p_value", 0.05, DRIFT_METHOD_KINDS["z"], True),
    Method("wasserstein", "Wasserstein distance (normed)", 0.1,
           DRIFT_METHOD_KINDS["wasserstein"], False),
    Method("jensenshannon", "Jensen-Shannon distance", 0.1,
           DRIFT_METHOD_KINDS["jensenshannon"], False),
    Method("psi", "PSI", 0.1, DRIFT_METHOD_KINDS["psi"], False),
    Method("kl_div", "Kullback-Leibler divergence", 0.1, DRIFT_METHOD_KINDS["kl_div"], False),
    Method("hellinger", "Hellinger distance", 0.1, DRIFT_METHOD_KINDS["hellinger"], False),
)}


# --- results -------------------------------------------------------------------------------

@dataclass(frozen=True)
class DriftResult(ColumnVerdicts):
    """Column verdicts, the dataset verdict, and target and prediction drift."""

    reference: DataRef
    current: DataRef
    columns: tuple[ColumnDrift, ...]
    drift_share: float
    target: ColumnDrift | None = None
    prediction: ColumnDrift | None = None
    checks: Any = None  # datachecks.ChecksResult | None
    report_html: str | None = None
    sampled_rows: int | None = None
    model: str | None = None
    warnings: tuple[str, ...] = ()
    gates: tuple[GateResult, ...] = ()  # filled by the command that judges them

    @property
    def share_of_drifted_columns(self) -> float:
        tested = len(self.tested_columns)
        return self.number_of_drifted_columns / tested if tested else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.tested_columns) and self.share_of_drifted_columns >= self.drift_share

    def column(self, name: str) -> ColumnDrift:
        for col in self.columns:
            if col.column == name:
                return col
        raise KeyError(name)

    def to_record(self) -> DriftRecord:
        """What ``drift.json`` holds."""
        return DriftRecord(
            model=self.model, reference=self.reference, current=self.current,
            columns=self.columns, share_of_drifted_columns=self.share_of_drifted_columns,
            dataset_drift=self.dataset_drift, drift_share=self.drift_share, gates=self.gates,
            target=self.target, prediction=self.prediction,
            checks=(ChecksRecord(self.checks.checks, self.checks.reference_rows,
                                 self.checks.current_rows) if self.checks is not None else None),
            report_html=self.report_html, sampled_rows=self.sampled_rows,
            warnings=self.warnings)

    def to_dict(self) -> dict[str, Any]:
        """``drift.json``."""
        return self.to_record().to_dict()


# --- column preparation --------------------------------------------------------------------

@dataclass(frozen=True)
class _Counts:
    """Categorical view of a column pair: the union of values and counts on each side."""

    keys: np.ndarray  # object or float array of distinct non-null values
    ref: np.ndarray  # int64 counts aligned with keys
    cur: np.ndarray

    @property
    def n_ref(self) -> int:
        return int(self.ref.sum())

    @property
    def n_cur(self) -> int:
        return int(self.cur.sum())


def _float_view(values: Any, column: str, side: str) -> np.ndarray:
    """A column as float64 (a view when it already is), or a clear error for text."""
    import pandas as pd

    if isinstance(values, pd.Series):
        if not (pd.api.types.is_numeric_dtype(values.dtype)
                or pd.api.types.is_bool_dtype(values.dtype)):
            if values.isna().all():
                return np.empty(0)
            sample = values.dropna().iloc[0]
            raise DataCheckError(
                f"column '{column}' must be numeric, but the {side} data holds "
                f"{values.dtype} values (for example {sample!r})",
                hint="fix the data or declare the column categorical in the spec")
        arr: np.ndarray = values.to_numpy() if values.dtype == np.float64 else \
            values.to_numpy(dtype="float64", na_value=np.nan)
        return arr
    return np.asarray(values, dtype="float64")


def _numeric_pair(reference: Any, current: Any, column: str
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Finite values of both sides (nulls and ±inf dropped), each sorted, in ONE buffer:
    returns (buffer, reference view, current view). The buffer is the concatenation the
    Wasserstein merge needs, so no copy is made for it."""
    ref = _float_view(reference, column, "reference")
    mask = np.isfinite(ref)
    n_r = int(np.count_nonzero(mask))
    cur = _float_view(current, column, "current")
    cur_mask = np.isfinite(cur)
    buffer = np.empty(n_r + int(np.count_nonzero(cur_mask)))
    np.compress(mask, ref, out=buffer[:n_r])
    del mask, ref
    np.compress(cur_mask, cur, out=buffer[n_r:])
    del cur_mask, cur
    rs, cs = buffer[:n_r], buffer[n_r:]
    rs.sort()
    cs.sort()
    return buffer, rs, cs


def _distinct_sorted(sorted_values: np.ndarray) -> int:
    if sorted_values.size == 0:
        return 0
    return int(np.count_nonzero(sorted_values[1:] != sorted_values[:-1])) + 1


def _union_distinct(rs: np.ndarray, cs: np.ndarray, limit: int) -> int:
    """Distinct values of both sorted arrays together; exact up to ``limit`` (else > limit)."""
    nr = _distinct_sorted(rs)
    if nr > limit:
        return nr
    nc = _distinct_sorted(cs)
    if nc > limit:
        return nc
    return int(np.union1d(np.unique(rs), np.unique(cs)).size)


def _counts_from_sorted(rs: np.ndarray, cs: np.ndarray) -> _Counts:
    keys = np.union1d(np.unique(rs), np.unique(cs))
    return _Counts(keys, _bin_counts_exact(rs, keys), _bin_counts_exact(cs, keys))


def _bin_counts_exact(sorted_values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    left = np.searchsorted(sorted_values, keys, "left")
    right = np.searchsorted(sorted_values, keys, "right")
    return (right - left).astype(np.int64)


def _value_counts(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Distinct non-null values (excluding ±inf, as Evidently) and their counts."""
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values)
    counts = series.value_counts(dropna=True, sort=False)
    counts = counts[counts.to_numpy() > 0]
    keys = counts.index.to_numpy(dtype=object)
    n = counts.to_numpy(dtype=np.int64)
    if keys.size and counts.index.dtype.kind == "f":
        finite = np.isfinite(counts.index.to_numpy(dtype=np.float64))
        keys, n = keys[finite], n[finite]
    elif keys.size and counts.index.dtype.kind == "O":
        finite = np.fromiter((not (isinstance(k, float) and math.isinf(k)) for k in keys),
                             dtype=bool, count=keys.size)
        keys, n = keys[finite], n[finite]
    return keys, n


def _counts_categorical(ref: Any, cur: Any) -> _Counts:
    import pandas as pd

    rk, rn = _value_counts(ref)
    ck, cn = _value_counts(cur)
    index = pd.Index(rk, dtype=object)
    pos = index.get_indexer(pd.Index(ck, dtype=object))
    unseen = pos < 0
    keys = np.concatenate([rk, ck[unseen]])
    ref_counts = np.concatenate([rn, np.zeros(int(unseen.sum()), dtype=np.int64)])
    cur_counts = np.zeros(keys.size, dtype=np.int64)
    cur_counts[pos[~unseen]] = cn[~unseen]
    cur_counts[rk.size:] = cn[unseen]
    return _Counts(keys, ref_counts, cur_counts)


# --- the methods ---------------------------------------------------------------------------

def ks(rs: np.ndarray, cs: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov p-value (scipy's ``ks_2samp``, as Evidently)."""
    from scipy import stats

    return float(stats.ks_2samp(rs, cs).pvalue)


def wasserstein(rs: np.ndarray, cs: np.ndarray, merged: np.ndarray | None = None) -> float:
    """First Wasserstein distance between the samples, divided by the reference's standard
    deviation (at least 0.001). Both arrays must be sorted.

    This is scipy's ``wasserstein_distance`` computed from the merge of two sorted arrays: the
    empirical CDFs at each merged point are running counts (no binary searches), summed in
    blocks so that the working set stays a few MB beyond the merge itself. ``merged`` may be
    the buffer holding ``rs`` then ``cs`` (from :func:`_numeric_pair`), saving a copy."""
    norm = max(float(np.std(rs)), WASSERSTEIN_MIN_STD)
    n_r, n_c = rs.size, cs.size
    if merged is None:
        merged = np.concatenate([rs, cs])
    order = np.argsort(merged, kind="stable")  # two sorted runs: a linear merge
    total = 0.0
    ref_before = 0
    n_points = n_r + n_c - 1  # CDF gaps between consecutive merged values
    for start in range(0, n_points, WASSERSTEIN_BLOCK):
        stop = min(start + WASSERSTEIN_BLOCK, n_points)
        idx = order[start:stop + 1]
        deltas = np.diff(merged[idx])
        ref_count = np.cumsum(idx[:-1] < n_r, dtype=np.int64)
        ref_count += ref_before
        ref_before = int(ref_count[-1])
        cur_cdf = np.arange(start + 1, stop + 1, dtype=np.float64)
        cur_cdf -= ref_count
        cur_cdf /= n_c
        gap = ref_count / n_r
        gap -= cur_cdf
        np.abs(gap, out=gap)
        gap *= deltas
        total += float(np.sum(gap))
    return total / norm


def chisquare(counts: _Counts) -> float:
    """Chi-square goodness-of-fit p-value of current counts against the reference's
    proportions (Evidently's ``chisquare``, i.e. scipy's ``chisquare``); a value unseen in the
    reference gives an infinite statistic and p = 0."""
    from scipy.special import chdtrc

    f_exp = counts.ref * (counts.n_cur / counts.n_ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(np.sum((counts.cur - f_exp) ** 2 / f_exp))
    return float(chdtrc(counts.keys.size - 1, stat))


def _sorted_keys_order(keys: np.ndarray) -> np.ndarray:
    try:
        return np.array(sorted(range(keys.size), key=lambda i: keys[i]), dtype=np.int64)
    except TypeError:  # mixed types: Evidently would fail; order by text instead
        return np.array(sorted(range(keys.size), key=lambda i: str(keys[i])), dtype=np.int64)


def z(counts: _Counts) -> float:
    """Two-proportion Z-test p-value: the share of values other than the smallest one."""
    from scipy.special import ndtr  # scipy.stats.norm.cdf, without importing scipy.stats

    if counts.keys.size <= 1:
        return 1.0
    first = int(_sorted_keys_order(counts.keys)[0])
    n1, n2 = counts.n_ref, counts.n_cur
    p1 = float(n1 - counts.ref[first]) / n1
    p2 = float(n2 - counts.cur[first]) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - ndtr(np.abs(stat))))


def _sturges_counts(rs: np.ndarray, cs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts in Sturges bins over both samples (``np.histogram`` semantics, sorted input)."""
    lo = min(rs[0], cs[0])
    hi = max(rs[-1], cs[-1])
    # np.histogram_bin_edges(concat, "sturges") without building the concatenation: the bin
    # count depends only on the size and the range.
    n_bins = _sturges_bins(rs.size + cs.size, float(lo), float(hi))
    edges = np.histogram_bin_edges(np.array([lo, hi]), bins=n_bins, range=(lo, hi))
    return _hist_sorted(rs, edges), _hist_sorted(cs, edges)


def _sturges_bins(n: int, lo: float, hi: float) -> int:
    """The bin count ``np.histogram_bin_edges(x, 'sturges')`` picks for n values in [lo, hi]."""
    ptp = hi - lo
    if ptp == 0:
        return 1
    width = ptp / (np.log2(n) + 1.0)
    return int(np.ceil(ptp / width)) if width else 1


def _hist_sorted(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(values, edges)[0]`` for sorted values: half-open bins, the last closed."""
    cuts = np.concatenate([np.searchsorted(sorted_values, edges[:-1], "left"),
                           [np.searchsorted(sorted_values, edges[-1], "right")]])
    return np.diff(cuts).astype(np.int64)


def _binned(kind: str, rs: np.ndarray | None, cs: np.ndarray | None,
            counts: Callable[[], _Counts]) -> tuple[np.ndarray, np.ndarray]:
    """Evidently's ``get_binned_data`` without the zero filling: proportions per bin (numeric
    columns with more than 20 distinct reference values) or per value."""
    if kind == NUMERICAL and rs is not None and cs is not None \
            and _distinct_sorted(rs) > BINS_BY_VALUE_LIMIT:
        r, c = _sturges_counts(rs, cs)
        return r / rs.size, c / cs.size
    cnt = counts()
    return cnt.ref / cnt.n_ref, cnt.cur / cnt.n_cur


def _fill_zeros(p: np.ndarray) -> np.ndarray:
    p = p.astype(np.float64, copy=True)
    nonzero = p[p != 0]
    smallest = nonzero.min()
    p[p == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return p


def _rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Elementwise x·log(x/y) with 0·log(0/y) = 0 and x·log(x/0) = inf (scipy's rel_entr)."""
    out = np.zeros(np.broadcast(x, y).shape)
    pos = x > 0
    with np.errstate(divide="ignore"):
        out[pos] = x[pos] * np.log(x[pos] / y[pos])
    out[(x < 0) | (y < 0)] = np.inf
    return out


def jensenshannon(ref_p: np.ndarray, cur_p: np.ndarray) -> float:
    """Jensen–Shannon distance (natural log), as scipy.spatial.distance computes it."""
    p = ref_p / np.sum(ref_p)
    q = cur_p / np.sum(cur_p)
    m = (p + q) / 2.0
    js = np.sum(_rel_entr(p, m)) + np.sum(_rel_entr(q, m))
    return float(np.sqrt(js / 2.0))


def psi(ref_p: np.ndarray, cur_p: np.ndarray) -> float:
    """Population stability index over bins with Evidently's zero filling."""
    r, c = _fill_zeros(ref_p), _fill_zeros(cur_p)
    return float(np.sum((r - c) * np.log(r / c)))


def kl_div(ref_p: np.ndarray, cur_p: np.ndarray) -> float:
    """Kullback–Leibler divergence KL(reference ‖ current) with Evidently's zero filling."""
    r, c = _fill_zeros(ref_p), _fill_zeros(cur_p)
    r, c = r / r.sum(), c / c.sum()  # scipy.stats.entropy normalises
    return float(np.sum(_rel_entr(r, c)))


def hellinger(kind: str, rs: np.ndarray | None, cs: np.ndarray | None,
              counts: Callable[[], _Counts]) -> float:
    """Hellinger distance: over values (categorical) or Sturges bins of the distinct values
    with densities (numeric), as Evidently computes it."""
    if kind == CATEGORICAL or rs is None or cs is None:
        cnt = counts()
        bc = float(np.sum(np.sqrt((cnt.ref / cnt.n_ref) * (cnt.cur / cnt.n_cur))))
    else:
        keys = np.union1d(np.unique(rs), np.unique(cs))
        edges = np.histogram_bin_edges(keys, bins="sturges")
        widths = np.diff(edges)
        h1 = _hist_sorted(rs, edges) / rs.size / widths
        h2 = _hist_sorted(cs, edges) / cs.size / widths
        bin_width = (edges.max() - edges.min()) / (len(edges) - 1)
        bc = float(np.sum(np.sqrt(h1 * h2) * bin_width))
    return math.sqrt(1 - float(np.clip(bc, 0, 1)))


# --- choosing and running ------------------------------------------------------------------

def default_method(kind: str, reference_values: int, distinct_values: int) -> str:
    """Evidently's default drift method for a column (``_get_default_stattest``)."""
    if reference_values <= SMALL_REFERENCE_ROWS:
        if kind == NUMERICAL and distinct_values > FEW_VALUES:
            return "ks"
        return "chisquare" if distinct_values > BINARY_VALUES else "z"
    if kind == NUMERICAL and distinct_values > FEW_VALUES:
        return "wasserstein"
    return "jensenshannon"


def infer_kind(series: pd.Series) -> str | None:
    """Evidently 0.7's column type inference (``evidently.core.datasets.infer_column_type``)
    to the letter, for data without a spec: numerical, categorical, text, or None for what it
    leaves out (dates, lists, unknown). Its dtype names are case-sensitive, so pandas'
    nullable ``Int64``, ``Float64`` and ``boolean`` and the unsigned ``uint8`` are unknown to
    it and skipped here too; a string column with more distinct values than half its values is
    text. A test compares this with Evidently's own function."""
    name = series.dtype.name
    if name.startswith("float"):
        return NUMERICAL
    if name.startswith("int"):
        return CATEGORICAL if series.nunique() <= INTEGER_CARDINALITY_LIMIT else NUMERICAL
    if name in ("string", "str"):
        return _text_or_categorical(series)
    if name == "object":
        values = series.dropna()
        if values.empty:
            return None
        if isinstance(values.iloc[0], str) and isinstance(values.iloc[-1], str):
            return _text_or_categorical(series)
        return None
    if name in ("bool", "category"):
        return CATEGORICAL
    return None


def _text_or_categorical(series: pd.Series) -> str:
    return TEXT if series.nunique() > series.count() * TEXT_UNIQUE_SHARE else CATEGORICAL


def _untested(column: str, kind: str, n_ref: int, n_cur: int, note: str,
              drifted: bool) -> ColumnDrift:
    return ColumnDrift(column=column, kind=kind, method=None, stattest_name=None, score=None,
                       threshold=None, drifted=drifted, reference_values=n_ref,
                       current_values=n_cur, note=note)


def column_drift(column: str, reference: Any, current: Any, kind: str, *,
                 method: str | None = None, threshold: float | None = None) -> ColumnDrift:
    """The drift verdict for one column (pandas Series or arrays).

    ``method`` None picks Evidently's default for the column; ``threshold`` None takes the
    method's default. A column with no values on one side cannot be tested: it is reported
    drifted when the other side has values (the column emptied or appeared), not drifted
    when both are empty."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if method is not None:
        check_method(method, kind, column)
    rs = cs = merged = None
    counts_cache: list[_Counts] = []
    if kind == NUMERICAL:
        merged, rs, cs = _numeric_pair(reference, current, column)
        n_ref, n_cur = rs.size, cs.size

        def counts() -> _Counts:
            if not counts_cache:
                assert rs is not None and cs is not None
                counts_cache.append(_counts_from_sorted(rs, cs))
            return counts_cache[0]
    else:
        counts_cache.append(_counts_categorical(reference, current))

        def counts() -> _Counts:
            return counts_cache[0]

        n_ref, n_cur = counts().n_ref, counts().n_cur
    if n_ref == 0 or n_cur == 0:
        side = "reference and current" if n_ref == n_cur == 0 else (
            "reference" if n_ref == 0 else "current")
        # Evidently refuses such a column; here it is a failed data check (empty_columns)
        return _untested(column, kind, n_ref, n_cur,
                         f"no values in the {side} data (all null): not tested, see the "
                         "data checks", drifted=False)
    if method is None:
        if kind == NUMERICAL:
            assert rs is not None and cs is not None
            distinct = _union_distinct(rs, cs, FEW_VALUES)
        else:
            distinct = counts().keys.size
        method = default_method(kind, n_ref, distinct)
    spec = METHODS[method]
    limit = spec.default_threshold if threshold is None else float(threshold)
    score = _score(method, kind, rs, cs, counts, merged)
    if math.isnan(score):
        return ColumnDrift(column=column, kind=kind, method=method,
                           stattest_name=spec.display_name, score=None, threshold=limit,
                           drifted=False, reference_values=n_ref, current_values=n_cur,
                           note=f"{method} is undefined for these values: not tested")
    return ColumnDrift(column=column, kind=kind, method=method, stattest_name=spec.display_name,
                       score=score, threshold=limit, drifted=bool(spec.drifted(score, limit)),
                       reference_values=n_ref, current_values=n_cur)


def _score(method: str, kind: str, rs: np.ndarray | None, cs: np.ndarray | None,
           counts: Callable[[], _Counts], merged: np.ndarray | None = None) -> float:
    if method == "ks":
        assert rs is not None and cs is not None
        return ks(rs, cs)
    if method == "wasserstein":
        assert rs is not None and cs is not None
        return wasserstein(rs, cs, merged)
    if method == "chisquare":
        return chisquare(counts())
    if method == "z":
        return z(counts())
    if method == "hellinger":
        return hellinger(kind, rs, cs, counts)
    ref_p, cur_p = _binned(kind, rs, cs, counts)
    if method == "jensenshannon":
        return jensenshannon(ref_p, cur_p)
    if method == "psi":
        return psi(ref_p, cur_p)
    if method == "kl_div":
        return kl_div(ref_p, cur_p)
    raise ValueError(f"unknown drift method {method!r}")


def check_method(method: str, kind: str, column: str) -> None:
    """A method must exist and apply to the column's kind (a spec error otherwise)."""
    if method not in METHODS:
        from gitops_ml.project.typed_yaml import did_you_mean

        raise ConfigError(f"unknown drift method '{method}' for column '{column}'",
                          hint=did_you_mean(method, METHODS) or
                          "methods: " + ", ".join(METHODS))
    mismatch = drift_method_mismatch(method, kind, column)
    if mismatch is not None:
        raise ConfigError(mismatch[0], hint=mismatch[1])


def column_settings(settings: DriftSettings | None, column: str
                    ) -> tuple[str | None, float | None]:
    """The method and threshold the spec sets for a column (None: Evidently's default)."""
    if settings is None:
        return None, None
    method, threshold = settings.method, settings.threshold
    per = settings.columns.get(column)
    if per is not None:
        if per.method is not None:
            method = per.method
            threshold = per.threshold
        if per.threshold is not None:
            threshold = per.threshold
    return method, threshold


ColumnSource = Callable[[str], Any]


def detect_drift(reference: pd.DataFrame | ColumnSource, current: pd.DataFrame | ColumnSource,
                 *, columns: Sequence[str] | None = None,
                 kinds: Mapping[str, str] | None = None,
                 settings: DriftSettings | None = None,
                 target: str | None = None, target_kind: str | None = None,
                 reference_ref: DataRef | None = None, current_ref: DataRef | None = None,
                 ) -> DriftResult:
    """Drift of every column between two datasets.

    ``reference`` and ``current`` are DataFrames or callables returning one column (so large
    files can be read one column at a time). ``columns``/``kinds`` default to every column of
    the current data with Evidently's inference. ``target`` is reported as target drift and not
    counted in the share of drifted columns."""
    drift_share = settings.drift_share if settings is not None else 0.5
    ref_get = _getter(reference)
    cur_get = _getter(current)
    if columns is None:
        import pandas as pd

        if not isinstance(current, pd.DataFrame) or not isinstance(reference, pd.DataFrame):
            raise ValueError("columns are required when the data comes column by column")
        inferred = kinds or {c: k for c in current.columns if c != target
                             if (k := infer_kind(current[c])) is not None}
        columns = [c for c in current.columns if c in inferred and c != target]
        text_columns = [c for c in columns if inferred[c] == TEXT]
        ordered = [c for c in columns if inferred[c] == NUMERICAL] + \
                  [c for c in columns if inferred[c] == CATEGORICAL]
        columns, kinds = ordered, inferred
    else:
        text_columns = []
    if kinds is None:
        raise ValueError("kinds are required when columns are given")
    _require_columns(reference, current, [*columns, *([target] if target else [])])
    results = []
    for name in columns:
        method, threshold = column_settings(settings, name)
        results.append(column_drift(name, ref_get(name), cur_get(name), kinds[name],
                                    method=method, threshold=threshold))
    results += [_untested(name, TEXT, int(ref_get(name).count()), int(cur_get(name).count()),
                          "text column (Evidently tests text with a text-content model): "
                          "not tested", drifted=False) for name in text_columns]
    target_result = None
    if target is not None:
        t_kind = target_kind or kinds.get(target) or CATEGORICAL
        method, threshold = column_settings(settings, target)
        target_result = column_drift(target, ref_get(target), cur_get(target), t_kind,
                                     method=method, threshold=threshold)
    warnings = []
    ref_rows = reference_ref.rows if reference_ref else _rows(reference)
    cur_rows = current_ref.rows if current_ref else _rows(current)
    if ref_rows is not None and 0 < ref_rows < 30:
        warnings.append(f"the reference has only {ref_rows} rows: the tests have little power")
    return DriftResult(
        reference=reference_ref or DataRef(None, None, ref_rows or 0),
        current=current_ref or DataRef(None, None, cur_rows or 0),
        columns=tuple(results), drift_share=drift_share, target=target_result,
        warnings=tuple(warnings))


def _getter(data: Any) -> ColumnSource:
    if callable(data):
        return data  # type: ignore[no-any-return]
    return lambda name: data[name]


def _rows(data: Any) -> int | None:
    return len(data) if hasattr(data, "__len__") and not callable(data) else None


def _require_columns(reference: Any, current: Any, names: Iterable[str]) -> None:
    wanted = list(names)
    for side, data in (("reference", reference), ("current", current)):
        if callable(data):
            continue
        missing = [c for c in wanted if c not in data.columns]
        if missing:
            raise DataCheckError(
                f"the {side} data lacks column(s) {', '.join(missing)}",
                hint="every feature of the spec must be in both datasets")
    for side, data in (("reference", reference), ("current", current)):
        if not callable(data) and len(data) == 0:
            raise DataCheckError(f"the {side} data has no rows: nothing to compare",
                                 hint="check the data pointer")


def replace(result: DriftResult, **changes: Any) -> DriftResult:
    return dataclasses.replace(result, **changes)
