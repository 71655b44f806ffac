"""The paired bootstrap engine: exact metrics on explicit resamples, agreement with a plain
resampling loop over scikit-learn, determinism, slices."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from gitops_ml.evaluate import paired_bootstrap as pb
from gitops_ml.evaluate.paired_bootstrap import (
    Predictions,
    paired_bootstrap,
    paired_bootstrap_with_slices,
    slice_bootstrap,
)

FAST = tuple(sorted(pb.BINARY_FAST))


def _binary(n: int, seed: int, ties: str = "few") -> tuple[np.ndarray, Predictions,
                                                          Predictions]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s1 = np.clip(y * 0.3 + rng.random(n) * 0.8, 0, 1)  # "few": ties at 1 only
    if ties == "many":
        s1 = np.round(s1, 1)
    elif ties == "none":
        s1 = (y * 0.3 + rng.random(n) * 0.8) / 1.1
    s2 = np.clip(s1 + rng.normal(0, 0.15, n), 0, 1)  # ties at 0 and 1, and p = 0 or 1
    a = Predictions((s1 > 0.5).astype(int), np.c_[1 - s1, s1])
    b = Predictions((s2 > 0.4).astype(int), np.c_[1 - s2, s2])
    return y, a, b


def _sk(y: np.ndarray, p: Predictions, names: tuple[str, ...] = FAST) -> dict[str, float]:
    """scikit-learn's value of each metric of the binary engine (NaN where undefined)."""
    assert p.labels is not None and p.proba is not None
    table = {
        "accuracy": lambda: skm.accuracy_score(y, p.labels),
        "precision": lambda: skm.precision_score(y, p.labels, zero_division=0),
        "recall": lambda: skm.recall_score(y, p.labels, zero_division=0),
        "f1": lambda: skm.f1_score(y, p.labels, zero_division=0),
        "log_loss": lambda: skm.log_loss(y, p.proba, labels=[0, 1]),
        "brier": lambda: float(np.mean((p.proba[:, 1] - y) ** 2)),
        "roc_auc": lambda: (skm.roc_auc_score(y, p.proba[:, 1]) if len(set(y)) == 2
                            else np.nan),
        # one class only: the recall of that class
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, p.labels),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: float(table[name]()) for name in names}


def _sub(p: Predictions, rows: np.ndarray) -> Predictions:
    assert p.labels is not None and p.proba is not None
    return Predictions(p.labels[rows], p.proba[rows])


@pytest.mark.parametrize("labels", ["threshold", "any"])
@pytest.mark.parametrize("ties", ["many", "few", "none"])
@pytest.mark.parametrize("n", [1, 37, 1500])
def test_binary_engine_equals_sklearn_on_explicit_resamples(ties: str, n: int,
                                                            labels: str) -> None:
    """``threshold``: the labels are a threshold on the score (TP and FP from the run of
    predicted positives); ``any``: labels that are not (TP and FP from masks)."""
    y, a, b = _binary(n, 1, ties)
    if labels == "any":
        flip = np.random.default_rng(6).random(n) < 0.2
        b = Predictions(np.where(flip, 1 - b.labels, b.labels), b.proba)
    g = np.random.default_rng(2).integers(0, 3, n)
    groups = [np.flatnonzero(g == v) for v in range(3) if (g == v).any()]
    engine = pb._BinaryEngine(y, (a, b), FAST, [None, groups])
    idx = np.random.default_rng(3).integers(0, n, (4, n))
    w = np.stack([np.bincount(i, minlength=n) for i in idx]).astype(np.uint8)
    got = engine.metrics(engine.counts(w))
    for r in range(len(idx)):
        for scope, rowsets in ((0, [np.arange(n)]), (1, groups)):
            for j, rows in enumerate(rowsets):
                drawn = idx[r][np.isin(idx[r], rows)]  # the resample's rows of the slice
                if len(drawn) == 0:
                    continue
                for k, p in enumerate((a, b)):
                    ref = _sk(y[drawn], _sub(p, drawn))
                    for name in FAST:
                        value = got[scope][k][name][r, j]
                        if np.isnan(ref[name]):
                            assert not np.isfinite(value), name
                        else:
                            assert value == pytest.approx(ref[name], rel=1e-12, abs=1e-12), \
                                (name, scope, j, k)


def test_binary_engine_counts_too_large_for_bytes() -> None:
    """Counts above 11 (possible in the multinomial scheme) take the wide-integer path."""
    y, a, b = _binary(300, 4, "many")
    groups = [np.arange(0, 100), np.arange(100, 300)]
    engine = pb._BinaryEngine(y, (a, b), FAST, [None, groups])
    w = np.random.default_rng(5).poisson(1, (3, 300))
    w[:, 7] = 200  # one row drawn 200 times
    W = engine.counts(w.astype(np.uint8))
    assert int(W.max()) > 11
    got = engine.metrics(W)
    for r in range(3):
        rows = np.repeat(np.arange(300), w[r])
        ref = _sk(y[rows], _sub(a, rows))
        for name in FAST:
            assert got[0][0][name][r, 0] == pytest.approx(ref[name], rel=1e-12)
        small = [s for s in groups[1] if True]
        rows = np.repeat(np.asarray(small), w[r][small])
        ref = _sk(y[rows], _sub(b, rows))
        for name in FAST:
            assert got[1][1][name][r, 1] == pytest.approx(ref[name], rel=1e-12)


def _reference(y: np.ndarray, a: Predictions, b: Predictions, names: tuple[str, ...],
               n_boot: int, seed: int, slices: list[np.ndarray | None],
               confidence: float = 0.95) -> list[dict[str, tuple[float, float, float]]]:
    """The straightforward paired bootstrap: draw n rows with replacement, score both models
    with scikit-learn on the drawn rows (of each slice: None is every row), take percentiles.
    Returns (low, high, standard deviation of the deltas) per slice and metric."""
    rng = np.random.default_rng(seed)
    n = len(y)
    deltas: list[dict[str, list[float]]] = [{name: [] for name in names} for _ in slices]
    for _ in range(n_boot):
        drawn = rng.integers(0, n, n)
        for k, rows in enumerate(slices):
            idx = drawn if rows is None else drawn[np.isin(drawn, rows)]
            ra, rb = _sk(y[idx], _sub(a, idx), names), _sk(y[idx], _sub(b, idx), names)
            for name in names:
                deltas[k][name].append(ra[name] - rb[name])
    alpha = (1 - confidence) / 2
    out = []
    for per in deltas:
        got = {}
        for name, d in per.items():
            arr = np.asarray(d)
            arr = arr[np.isfinite(arr)]
            lo, hi = np.quantile(arr, [alpha, 1 - alpha])
            got[name] = (float(lo), float(hi), float(arr.std()))
        out.append(got)
    return out


NAMES = ("accuracy", "f1", "roc_auc")
SLICE_NAMES = ("accuracy", "roc_auc")


@pytest.fixture(scope="module")
def reference() -> dict[str, object]:
    """One plain loop for the whole module (scikit-learn per resample is the slow part)."""
    y, a, b = _binary(800, 7, "none")
    ys, sa, sb = _binary(600, 8, "many")
    group = np.random.default_rng(9).choice([0, 1, 2], 600, p=[0.5, 0.3, 0.2])
    return {
        "data": (y, a, b), "overall": _reference(y, a, b, NAMES, 400, 11, [None])[0],
        "slice_data": (ys, sa, sb, group),
        "slices": _reference(ys, sa, sb, SLICE_NAMES, 300, 12,
                             [np.flatnonzero(group == 0), np.flatnonzero(group == 2)]),
    }


@pytest.mark.parametrize("engine", ["binary", "generic"])
@pytest.mark.parametrize("method", ["poisson", "multinomial"])
def test_intervals_agree_with_a_plain_resampling_loop(engine: str, method: str,
                                                      reference: dict) -> None:
    """Within Monte-Carlo error: each endpoint of a 95% percentile interval from B resamples
    has a standard error of about 0.14 sd for B = 400 (0.06 sd for B = 2,000); the bound is
    4.5 standard errors of the difference."""
    y, a, b = reference["data"]
    got = paired_bootstrap("classification", y, a, b, NAMES, n_boot=2000, seed=3,
                           method=method, engine=engine)
    for name in NAMES:
        lo, hi, sd = reference["overall"][name]
        assert sd > 0
        iv = got[name]
        assert iv.delta_samples == 2000
        assert iv.low is not None and iv.high is not None
        bound = 4.5 * np.hypot(0.14, 0.06) * sd
        assert abs(iv.low - lo) < bound, (name, iv, reference["overall"][name])
        assert abs(iv.high - hi) < bound, (name, iv, reference["overall"][name])
        # the width is 3.92 sd for a normal delta: a wrong spread shows here first
        assert (iv.high - iv.low) == pytest.approx(hi - lo, rel=0.25), name


@pytest.mark.parametrize("engine", ["binary", "generic"])
def test_slice_intervals_agree_with_a_plain_resampling_loop(engine: str,
                                                            reference: dict) -> None:
    y, a, b, group = reference["slice_data"]
    got = slice_bootstrap("classification", y, a, b, SLICE_NAMES, {"g": group}, n_boot=2000,
                          seed=4, engine=engine)
    assert sorted(got["g"]) == [0, 1, 2]
    for value, ref in zip((0, 2), reference["slices"], strict=True):
        for name in SLICE_NAMES:
            lo, hi, sd = ref[name]
            iv = got["g"][value][name]
            assert iv.low is not None and iv.high is not None
            bound = 4.5 * np.hypot(0.16, 0.06) * sd
            assert abs(iv.low - lo) < bound, (value, name, iv, ref[name])
            assert abs(iv.high - hi) < bound, (value, name, iv, ref[name])


def test_intervals_do_not_depend_on_chunking_or_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    n = 2500
    y, a, b = _binary(n, 10, "many")
    names = ("accuracy", "f1", "roc_auc", "log_loss")
    cols = {"g": np.arange(n) % 3}
    runs = []
    for chunk, workers in ((pb.CHUNK_ELEMENTS, 2), (n * 3, 1), (n * 37, 2), (n, 2)):
        monkeypatch.setattr(pb, "_workers", lambda w=workers: w)
        for method in ("poisson", "multinomial"):
            runs.append((method,
                         paired_bootstrap("classification", y, a, b, names, n_boot=150,
                                          seed=5, chunk_elements=chunk, method=method),
                         slice_bootstrap("classification", y, a, b, names, cols, n_boot=150,
                                         seed=5, chunk_elements=chunk, method=method)))
    for method in ("poisson", "multinomial"):
        same = [r for r in runs if r[0] == method]
        assert all(r[1] == same[0][1] and r[2] == same[0][2] for r in same)
    other = paired_bootstrap("classification", y, a, b, names, n_boot=150, seed=6)
    assert other != runs[0][1]


def test_identical_models_give_zero_intervals_and_one_slice_is_the_whole() -> None:
    n = 900
    y, a, b = _binary(n, 13)
    names = ("accuracy", "f1", "roc_auc")
    same = paired_bootstrap("classification", y, a, a, names, n_boot=60, seed=1)
    assert all(iv.low == 0 and iv.high == 0 for iv in same.values())
    whole = paired_bootstrap("classification", y, a, b, names, n_boot=80, seed=2)
    columns = {"g": np.arange(n) % 3, "all": np.zeros(n, int)}
    overall, per = paired_bootstrap_with_slices("classification", y, a, b, names, columns,
                                                n_boot=80, seed=2)
    assert overall == whole  # drawn once, for the overall and the slices alike
    assert sorted(per) == ["all", "g"] and sorted(per["g"]) == [0, 1, 2]
    for name in names:  # the same resamples: a slice of every row is the overall delta
        assert per["all"][0][name].low == pytest.approx(whole[name].low, abs=1e-12)
        assert per["all"][0][name].high == pytest.approx(whole[name].high, abs=1e-12)
    alone = slice_bootstrap("classification", y, a, b, names, columns, n_boot=80, seed=2)
    assert alone["g"][1]["roc_auc"].delta_samples == 80


def test_poisson_counts_have_mean_and_variance_one() -> None:
    counts = np.repeat(np.arange(len(pb.POISSON_COUNTS)), pb.POISSON_COUNTS)
    assert len(counts) == 256
    assert counts.mean() == 1.0 and counts.var() == 1.0
    W = pb._draw(np.random.SeedSequence(0).spawn(40), "poisson", 50_000, 50_000, None)
    assert W.mean() == pytest.approx(1.0, abs=0.003)
    assert W.var() == pytest.approx(1.0, abs=0.01)
    assert np.bincount(W.ravel()) / W.size == pytest.approx(
        np.asarray(pb.POISSON_COUNTS) / 256, abs=0.002)


def test_generic_engine_slices_for_regression_and_multiclass() -> None:
    rng = np.random.default_rng(14)
    n = 500
    y = rng.normal(5, 2, n)
    pa, pb_ = y + rng.normal(0, 1, n), y + rng.normal(0.5, 1, n)
    g = rng.integers(0, 2, n)
    got = slice_bootstrap("regression", y, Predictions(values=pa), Predictions(values=pb_),
                          ("rmse", "mae"), {"g": g}, n_boot=300, seed=1, n_classes=0)
    for v in (0, 1):
        rows = g == v
        d = skm.mean_absolute_error(y[rows], pa[rows]) - skm.mean_absolute_error(y[rows],
                                                                                 pb_[rows])
        iv = got["g"][v]["mae"]
        assert iv.low is not None and iv.high is not None and iv.low < d < iv.high
    k = 3
    yc = rng.integers(0, k, n)
    P = rng.dirichlet([1.0] * k, n)
    P[np.arange(n), yc] += 0.4
    P /= P.sum(axis=1, keepdims=True)
    got = slice_bootstrap("classification", yc, Predictions(P.argmax(1), P),
                          Predictions(rng.integers(0, k, n), P[::-1].copy()),
                          ("accuracy", "roc_auc"), {"g": g}, n_boot=200, seed=1, n_classes=k)
    assert got["g"][0]["accuracy"].low is not None and got["g"][0]["accuracy"].low > 0


def test_log_loss_of_certain_wrong_predictions_clips_as_sklearn_does() -> None:
    """A probability of exactly 0 for the true class: scikit-learn clips at float64's eps
    (-log eps = 36.04 per row); clipping at 1e-15 (34.54) gave a different log loss."""
    y = np.array([0, 1, 1, 0, 1, 0])
    p1 = np.array([1.0, 0.0, 0.7, 0.2, 1.0, 0.0])
    proba = np.c_[1 - p1, p1]
    pred = (p1 > 0.5).astype(int)
    w = np.array([[2, 1, 0, 1, 3, 1]], dtype=np.uint8)
    rows = np.repeat(np.arange(len(y)), w[0])
    ref = skm.log_loss(y[rows], proba[rows], labels=[0, 1])
    generic = pb._ModelStats("classification", y, Predictions(pred, proba), 2, ("log_loss",))
    assert generic.metrics(w.astype(np.float64))["log_loss"][0] == pytest.approx(ref, rel=1e-9)
    engine = pb._BinaryEngine(y, (Predictions(pred, proba), Predictions(pred, proba)),
                              ("log_loss",), [None])
    assert engine.metrics(engine.counts(w))[0][0]["log_loss"][0, 0] == pytest.approx(ref,
                                                                                  rel=1e-12)
