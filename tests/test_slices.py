"""Where the model got worse: per-slice deltas with paired bootstrap intervals, flags, and
``evaluation.json``'s ``slices``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from gitops_ml.evaluate import slices as slicing
from gitops_ml.evaluate.evaluation import evaluate
from gitops_ml.evaluate.paired_bootstrap import Predictions
from gitops_ml.project.spec import find_spec, load_config
from gitops_ml.runs.key import run_key
from gitops_ml.train import read_datasets, train

from .train_fixtures import groups, spec_text, write_repo


@pytest.fixture(autouse=True)
def one_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def _two_models(n: int = 3000, seed: int = 0):
    """A candidate better than the champion on group 'a' and worse on group 'b' (40% of the
    rows): better overall, worse for b."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], n, p=[0.6, 0.4]).astype(object)
    group[rng.random(n) < 0.03] = None
    y = rng.integers(0, 2, n)
    good = 1 / (1 + np.exp(-(3.0 * (2 * y - 1) + rng.normal(0, 1, n))))
    poor = 1 / (1 + np.exp(-(1.0 * (2 * y - 1) + rng.normal(0, 1, n))))
    mid = 1 / (1 + np.exp(-(1.5 * (2 * y - 1) + rng.normal(0, 1, n))))
    in_b = group == "b"
    cand = np.where(in_b, poor, good)
    champ = mid
    frame = pd.DataFrame({"group": group, "flat": "same"})

    def pred(s: np.ndarray) -> Predictions:
        return Predictions((s > 0.5).astype(int), np.c_[1 - s, s])

    return frame, y, pred(cand), pred(champ)


def _point(y: np.ndarray, a: Predictions, b: Predictions):
    def on(rows: np.ndarray):
        def m(p: Predictions) -> dict[str, float]:
            assert p.proba is not None and p.labels is not None
            return {"roc_auc": skm.roc_auc_score(y[rows], p.proba[rows, 1]),
                    "log_loss": skm.log_loss(y[rows], p.proba[rows], labels=[0, 1])}
        return m(a), m(b)
    return on


def test_better_overall_worse_for_a_group_is_flagged() -> None:
    frame, y, a, b = _two_models()
    names = ("roc_auc", "log_loss")
    point = _point(y, a, b)
    overall_a, overall_b = point(np.arange(len(y)))
    gains = {k: slicing.gain_of(k, overall_a[k] - overall_b[k]) for k in names}
    assert gains["roc_auc"] > 0 and gains["log_loss"] > 0  # better overall
    rep = slicing.slice_deltas("classification", frame, ["group", "flat"], y, a, b, names,
                               point, gains, n_classes=2, n_boot=400, seed=0)
    got = {(s.column, s.value, s.metric): s for s in rep.slices}
    assert {(c, v) for c, v, _ in got} == {("group", "a"), ("group", "b"),
                                           ("group", slicing.MISSING), ("flat", "same")}
    b_auc = got[("group", "b", "roc_auc")]
    rows = np.flatnonzero(frame["group"] == "b")
    assert b_auc.rows == len(rows)
    assert b_auc.candidate == skm.roc_auc_score(y[rows], a.proba[rows, 1])  # exact
    assert b_auc.delta == b_auc.candidate - b_auc.champion
    assert b_auc.ci_high < 0 and b_auc.worse and not b_auc.better
    b_ll = got[("group", "b", "log_loss")]  # lower is better: worse means a positive delta
    assert b_ll.delta > 0 and b_ll.ci_low > 0 and b_ll.worse and b_ll.gain < 0
    assert got[("group", "a", "roc_auc")].better
    assert not got[("flat", "same", "roc_auc")].worse
    assert {(s.label, s.metric) for s in rep.worse} == {("group=b", "roc_auc"),
                                                        ("group=b", "log_loss")}
    assert any(f.startswith("roc_auc: better overall, worse for group=b (") for f in rep.flags)
    assert rep.worst_drop("roc_auc") is b_auc
    # the small missing-value slice (about 90 rows) has an interval; a tiny one would not
    assert got[("group", slicing.MISSING, "roc_auc")].n_boot > 0
    again = slicing.SliceReport.from_dict(json.loads(json.dumps(rep.to_dict())))
    assert again.slices == rep.slices and again.flags == rep.flags


def test_small_slices_get_no_interval_and_many_values_are_capped() -> None:
    frame, y, a, b = _two_models(n=400)
    frame["id"] = [f"v{i % 150}" for i in range(len(y))]
    frame.loc[:4, "group"] = "tiny"
    names = ("roc_auc",)
    rep = slicing.slice_deltas("classification", frame, ["group", "id"], y, a, b, names,
                               _point(y, a, b), {"roc_auc": 0.1}, n_classes=2, n_boot=50,
                               seed=0, max_values=20)
    tiny = [s for s in rep.slices if s.value == "tiny"]
    assert len(tiny) == 1 and tiny[0].ci_low is None and tiny[0].n_boot == 0
    assert not tiny[0].worse
    assert len([s for s in rep.slices if s.column == "id"]) == 20
    assert any("130 of 150 values left out" in n for n in rep.notes)
    assert any("fewer than 10 rows" in n for n in rep.notes)


def test_evaluation_json_records_the_slices(make_repo, gml) -> None:
    repo = write_repo(make_repo, {"data/train.csv": groups(800)}, {
        "g": spec_text("g", target="churned", numeric=["tenure", "charges"],
                       categorical=["contract"], sensitive=["gender"],
                       params={"max_iter": 500}, metrics=["roc_auc", "accuracy"]),
        "champ": spec_text("champ", target="churned", numeric=["charges"],
                           params={"max_iter": 500}, metrics=["roc_auc", "accuracy"]),
    })
    champ = train(repo, "champ")
    result = evaluate(repo, "g", champion=champ.run_key, bootstrap=200)
    rep = result.slices
    assert rep is not None and rep.columns == ("gender", "contract")
    config = load_config(repo)
    spec = find_spec(config, "g")
    test = read_datasets(config, run_key(config, spec)).test
    values = {(s.column, s.value) for s in rep.slices}
    assert ("gender", "f") in values and ("gender", "m") in values
    assert ("contract", slicing.MISSING) in values  # missing values are a slice
    for s in rep.slices:
        rows = test["gender"] == s.value if s.column == "gender" else (
            test["contract"].isna() if s.value == slicing.MISSING
            else test["contract"] == s.value)
        assert s.rows == int(rows.sum())
        if s.rows >= slicing.MIN_ROWS:
            assert s.ci_low is not None and s.ci_high is not None and s.n_boot > 0
            assert s.ci_low <= s.ci_high
        else:
            assert s.ci_low is None and s.n_boot == 0
    saved = json.loads(_stored_evaluation(repo, result.run_key))
    assert saved["slices"]["columns"] == ["gender", "contract"]
    assert len(saved["slices"]["slices"]) == len(rep.slices)
    first = saved["slices"]["slices"][0]
    assert set(first) >= {"column", "value", "rows", "metric", "candidate", "champion",
                          "delta", "ci_low", "ci_high", "n_boot", "gain", "worse"}
    # without a champion there is nothing to compare: no slices
    alone = evaluate(repo, "g", bootstrap=50)
    assert alone.slices is None


def _stored_evaluation(repo: Path, key: str) -> str:
    from gitops_ml.runs.store import Store

    return Store.open(load_config(repo)).read_run_file(key, "evaluation.json").decode()
