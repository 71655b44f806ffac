"""Paired bootstrap of metric differences, vectorised over resamples, overall and per slice.

A resample is represented by its count vector ``w`` (how often each test row was drawn; the
counts sum to about n). Every metric we report can be written from ``w`` without a Python
loop over resamples.

Two resampling schemes. The classic (multinomial) bootstrap draws n rows with replacement:
``w`` comes from a matrix of random row indices, counted with one ``bincount``. The Poisson
bootstrap draws every row independently (Hanley & MacGibbon 2006; Chamandy et al. 2012,
"Estimating uncertainty for massive data streams"); here each row's count comes from one
random byte, through a table with P(0..5) = (94, 95, 46, 16, 4, 1)/256: the mean and the
variance of Poisson(1) exactly (what the bootstrap's first-order theory asks of iid weights),
its third central moment within 2%. One table lookup gives the counts of two rows, on the raw
64-bit words of the generator. ``auto`` uses the multinomial scheme up to
``MULTINOMIAL_MAX_DRAWS`` row draws in all (20M: e.g. 1,000 resamples of 20k rows) and the
Poisson one beyond. Metrics are normalised by each resample's own row count.

Two engines compute the metrics from the counts:

- the binary engine (binary classification; accuracy, precision, recall, f1, balanced
  accuracy, roc_auc, log loss, brier): each model's rows in its own score order, in segments
  of 32 rows stored "slab by slab" (see ``_Layout``), so that the running sums a weighted
  Mann-Whitney statistic needs are 31 vectorised additions of byte arrays plus a cumulative
  sum over the segments, and the confusion counts are byte sums. Slices (each value of a
  column) are contiguous runs of whole segments in a column's layout, so the slices of one
  column cost about what the whole test set costs. The counts are drawn straight into the
  candidate's overall layout (the rows are exchangeable); every other layout is one gather
  of byte counts.
- the generic engine (everything else: multiclass, regression, average precision):
  label metrics from the resampled confusion matrix ``W @ onehot(true * K + pred)`` (both
  models in one matrix product); mean losses from ``W @ per_row_loss / n``; roc_auc as the
  weighted Mann-Whitney statistic from one cumulative sum of the negatives' weights in score
  order (ties count half); average precision from cumulative sums in descending score order;
  medae from the weighted median. A slice is the same on its rows' columns of ``W``.

Both are tested equal to scikit-learn on explicit resamples, and their intervals against a
plain resampling loop over scikit-learn within Monte-Carlo error.

Resamples are drawn in chunks so memory stays bounded (about ``CHUNK_ELEMENTS`` counts per
chunk, one chunk per core at a time), with one generator per resample spawned from the seed:
the same seed gives the same intervals whatever the chunking and the thread.
``paired_bootstrap_with_slices`` computes the overall and the per-slice intervals from the
same resamples, drawn once.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

CHUNK_ELEMENTS = 1_000_000
MULTINOMIAL_MAX_DRAWS = 20_000_000


# Counts of the Poisson scheme: one random byte per row. P(k) = (94, 95, 46, 16, 4, 1)/256 for
# k = 0..5 has Poisson(1)'s mean and variance exactly (both 1; its third central moment is
# 0.98 against 1), which is what the bootstrap's first-order theory asks of iid weights.
POISSON_COUNTS = (94, 95, 46, 16, 4, 1)


def _pair_table() -> np.ndarray:
    """uint16 -> two counts, one per byte (a lookup per two rows)."""
    byte = np.repeat(np.arange(len(POISSON_COUNTS), dtype=np.uint16), POISSON_COUNTS)
    assert len(byte) == 256
    v = np.arange(65536, dtype=np.uint32)
    # In memory the result holds the counts of the word's two bytes in their order, on a
    # little- or big-endian machine alike.
    out: np.ndarray = (byte[v & 255] | (byte[v >> 8] << 8)).astype(np.uint16)
    return out


_PAIR_TABLE = _pair_table()
EPS = float(np.finfo(np.float64).eps)
LOG_EPS = EPS  # as sklearn.metrics.log_loss clips: the dtype's eps


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


# --- the binary engine: segment-blocked layouts ----------------------------------------------

SEGMENT = 32
SMALL_MAX = 255 // SEGMENT  # counts up to this keep in-segment sums in a byte
Scope = list[np.ndarray] | None  # None: all rows; else the row indices of each slice
BINARY_FAST = frozenset({"accuracy", "precision", "recall", "f1", "balanced_accuracy",
                         "roc_auc", "log_loss", "brier"})


def _physical(j: np.ndarray, n_segments: int) -> np.ndarray:
    """Physical position of logical position ``j`` in a layout of ``n_segments`` segments."""
    out: np.ndarray = (j % SEGMENT) * n_segments + j // SEGMENT
    return out


class _Layout:
    """One model's rows in one order, for a whole set of slices at once.

    Logically the rows are ``[slice 0 | slice 1 | ...]``, each slice sorted by the model's
    score (negatives first among tied scores) and padded to whole segments of ``SEGMENT``
    rows with rows of weight zero. Physically segment ``l``'s row ``t`` is stored at
    ``t * L + l``: a resample's counts are then a ``SEGMENT x L`` array whose rows ("slabs")
    are contiguous, and the running sum of the negatives' weights inside every segment is
    ``SEGMENT - 1`` vectorised additions of whole slabs instead of one sequential cumulative
    sum over all rows. The running sum across segments is then a cumulative sum over ``L``
    segment totals only, 32 times shorter.

    With ``P_l`` the positives' weight in segment ``l``, ``E_l`` the negatives' weight in the
    slice's segments before ``l`` and ``Q`` the in-segment running sums, a slice's weighted
    Mann-Whitney numerator (pairs positive above negative) is
    ``sum_l E_l P_l + sum_(t,l) posw Q``, less half the product of the positive and negative
    weight of each tied group (placed negatives first, those pairs were counted whole).
    """

    def __init__(self, rows: np.ndarray, sizes: np.ndarray, y: np.ndarray,
                 score: np.ndarray | None, pred: np.ndarray, losses: dict[str, np.ndarray],
                 base_pos: np.ndarray | None, sentinel: int) -> None:
        """``rows``: the row indices in logical order (slice by slice, each in the model's
        order), ``sizes``: the rows of each slice."""
        parts: list[np.ndarray] = []
        seg_starts: list[int] = []
        tie_parts: list[np.ndarray] = []
        tie_sizes: list[np.ndarray] = []
        tie_slice = [0]
        at = 0
        bounds = np.r_[0, np.cumsum(sizes)]
        for i in range(len(sizes)):
            part = rows[bounds[i]:bounds[i + 1]]
            seg_starts.append(at // SEGMENT)
            pad = (-len(part)) % SEGMENT
            if base_pos is None and i == len(sizes) - 1 and pad == 0:
                pad = SEGMENT  # a zero column for the other layouts' padding
            parts.append(np.concatenate([part, np.full(pad, -1, dtype=np.int64)]))
            if score is not None and len(part) > 1:
                # tied groups holding both classes, as logical positions
                s = score[part]
                ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
                begins = np.r_[0, ends[:-1] + 1]
                size = ends - begins + 1
                n_pos = np.add.reduceat((y[part] == 1).astype(np.int64), begins)
                mixed = (n_pos > 0) & (n_pos < size)
                if mixed.any():
                    keep = np.repeat(mixed, size)
                    tie_parts.append(at + np.flatnonzero(keep))
                    tie_sizes.append(size[mixed])
            tie_slice.append(sum(len(t) for t in tie_sizes))
            at += len(part) + pad
        logical = np.concatenate(parts)
        self.L = L = len(logical) // SEGMENT
        self.m = len(logical)
        phys_rows = logical.reshape(L, SEGMENT).T.ravel()
        real = phys_rows >= 0
        rows_r = np.where(real, phys_rows, 0)
        self.phys_rows = phys_rows
        if base_pos is None:
            self.gather = None
        else:
            self.gather = np.where(real, base_pos[rows_r], sentinel)
        self.starts = np.asarray(seg_starts, dtype=np.int64)
        shape = (SEGMENT, L)
        self.pos = (real & (y[rows_r] == 1)).astype(np.uint8).reshape(shape)
        self.neg = (real & (y[rows_r] == 0)).astype(np.uint8).reshape(shape)
        self.tp = (self.pos.ravel() & (pred[rows_r] == 1)).astype(np.uint8).reshape(shape)
        self.fp = (self.neg.ravel() & (pred[rows_r] == 1)).astype(np.uint8).reshape(shape)
        self.losses = {k: np.where(real, v[rows_r], 0.0).astype(np.float64).reshape(shape)
                       for k, v in losses.items()}
        self.auc = score is not None
        if tie_parts:
            logical_ties = np.concatenate(tie_parts)
            self.tie_phys: np.ndarray | None = _physical(logical_ties, L)
            sizes = np.concatenate(tie_sizes)
            self.tie_begins = np.r_[0, np.cumsum(sizes)[:-1]]
            tie_rows = logical[logical_ties]
            self.tie_posmask = (y[tie_rows] == 1).astype(np.uint8)
            self.tie_negmask = (y[tie_rows] == 0).astype(np.uint8)
            self.tie_slice = np.asarray(tie_slice, dtype=np.int64)
        else:
            self.tie_phys = None

    def _per_slice(self, seg: np.ndarray) -> np.ndarray:
        if len(self.starts) == 1:
            out: np.ndarray = seg.sum(axis=1, dtype=np.float64)[:, None]
            return out
        red: np.ndarray = np.add.reduceat(seg, self.starts, axis=1, dtype=np.float64)
        return red

    def stats(self, W: np.ndarray, want: frozenset[str], small: bool) -> dict[str, np.ndarray]:
        """Per-slice sufficient statistics (resamples x slices) of the counts ``W``
        (resamples x physical positions of the base layout).

        ``small``: every count is at most SMALL_MAX (7), so in-segment sums fit a byte and
        in-segment sums of products (at most 32 * 7 * 224) 16 bits: the slab arithmetic then
        runs on bytes and 16-bit words, with no casts (several times faster than int64)."""
        c = len(W)
        Wl = W if self.gather is None else np.take(W, self.gather, axis=1)
        Wl = Wl.reshape(c, SEGMENT, self.L)
        t8, t16 = (np.uint8, np.uint16) if small else (np.int64, np.int64)
        if not small:
            Wl = Wl.astype(np.int64)
        pos = Wl * self.pos
        out: dict[str, np.ndarray] = {}
        P_seg = pos.sum(axis=1, dtype=t8)
        out["P"] = self._per_slice(P_seg)
        for name, loss in self.losses.items():
            out[name] = self._per_slice((Wl * loss).sum(axis=1, dtype=np.float64))
        neg = Wl * self.neg
        out["TP"] = self._per_slice((Wl * self.tp).sum(axis=1, dtype=t8))
        out["FP"] = self._per_slice((Wl * self.fp).sum(axis=1, dtype=t8))
        if not (self.auc and "roc_auc" in want):
            out["N"] = self._per_slice(neg.sum(axis=1, dtype=t8))
            return out
        Q = neg  # in place: the running sum inside each segment, slab by slab
        for t in range(1, SEGMENT):
            np.add(Q[:, t - 1], Q[:, t], out=Q[:, t])
        N_seg = Q[:, -1].astype(np.int64)
        prod = pos.astype(t16)
        prod *= Q
        SQ = prod.sum(axis=1, dtype=t16)
        E = np.cumsum(N_seg, axis=1)
        E -= N_seg  # negatives' weight in the segments before (all slices so far)
        Z = E.astype(np.float64) * P_seg + SQ
        raw = self._per_slice(Z) - E[:, self.starts].astype(np.float64) * out["P"]
        if self.tie_phys is not None:
            Wt = np.take(Wl.reshape(c, -1), self.tie_phys, axis=1)
            Pg = np.add.reduceat(Wt * self.tie_posmask, self.tie_begins, axis=1,
                                 dtype=np.float64)
            Ng = np.add.reduceat(Wt * self.tie_negmask, self.tie_begins, axis=1,
                                 dtype=np.float64)
            cs = np.zeros((c, Pg.shape[1] + 1))
            np.cumsum(Pg * Ng, axis=1, out=cs[:, 1:])
            raw -= 0.5 * (cs[:, self.tie_slice[1:]] - cs[:, self.tie_slice[:-1]])
        out["N"] = self._per_slice(N_seg)
        out["auc_num"] = raw
        return out


def _binary_metrics(s: dict[str, np.ndarray], names: tuple[str, ...],
                    has_proba: bool) -> dict[str, np.ndarray]:
    P, N, TP, FP = s["P"], s["N"], s["TP"], s["FP"]
    total = P + N
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in names:
            if name == "accuracy":
                out[name] = (TP + N - FP) / total
            elif name == "precision":
                out[name] = np.where(TP + FP > 0, TP / np.maximum(TP + FP, 1), 0.0)
            elif name == "recall":
                out[name] = np.where(P > 0, TP / np.maximum(P, 1), 0.0)
            elif name == "f1":
                den = TP + FP + P
                out[name] = np.where(den > 0, 2 * TP / np.maximum(den, 1), 0.0)
            elif name == "balanced_accuracy":
                r1 = TP / P
                r0 = (N - FP) / N
                out[name] = np.where(P > 0, np.where(N > 0, (r0 + r1) / 2, r1), r0)
            elif not has_proba:
                continue
            elif name == "roc_auc":
                out[name] = s["auc_num"] / (P * N)
            elif name in ("log_loss", "brier"):
                out[name] = s[name] / total
    return out


class _BinaryEngine:
    """Both models of a binary classification, overall or per slice, on shared counts.

    The counts of a resample are generated straight into the candidate's overall layout
    (rows are exchangeable), so its statistics need no gather; every other layout (the
    champion's order, each slice column in each model's order) is one gather of byte counts.
    """

    def __init__(self, y: np.ndarray, models: tuple[Predictions, Predictions],
                 names: tuple[str, ...], scopes: list[Scope]) -> None:
        n = len(y)
        self.n = n
        self.names = names
        self.want = frozenset(names)
        self.proba = tuple(p.proba is not None for p in models)
        losses = [self._losses(y, p) for p in models]
        scores = [None if p.proba is None else p.proba[:, 1] for p in models]
        # Each model's order once (negatives first among tied scores); a slice column's
        # layout is that order partitioned stably by the column's codes.
        orders = [np.arange(n) if s is None or "roc_auc" not in self.want
                  else np.lexsort((y == 1, s)) for s in scores]
        auc_scores = [s if "roc_auc" in self.want else None for s in scores]
        plans: list[tuple[np.ndarray | None, np.ndarray]] = []  # (codes, sizes) per scope
        for groups in scopes:
            if groups is None:
                plans.append((None, np.array([n])))
                continue
            codes = np.empty(n, dtype=np.int64)
            for j, rows in enumerate(groups):
                codes[rows] = j
            plans.append((codes, np.array([len(g) for g in groups])))

        def build(k: int, plan: tuple[np.ndarray | None, np.ndarray],
                  base_pos: np.ndarray | None, sentinel: int) -> _Layout:
            codes, sizes = plan
            rows = orders[k] if codes is None else \
                orders[k][np.argsort(codes[orders[k]], kind="stable")]
            return _Layout(rows, sizes, y, auc_scores[k], np.asarray(models[k].labels),
                           losses[k], base_pos, sentinel)

        # The counts are drawn in the layout of the first scope's candidate: no gather there.
        base = build(0, plans[0], None, 0)
        self.m = base.m
        self.sentinel = int(np.flatnonzero(base.phys_rows < 0)[0])  # a padded row: zero
        base_pos = np.empty(n, dtype=np.int64)
        real = base.phys_rows >= 0
        base_pos[base.phys_rows[real]] = np.flatnonzero(real)
        self.base_pos = base_pos  # row -> its column in W
        self.real_phys = np.flatnonzero(real)
        self.pad_phys = np.flatnonzero(~real)
        self.scopes: list[tuple[_Layout, _Layout]] = []
        for i, plan in enumerate(plans):
            pair = [base if i == 0 else build(0, plan, base_pos, self.sentinel),
                    build(1, plan, base_pos, self.sentinel)]
            self.scopes.append((pair[0], pair[1]))

    def _losses(self, y: np.ndarray, p: Predictions) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        if p.proba is None:
            return out
        p1 = p.proba[:, 1]
        if "log_loss" in self.want:
            p_true = np.where(y == 1, p1, p.proba[:, 0])
            out["log_loss"] = -np.log(np.clip(p_true, LOG_EPS, 1.0))
        if "brier" in self.want:
            out["brier"] = (p1 - (y == 1)) ** 2
        return out

    @property
    def width(self) -> int:
        return self.m

    def draw_positions(self) -> np.ndarray | None:
        return self.real_phys

    def draw_zeros(self) -> np.ndarray | None:
        return self.pad_phys

    def counts(self, w: np.ndarray) -> np.ndarray:
        """The engine's count matrix for explicit per-row counts ``w`` (resamples x rows)."""
        W = np.zeros((len(w), self.width), dtype=w.dtype)
        W[:, self.base_pos] = w
        return W

    def metrics(self, W: np.ndarray) -> list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
        """Per scope: each model's metrics, resamples x slices."""
        small = W.dtype == np.uint8 and int(W.max(initial=0)) <= SMALL_MAX
        return [(_binary_metrics(a.stats(W, self.want, small), self.names, self.proba[0]),
                 _binary_metrics(b.stats(W, self.want, small), self.names, self.proba[1]))
                for a, b in self.scopes]

    def deltas(self, W: np.ndarray) -> list[dict[str, np.ndarray]]:
        """Per scope, per metric: resamples x slices of candidate - champion."""
        small = W.dtype == np.uint8 and int(W.max(initial=0)) <= SMALL_MAX
        result = []
        for a_layout, b_layout in self.scopes:
            a = _binary_metrics(a_layout.stats(W, self.want, small), self.names, self.proba[0])
            b = _binary_metrics(b_layout.stats(W, self.want, small), self.names, self.proba[1])
            result.append({k: a[k] - b[k] for k in self.names if k in a and k in b})
        return result


@dataclass(frozen=True)
class Interval:
    """A percentile interval of one delta; ``delta_samples`` resamples where it was defined."""

    delta_samples: int
    low: float | None
    high: float | None


class _GenericEngine:
    """Every task and metric: one ``_ModelStats`` pair per slice (rows in the candidate's AUC
    layout for a binary model, so its roc_auc needs no gather)."""

    def __init__(self, task: str, y: np.ndarray, candidate: Predictions,
                 champion: Predictions, names: tuple[str, ...], n_classes: int,
                 scopes: list[Scope]) -> None:
        self.names = names
        self.order: np.ndarray | None = None
        layout = False
        if task == "classification" and n_classes == 2 and candidate.proba is not None \
                and "roc_auc" in names:
            # Resamples are exchangeable in the rows' labelling: put the rows once in the
            # candidate's AUC layout (negatives, then positives, each by ascending score),
            # and its roc_auc needs no gather per chunk.
            self.order = np.lexsort((candidate.proba[:, 1], y == 1))
            y = y[self.order]
            candidate = _take(candidate, self.order)
            champion = _take(champion, self.order)
            layout = True
        self.n = n = len(y)
        self.wdtype = np.float32 if n < 2**24 else np.float64
        where = np.empty(n, dtype=np.int64)  # original row -> its column in W
        where[self.order if self.order is not None else np.arange(n)] = np.arange(n)
        self.scopes: list[list[tuple[np.ndarray | None, _ModelStats, _ModelStats,
                                     tuple[np.ndarray, np.ndarray, int] | None, int]]] = []
        for scope in scopes:
            parts = []
            for rows in ([None] if scope is None else scope):
                cols = None if rows is None else np.sort(where[rows])
                sub = (lambda p: p) if cols is None else (lambda p, c=cols: _take(p, c))
                ys = y if cols is None else y[cols]
                cand = _ModelStats(task, ys, sub(candidate), n_classes, names,
                                   layout=layout and cols is None)
                champ = _ModelStats(task, ys, sub(champion), n_classes, names)
                joint = None
                width = 0
                if task == "classification":
                    # (cells x n) @ (n x chunk): BLAS is fast on this layout, ~10x slower on
                    # W @ (n x cells); only the confusion cells that occur
                    full = np.concatenate([cand.onehot, champ.onehot], axis=1)
                    cells = np.flatnonzero(full.any(axis=0))
                    joint = (np.ascontiguousarray(full[:, cells].T), cells, full.shape[1])
                    width = cand.onehot.shape[1]
                parts.append((cols, cand, champ, joint, width))
            self.scopes.append(parts)

    @property
    def width(self) -> int:
        return self.n

    def draw_positions(self) -> np.ndarray | None:
        return None

    def draw_zeros(self) -> np.ndarray | None:
        return None

    def deltas(self, W: np.ndarray) -> list[dict[str, np.ndarray]]:
        W8 = W if W.dtype == np.uint8 else (W.astype(np.uint8) if W.max() < 256 else None)
        Wf = W.astype(self.wdtype)
        out = []
        for parts in self.scopes:
            per_slice: dict[str, list[np.ndarray]] = {}
            for cols, cand, champ, joint, width in parts:
                Ws = Wf if cols is None else Wf[:, cols]
                W8s = W8 if cols is None or W8 is None else W8[:, cols]
                d = self._pair(Ws, W8s, cand, champ, joint, width)
                for name in self.names:
                    per_slice.setdefault(name, []).append(
                        d.get(name, np.full(len(W), np.nan)))
            out.append({k: np.stack(v, axis=1) for k, v in per_slice.items()})
        return out

    def _pair(self, W: np.ndarray, W8: np.ndarray | None, cand: _ModelStats,
              champ: _ModelStats, joint: tuple[np.ndarray, np.ndarray, int] | None,
              width: int) -> dict[str, np.ndarray]:
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
        return {name: a[name] - b[name] for name in self.names if name in a and name in b}


def _draw(seeds: list[np.random.SeedSequence], method: str, n: int, width: int,
          positions: np.ndarray | None, zeros: np.ndarray | None = None) -> np.ndarray:
    """Counts of one resample per seed: ``len(seeds) x width``. ``positions`` maps the n rows
    to their columns (None: column i is row i); the other columns (``zeros``) get zero
    counts."""
    size = len(seeds)
    if method == "poisson":
        half = -(-width // 2)
        u = np.empty((size, half), dtype=np.uint16)
        words = -(-half // 4)
        for row, seq in zip(u, seeds, strict=True):
            # raw 64-bit words: several times cheaper than Generator.bytes or integers
            row[:] = np.random.PCG64(seq).random_raw(words).view(np.uint16)[:half]
        # one lookup gives the counts of two rows
        W = np.take(_PAIR_TABLE, u, mode="wrap").view(np.uint8)[:, :width]
        del u
        if zeros is not None and len(zeros):
            W[:, zeros] = 0
        return W
    itype = np.int32 if size * width < 2**31 else np.int64
    idx: np.ndarray = np.empty((size, n), dtype=itype)
    for row, seq in zip(idx, seeds, strict=True):
        row[:] = np.random.default_rng(seq).integers(0, n, size=n, dtype=itype)
    if positions is not None:
        idx = positions.astype(itype)[idx]
    idx += (np.arange(size, dtype=itype) * width)[:, None]  # type: ignore[arg-type,unused-ignore]
    counts = np.bincount(idx.ravel(), minlength=size * width).reshape(size, width)
    out: np.ndarray = counts.astype(np.uint8 if counts.max(initial=0) < 256 else np.uint16)
    return out


class _Engine(Protocol):
    @property
    def width(self) -> int: ...

    def draw_positions(self) -> np.ndarray | None: ...

    def draw_zeros(self) -> np.ndarray | None: ...

    def deltas(self, W: np.ndarray) -> list[dict[str, np.ndarray]]: ...


def _workers() -> int:
    """Chunks run on threads: numpy's generators, take, bincount, cumsum, elementwise
    arithmetic and single-threaded BLAS release the GIL, so chunks proceed on every core."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else (os.cpu_count() or 1)))


def _choose_method(method: str, n: int, n_boot: int) -> str:
    if method == "auto":
        return "multinomial" if n * n_boot <= MULTINOMIAL_MAX_DRAWS else "poisson"
    if method not in ("multinomial", "poisson"):
        raise ValueError(f"unknown bootstrap method {method!r}")
    return method


def _fast_binary(task: str, y: np.ndarray, models: tuple[Predictions, Predictions],
                 names: tuple[str, ...], n_classes: int) -> bool:
    if task != "classification" or n_classes != 2 or not set(names) <= BINARY_FAST:
        return False
    if len(y) == 0 or int(y.max()) > 1 or int(y.min()) < 0:
        return False  # a test class the model never saw
    return all(p.labels is not None and len(p.labels) and int(np.max(p.labels)) <= 1
               for p in models)


def _bootstrap(task: str, y: np.ndarray, candidate: Predictions, champion: Predictions,
               names: tuple[str, ...], scopes: list[Scope], *, n_boot: int, seed: int,
               confidence: float, n_classes: int, chunk_elements: int, method: str,
               engine: str) -> list[list[dict[str, Interval]]]:
    """Per scope, per slice, per metric: the percentile interval of candidate - champion."""
    n = len(y)
    method = _choose_method(method, n, n_boot)
    if engine == "auto":
        engine = "binary" if _fast_binary(task, y, (candidate, champion), names,
                                          n_classes) else "generic"
    eng: _Engine
    if engine == "binary":
        eng = _BinaryEngine(y, (candidate, champion), names, scopes)
    else:
        eng = _GenericEngine(task, y, candidate, champion, names, n_classes, scopes)
    width = eng.width
    positions = eng.draw_positions()
    zeros = eng.draw_zeros()
    chunk = max(1, min(n_boot, chunk_elements // max(width, 1)))
    # One generator per resample, spawned from the seed: the same seed gives the same
    # intervals whatever the chunk size and whichever thread draws it.
    seeds = np.random.SeedSequence(seed).spawn(n_boot)
    chunks = [seeds[start:start + chunk] for start in range(0, n_boot, chunk)]

    def run(part: list[np.random.SeedSequence]) -> list[dict[str, np.ndarray]]:
        return eng.deltas(_draw(part, method, n, width, positions, zeros))

    # Small products per chunk: BLAS threads only spin and fight (2x slower on 2 cores).
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        workers = min(_workers(), len(chunks))
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(run, chunks))
        else:
            results = [run(part) for part in chunks]
    alpha = (1.0 - confidence) / 2.0
    out: list[list[dict[str, Interval]]] = []
    for k, scope in enumerate(scopes):
        n_slices = 1 if scope is None else len(scope)
        per: list[dict[str, Interval]] = [{} for _ in range(n_slices)]
        for name in names:
            parts = [r[k][name] for r in results if name in r[k]]
            if not parts:
                continue
            d_all = np.concatenate(parts, axis=0)
            for j in range(n_slices):
                d = d_all[:, j]
                d = d[np.isfinite(d)]
                if len(d) == 0:
                    per[j][name] = Interval(0, None, None)
                    continue
                lo, hi = np.quantile(d, [alpha, 1.0 - alpha])
                per[j][name] = Interval(len(d), float(lo), float(hi))
        out.append(per)
    return out


def paired_bootstrap(task: str, y: np.ndarray, candidate: Predictions, champion: Predictions,
                     names: tuple[str, ...], *, n_boot: int, seed: int,
                     confidence: float = 0.95, n_classes: int = 2,
                     chunk_elements: int = CHUNK_ELEMENTS,
                     method: str = "auto", engine: str = "auto") -> dict[str, Interval]:
    """Percentile intervals of ``metric(candidate) - metric(champion)`` over ``n_boot`` paired
    resamples of the test rows. ``y`` holds class codes for classification.

    ``method``: 'multinomial' (n rows drawn with replacement), 'poisson' (each row drawn
    Poisson(1) times, independently), or 'auto': multinomial up to MULTINOMIAL_MAX_DRAWS
    row draws in all, Poisson beyond (see the module docstring). ``engine``: 'binary' (the
    segment-blocked engine: binary classification and its label, AUC and loss metrics),
    'generic' (everything), or 'auto' (the binary one where it applies)."""
    if n_boot <= 0 or len(y) == 0:
        return {}
    return _bootstrap(task, y, candidate, champion, names, [None], n_boot=n_boot, seed=seed,
                      confidence=confidence, n_classes=n_classes,
                      chunk_elements=chunk_elements, method=method, engine=engine)[0][0]


def _scopes(columns: dict[str, np.ndarray]) -> tuple[list[Scope], list[np.ndarray]]:
    scopes: list[Scope] = []
    present_of: list[np.ndarray] = []
    for codes in columns.values():
        present = np.unique(codes)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], present)
        scopes.append(np.split(order, bounds[1:]))
        present_of.append(present)
    return scopes, present_of


SliceIntervals = dict[str, dict[int, dict[str, Interval]]]


def _by_slice(columns: dict[str, np.ndarray], present_of: list[np.ndarray],
              got: list[list[dict[str, Interval]]]) -> SliceIntervals:
    return {col: {int(c): per for c, per in zip(codes, got[k], strict=True)}
            for k, (col, codes) in enumerate(zip(columns, present_of, strict=True))}


def slice_bootstrap(task: str, y: np.ndarray, candidate: Predictions, champion: Predictions,
                    names: tuple[str, ...], columns: dict[str, np.ndarray], *, n_boot: int,
                    seed: int, confidence: float = 0.95, n_classes: int = 2,
                    chunk_elements: int = CHUNK_ELEMENTS, method: str = "auto",
                    engine: str = "auto") -> SliceIntervals:
    """Per column, per slice code (``columns`` holds one non-negative integer code per row),
    the intervals of ``metric(candidate on the slice) - metric(champion on the slice)``: the
    test rows are resampled, and each slice is scored on the drawn rows of it."""
    if n_boot <= 0 or len(y) == 0 or not columns:
        return {}
    scopes, present_of = _scopes(columns)
    got = _bootstrap(task, y, candidate, champion, names, scopes, n_boot=n_boot, seed=seed,
                     confidence=confidence, n_classes=n_classes,
                     chunk_elements=chunk_elements, method=method, engine=engine)
    return _by_slice(columns, present_of, got)


def paired_bootstrap_with_slices(
        task: str, y: np.ndarray, candidate: Predictions, champion: Predictions,
        names: tuple[str, ...], columns: dict[str, np.ndarray], *, n_boot: int, seed: int,
        confidence: float = 0.95, n_classes: int = 2, chunk_elements: int = CHUNK_ELEMENTS,
        method: str = "auto", engine: str = "auto") -> tuple[dict[str, Interval],
                                                             SliceIntervals]:
    """``paired_bootstrap`` and ``slice_bootstrap`` in one pass: the slices' intervals come
    from the very resamples of the overall ones (drawn once)."""
    if n_boot <= 0 or len(y) == 0:
        return {}, {}
    scopes, present_of = _scopes(columns)
    got = _bootstrap(task, y, candidate, champion, names, [None, *scopes], n_boot=n_boot,
                     seed=seed, confidence=confidence, n_classes=n_classes,
                     chunk_elements=chunk_elements, method=method, engine=engine)
    return got[0][0], _by_slice(columns, present_of, got[1:])
