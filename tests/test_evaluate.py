"""evaluate: metrics, the champion, paired bootstrap deltas, gates, evaluation.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

from gitops_ml.errors import ExitCode
from gitops_ml.evaluate.champion import (
    ChampionProvider,
    ExplicitChampion,
    NoChampion,
    default_provider,
)
from gitops_ml.evaluate.evaluation import evaluate
from gitops_ml.evaluate.paired_bootstrap import Predictions, _ModelStats, paired_bootstrap
from gitops_ml.project.spec import load_config
from gitops_ml.runs import artifacts
from gitops_ml.runs.key import run_key
from gitops_ml.runs.store import Store
from gitops_ml.train import read_datasets, train

from .train_fixtures import (  # noqa: F401 - one_thread is an autouse fixture
    BC_FEATURES,
    breast_cancer,
    diabetes,
    groups,
    one_thread,
    spec_text,
    wine,
    write_repo,
)

RECORDS_V1 = Path(__file__).parent / "data" / "records_v1"
BC_GATES = [{"metric": "roc_auc", "min": 0.8}, {"metric": "roc_auc", "max_drop": 0.05},
            {"drift": "share_of_drifted_columns", "max": 0.3}]



@pytest.fixture
def bc_repo(make_repo) -> Path:
    return write_repo(make_repo, {"data/train.csv": breast_cancer()}, {
        "bc": spec_text("bc", numeric=BC_FEATURES, params={"max_iter": 2000},
                        metrics=["roc_auc", "f1", "accuracy", "log_loss"], gates=BC_GATES),
        "small": spec_text("small", numeric=BC_FEATURES[:2], params={"max_iter": 2000},
                           metrics=["roc_auc", "f1", "accuracy", "log_loss"]),
    })


def _test_rows(repo: Path, name: str):
    config = load_config(repo)
    from gitops_ml.project.spec import find_spec

    spec = find_spec(config, name)
    return spec, read_datasets(config, run_key(config, spec)).test


def test_first_model_metrics_match_sklearn_and_relative_gates_skip(bc_repo: Path) -> None:
    out = bc_repo / "reports/evaluation.json"
    result = evaluate(bc_repo, "bc", out=out)
    _spec, test = _test_rows(bc_repo, "bc")
    model = artifacts.load(Store.open(load_config(bc_repo)).path_of(result.train.artifact_sha256))
    X, y = test[BC_FEATURES], test["target"]
    proba = model.predict_proba(X)[:, 1]
    assert result.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba))
    assert result.metrics["f1"] == pytest.approx(skm.f1_score(y, model.predict(X)))
    assert result.metrics["log_loss"] == pytest.approx(skm.log_loss(y, model.predict_proba(X)))
    assert result.test_rows == len(test) == 114
    assert result.champion is None and result.deltas == {}
    by = {g.gate: g for g in result.gates}
    assert by["roc_auc ≥ 0.8"].passed is True
    rel = by["roc_auc drop ≤ 0.05 vs champion"]
    assert rel.skipped and "no champion" in rel.note
    drift = by["share_of_drifted_columns ≤ 0.3"]
    assert drift.skipped and drift.note == "evaluated by drift"
    assert result.gates_passed
    stored = json.loads(Store.open(load_config(bc_repo)).read_run_file(result.run_key,
                                                                       "evaluation.json"))
    assert stored == json.loads(out.read_text())
    assert stored["schema_version"] == 2 and stored["champion"] is None
    for key in ("model", "run_key", "task", "metrics", "deltas", "gates", "gates_passed",
                "confusion_matrix", "per_class", "fairness", "test_rows"):
        assert key in stored
    assert stored["confusion_matrix"]["labels"] == [0, 1]
    assert sum(map(sum, stored["confusion_matrix"]["matrix"])) == 114


def test_champion_by_run_key_with_its_own_features(bc_repo: Path, gml) -> None:
    small = train(bc_repo, "small")
    result = evaluate(bc_repo, "bc", champion=small.run_key)
    assert result.champion is not None and result.champion.run_key == small.run_key
    _spec, test = _test_rows(bc_repo, "bc")
    champ = artifacts.load(result.champion.artifact_path)
    assert list(champ.feature_names_in_) == BC_FEATURES[:2]
    expected = skm.roc_auc_score(test["target"],
                                 champ.predict_proba(test[BC_FEATURES[:2]])[:, 1])
    assert result.champion_metrics["roc_auc"] == pytest.approx(expected)
    d = result.deltas["roc_auc"]
    assert d.delta == pytest.approx(result.metrics["roc_auc"] - expected)
    assert d.n_boot == 200 and d.ci_low <= d.delta <= d.ci_high
    ll = result.deltas["log_loss"]
    assert ll.ci_low <= ll.delta <= ll.ci_high
    # same seed, same intervals
    again = evaluate(bc_repo, "bc", champion=small.run_key)
    assert again.deltas == result.deltas

    r = gml("-C", str(bc_repo), "evaluate", "bc", "--champion", small.run_key, "-o", "text")
    assert r.exit_code == 0, r.output
    assert "champion" in r.stdout and "delta" in r.stdout and "[" in r.stdout


def test_failing_gate_exit_code_and_champion_artifact_path(bc_repo: Path, gml) -> None:
    # the candidate is the small model; the champion (the full model) is much better
    full = train(bc_repo, "bc")
    blob = Store.open(load_config(bc_repo)).path_of(full.artifact_sha256)
    spec_file = bc_repo / "models/small/model.yaml"
    spec_file.write_text(spec_file.read_text() + "gates:\n"
                         "  - {metric: roc_auc, max_drop: 0.001}\n"
                         "  - {metric: log_loss, max_drop: 0.01, relative: true}\n")
    r = gml("-C", str(bc_repo), "evaluate", "small", "--champion", str(blob), "-o", "json")
    assert r.exit_code == ExitCode.GATES_FAILED, r.output
    env = r.json()
    assert env["ok"] is False and env["exit_code"] == 5 and env["error"] is None
    gates = env["result"]["gates"]
    assert [g["passed"] for g in gates] == [False, False]
    assert "drop" in gates[0]["note"]
    assert env["result"]["champion"]["artifact_sha256"] == full.artifact_sha256
    r = gml("-C", str(bc_repo), "evaluate", "small", "--champion", str(blob), "-o", "text")
    assert r.exit_code == 5 and "FAIL" in r.stdout and "gates FAILED" in r.stdout


def test_drift_gate_reads_drift_json_of_the_same_run(bc_repo: Path, gml) -> None:
    first = evaluate(bc_repo, "bc")
    store = Store.open(load_config(bc_repo))
    # a drift.json in the shape today's drift writes, and in schema 1 (before gate status)
    drift_v1 = json.loads((RECORDS_V1 / "drift.json").read_text())
    drift_v1.update(model="bc", share_of_drifted_columns=0.5, dataset_drift=True)
    store.write_run_file(first.run_key, "drift.json", json.dumps(drift_v1).encode())
    r = gml("-C", str(bc_repo), "evaluate", "bc", "-o", "json")
    assert r.exit_code == ExitCode.GATES_FAILED
    drift = next(g for g in r.json()["result"]["gates"] if g["kind"] == "drift")
    assert drift["value"] == 0.5 and drift["status"] == "fail" and not drift["skipped"]


def test_check_gates_are_judged_from_the_drift_run(make_repo) -> None:
    """The defect: evaluate looked for the checks under drift.json's ``checks.checks`` (a
    count), found no list, and always skipped check gates as "evaluated by drift"."""
    from gitops_ml.api import drift_model

    train_df, test_df = groups(600), groups(200, seed=1)
    test_df.loc[:9, "contract"] = "weekly"  # unseen in training: a new category
    repo = write_repo(make_repo, {"data/train.csv": train_df, "data/test.csv": test_df},
                      {"g": spec_text("g", target="churned", numeric=["tenure", "charges"],
                                      categorical=["contract"], test="data/test.csv",
                                      params={"max_iter": 500},
                                      gates=[{"check": "data_checks"},
                                             {"check": "new_categories"}])})
    train(repo, "g")  # as the workflow runs them: train, drift (into the store), evaluate
    drift = drift_model(repo, "g")
    assert [g.status for g in drift.gates] == ["pass", "fail"]
    result = evaluate(repo, "g")
    by = {g.subject: g for g in result.gates}
    assert by["data_checks"].status == "pass" and by["data_checks"].value == 0
    assert by["new_categories"].status == "fail" and by["new_categories"].value == 1
    assert "weekly" in by["new_categories"].note
    assert not result.gates_passed


def test_multiclass_wine_macro_metrics(make_repo) -> None:
    frame = wine()
    features = [c for c in frame.columns if c != "target"][:6]
    repo = write_repo(make_repo, {"data/train.csv": frame}, {"wine": spec_text(
        "wine", numeric=features, params={"max_iter": 3000},
        metrics=["roc_auc", "f1", "accuracy", "precision"], bootstrap=50)})
    result = evaluate(repo, "wine")
    _, test = _test_rows(repo, "wine")
    model = artifacts.load(Store.open(load_config(repo)).path_of(result.train.artifact_sha256))
    X, y = test[features], test["target"]
    assert result.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, model.predict_proba(X), multi_class="ovr", labels=model.classes_))
    assert result.metrics["f1"] == pytest.approx(skm.f1_score(y, model.predict(X),
                                                              average="macro"))
    assert result.confusion_matrix["labels"] == ["barbera", "barolo", "grignolino"]
    assert [c["class"] for c in result.per_class] == ["barbera", "barolo", "grignolino"]
    assert sum(c["support"] for c in result.per_class) == len(test)
    # compared with itself: every delta is 0
    same = evaluate(repo, "wine", champion=result.run_key)
    assert all(d.delta == 0 and d.ci_low == 0 and d.ci_high == 0 for d in same.deltas.values())


def test_regression_diabetes(make_repo) -> None:
    frame = diabetes()
    features = [c for c in frame.columns if c != "target"]
    repo = write_repo(make_repo, {"data/train.csv": frame}, {"dia": spec_text(
        "dia", task="regression", numeric=features, estimator="sklearn.linear_model.Ridge",
        metrics=["rmse", "mae", "r2", "mape"], gates=[{"metric": "r2", "min": 0.2}])})
    result = evaluate(repo, "dia")
    _, test = _test_rows(repo, "dia")
    model = artifacts.load(Store.open(load_config(repo)).path_of(result.train.artifact_sha256))
    pred = model.predict(test[features])
    y = test["target"]
    assert result.metrics["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred))
    assert result.metrics["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert result.metrics["r2"] == pytest.approx(skm.r2_score(y, pred))
    assert result.metrics["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, pred))
    assert result.confusion_matrix is None and result.gates_passed


def test_fairness_slices_and_gate(make_repo, gml) -> None:
    repo = write_repo(make_repo, {"data/train.csv": groups(800)}, {"g": spec_text(
        "g", target="churned", numeric=["tenure", "charges"], categorical=["contract"],
        sensitive=["gender"], params={"max_iter": 500},
        gates=[{"fairness": "demographic_parity_difference", "max": 0.0001},
               {"fairness": "equalized_odds_difference", "max": 1.0}])})
    r = gml("-C", str(repo), "evaluate", "g", "-o", "json")
    assert r.exit_code == ExitCode.GATES_FAILED, r.output
    res = r.json()["result"]
    fair = res["fairness"]["gender"]
    assert [g["group"] for g in fair["groups"]] == ["f", "m"]
    sel = [g["selection_rate"] for g in fair["groups"]]
    assert fair["demographic_parity_difference"] == pytest.approx(max(sel) - min(sel))
    assert sum(g["count"] for g in fair["groups"]) == res["test_rows"]
    dpd, eod = res["gates"]
    assert dpd["passed"] is False and dpd["value"] == fair["demographic_parity_difference"]
    assert eod["passed"] is True and "gender" in eod["note"]
    r = gml("-C", str(repo), "evaluate", "g", "-o", "text")
    assert "fairness by gender" in r.stdout


# --- bad input ------------------------------------------------------------------------------

def _one_line(r) -> str:
    assert "Traceback" not in r.output
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_nan_metric_is_a_clear_error(make_repo, gml) -> None:
    frame = breast_cancer()
    repo = write_repo(make_repo, {"data/train.csv": frame,
                                  "data/test.csv": frame[frame.target == 1].head(30)},
                      {"bc": spec_text("bc", numeric=BC_FEATURES, test="data/test.csv",
                                       params={"max_iter": 2000}, metrics=["roc_auc"])})
    r = gml("-C", str(repo), "evaluate", "bc", "-o", "text")
    assert r.exit_code == ExitCode.TRAINING
    line = _one_line(r)
    assert "metric 'roc_auc' is NaN on the test data" in line and "one class" in line


def test_champion_missing_or_corrupt_or_untrusted(bc_repo: Path, gml, tmp_path: Path) -> None:
    r = gml("-C", str(bc_repo), "evaluate", "bc", "--champion", "nowhere.skops", "-o", "text")
    assert r.exit_code == ExitCode.REGISTRY
    assert "nowhere.skops: champion artifact not found" in _one_line(r)
    r = gml("-C", str(bc_repo), "evaluate", "bc", "--champion", "0" * 64, "-o", "text")
    assert r.exit_code == ExitCode.REGISTRY and "not in the store" in _one_line(r)
    corrupt = tmp_path / "corrupt.skops"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a zip")
    r = gml("-C", str(bc_repo), "evaluate", "bc", "--champion", str(corrupt), "-o", "text")
    assert r.exit_code == ExitCode.REGISTRY and "corrupt model artifact" in _one_line(r)
    import skops.io as sio

    from .test_train import Evil

    evil = tmp_path / "evil.skops"
    evil.write_bytes(sio.dumps(Evil()))
    r = gml("-C", str(bc_repo), "evaluate", "bc", "--champion", str(evil), "-o", "text")
    assert r.exit_code == ExitCode.REGISTRY
    assert "refusing to load untrusted types" in _one_line(r)


def test_corrupt_champion_in_the_store(bc_repo: Path, gml) -> None:
    small = train(bc_repo, "small")
    Store.open(load_config(bc_repo)).path_of(small.artifact_sha256).write_bytes(b"tampered")
    r = gml("-C", str(bc_repo), "evaluate", "bc", "--champion", small.run_key, "-o", "text")
    assert r.exit_code == ExitCode.REGISTRY and "corrupt artifact" in _one_line(r)


# --- champion providers ---------------------------------------------------------------------

def test_providers_satisfy_the_protocol() -> None:
    assert isinstance(NoChampion(), ChampionProvider)
    assert isinstance(ExplicitChampion("x"), ChampionProvider)
    assert isinstance(default_provider(), ChampionProvider)


# --- the bootstrap, against sklearn on explicit resamples ----------------------------------

CLS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "average_precision",
       "brier", "balanced_accuracy")
REG = ("rmse", "mae", "r2", "mape", "mse", "medae")


def _resample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.random.default_rng(seed).integers(0, n, n)
    return idx, np.bincount(idx, minlength=n).astype(np.float32)[None, :]


@pytest.mark.parametrize("presorted", [False, True])
@pytest.mark.parametrize("ties", ["many", "few", "none"])
def test_bootstrap_binary_metrics_equal_sklearn_on_a_resample(presorted: bool, ties: str) -> None:
    rng = np.random.default_rng(1)
    n = 1500
    y = rng.integers(0, 2, n)
    score = np.clip(y * 0.3 + rng.random(n) * 0.8, 0, 1)  # "few": ties at 0 and 1 only
    if ties == "many":
        score = np.round(score, 2)
    elif ties == "none":
        score = (y * 0.3 + rng.random(n) * 0.8) / 1.1
    if presorted:  # the candidate's layout: negatives, then positives, by ascending score
        order = np.lexsort((score, y == 1))
        y, score = y[order], score[order]
    proba = np.c_[1 - score, score]
    pred = (score > 0.5).astype(int)
    stats = _ModelStats("classification", y, Predictions(pred, proba), 2, CLS,
                        layout=presorted)
    idx, w = _resample(n, 3)
    got = stats.metrics(w)
    as_bytes = stats.metrics(w, W8=w.astype(np.uint8))  # the integer path of roc_auc
    assert as_bytes["roc_auc"][0] == pytest.approx(got["roc_auc"][0], rel=1e-9)
    yt, yp, pp = y[idx], pred[idx], proba[idx]
    ref = {"accuracy": skm.accuracy_score(yt, yp), "precision": skm.precision_score(yt, yp),
           "recall": skm.recall_score(yt, yp), "f1": skm.f1_score(yt, yp),
           "roc_auc": skm.roc_auc_score(yt, pp[:, 1]), "log_loss": skm.log_loss(yt, pp),
           "average_precision": skm.average_precision_score(yt, pp[:, 1]),
           "brier": skm.brier_score_loss(yt, pp[:, 1]),
           "balanced_accuracy": skm.balanced_accuracy_score(yt, yp)}
    for name in CLS:
        assert got[name][0] == pytest.approx(ref[name], rel=1e-6), name


def test_bootstrap_multiclass_and_regression_equal_sklearn() -> None:
    rng = np.random.default_rng(2)
    n, k = 900, 3
    y = rng.integers(0, k, n)
    P = rng.dirichlet([1.0] * k, n)
    P[np.arange(n), y] += 0.5
    P /= P.sum(axis=1, keepdims=True)
    pred = P.argmax(axis=1)
    idx, w = _resample(n, 4)
    got = _ModelStats("classification", y, Predictions(pred, P), k, CLS).metrics(w)
    yt, yp, pp = y[idx], pred[idx], P[idx]
    onehot = np.eye(k)[yt]
    ref = {"accuracy": skm.accuracy_score(yt, yp),
           "precision": skm.precision_score(yt, yp, average="macro"),
           "recall": skm.recall_score(yt, yp, average="macro"),
           "f1": skm.f1_score(yt, yp, average="macro"),
           "roc_auc": skm.roc_auc_score(yt, pp, multi_class="ovr"),
           "log_loss": skm.log_loss(yt, pp),
           "average_precision": skm.average_precision_score(onehot, pp, average="macro"),
           "brier": np.mean(((pp - onehot) ** 2).sum(axis=1)),
           "balanced_accuracy": skm.balanced_accuracy_score(yt, yp)}
    for name in CLS:
        assert got[name][0] == pytest.approx(ref[name], rel=1e-6), name
    for n_rows in (900, 901):  # the median of an even and an odd number of rows
        y = rng.normal(5, 2, n_rows)
        p = y + rng.normal(0, 1, n_rows)
        idx, w = _resample(n_rows, 5)
        got = _ModelStats("regression", y, Predictions(values=p), 0, REG).metrics(w)
        yt, pt = y[idx], p[idx]
        ref = {"rmse": skm.root_mean_squared_error(yt, pt),
               "mae": skm.mean_absolute_error(yt, pt), "r2": skm.r2_score(yt, pt),
               "mape": skm.mean_absolute_percentage_error(yt, pt),
               "mse": skm.mean_squared_error(yt, pt),
               "medae": skm.median_absolute_error(yt, pt)}
        for name in REG:
            assert got[name][0] == pytest.approx(ref[name], rel=1e-5), name


def test_paired_bootstrap_is_seeded_chunked_and_covers_the_delta() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    y = rng.integers(0, 2, n)
    s1 = np.clip(y * 0.3 + rng.random(n) * 0.8, 0, 1)
    s2 = np.clip(s1 + rng.normal(0, 0.1, n), 0, 1)
    a = Predictions((s1 > 0.5).astype(int), np.c_[1 - s1, s1])
    b = Predictions((s2 > 0.5).astype(int), np.c_[1 - s2, s2])
    names = ("accuracy", "f1", "roc_auc")
    one = paired_bootstrap("classification", y, a, b, names, n_boot=300, seed=5)
    two = paired_bootstrap("classification", y, a, b, names, n_boot=300, seed=5,
                           chunk_elements=n * 7)  # different chunking, same draws
    assert one == two
    other = paired_bootstrap("classification", y, a, b, names, n_boot=300, seed=6)
    assert other != one
    delta = skm.roc_auc_score(y, s1) - skm.roc_auc_score(y, s2)
    assert one["roc_auc"].low < delta < one["roc_auc"].high
    assert one["roc_auc"].delta_samples == 300
    same = paired_bootstrap("classification", y, a, a, names, n_boot=50, seed=5)
    assert all(iv.low == 0 and iv.high == 0 for iv in same.values())


# --- fairness for every task (issue: multiclass parity skipped, regression parity in mpg) ----

def _with_region(frame, seed: int = 3):
    import numpy as np

    rng = np.random.default_rng(seed)
    return frame.assign(region=rng.choice(["north", "south"], len(frame)))


def test_a_multiclass_parity_gate_is_judged_one_vs_rest(make_repo, gml) -> None:
    frame = _with_region(wine())
    features = [c for c in frame.columns if c not in ("target", "region")][:6]
    repo = write_repo(make_repo, {"data/train.csv": frame}, {"wine": spec_text(
        "wine", numeric=features, sensitive=["region"], params={"max_iter": 3000},
        gates=[{"fairness": "demographic_parity_difference", "max": 0.0001}], bootstrap=0)})
    r = gml("-C", str(repo), "evaluate", "wine", "-o", "json")
    assert r.exit_code == ExitCode.GATES_FAILED, r.output
    res = r.json()["result"]
    fair = res["fairness"]["region"]
    assert fair["method"] == "one-vs-rest"
    worst = fair["worst_class"]["demographic_parity_difference"]
    rates = [g[f"selection_rate:{worst}"] for g in fair["groups"]]
    assert fair["demographic_parity_difference"] == pytest.approx(max(rates) - min(rates))
    (gate,) = res["gates"]
    assert gate["passed"] is False and gate.get("skipped") is not True
    assert gate["value"] == pytest.approx(fair["demographic_parity_difference"])


def test_regression_bias_slices_are_group_errors_in_every_view(make_repo, gml) -> None:
    frame = _with_region(diabetes())
    features = [c for c in frame.columns if c not in ("target", "region")]
    repo = write_repo(make_repo, {"data/train.csv": frame}, {"dia": spec_text(
        "dia", task="regression", numeric=features, sensitive=["region"],
        estimator="sklearn.linear_model.Ridge", metrics=["rmse", "mae"],
        gates=[{"fairness": "mae_difference", "max": 1000}], bootstrap=0)})
    r = gml("-C", str(repo), "evaluate", "dia", "-o", "json")
    assert r.exit_code == 0, r.output
    fair = r.json()["result"]["fairness"]["region"]
    assert fair["method"] == "group errors"
    assert set(fair["differences"]) == {"mean_error_difference", "mae_difference"}
    assert "demographic_parity_difference" not in fair
    maes = [g["mae"] for g in fair["groups"]]
    assert fair["mae_difference"] == pytest.approx(max(maes) - min(maes))
    text = gml("-C", str(repo), "evaluate", "dia").stdout
    assert "mean error difference" in text and "selection" not in text
    for fmt in ("md", "html"):
        out = repo / f"report.{fmt}"
        r = gml("-C", str(repo), "report", "dia", "--format", fmt, "--out", str(out))
        assert r.exit_code == 0, r.output
        page = out.read_text()
        assert "selection rate" not in page and "parity" not in page, fmt
        assert "MAE difference" in page and "mean error (prediction − actual)" in page, fmt


@pytest.mark.parametrize(("task", "subject"), [("regression", "demographic_parity_difference"),
                                               ("classification", "mae_difference")])
def test_a_fairness_gate_that_does_not_fit_the_task_fails_validate(make_repo, gml, task: str,
                                                                   subject: str) -> None:
    frame = _with_region(diabetes() if task == "regression" else breast_cancer())
    features = [c for c in frame.columns if c not in ("target", "region")][:4]
    repo = write_repo(make_repo, {"data/train.csv": frame}, {"m": spec_text(
        "m", task=task, numeric=features, sensitive=["region"],
        estimator="sklearn.linear_model.Ridge" if task == "regression"
        else "sklearn.linear_model.LogisticRegression",
        gates=[{"fairness": subject, "max": 0.1}])})
    r = gml("-C", str(repo), "validate")
    assert r.exit_code == ExitCode.CONFIG, r.output
    line = next(i for i, text in enumerate(
        (repo / "models/m/model.yaml").read_text().splitlines(), 1) if subject in text)
    assert f"models/m/model.yaml:{line}:" in r.output
    assert f"fairness gate '{subject}' does not apply to a {task} model" in r.output
