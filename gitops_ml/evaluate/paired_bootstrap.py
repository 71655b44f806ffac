"""Paired bootstrap of metric differences, vectorised over resamples.

A resample is represented by its count vector ``w`` (how often each test row was drawn; the
counts sum to about n). Every metric we report can be written from ``w`` without a Python
loop over resamples:

- label metrics (accuracy, precision, recall, f1, balanced accuracy) from the resampled
  confusion matrix ``W @ onehot(true * K + pred)`` (both models in one matrix product);
- mean losses (log loss, brier, mae, mse, rmse, mape, r2) from ``W @ per_row_loss / n``;
- roc_auc as the weighted Mann-Whitney statistic: one cumulative sum of the negatives'
  weights in score order, read at each positive (ties count half); the candidate's rows are
  laid out once so that this needs no gather; average precision from cumulative sums in
  descending score order, ties grouped;
- medae from the weighted median (cumulative counts over rows sorted by error).

Two resampling schemes share that code. The classic (multinomial) bootstrap draws n rows
with replacement: ``w`` comes from a matrix of random row indices, counted with one
``bincount``. The Poisson bootstrap draws each row Poisson(1) times, independently (Hanley &
MacGibbon 2006; Chamandy et al. 2012, "Estimating uncertainty for massive data streams"): ``w``
is a table lookup on random 16-bit words, several times cheaper than index-and-count, and its
intervals agree with the multinomial ones for all but tiny n. ``auto`` uses the multinomial
scheme up to ``MULTINOMIAL_MAX_DRAWS`` row draws in all (20M: e.g. 1,000 resamples of 20k
rows) and the Poisson one beyond. Metrics are normalised by each resample's own row count.

Resamples are drawn in chunks so memory stays bounded (about ``CHUNK_ELEMENTS`` counts per
chunk, one chunk per core at a time), with one generator per resample spawned from the seed:
the same seed gives the same intervals whatever the chunking and the thread.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

CHUNK_ELEMENTS = 1_000_000
MULTINOMIAL_MAX_DRAWS = 20_000_000


def _poisson_table() -> np.ndarray:
    """uint16 -> a Poisson(1) count: P(k) quantised to multiples of 1/65536."""
    pmf = [math.exp(-1.0) / math.factorial(k) for k in range(12)]
    edges = np.round(np.cumsum(pmf) * 65536).astype(np.int64)
    return np.searchsorted(edges, np.arange(65536), side="right").astype(np.uint8)


_POISSON_TABLE = _poisson_table()
EPS = float(np.finfo(np.float64).eps)
LOG_EPS = 1e-15


@dataclass(frozen=True)
class Predictions:
    """One model's predictions on the test rows, encoded for the bootstrap.

    Classification: ``labels`` are class codes 0..K-1 (``y`` codes may include K for a class
    the model never saw), ``proba`` is n x K or None. Regression: ``values`` are predictions.
    """

    labels: np.ndarray | None = None
    proba: np.ndarray | None = None
    values: np.ndarray | None = None


def _group_ends(score_sorted: np.ndarray) -> np.ndarray | None:
    """Inclusive end index of each group of tied scores (rows sorted); None without ties."""
    s = score_sorted
    if len(s) < 2 or not np.any(s[1:] == s[:-1]):
        return None
    return np.flatnonzero(np.r_[s[1:] != s[:-1], True])


class _AUC:
    """Weighted AUC of one binary score, per resample, from one cumulative sum over the
    negatives.

    With the negatives sorted by score, the weight of negatives strictly below a positive is
    the cumulative negative weight at ``k_lt - 1`` (``k_lt`` = negatives scoring lower), and
    ties add half of those up to ``k_le``. ``layout=True`` says the rows already are
    [negatives by ascending score | positives by ascending score], so no gather is needed.
    """

    def __init__(self, score: np.ndarray, positive: np.ndarray, layout: bool = False) -> None:
        positive = positive.astype(bool)
        neg_idx = np.flatnonzero(~positive)
        pos_idx = np.flatnonzero(positive)
        self.neg_order = neg_idx[np.argsort(score[neg_idx], kind="stable")]
        self.pos_order = pos_idx[np.argsort(score[pos_idx], kind="stable")]
        self.n_neg = len(neg_idx)
        self.layout = layout
        neg_scores = score[self.neg_order]
        pos_scores = score[self.pos_order]
        k_lt = np.searchsorted(neg_scores, pos_scores, side="left")
        k_le = np.searchsorted(neg_scores, pos_scores, side="right")
        self.lt = (np.maximum(k_lt - 1, 0), k_lt > 0)
        self.le = (np.maximum(k_le - 1, 0), k_le > 0) if np.any(k_le != k_lt) else None

    def _columns(self, W: np.ndarray, order: np.ndarray, start: int, stop: int) -> np.ndarray:
        if self.layout:
            return W[:, start:stop]
        taken: np.ndarray = np.take(W, order, axis=1)
        return taken

    def __call__(self, W: np.ndarray, total: np.ndarray,
                 W8: np.ndarray | None = None) -> np.ndarray:
        """``W8``: the same counts as uint8 when they all fit (gathers move a quarter of the
        bytes, and an integer cumulative sum vectorises: ~5x faster than a float one)."""
        n = W.shape[1]
        if W8 is not None:
            Cn = np.cumsum(self._columns(W8, self.neg_order, 0, self.n_neg), axis=1,
                           dtype=np.int64 if n >= 2**31 else np.int32)
            Wq = W[:, self.n_neg:] if self.layout else \
                self._columns(W8, self.pos_order, self.n_neg, n).astype(W.dtype)
        else:
            Cn = np.cumsum(self._columns(W, self.neg_order, 0, self.n_neg), axis=1)
            Wq = self._columns(W, self.pos_order, self.n_neg, n)
        idx, some = self.lt
        below = np.take(Cn, idx, axis=1)
        below *= some
        if self.le is not None:  # ties count half: (below + up to and including) / 2
            idx_le, some_le = self.le
            upto = np.take(Cn, idx_le, axis=1)
            upto *= some_le
            below += upto
        # integers, exact in float64; einsum on one dtype is ~5x faster than a casting one
        num = np.einsum("ij,ij->i", Wq.astype(np.float64), below.astype(np.float64))
        if self.le is not None:
            num *= 0.5
        neg_total = (Cn[:, -1].astype(np.float64) if self.n_neg else
                     np.zeros(len(W), dtype=np.float64))
        den = (total - neg_total) * neg_total
        with np.errstate(invalid="ignore", divide="ignore"):
            result: np.ndarray = num / den
        return result


class _Ranking:
    """Weighted average precision for one binary score.

    ``order`` sorts the rows by ascending score; it is None when the rows (and so the weight
    matrices) are already in that order, which saves a gather per resample chunk.
    """

    def __init__(self, score: np.ndarray, positive: np.ndarray,
                 presorted: bool = False) -> None:
        self.order = None if presorted else np.argsort(score, kind="stable")
        s = score if self.order is None else score[self.order]
        pos = positive if self.order is None else positive[self.order]
        self.pos = pos.astype(np.float32)
        self.ties = _group_ends(s)
        self.n_pos = float(pos.sum())

    def _sorted(self, W: np.ndarray) -> np.ndarray:
        if self.order is None:
            return W
        # Counts are small integers: gather them as bytes (a row of 200k rows then fits in
        # the CPU cache), then widen.
        if W.shape[1] and float(W.max()) < 256:
            out: np.ndarray = np.take(W.astype(np.uint8), self.order, axis=1).astype(W.dtype)
            return out
        taken: np.ndarray = np.take(W, self.order, axis=1)
        return taken

    def average_precision(self, W: np.ndarray) -> np.ndarray:
        # Walk the threshold down from the highest score: rows in descending order.
        Wp = self._sorted(W)[:, ::-1]
        posW = Wp * self.pos[::-1]
        tp = np.cumsum(posW, axis=1, dtype=np.float64)
        seen = np.cumsum(Wp, axis=1, dtype=np.float64)
        if self.ties is not None:
            n = Wp.shape[1]
            # group ends in descending order: where each ascending group starts
            starts_asc = np.r_[0, self.ties[:-1] + 1]
            ends_desc = (n - 1 - starts_asc)[::-1]
            tp_g = tp[:, ends_desc]
            seen_g = seen[:, ends_desc]
            pos_g = np.diff(tp_g, axis=1, prepend=0.0)
        else:
            tp_g, seen_g, pos_g = tp, seen, posW.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(seen_g > 0, tp_g / np.maximum(seen_g, 1e-300), 0.0)
            result: np.ndarray = (np.einsum("ij,ij->i", precision, pos_g, dtype=np.float64)
                                  / posW.sum(axis=1, dtype=np.float64))
        return result


def _wmean(W: np.ndarray, v: np.ndarray, n: float | np.ndarray) -> np.ndarray:
    out: np.ndarray = (W @ v.astype(W.dtype, copy=False)).astype(np.float64) / n
    return out


def _take(p: Predictions, order: np.ndarray) -> Predictions:
    return Predictions(labels=None if p.labels is None else p.labels[order],
                       proba=None if p.proba is None else p.proba[order],
                       values=None if p.values is None else p.values[order])


class _ModelStats:
    """Per-row quantities of one model; ``metric(name, W)`` gives one value per resample."""

    def __init__(self, task: str, y: np.ndarray, preds: Predictions, n_classes: int,
                 names: tuple[str, ...], layout: bool = False) -> None:
        self.task = task
        self.layout = layout
        self._auc: dict[int, _AUC] = {}
        self.n = len(y)
        self.k = n_classes
        self.names = names
        self.y = y
        self._ranking: dict[int, _Ranking] = {}
        if task == "classification":
            assert preds.labels is not None
            kk = n_classes + 1  # room for a test class the model never saw
            self.kk = kk
            code = y.astype(np.int64) * kk + preds.labels.astype(np.int64)
            self.onehot = np.zeros((self.n, kk * kk), dtype=np.float32)
            self.onehot[np.arange(self.n), code] = 1.0
            self.proba = preds.proba
            if preds.proba is not None:
                p_true = np.full(self.n, LOG_EPS)
                known = y < n_classes
                p_true[known] = preds.proba[np.flatnonzero(known), y[known]]
                self.logloss = -np.log(np.clip(p_true, LOG_EPS, 1.0))
                onehot_y = np.zeros_like(preds.proba)
                onehot_y[np.flatnonzero(known), y[known]] = 1.0
                if n_classes == 2:
                    self.brier = (preds.proba[:, 1] - onehot_y[:, 1]) ** 2
                else:
                    self.brier = ((preds.proba - onehot_y) ** 2).sum(axis=1)
        else:
            assert preds.values is not None
            err = preds.values.astype(np.float64) - y.astype(np.float64)
            self.abs = np.abs(err)
            self.sq = err * err
            self.ape = self.abs / np.maximum(np.abs(y.astype(np.float64)), EPS)
            self.y1 = y.astype(np.float64)
            self.y2 = self.y1 * self.y1
            self.abs_order = np.argsort(self.abs, kind="stable")
            self.abs_sorted = self.abs[self.abs_order]

    def ranking(self, k: int) -> _Ranking:
        if k not in self._ranking:
            assert self.proba is not None
            score = self.proba[:, k] if self.k > 2 else self.proba[:, 1]
            self._ranking[k] = _Ranking(score, self.y == k)
        return self._ranking[k]

    def auc(self, k: int) -> _AUC:
        if k not in self._auc:
            assert self.proba is not None
            score = self.proba[:, k] if self.k > 2 else self.proba[:, 1]
            self._auc[k] = _AUC(score, self.y == k, layout=self.layout and self.k == 2)
        return self._auc[k]

    def _macro(self, values: np.ndarray, present: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            out: np.ndarray = (values * present).sum(axis=1) / present.sum(axis=1)
        return out

    def metrics(self, W: np.ndarray, total: np.ndarray | None = None,
                counts: np.ndarray | None = None,
                W8: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """One value per resample (row of W) for each metric. ``total`` (rows drawn per
        resample) and ``counts`` (``W @ self.onehot``) may be passed in when already known."""
        # rows drawn per resample: n for the multinomial scheme, about n for the Poisson one
        n = W.sum(axis=1, dtype=np.float64) if total is None else total
        out: dict[str, np.ndarray] = {}
        if self.task == "regression":
            mse = _wmean(W, self.sq, n)
            for name in self.names:
                if name == "mse":
                    out[name] = mse
                elif name == "rmse":
                    out[name] = np.sqrt(mse)
                elif name == "mae":
                    out[name] = _wmean(W, self.abs, n)
                elif name == "mape":
                    out[name] = _wmean(W, self.ape, n)
                elif name == "r2":
                    sst = _wmean(W, self.y2, 1.0) - _wmean(W, self.y1, 1.0) ** 2 / n
                    with np.errstate(invalid="ignore", divide="ignore"):
                        out[name] = 1.0 - (mse * n) / sst
                elif name == "medae":
                    # the median of m values: the mean of the floor((m+1)/2)-th and the
                    # (floor(m/2)+1)-th smallest (the same value when m is odd)
                    cum = np.cumsum(W[:, self.abs_order], axis=1, dtype=np.float64)
                    lo_k = np.floor((n + 1) / 2)[:, None]
                    hi_k = (np.floor(n / 2) + 1)[:, None]
                    lo = self.abs_sorted[np.argmax(cum >= lo_k, axis=1)]
                    hi = self.abs_sorted[np.argmax(cum >= hi_k, axis=1)]
                    out[name] = 0.5 * (lo + hi)
            return out
        kk = self.kk
        k = self.k
        if counts is None:
            counts = W @ self.onehot
        cm = counts.astype(np.float64).reshape(len(W), kk, kk)  # [resample, true, pred]
        diag = np.einsum("rii->ri", cm)
        true_n = cm.sum(axis=2)
        pred_n = cm.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(pred_n > 0, diag / np.maximum(pred_n, 1e-300), 0.0)
            recall = np.where(true_n > 0, diag / np.maximum(true_n, 1e-300), 0.0)
            f1 = np.where(precision + recall > 0,
                          2 * precision * recall / np.maximum(precision + recall, 1e-300), 0.0)
        present = ((true_n + pred_n) > 0).astype(np.float64)
        for name in self.names:
            if name == "accuracy":
                out[name] = diag.sum(axis=1) / n
            elif name == "balanced_accuracy":
                out[name] = self._macro(recall, (true_n > 0).astype(np.float64))
            elif name in ("precision", "recall", "f1"):
                table = {"precision": precision, "recall": recall, "f1": f1}[name]
                out[name] = table[:, 1] if k == 2 else self._macro(table, present)
            elif self.proba is None:
                continue
            elif name == "log_loss":
                out[name] = _wmean(W, self.logloss, n)
            elif name == "brier":
                out[name] = _wmean(W, self.brier, n)
            elif name in ("roc_auc", "average_precision"):
                classes = [1] if k == 2 else list(range(k))
                per = [self.auc(c)(W, n, W8) if name == "roc_auc"
                       else self.ranking(c).average_precision(W) for c in classes]
                out[name] = per[0] if k == 2 else np.mean(per, axis=0)
        return out


@dataclass(frozen=True)
class Interval:
    delta_samples: int
    low: float | None
    high: float | None


def _chunk_deltas(seeds: list[np.random.SeedSequence], method: str, n: int, wdtype: type,
                  itype: type, cand: _ModelStats, champ: _ModelStats,
                  joint: tuple[np.ndarray, np.ndarray, int] | None, width: int,
                  names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Draw one resample per seed and return their per-resample deltas."""
    size = len(seeds)
    if method == "poisson":
        u = np.empty((size, n), dtype=np.uint16)
        for row, seq in zip(u, seeds, strict=True):
            row[:] = np.frombuffer(np.random.default_rng(seq).bytes(2 * n), dtype=np.uint16)
        W = np.take(_POISSON_TABLE, u)  # uint8 counts, Poisson(1) to 1/65536
        del u
    else:
        idx: np.ndarray = np.empty((size, n), dtype=itype)
        for row, seq in zip(idx, seeds, strict=True):
            row[:] = np.random.default_rng(seq).integers(0, n, size=n, dtype=itype)
        idx += (np.arange(size, dtype=itype) * n)[:, None]  # type: ignore[arg-type,unused-ignore]
        W = np.bincount(idx.ravel(), minlength=size * n).reshape(size, n)
        del idx
    W8 = W if W.dtype == np.uint8 else (W.astype(np.uint8) if W.max() < 256 else None)
    W = W.astype(wdtype)
    if joint is not None:  # both confusion matrices from one pass over W
        matrix, cells, n_cells = joint
        counts = np.zeros((len(W), n_cells), dtype=W.dtype)
        counts[:, cells] = (matrix @ W.T).T
        # every row is in exactly one cell of the candidate's matrix
        total = counts[:, :width].sum(axis=1, dtype=np.float64)
        a = cand.metrics(W, total, counts[:, :width], W8)
        b = champ.metrics(W, total, counts[:, width:], W8)
    else:
        total = W.sum(axis=1, dtype=np.float64)
        a = cand.metrics(W, total, None, W8)
        b = champ.metrics(W, total, None, W8)
    return {name: a[name] - b[name] for name in names if name in a and name in b}


def _workers() -> int:
    """Chunks run on threads: numpy's generators, take, bincount, cumsum and single-threaded
    BLAS release the GIL, so chunks proceed on every core at once."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else (os.cpu_count() or 1)))


def paired_bootstrap(task: str, y: np.ndarray, candidate: Predictions, champion: Predictions,
                     names: tuple[str, ...], *, n_boot: int, seed: int,
                     confidence: float = 0.95, n_classes: int = 2,
                     chunk_elements: int = CHUNK_ELEMENTS,
                     method: str = "auto") -> dict[str, Interval]:
    """Percentile intervals of ``metric(candidate) - metric(champion)`` over ``n_boot`` paired
    resamples of the test rows. ``y`` holds class codes for classification.

    ``method``: 'multinomial' (n rows drawn with replacement), 'poisson' (each row drawn
    Poisson(1) times, independently), or 'auto': multinomial up to MULTINOMIAL_MAX_DRAWS
    row draws in all, Poisson beyond (see the module docstring)."""
    n = len(y)
    if n_boot <= 0 or n == 0:
        return {}
    layout = False
    if task == "classification" and n_classes == 2 and candidate.proba is not None \
            and "roc_auc" in names:
        # Resamples are exchangeable in the rows' labelling: put the rows once in the
        # candidate's AUC layout (negatives, then positives, each by ascending score), and
        # its roc_auc needs no gather per chunk.
        order = np.lexsort((candidate.proba[:, 1], y == 1))
        y = y[order]
        candidate = _take(candidate, order)
        champion = _take(champion, order)
        layout = True
    cand = _ModelStats(task, y, candidate, n_classes, names, layout=layout)
    champ = _ModelStats(task, y, champion, n_classes, names)
    if method == "auto":
        method = "multinomial" if n * n_boot <= MULTINOMIAL_MAX_DRAWS else "poisson"
    chunk = max(1, min(n_boot, chunk_elements // max(n, 1)))
    wdtype = np.float32 if n < 2**24 else np.float64
    itype = np.int32 if chunk * n < 2**31 else np.int64
    joint = None
    width = 0
    if task == "classification":
        # (cells x n) @ (n x chunk): BLAS is fast on this layout, ~10x slower on W @ (n x cells);
        # only the confusion cells that occur (4 of 9 per model for a binary model)
        full = np.concatenate([cand.onehot, champ.onehot], axis=1)
        cells = np.flatnonzero(full.any(axis=0))
        joint = (np.ascontiguousarray(full[:, cells].T), cells, full.shape[1])
        width = cand.onehot.shape[1]
    # Small products per chunk: BLAS threads only spin and fight (2x slower on 2 cores).
    from threadpoolctl import threadpool_limits

    # One generator per resample, spawned from the seed: the same seed gives the same intervals
    # whatever the chunk size and whichever thread draws it.
    seeds = np.random.SeedSequence(seed).spawn(n_boot)
    chunks = [seeds[start:start + chunk] for start in range(0, n_boot, chunk)]

    def run(part: list[np.random.SeedSequence]) -> dict[str, np.ndarray]:
        return _chunk_deltas(part, method, n, wdtype, itype, cand, champ, joint, width, names)

    with threadpool_limits(limits=1, user_api="blas"):
        workers = min(_workers(), len(chunks))
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(run, chunks))
        else:
            results = [run(part) for part in chunks]
    deltas = {name: [r[name] for r in results if name in r] for name in names}
    alpha = (1.0 - confidence) / 2.0
    out: dict[str, Interval] = {}
    for name, parts in deltas.items():
        if not parts:
            continue
        d = np.concatenate(parts)
        d = d[np.isfinite(d)]
        if len(d) == 0:
            out[name] = Interval(0, None, None)
            continue
        lo, hi = np.quantile(d, [alpha, 1.0 - alpha])
        out[name] = Interval(len(d), float(lo), float(hi))
    return out


