"""The verdict engine against scipy's reference implementations, and its contracts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from gitops_ml.drift import stats as drift
from gitops_ml.errors import ConfigError, DataCheckError
from gitops_ml.project.spec import DriftColumn, DriftSettings


@pytest.mark.parametrize("n, m", [(7, 5), (3000, 2500), (200_000, 150_000)])
def test_wasserstein_equals_scipy_with_ties_across_blocks(n: int, m: int) -> None:
    rng = np.random.default_rng(n)
    u = np.round(rng.normal(0, 1, n), 2)  # many ties
    v = np.round(rng.normal(0.1, 1.2, m), 2)
    expected = stats.wasserstein_distance(u, v) / max(float(np.std(u)), 0.001)
    assert drift.wasserstein(np.sort(u), np.sort(v)) == pytest.approx(expected, rel=1e-12)


def test_wasserstein_of_a_constant_reference_uses_evidentlys_floor() -> None:
    u = np.full(2000, 1.0)
    v = np.sort(np.random.default_rng(0).normal(1, 0.01, 1500))
    expected = stats.wasserstein_distance(u, v) / 0.001
    assert drift.wasserstein(u, v) == pytest.approx(expected, rel=1e-12)


def test_ks_chisquare_z_js_kl_match_scipy() -> None:
    rng = np.random.default_rng(1)
    r, c = np.sort(rng.normal(0, 1, 400)), np.sort(rng.normal(0.2, 1, 300))
    assert drift.ks(r, c) == stats.ks_2samp(r, c).pvalue
    ref = pd.Series(rng.choice(["a", "b", "c"], 500, p=[0.5, 0.3, 0.2]))
    cur = pd.Series(rng.choice(["a", "b", "c"], 400, p=[0.4, 0.4, 0.2]))
    col = drift.column_drift("x", ref, cur, "categorical")
    rc, cc = ref.value_counts(), cur.value_counts()[ref.value_counts().index]
    expected = stats.chisquare(cc.to_numpy(), rc.to_numpy() * (400 / 500)).pvalue
    assert col.method == "chisquare" and col.score == pytest.approx(expected, rel=1e-12)
    js = drift.column_drift("x", ref, cur, "categorical", method="jensenshannon")
    assert js.score == pytest.approx(distance.jensenshannon(rc.to_numpy() / 500,
                                                            cc.to_numpy() / 400), rel=1e-12)
    kl = drift.column_drift("x", ref, cur, "categorical", method="kl_div")
    assert kl.score == pytest.approx(stats.entropy(rc.to_numpy() / 500, cc.to_numpy() / 400),
                                     rel=1e-12)
    b_ref = pd.Series(rng.choice([0, 1], 300))
    b_cur = pd.Series(rng.choice([0, 1], 300, p=[0.3, 0.7]))
    z = drift.column_drift("b", b_ref, b_cur, "categorical")
    p1, p2 = b_ref.mean(), b_cur.mean()
    pooled = (p1 * 300 + p2 * 300) / 600
    stat = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (2 / 300))
    assert z.method == "z" and z.score == pytest.approx(2 * (1 - stats.norm.cdf(abs(stat))))


def test_default_method_follows_evidently() -> None:
    assert drift.default_method("numerical", 1000, 6) == "ks"
    assert drift.default_method("numerical", 1000, 5) == "chisquare"
    assert drift.default_method("numerical", 1000, 2) == "z"
    assert drift.default_method("categorical", 1000, 3) == "chisquare"
    assert drift.default_method("categorical", 10, 1) == "z"
    assert drift.default_method("numerical", 1001, 6) == "wasserstein"
    assert drift.default_method("numerical", 1001, 5) == "jensenshannon"
    assert drift.default_method("categorical", 5000, 50) == "jensenshannon"


def test_reference_size_counts_non_null_values() -> None:
    rng = np.random.default_rng(2)
    ref = pd.Series(rng.normal(0, 1, 1500))
    ref[:600] = np.nan  # 900 values left: a small reference
    col = drift.column_drift("x", ref, pd.Series(rng.normal(0, 1, 2000)), "numerical")
    assert col.method == "ks" and col.reference_values == 900


def test_dataset_drift_at_exactly_drift_share() -> None:
    ref = pd.DataFrame({"a": np.arange(100.0), "b": np.arange(100.0)})
    cur = pd.DataFrame({"a": np.arange(100.0) + 80, "b": np.arange(100.0)})
    result = drift.detect_drift(ref, cur)
    assert result.share_of_drifted_columns == 0.5 and result.dataset_drift
    result = drift.detect_drift(ref, cur, settings=DriftSettings(drift_share=0.6))
    assert not result.dataset_drift


def test_column_callables_give_the_same_result_as_frames() -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 3000), "s": rng.choice(list("abc"), 3000)})
    cur = pd.DataFrame({"x": rng.normal(0.2, 1, 2000), "s": rng.choice(list("abd"), 2000)})
    kinds = {"x": "numerical", "s": "categorical"}
    a = drift.detect_drift(ref, cur, columns=["x", "s"], kinds=kinds)
    b = drift.detect_drift(lambda c: ref[c], lambda c: cur[c], columns=["x", "s"], kinds=kinds)
    assert a.columns == b.columns


def test_target_is_reported_apart_from_the_share() -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 500), "y": rng.choice([0, 1], 500)})
    cur = pd.DataFrame({"x": rng.normal(0, 1, 500), "y": rng.choice([0, 1], 500, p=[.9, .1])})
    result = drift.detect_drift(ref, cur, columns=["x"], kinds={"x": "numerical"}, target="y",
                                target_kind="categorical")
    assert [c.column for c in result.columns] == ["x"]
    assert result.target is not None and result.target.drifted
    assert result.share_of_drifted_columns == 0.0


def test_settings_resolution() -> None:
    settings = DriftSettings(method="psi", threshold=0.3, columns={
        "a": DriftColumn(method="ks"), "b": DriftColumn(threshold=0.05)})
    assert drift.column_settings(settings, "a") == ("ks", None)  # ks's own threshold
    assert drift.column_settings(settings, "b") == ("psi", 0.05)
    assert drift.column_settings(settings, "c") == ("psi", 0.3)
    assert drift.column_settings(None, "c") == (None, None)


def test_method_kind_mismatch_and_unknown_method_are_config_errors() -> None:
    s = pd.Series(["a", "b"] * 10)
    with pytest.raises(ConfigError, match="applies to numerical columns only"):
        drift.column_drift("s", s, s, "categorical", method="wasserstein")
    with pytest.raises(ConfigError, match="unknown drift method 'kss'") as info:
        drift.column_drift("s", s, s, "categorical", method="kss")
    assert "did you mean" in (info.value.hint or "").lower() or "ks" in (info.value.hint or "")


def test_numeric_column_holding_text_is_a_data_error() -> None:
    with pytest.raises(DataCheckError, match="column 'x' must be numeric, but the current data "
                                             "holds"):
        drift.column_drift("x", pd.Series([1.0, 2.0]), pd.Series(["a", "b"]), "numerical")


def test_a_column_null_on_one_side_is_untested_not_drift() -> None:
    """Evidently refuses an all-null column; here it is a failed data check (empty_columns),
    and the drift share does not count it."""
    empty = pd.Series([np.nan] * 5)
    full = pd.Series(np.arange(5.0))
    both = drift.column_drift("x", empty, empty, "numerical")
    assert not both.drifted and both.score is None
    one = drift.column_drift("x", full, empty, "numerical")
    assert not one.drifted and not one.tested
    assert one.note == ("no values in the current data (all null): not tested, see the data "
                        "checks")
    cat = drift.column_drift("s", pd.Series(["a", None]), pd.Series([None, None]), "categorical")
    assert not cat.drifted and cat.current_values == 0
    frame = pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0)})
    result = drift.detect_drift(frame, frame.assign(b=np.nan, a=frame["a"] + 100),
                                columns=["a", "b"], kinds={"a": "numerical", "b": "numerical"})
    assert [c.column for c in result.tested_columns] == ["a"]
    assert result.share_of_drifted_columns == 1.0 and result.number_of_drifted_columns == 1


@pytest.mark.parametrize("method", ["chisquare", "z"])
def test_chisquare_and_z_on_a_numeric_column_are_refused_as_evidently_does(method: str) -> None:
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    with pytest.raises(Exception):  # noqa: B017 - Evidently's own refusal, whatever its type
        get_stattest(pd.Series(np.arange(50.0)), pd.Series(np.arange(50.0)),
                     ColumnType.Numerical, method)
    with pytest.raises(ConfigError, match=f"drift method '{method}' applies to categorical "
                       "columns only, and column 'x' is numerical"):
        drift.column_drift("x", pd.Series(np.arange(50.0)), pd.Series(np.arange(50.0)),
                           "numerical", method=method)


def test_column_kinds_are_inferred_exactly_as_evidently_infers_them() -> None:
    from evidently.core.datasets import infer_column_type

    n = 40
    series = {
        "float64": pd.Series(np.linspace(0, 1, n)),
        "Float64 (nullable)": pd.Series(np.linspace(0, 1, n), dtype="Float64"),
        "int64 few": pd.Series(np.arange(n) % 4),
        "int64 many": pd.Series(np.arange(n)),
        "Int64 (nullable)": pd.Series(np.arange(n), dtype="Int64"),
        "uint8": pd.Series(np.arange(n) % 4, dtype="uint8"),
        "bool": pd.Series([True, False] * (n // 2)),
        "boolean (nullable)": pd.Series([True, False, None, True] * (n // 4), dtype="boolean"),
        "category": pd.Series(["a", "b"] * (n // 2), dtype="category"),
        "object labels": pd.Series(["red", "green"] * (n // 2)),
        "object text": pd.Series([f"free text number {i}" for i in range(n)]),
        "string labels": pd.Series(["red", "green"] * (n // 2), dtype="string"),
        "string text": pd.Series([f"a note {i}" for i in range(n)], dtype="string"),
        "datetime": pd.Series(pd.date_range("2026-01-01", periods=n)),
        "object mixed": pd.Series([1, "a"] * (n // 2), dtype="object"),
    }
    names = {"num": "numerical", "cat": "categorical", "text": "text"}
    for label, s in series.items():
        theirs = infer_column_type(s).value
        ours = drift.infer_kind(s)
        assert ours == names.get(theirs), (label, theirs, ours)


def test_text_columns_are_reported_untested_and_not_counted() -> None:
    n = 60
    frame = pd.DataFrame({"x": np.arange(n, dtype=float),
                          "note": [f"customer wrote {i}" for i in range(n)]})
    result = drift.detect_drift(frame, frame)
    note = result.column("note")
    assert note.kind == "text" and not note.tested and not note.drifted
    assert [c.column for c in result.tested_columns] == ["x"]


def test_infinities_are_dropped_like_nulls() -> None:
    ref = pd.Series([1.0, 2.0, np.inf, 3.0, -np.inf, 4.0, 5.0, 6.0])
    col = drift.column_drift("x", ref, ref[np.isfinite(ref)], "numerical")
    assert col.reference_values == 6 and col.score == 1.0


@pytest.mark.parametrize("values, kind", [
    (np.arange(20, dtype=float), "numerical"), (np.arange(20) % 10, "categorical"),
    (np.arange(20), "numerical"), (np.array(["a", "b"] * 10, dtype=object), "categorical"),
    (np.array([True, False] * 10), "categorical"),
    (pd.Categorical(["a", "b"] * 10), "categorical"),
    (pd.date_range("2026-01-01", periods=20), None), (np.array([None] * 20), None)])
def test_infer_kind_like_evidently(values, kind) -> None:
    assert drift.infer_kind(pd.Series(values)) == kind


def test_result_to_dict_has_the_contract_keys() -> None:
    ref = pd.DataFrame({"a": np.arange(50.0)})
    doc = drift.detect_drift(ref, ref).to_dict()
    assert doc["schema_version"] == 2
    for key in ("reference", "current", "columns", "share_of_drifted_columns",
                "number_of_drifted_columns", "dataset_drift", "drift_share", "target",
                "prediction", "checks", "report_html", "sampled_rows"):
        assert key in doc
    assert set(doc["columns"][0]) >= {"column", "kind", "method", "score", "threshold",
                                      "drifted", "stattest_name"}
