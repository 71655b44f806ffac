"""Parity with Evidently itself: the same drift verdicts and scores as DataDriftPreset.

Each dataset runs through ``Report([DataDriftPreset()], include_tests=True).run(current,
reference)`` and through :func:`gitops_ml.drift.stats.detect_drift` with no settings (Evidently's
inference and defaults), or with the same per-column methods on both sides.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gitops_ml.drift import stats as drift
from gitops_ml.project.spec import DriftColumn, DriftSettings

RTOL = 1e-6
pytestmark = pytest.mark.slow  # runs Evidently itself: ~25 s for the module


@pytest.fixture(scope="module")
def evidently_run():
    evidently = pytest.importorskip("evidently")
    from evidently.presets import DataDriftPreset

    def run(reference: pd.DataFrame, current: pd.DataFrame, **preset: Any) -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            snapshot = evidently.Report([DataDriftPreset(**preset)], include_tests=True).run(
                current, reference)
        return parse_snapshot(snapshot.dict())

    return run


def parse_snapshot(snap: dict[str, Any]) -> dict[str, Any]:
    """Per-column method, threshold, score and FAIL status, plus the dataset count/share."""
    status = {t["metric_config"]["metric_id"]: t["status"] for t in snap["tests"]}
    out: dict[str, Any] = {"columns": {}}
    for metric in snap["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            out["count"] = metric["value"]["count"]
            out["share"] = metric["value"]["share"]
        elif config["type"].endswith("ValueDrift"):
            out["columns"][config["column"]] = {
                "stattest_name": config["method"], "threshold": config["threshold"],
                "score": metric["value"], "drifted": status[metric["id"]] == "FAIL"}
    return out


def assert_parity(ours: drift.DriftResult, theirs: dict[str, Any]) -> None:
    assert [c.column for c in ours.columns] == list(theirs["columns"])
    for col in ours.columns:
        ev = theirs["columns"][col.column]
        # Evidently names an auto-chosen method by its display name, a requested one by its name
        assert ev["stattest_name"] in (col.stattest_name, col.method), col.column
        assert col.threshold == pytest.approx(ev["threshold"]), col.column
        assert col.score is not None
        if math.isinf(ev["score"]):
            assert col.score == ev["score"], col.column
        else:
            assert col.score == pytest.approx(ev["score"], rel=RTOL, abs=1e-12), col.column
        assert col.drifted == ev["drifted"], col.column
    assert ours.number_of_drifted_columns == theirs["count"]
    assert ours.share_of_drifted_columns == pytest.approx(theirs["share"])
    assert ours.dataset_drift == (theirs["share"] >= 0.5)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def small_numeric() -> tuple[pd.DataFrame, pd.DataFrame]:
    r, n, m = rng(1), 400, 350

    def frame(shift: float, size: int) -> pd.DataFrame:
        return pd.DataFrame({
            "normal": r.normal(shift, 1, size),
            "uniform": r.uniform(0, 1 + shift, size),
            "counts": r.poisson(20 + 10 * shift, size).astype("int64"),  # > 10 values: numeric
            "few": r.choice([0.5, 1.5, 2.5, 3.5], size),  # 4 values: chi-square
            "binary": r.choice([0.0, 1.0], size, p=[0.5 - shift / 4, 0.5 + shift / 4]),
            "same": r.normal(0, 1, size),
        })

    return frame(0.0, n), frame(0.4, m)


def large_numeric() -> tuple[pd.DataFrame, pd.DataFrame]:
    r, n, m = rng(2), 3000, 2500

    def frame(shift: float, size: int) -> pd.DataFrame:
        return pd.DataFrame({
            "normal": r.normal(shift, 1, size),
            "lognormal": r.lognormal(0.1 * shift, 1, size),
            "few": r.choice([1.0, 2.0, 3.0], size, p=[0.2, 0.3 + shift / 10, 0.5 - shift / 10]),
            "steady": r.normal(5, 2, size),
            "ints": r.integers(0, 1000, size).astype("int64"),
        })

    return frame(0.0, n), frame(1.0, m)


def small_categorical() -> tuple[pd.DataFrame, pd.DataFrame]:
    r, n, m = rng(3), 600, 500
    ref = pd.DataFrame({
        "colour": r.choice(["red", "green", "blue", "grey"], n),
        "flag": r.choice(["yes", "no"], n),
        "bool": r.choice([True, False], n),
        "level": r.integers(0, 5, n).astype("int64"),  # int with <= 10 values: categorical
    })
    cur = pd.DataFrame({
        "colour": r.choice(["red", "green", "blue", "grey"], m, p=[0.4, 0.3, 0.2, 0.1]),
        "flag": r.choice(["yes", "no"], m),
        "bool": r.choice([True, False], m, p=[0.7, 0.3]),
        "level": r.integers(0, 5, m).astype("int64"),
    })
    return ref, cur


def large_categorical_unseen() -> tuple[pd.DataFrame, pd.DataFrame]:
    r, n, m = rng(4), 5000, 4000
    ref = pd.DataFrame({
        "city": r.choice(["a", "b", "c", "d", "e"], n),
        "plan": r.choice(["basic", "pro"], n),
        "channel": pd.Categorical(r.choice(["web", "shop", "phone"], n)),
        "stable": r.choice(["x", "y", "z"], n),
    })
    cur = pd.DataFrame({
        "city": r.choice(["a", "b", "c", "d", "e", "f", "g"], m),  # unseen f, g
        "plan": r.choice(["basic", "pro", "enterprise"], m, p=[0.5, 0.3, 0.2]),
        "channel": pd.Categorical(r.choice(["web", "shop", "phone", "app"], m)),
        "stable": r.choice(["x", "y", "z"], m),
    })
    return ref, cur


def small_categorical_unseen() -> tuple[pd.DataFrame, pd.DataFrame]:
    r, n, m = rng(5), 300, 300
    ref = pd.DataFrame({"kind": r.choice(["a", "b", "c"], n),
                        "pair": r.choice(["p", "q"], n)})
    cur = pd.DataFrame({"kind": r.choice(["a", "b", "c", "d"], m),  # chi-square: p = 0
                        "pair": r.choice(["p", "r"], m)})  # z-test over p/q/r
    return ref, cur


def with_missing() -> tuple[pd.DataFrame, pd.DataFrame]:
    r = rng(6)

    def frame(size: int, shift: float, null_share: float) -> pd.DataFrame:
        x = r.normal(shift, 1, size)
        x[r.random(size) < null_share] = np.nan
        x[:3] = [np.inf, -np.inf, np.nan]
        s = r.choice(["u", "v", "w"], size).astype(object)
        s[r.random(size) < null_share] = None
        y = r.normal(0, 1, size)
        y[r.random(size) < 0.5] = np.nan
        return pd.DataFrame({"x": x, "s": s, "y": y})

    return frame(1500, 0.0, 0.1), frame(1200, 0.2, 0.3)


def constant_columns() -> tuple[pd.DataFrame, pd.DataFrame]:
    r, n, m = rng(7), 2000, 1500
    ref = pd.DataFrame({
        "const": np.full(n, 3.0),                 # constant on both sides: JS 0
        "const_ref": np.full(n, 1.0),             # constant reference, varied current
        "const_cat": np.full(n, "k"),
        "moving": r.normal(0, 1, n),
    })
    cur = pd.DataFrame({
        "const": np.full(m, 3.0),
        "const_ref": r.normal(1, 0.01, m),        # Wasserstein over std floored at 0.001
        "const_cat": np.full(m, "k"),
        "moving": r.normal(0, 1, m),
    })
    return ref, cur


def small_constant() -> tuple[pd.DataFrame, pd.DataFrame]:
    n = 200
    ref = pd.DataFrame({"c": np.full(n, 2.0), "d": np.full(n, 2.0), "e": np.full(n, "a")})
    cur = pd.DataFrame({"c": np.full(n, 2.0), "d": np.full(n, 5.0), "e": np.full(n, "a")})
    return ref, cur


DATASETS = {
    "small_numeric": small_numeric,
    "large_numeric": large_numeric,
    "small_categorical": small_categorical,
    "large_categorical_unseen": large_categorical_unseen,
    "small_categorical_unseen": small_categorical_unseen,
    "with_missing": with_missing,
    "constant_columns": constant_columns,
    "small_constant": small_constant,
}


@pytest.mark.parametrize("name", list(DATASETS))
def test_default_methods_match_evidently(name: str, evidently_run) -> None:
    ref, cur = DATASETS[name]()
    ours = drift.detect_drift(ref, cur)
    assert_parity(ours, evidently_run(ref, cur))


def test_datasets_cover_every_default_method(evidently_run) -> None:
    methods = set()
    for make in DATASETS.values():
        ref, cur = make()
        methods |= {c.method for c in drift.detect_drift(ref, cur).columns}
    assert methods == {"ks", "chisquare", "z", "wasserstein", "jensenshannon"}


@pytest.mark.parametrize("method", ["psi", "kl_div", "hellinger", "jensenshannon", "ks",
                                    "wasserstein"])
def test_numeric_overrides_match_evidently(method: str, evidently_run) -> None:
    ref, cur = large_numeric()
    ref, cur = ref[["normal", "lognormal", "few", "ints"]], cur[["normal", "lognormal", "few",
                                                                "ints"]]
    settings = DriftSettings(method=method)  # type: ignore[arg-type]
    ours = drift.detect_drift(ref, cur, settings=settings)
    assert_parity(ours, evidently_run(ref, cur, method=method))


@pytest.mark.parametrize("method", ["psi", "kl_div", "hellinger", "jensenshannon",
                                    "chisquare", "z"])
def test_categorical_overrides_match_evidently(method: str, evidently_run) -> None:
    ref, cur = large_categorical_unseen()
    settings = DriftSettings(method=method)  # type: ignore[arg-type]
    ours = drift.detect_drift(ref, cur, settings=settings)
    assert_parity(ours, evidently_run(ref, cur, method=method))


def test_per_column_method_and_threshold_match_evidently(evidently_run) -> None:
    ref, cur = small_numeric()
    settings = DriftSettings(columns={
        "normal": DriftColumn(method="psi", threshold=0.2),
        "uniform": DriftColumn(method="wasserstein"),
        "same": DriftColumn(threshold=0.5)})
    ours = drift.detect_drift(ref, cur, settings=settings)
    theirs = evidently_run(ref, cur, per_column_method={"normal": "psi", "uniform": "wasserstein"},
                           per_column_threshold={"normal": 0.2, "same": 0.5})
    assert_parity(ours, theirs)
    assert ours.column("same").threshold == 0.5


def test_the_evidently_page_counts_the_columns_the_comment_counts_target_apart() -> None:
    """The comment said "3 of 6 columns drifted (50%), dataset drift" while the Evidently page
    said "3 of 7, not detected": the page counted the target. Now the preset sees the tested
    features only, and the target's drift is a metric of its own."""
    from gitops_ml.drift import evidently_html

    rng = np.random.default_rng(0)
    n = 400
    ref = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    ref["y"] = rng.integers(0, 2, n).astype(str)
    ref["empty"] = rng.normal(size=n)
    cur = ref.copy()
    for i in range(3):
        cur[f"x{i}"] = cur[f"x{i}"] + 2
    cur["y"] = np.where(rng.random(n) < 0.9, "1", "0")
    cur["empty"] = np.nan  # untested: a failed data check, on neither side of the count
    features = [*(f"x{i}" for i in range(6)), "empty"]
    kinds = {c: "numerical" for c in features} | {"y": "categorical"}
    ours = drift.detect_drift(ref, cur, columns=features, kinds=kinds, target="y",
                              target_kind="categorical")
    assert (ours.number_of_drifted_columns, ours.share_of_drifted_columns) == (3, 0.5)
    assert ours.dataset_drift and ours.target is not None and ours.target.drifted
    metrics = evidently_html.snapshot(ref, cur, ours).dict()["metrics"]
    counts = [m for m in metrics if m["metric_name"].startswith("DriftedColumnsCount")]
    assert len(counts) == 1
    assert counts[0]["value"] == {"count": 3.0, "share": 0.5}
    assert "columns=x0,x1,x2,x3,x4,x5," in counts[0]["metric_name"]  # no target, no 'empty'
    drifts = {m["metric_name"].split("column=")[1].split(",")[0]: m for m in metrics
              if m["metric_name"].startswith("ValueDrift")}
    assert sorted(drifts) == ["x0", "x1", "x2", "x3", "x4", "x5", "y"]
    assert drifts["y"]["value"] == pytest.approx(0.0, abs=1e-12)  # the target, shown apart
