"""train: pipelines from specs, canonical artifacts, the run record and the run cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gitops_ml.errors import ArtifactError, ExitCode
from gitops_ml.project.spec import load_config
from gitops_ml.runs import artifacts
from gitops_ml.runs import key as run_key_module
from gitops_ml.runs.store import Store
from gitops_ml.train import train
from gitops_ml.util.hashing import sha256_file

from .train_fixtures import (  # noqa: F401 - one_thread is an autouse fixture
    BC_FEATURES,
    breast_cancer,
    groups,
    one_thread,
    spec_text,
    write_repo,
)


@pytest.fixture
def bc_repo(make_repo) -> Path:
    return write_repo(make_repo, {"data/train.csv": breast_cancer()},
                      {"bc": spec_text("bc", numeric=BC_FEATURES, params={"max_iter": 2000},
                                       metrics=["roc_auc", "f1", "accuracy"])})


def _spec(repo: Path, name: str, text: str) -> None:
    (repo / f"models/{name}/model.yaml").write_text(text)


def test_train_writes_canonical_artifact_and_run_record(bc_repo: Path) -> None:
    config = load_config(bc_repo)
    result = train(config, "bc")
    assert not result.reused
    store = Store.open(config)
    blob = store.path_of(result.artifact_sha256)
    assert blob.is_relative_to(bc_repo / ".gitops-ml/store/blobs/sha256")
    assert sha256_file(blob) == result.artifact_sha256
    record = json.loads((bc_repo / f".gitops-ml/store/runs/{result.run_key}/run.json")
                        .read_text())
    assert record["schema_version"] == 1
    for key in ("run_key", "model", "spec_file", "spec_hash", "canonical_spec_hash", "data",
                "git", "versions", "timings", "features", "target", "task", "artifact",
                "created_at"):
        assert key in record, key
    assert record["data"]["train"]["rows"] == 569
    assert record["data"]["train"]["sha256"] == sha256_file(bc_repo / "data/train.csv")
    assert record["git"]["commit"] and record["git"]["dirty"] is False
    assert record["artifact"]["format"] == "skops" and record["artifact"]["sha256"] == \
        result.artifact_sha256
    assert record["features"] == BC_FEATURES
    assert record["split"]["stratified"] is True and record["split"]["test_rows"] == 114
    assert set(record["versions"]) >= {"gitops_ml", "python", "sklearn", "numpy", "pandas",
                                       "skops", "scipy"}
    model = artifacts.load(blob)
    assert model.named_steps["model"].random_state == 42  # seeded from the spec's split seed
    assert "scale" in model.named_steps["preprocess"].named_transformers_["num"].named_steps


@pytest.mark.parametrize("estimator, params", [
    ("sklearn.linear_model.LogisticRegression", {"max_iter": 2000}),
    ("sklearn.ensemble.RandomForestClassifier", {"n_estimators": 15}),
    ("sklearn.ensemble.HistGradientBoostingClassifier", {"max_iter": 20}),
])
def test_same_spec_twice_gives_the_same_artifact_bytes(make_repo, estimator, params) -> None:
    repo = write_repo(make_repo, {"data/train.csv": groups()}, {"g": spec_text(
        "g", target="churned", numeric=["tenure", "charges"], categorical=["contract"],
        sensitive=["gender"], estimator=estimator, params=params)})
    first = train(repo, "g")
    second = train(repo, "g", force=True)
    assert not second.reused
    assert first.artifact_sha256 == second.artifact_sha256
    assert first.run_key == second.run_key


@pytest.mark.slow
def test_same_artifact_from_another_process(bc_repo: Path) -> None:
    first = train(bc_repo, "bc")
    out = subprocess.run([sys.executable, "-m", "gitops_ml", "train", "bc", "--force",
                          "-o", "json"], cwd=bc_repo, capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["result"]["artifact_sha256"] == first.artifact_sha256


def test_run_cache_hit_and_misses(bc_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = train(bc_repo, "bc")
    hit = train(bc_repo, "bc")
    assert hit.reused and hit.run_key == first.run_key
    assert "reused run " + first.run_key[:12] in hit.note
    assert "fit_s" not in hit.timings  # nothing was fitted
    assert hit.record.created_at == first.record.created_at

    # a parameter change
    spec_file = bc_repo / "models/bc/model.yaml"
    original = spec_file.read_text()
    spec_file.write_text(original.replace('"max_iter": 2000', '"max_iter": 2000, "C": 0.5'))
    param = train(bc_repo, "bc")
    assert not param.reused and param.run_key != first.run_key
    spec_file.write_text(original)
    assert train(bc_repo, "bc").reused

    # a library version change
    real = run_key_module._dist_version
    monkeypatch.setattr(run_key_module, "_dist_version",
                        lambda dist: "0.0.1" if dist == "scikit-learn" else real(dist))
    lib = train(bc_repo, "bc")
    assert not lib.reused and lib.run_key != first.run_key
    assert lib.record.versions["sklearn"] == "0.0.1"
    monkeypatch.setattr(run_key_module, "_dist_version", real)

    # a data change
    data = bc_repo / "data/train.csv"
    lines = data.read_text().splitlines()
    data.write_text("\n".join(lines[:-5]) + "\n")
    changed = train(bc_repo, "bc")
    assert not changed.reused and changed.run_key != first.run_key
    assert changed.record.data["train"]["rows"] == 564


def test_force_retrains_and_cache_survives_a_lost_artifact(bc_repo: Path) -> None:
    first = train(bc_repo, "bc")
    assert not train(bc_repo, "bc", force=True).reused
    store = Store.open(load_config(bc_repo))
    store.path_of(first.artifact_sha256).unlink()
    again = train(bc_repo, "bc")
    assert not again.reused and store.has(first.artifact_sha256)


def test_categorical_encodings_follow_the_estimator(make_repo) -> None:
    base = dict(target="churned", numeric=["tenure", "charges"], categorical=["contract"])
    repo = write_repo(make_repo, {"data/train.csv": groups()}, {
        "lr": spec_text("lr", **base, params={"max_iter": 500}),
        "rf": spec_text("rf", **base, estimator="sklearn.ensemble.RandomForestClassifier",
                        params={"n_estimators": 5}),
        "hgb": spec_text("hgb", **base,
                         estimator="sklearn.ensemble.HistGradientBoostingClassifier",
                         params={"max_iter": 10}),
    })
    config = load_config(repo)
    store = Store.open(config)

    def fitted(name: str):
        return artifacts.load(store.path_of(train(config, name).artifact_sha256))

    lr = fitted("lr").named_steps["preprocess"].named_transformers_
    assert type(lr["cat"].named_steps["encode"]).__name__ == "OneHotEncoder"
    rf = fitted("rf").named_steps["preprocess"].named_transformers_
    assert type(rf["cat"].named_steps["encode"]).__name__ == "OrdinalEncoder"
    assert "scale" not in rf["num"].named_steps
    hgb = fitted("hgb")
    assert hgb.named_steps["model"].categorical_features == [2]
    assert hgb.named_steps["preprocess"].transformers[0][1] == "passthrough"


FACTORY = '''
from sklearn.pipeline import make_pipeline
from sklearn.compose import make_column_transformer
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression


def build(spec):
    pre = make_column_transformer((StandardScaler(), list(spec.features.numeric)))
    return make_pipeline(pre, LogisticRegression(C=0.3))
'''


def test_factory_pipeline_from_the_repo(make_repo) -> None:
    repo = write_repo(make_repo, {"data/train.csv": breast_cancer()},
                      {"bc": spec_text("bc", numeric=BC_FEATURES,
                                       factory="models/bc/pipeline.py:build")},
                      extra={"models/bc/pipeline.py": FACTORY})
    first = train(repo, "bc")
    model = artifacts.load(Store.open(load_config(repo)).path_of(first.artifact_sha256))
    assert model.steps[-1][1].C == 0.3
    assert first.record.estimator == "factory:models/bc/pipeline.py:build"
    assert train(repo, "bc").reused
    (repo / "models/bc/pipeline.py").write_text(FACTORY.replace("C=0.3", "C=0.2"))
    assert not train(repo, "bc").reused  # the factory's file is part of the run key


EVIL_FACTORY = '''
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.linear_model import LogisticRegression


def double(x):
    return x * 2


def build():
    return make_pipeline(FunctionTransformer(double), LogisticRegression())
'''


def test_factory_with_user_code_is_refused_at_train(make_repo, gml) -> None:
    repo = write_repo(make_repo, {"data/train.csv": breast_cancer()},
                      {"bc": spec_text("bc", numeric=BC_FEATURES,
                                       factory="models/bc/pipeline.py:build")},
                      extra={"models/bc/pipeline.py": EVIL_FACTORY})
    r = gml("-C", str(repo), "train", "bc", "-o", "text")
    assert r.exit_code == ExitCode.REGISTRY, r.output
    assert "outside the artifact allow-list" in r.stderr
    assert "double" in r.stderr
    assert "Traceback" not in r.output
    # the hint says why, and what to do instead (it used to give none)
    assert "is the repository's own code" in r.stderr
    assert "FunctionTransformer(numpy.log1p)" in r.stderr


class Evil:
    def __init__(self) -> None:
        self.payload = np.arange(3)


def test_untrusted_types_are_refused() -> None:
    import skops.io as sio

    data = artifacts.canonicalize(sio.dumps(Evil()))
    with pytest.raises(ArtifactError, match=r"refusing to load untrusted types: .*Evil"):
        artifacts.loads(data, source="evil.skops")
    assert artifacts.is_trusted_type("sklearn.tree._tree.Tree", "TreeNode")
    assert artifacts.is_trusted_type("sklearn.linear_model._logistic.LogisticRegression")
    assert not artifacts.is_trusted_type("sklearn.utils._testing.TempMemmap")
    assert not artifacts.is_trusted_type("builtins.eval")
    assert not artifacts.is_trusted_type("os.system")


def test_canonical_archive_loads_and_is_stable_across_renumbering() -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    X = np.arange(40, dtype=float).reshape(20, 2)
    y = np.arange(20) % 2
    model = LogisticRegression().fit(X, y)
    raw_a, raw_b = sio.dumps(model), sio.dumps(model)
    assert artifacts.canonicalize(raw_a) == artifacts.canonicalize(raw_b)
    assert artifacts.canonicalize(artifacts.canonicalize(raw_a)) == \
        artifacts.canonicalize(raw_a)
    again = artifacts.loads(artifacts.canonicalize(raw_a))
    assert (again.predict(X) == model.predict(X)).all()


# --- bad input: one clear line, an exit code, no traceback ---------------------------------

def _bad(make_repo, gml, frame, *, task="classification", target="target", numeric=None,
         params=None, estimator="sklearn.linear_model.LogisticRegression", test=None):
    frames = {"data/train.csv": frame}
    if test is not None:
        frames["data/test.csv"] = test
    repo = write_repo(make_repo, frames, {"m": spec_text(
        "m", task=task, target=target, numeric=numeric or ["a", "b"], params=params,
        estimator=estimator, test="data/test.csv" if test is not None else None,
        metrics=["roc_auc"] if task == "classification" else ["rmse"])})
    return gml("-C", str(repo), "train", "m", "-o", "text")


def _frame(n=40, **cols):
    import pandas as pd

    rng = np.random.default_rng(0)
    data = {"a": rng.normal(size=n), "b": rng.normal(size=n), "target": np.arange(n) % 2}
    data.update(cols)
    return pd.DataFrame(data)


def _one_line(r) -> str:
    assert "Traceback" not in r.output
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_bad_target_missing(make_repo, gml) -> None:
    r = _bad(make_repo, gml, _frame(), target="churned")
    assert r.exit_code == ExitCode.DATA
    assert "target column 'churned' is missing" in _one_line(r)


def test_bad_feature_missing(make_repo, gml) -> None:
    r = _bad(make_repo, gml, _frame(), numeric=["a", "tenure"])
    assert r.exit_code == ExitCode.DATA
    assert "feature column(s) tenure missing" in _one_line(r)


def test_bad_all_null_column(make_repo, gml) -> None:
    r = _bad(make_repo, gml, _frame(b=[None] * 40))
    assert r.exit_code == ExitCode.DATA
    assert "feature 'b' is entirely null" in _one_line(r)


def test_bad_single_class_target(make_repo, gml) -> None:
    r = _bad(make_repo, gml, _frame(target=[1] * 40))
    assert r.exit_code == ExitCode.DATA
    assert "has a single class" in _one_line(r)


def test_bad_non_numeric_regression_target(make_repo, gml) -> None:
    r = _bad(make_repo, gml, _frame(target=["low", "high"] * 20), task="regression",
             estimator="sklearn.linear_model.Ridge")
    assert r.exit_code == ExitCode.DATA
    assert "is not numeric" in _one_line(r) and "'low'" in r.stderr


def test_bad_empty_data(make_repo, gml) -> None:
    r = _bad(make_repo, gml, _frame().iloc[:0])
    assert r.exit_code == ExitCode.DATA
    assert "empty" in _one_line(r)


def test_bad_estimator_raises_in_fit(make_repo, gml) -> None:
    r = _bad(make_repo, gml, _frame(), params={"C": -1.0})
    assert r.exit_code == ExitCode.TRAINING
    line = _one_line(r)
    assert "fitting LogisticRegression failed" in line
    assert "'C' parameter of LogisticRegression" in line  # sklearn's own message, passed on


def test_bad_estimator_class(make_repo, gml) -> None:
    r = _bad(make_repo, gml, _frame(), estimator="sklearn.linear_model.NoSuchModel")
    assert r.exit_code == ExitCode.CONFIG
    assert "models/m/model.yaml" in _one_line(r)


def test_train_cli_text_and_json(bc_repo: Path, gml) -> None:
    r = gml("-C", str(bc_repo), "train", "bc", "-o", "text")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("bc: trained run ")
    assert "artifact  sha256:" in r.stdout
    r = gml("-C", str(bc_repo), "train", "bc", "-o", "json")
    env = r.json()
    assert env["ok"] and env["result"]["reused"] is True
    assert env["result"]["run"]["run_key"] == env["result"]["run_key"]
    r = gml("-C", str(bc_repo), "train", "bc", "-o", "text")
    assert "reused run" in r.stdout


def test_cache_hit_reads_no_data_behind_a_pointer(make_repo) -> None:
    import hashlib

    frame = breast_cancer()
    csv = frame.to_csv(index=False)
    sha = hashlib.sha256(csv.encode()).hexdigest()
    pointer = f"uri: data/bc.csv\nsha256: {sha}\nsize: {len(csv.encode())}\nformat: csv\n"
    repo = write_repo(make_repo, {"data/bc.csv": frame},
                      {"bc": spec_text("bc", train="data/bc.ptr.yaml", numeric=BC_FEATURES,
                                       params={"max_iter": 2000})},
                      extra={"data/bc.ptr.yaml": pointer})
    first = train(repo, "bc")
    assert first.record.data["train"]["sha256"] == sha
    (repo / "data/bc.csv").unlink()  # the data is gone (not pulled on this machine)
    again = train(repo, "bc")
    assert again.reused and again.run_key == first.run_key


def test_data_contract_is_checked_before_fitting(make_repo, gml) -> None:
    """A spec's `schema:` contract must hold on the training data, or nothing is fitted."""
    frame = _frame(region=["north", "south", "east", "mars"] * 10)
    text = spec_text("m", numeric=["a", "b"], metrics=["roc_auc"]) + (
        "schema:\n  region: {allowed: [north, south, east]}\n  a: {max_null_share: 0.0}\n")
    repo = write_repo(make_repo, {"data/train.csv": frame}, {"m": text})
    r = gml("-C", str(repo), "train", "m")
    assert r.exit_code == ExitCode.DATA
    line = _one_line(r)
    assert "the training data breaks the data contract: region:" in line
    assert "mars" in line
    assert not list((repo / ".gitops-ml/store").rglob("run.json")), "nothing was trained"
    (repo / "models/m/model.yaml").write_text(text.replace("east]", "east, mars]"))
    ok = gml("-C", str(repo), "train", "m")
    assert ok.exit_code == 0, ok
