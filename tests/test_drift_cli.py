"""``gitops-ml drift`` and ``gitops-ml monitor`` on real repositories with real data (the wine
dataset that ships with scikit-learn), including every bad input of the drift issue."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gitops_ml.errors import ExitCode

FEATURES = ["alcohol", "malic_acid", "ash", "magnesium", "proline"]

SPEC = """name: wine
task: classification
data:
  train: data/train.csv
  test: data/test.csv
target: target
features:
  numeric: [alcohol, malic_acid, ash, magnesium, proline]
  categorical: [grade]
estimator:
  class: sklearn.linear_model.LogisticRegression
  params: {max_iter: 2000}
gates:
  - {drift: share_of_drifted_columns, max: 0.3}
"""


def wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    df = load_wine(as_frame=True).frame[[*FEATURES, "target"]]
    df = df.assign(grade=np.where(df["alcohol"] > 13, "high", "low"))
    return df.sample(frac=1, random_state=0).reset_index(drop=True)


class Repo(type(Path())):  # type: ignore[misc]
    """The repository's path, carrying the frame its data came from."""

    frame: pd.DataFrame


@pytest.fixture
def project(make_repo):
    df = wine()
    files = {"gitops-ml.yaml": "models: models/*/model.yaml\n",
             "models/wine/model.yaml": SPEC,
             "data/train.csv": df.iloc[:120].to_csv(index=False),
             "data/test.csv": df.iloc[120:].to_csv(index=False)}
    repo = Repo(make_repo(files))
    repo.frame = df
    return repo


def write(repo: Path, name: str, frame: pd.DataFrame) -> str:
    (repo / "data" / name).write_text(frame.to_csv(index=False))
    return f"data/{name}"


def current(repo: Path) -> pd.DataFrame:
    return repo.frame.iloc[120:].copy()  # type: ignore[attr-defined]


def test_default_reference_and_current_match_the_engine(project, gml) -> None:
    r = gml("drift", "wine", "-o", "json", cwd=project)
    assert r.exit_code == 0, r.output
    result = r.json()["result"]
    assert result["reference"]["uri"] == "data/train.csv"
    assert result["reference"]["rows"] == 120 and result["current"]["rows"] == 58
    assert [c["column"] for c in result["columns"]] == [*FEATURES, "grade"]
    assert [c["method"] for c in result["columns"]] == ["ks"] * 5 + ["z"]
    assert result["target"]["column"] == "target"
    assert result["target"]["method"] == "chisquare"  # 3 classes, small reference
    assert result["prediction"] is None
    assert result["gates"][0]["passed"] is True

    from gitops_ml.drift import stats as drift

    df = project.frame
    ours = drift.column_drift("alcohol", df["alcohol"][:120], df["alcohol"][120:], "numerical")
    assert result["columns"][0]["score"] == pytest.approx(ours.score, rel=1e-12)


def test_drifted_data_fails_the_gate_and_writes_drift_json(project, gml) -> None:
    cur = current(project)
    cur["alcohol"] += 1.5
    cur["proline"] *= 1.6
    ref = write(project, "current.csv", cur)
    out = project / "out" / "drift.json"
    r = gml("drift", "wine", "--current", ref, "--out", out, cwd=project)
    assert r.exit_code == ExitCode.GATES_FAILED, r.output
    assert "share_of_drifted_columns ≤ 0.3: FAILED" in r.stdout
    doc = json.loads(out.read_text())
    assert set(doc) >= {"schema_version", "reference", "current", "columns",
                        "share_of_drifted_columns", "number_of_drifted_columns", "dataset_drift",
                        "drift_share", "target", "prediction", "checks", "report_html",
                        "sampled_rows"}
    assert doc["schema_version"] == 2
    assert set(doc["columns"][0]) >= {"column", "kind", "method", "score", "threshold",
                                      "drifted", "stattest_name"}
    assert doc["number_of_drifted_columns"] == 2
    assert doc["share_of_drifted_columns"] == pytest.approx(2 / 6)
    assert doc["dataset_drift"] is False
    assert doc["current"]["uri"] == "data/current.csv"
    assert len(doc["current"]["sha256"]) == 64


def test_spec_current_is_the_default_current(project, gml) -> None:
    cur = current(project)
    cur["magnesium"] = cur["magnesium"] + 40
    write(project, "live.csv", cur)
    spec = project / "models/wine/model.yaml"
    spec.write_text(SPEC.replace("  test: data/test.csv\n",
                                 "  test: data/test.csv\n  current: data/live.csv\n"))
    r = gml("drift", "wine", "-o", "json", cwd=project)
    result = r.json()["result"]
    assert result["current"]["uri"] == "data/live.csv"
    assert [c["column"] for c in result["columns"] if c["drifted"]] == ["magnesium"]


def test_missing_columns_in_current_is_a_clear_error(project, gml) -> None:
    ref = write(project, "cur.csv", current(project).drop(columns=["ash", "grade"]))
    r = gml("drift", "wine", "--current", ref, cwd=project)
    assert r.exit_code == ExitCode.DATA
    assert "error: the current data lacks column(s) ash, grade" in r.stderr
    assert "Traceback" not in r.output


def test_extra_columns_in_current_are_ignored_and_reported(project, gml) -> None:
    ref = write(project, "cur.csv", current(project).assign(extra=1, other="x"))
    r = gml("drift", "wine", "--current", ref, "-o", "json", cwd=project)
    assert r.exit_code == 0, r.output
    result = r.json()["result"]
    assert "extra" not in [c["column"] for c in result["columns"]]


def test_extra_columns_are_listed_by_the_checks() -> None:
    from gitops_ml.data.checks import run_checks

    spec = spec_object()
    df = wine()
    checks = run_checks(spec, df, df.assign(extra=1))
    extra = [c for c in checks.checks if c.name == "extra_columns"]
    assert extra and extra[0].severity == "info" and "extra" in extra[0].message
    assert checks.passed


def spec_object():
    import tempfile

    from gitops_ml.project.spec import ModelSpec, load_spec_document

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "model.yaml"
        p.write_text(SPEC)
        spec: ModelSpec = load_spec_document(p, "models/wine/model.yaml")[0]
    return spec


def test_changed_dtype_of_a_numeric_column_is_a_clear_error(project, gml) -> None:
    cur = current(project)
    cur["alcohol"] = ["high" if i % 3 else str(v) for i, v in enumerate(cur["alcohol"])]
    ref = write(project, "cur.csv", cur)
    r = gml("drift", "wine", "--current", ref, cwd=project)
    assert r.exit_code == ExitCode.DATA, r.output
    assert "column 'alcohol' must be numeric, but the current data holds" in r.stderr
    assert "(for example '" in r.stderr


def test_changed_dtype_of_a_categorical_column_is_compared_by_value(project, gml) -> None:
    # grade as numbers on one side: categories compare as text, so every value is new
    cur = current(project)
    cur["grade"] = np.where(cur["grade"] == "high", 1, 0)
    ref = write(project, "cur.csv", cur)
    r = gml("drift", "wine", "--current", ref, "-o", "json", cwd=project)
    result = r.json()["result"]
    grade = next(c for c in result["columns"] if c["column"] == "grade")
    assert grade["drifted"] is True and grade["method"] == "chisquare"
    checks = {c["name"]: c for c in result["checks"]["results"] if not c["passed"]}
    assert "dtype_changes" in checks and "grade" in checks["dtype_changes"]["message"]
    assert "new_categories" in checks


def test_an_all_null_column_is_a_failed_data_check_not_drift(project, gml) -> None:
    cur = current(project)
    cur["magnesium"] = np.nan
    ref = write(project, "cur.csv", cur)
    r = gml("drift", "wine", "--current", ref, "-o", "json", cwd=project)
    result = r.json()["result"]
    mg = next(c for c in result["columns"] if c["column"] == "magnesium")
    assert mg["score"] is None and mg["method"] is None
    assert mg["drifted"] is False
    assert mg["note"].startswith("no values in the current data (all null): not tested")
    assert mg["current_values"] == 0
    failed = [c for c in result["checks"]["results"] if not c["passed"]]
    assert [(c["name"], c["column"], c["data"]) for c in failed
            if c["name"] == "empty_columns"] == [("empty_columns", "magnesium", "current")]
    tested = [c for c in result["columns"] if c["score"] is not None]
    assert result["share_of_drifted_columns"] == pytest.approx(
        sum(c["drifted"] for c in tested) / len(tested))
    assert len(tested) == len(result["columns"]) - 1
    # the human text counts the same columns: "N of <tested> columns"
    r = gml("monitor", "wine", "--reference", "data/train.csv", "--current", ref, "-o", "json",
            cwd=project)
    title = r.json()["result"]["issue_title"]
    assert title.endswith(f"of {len(tested)} columns drifted"), title


def test_constant_column_on_both_sides_is_not_drift(project, gml) -> None:
    (project / "data/train.csv").write_text(
        project.frame.iloc[:120].assign(ash=2.5).to_csv(index=False))
    ref = write(project, "cur.csv", current(project).assign(ash=2.5))
    r = gml("drift", "wine", "--current", ref, "-o", "json", cwd=project)
    ash = next(c for c in r.json()["result"]["columns"] if c["column"] == "ash")
    assert ash["method"] == "z" and ash["score"] == 1.0 and ash["drifted"] is False


def test_unseen_categories_drift_and_fail_a_new_categories_gate(project, gml) -> None:
    spec = project / "models/wine/model.yaml"
    spec.write_text(SPEC + "  - {check: new_categories}\n")
    cur = current(project)
    cur.loc[cur.index[:10], "grade"] = "medium"
    ref = write(project, "cur.csv", cur)
    r = gml("drift", "wine", "--current", ref, "-o", "json", cwd=project)
    assert r.exit_code == ExitCode.GATES_FAILED
    result = r.json()["result"]
    grade = next(c for c in result["columns"] if c["column"] == "grade")
    assert grade["method"] == "chisquare" and grade["score"] == 0.0 and grade["drifted"]
    gate = next(g for g in result["gates"] if g["subject"] == "new_categories")
    assert gate["passed"] is False and "'medium'" in gate["note"]


def test_empty_current_data_is_a_clear_error(project, gml) -> None:
    ref = write(project, "cur.csv", current(project).iloc[:0])
    r = gml("drift", "wine", "--current", ref, cwd=project)
    assert r.exit_code == ExitCode.DATA
    assert "error: the current data has no rows" in r.stderr


def test_empty_reference_is_a_clear_error(project, gml) -> None:
    ref = write(project, "ref.csv", current(project).iloc[:0])
    r = gml("drift", "wine", "--reference", ref, "--current", "data/test.csv", cwd=project)
    assert r.exit_code == ExitCode.DATA
    assert "error: the reference data has no rows" in r.stderr


def test_reference_too_small_for_any_test_gives_a_defined_result(project, gml) -> None:
    ref = write(project, "ref.csv", project.frame.iloc[:1])
    r = gml("drift", "wine", "--reference", ref, "--current", "data/test.csv", "-o", "json",
            cwd=project)
    assert r.exit_code in (0, ExitCode.GATES_FAILED), r.output
    result = r.json()["result"]
    assert result["reference"]["rows"] == 1
    assert all(c["score"] is not None for c in result["columns"])
    assert any("only 1 rows" in w for w in result["warnings"])


def test_high_cardinality_categorical_column() -> None:
    from gitops_ml.drift import stats as drift

    rng = np.random.default_rng(0)
    ref = pd.Series([f"id{i}" for i in rng.integers(0, 50_000, 60_000)])
    cur = pd.Series([f"id{i}" for i in rng.integers(25_000, 75_000, 60_000)])
    col = drift.column_drift("user", ref, cur, "categorical")
    assert col.method == "jensenshannon" and col.drifted
    assert 0.5 < col.score < 1  # type: ignore[operator]
    same = drift.column_drift("user", ref, ref.sample(frac=1, random_state=1), "categorical")
    assert same.score == pytest.approx(0.0, abs=1e-7) and not same.drifted


def test_unknown_method_in_the_spec_is_a_config_error(project, gml) -> None:
    spec = project / "models/wine/model.yaml"
    spec.write_text(SPEC + "drift:\n  columns:\n    grade: {method: ks}\n")
    r = gml("drift", "wine", cwd=project)
    assert r.exit_code == ExitCode.CONFIG
    assert "drift method 'ks' applies to numerical columns only" in r.stderr


@pytest.mark.parametrize("where", ["columns", "global"])
def test_validate_refuses_chisquare_on_a_numeric_column_at_its_line(project, gml,
                                                                     where: str) -> None:
    spec = project / "models/wine/model.yaml"
    extra = ("drift:\n  columns:\n    alcohol: {method: chisquare}\n" if where == "columns"
             else "drift:\n  method: z\n")
    spec.write_text(SPEC + extra)
    line = SPEC.count("\n") + (3 if where == "columns" else 2)
    r = gml("validate", cwd=project)
    assert r.exit_code == ExitCode.CONFIG, r.output
    method = "chisquare" if where == "columns" else "z"
    assert f"models/wine/model.yaml:{line}:" in r.output
    assert f"drift method '{method}' applies to categorical columns only" in r.output


def test_drift_settings_for_an_unknown_column_is_a_config_error(project, gml) -> None:
    spec = project / "models/wine/model.yaml"
    spec.write_text(SPEC + "drift:\n  columns:\n    alcohols: {method: psi}\n")
    r = gml("drift", "wine", cwd=project)
    assert r.exit_code == ExitCode.CONFIG
    assert r.stderr.startswith("error: models/wine/model.yaml: drift.columns names 'alcohols', "
                               "which is not a feature")
    assert "alcohol" in r.stderr.split("(", 1)[1]


def test_spec_overrides_method_and_threshold(project, gml) -> None:
    spec = project / "models/wine/model.yaml"
    spec.write_text(SPEC + "drift:\n  method: psi\n  threshold: 0.01\n  drift_share: 0.2\n"
                    "  columns:\n    grade: {method: jensenshannon}\n")
    r = gml("drift", "wine", "-o", "json", cwd=project)
    result = r.json()["result"]
    methods = {c["column"]: (c["method"], c["threshold"]) for c in result["columns"]}
    assert methods["alcohol"] == ("psi", 0.01)
    assert methods["grade"] == ("jensenshannon", 0.1)
    assert result["drift_share"] == 0.2


def test_prediction_drift_with_a_model_artifact(project, gml, tmp_path) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from gitops_ml.runs import artifacts

    df = project.frame.iloc[:120]
    model = make_pipeline(
        ColumnTransformer([("num", StandardScaler(), FEATURES),
                           ("cat", OneHotEncoder(handle_unknown="ignore"), ["grade"])]),
        LogisticRegression(max_iter=2000)).fit(df[[*FEATURES, "grade"]], df["target"])
    path = tmp_path / "model.skops"
    path.write_bytes(artifacts.dumps(model))
    cur = current(project)
    cur["proline"] = cur["proline"] * 2.5
    ref = write(project, "cur.csv", cur)
    r = gml("drift", "wine", "--current", ref, "--model-artifact", path, "-o", "json",
            cwd=project)
    pred = r.json()["result"]["prediction"]
    assert pred["column"] == "prediction" and pred["kind"] == "categorical"
    assert pred["method"] == "chisquare" and pred["drifted"] is True


def test_missing_model_artifact_is_a_clear_error(project, gml, tmp_path) -> None:
    r = gml("drift", "wine", "--model-artifact", tmp_path / "nope.skops", cwd=project)
    assert r.exit_code == ExitCode.REGISTRY
    assert "model artifact not found" in r.stderr


def test_monitor_needs_a_reference_until_the_registry_has_one(project, gml) -> None:
    r = gml("monitor", "wine", "--current", "data/test.csv", cwd=project)
    assert r.exit_code == ExitCode.CONFIG
    assert "no reference data for 'wine'" in r.stderr and "--reference" in r.stderr


def test_monitor_exit_codes_tell_drift_from_none(project, gml) -> None:
    r = gml("monitor", "wine", "--reference", "data/train.csv", "--current", "data/test.csv",
            cwd=project)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("wine: no drift")
    cur = current(project)
    for col in ("alcohol", "ash", "proline", "magnesium"):
        cur[col] = cur[col] * 1.5
    ref = write(project, "live.csv", cur)
    out = project / "drift.json"
    r = gml("monitor", "wine", "--reference", "data/train.csv", "--current", ref, "--out", out,
            "-o", "json", cwd=project)
    assert r.exit_code == ExitCode.DRIFT_FOUND
    result = r.json()["result"]
    assert result["drift_found"] is True and result["reference_source"] == "option"
    assert result["issue_title"] == "Data drift in wine: 4 of 6 columns drifted"
    assert result["issue_body"].startswith("**Dataset drift: yes**")
    assert "| `alcohol` | numerical | ks |" in result["issue_body"]
    assert json.loads(out.read_text())["dataset_drift"] is True


def test_monitor_error_is_not_drift(project, gml) -> None:
    r = gml("monitor", "wine", "--reference", "data/train.csv", "--current", "data/nope.csv",
            cwd=project)
    assert r.exit_code == ExitCode.DATA
    assert r.exit_code != ExitCode.DRIFT_FOUND


@pytest.mark.slow
def test_html_report_on_a_seeded_sample(project, gml) -> None:
    spec = project / "models/wine/model.yaml"
    spec.write_text(SPEC + "drift:\n  report_sample_rows: 50\n")
    html = project / "out" / "report.html"
    cur = current(project)
    cur["magnesium"] = np.nan  # Evidently refuses an empty column: left out of the page
    ref = write(project, "cur.csv", cur)
    r = gml("drift", "wine", "--current", ref, "--html", html, "-o", "json", cwd=project)
    assert r.exit_code == 0, r.output
    result = r.json()["result"]
    assert result["sampled_rows"] == 50
    assert "the HTML report leaves out untested column(s): magnesium" in result["warnings"]
    assert result["report_html"] == str(html)
    page = html.read_text()
    assert "gitops-ml-sample-note" in page and "at most 50 rows" in page
    assert len(page) > 100_000  # Evidently's page, with its scripts


@pytest.mark.slow
def test_drift_without_html_never_imports_evidently(project) -> None:
    code = ("import sys\nfrom gitops_ml.cli import cli\nfrom gitops_ml.cli._app import run\n"
            "rc = run(cli, ['drift', 'wine', '-o', 'json'])\n"
            "assert 'evidently' not in sys.modules, 'evidently imported'\n"
            "import gitops_ml.cli.drift\nprint('rc', rc)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert "rc 0" in out.stdout


def test_cli_module_is_light() -> None:
    code = ("import sys\nimport gitops_ml.cli.drift\n"
            "heavy = [m for m in ('pandas', 'scipy', 'evidently', 'sklearn') if m in "
            "sys.modules]\nassert not heavy, heavy\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_drift_json_is_stored_beside_the_trained_run(project, gml) -> None:
    from gitops_ml.project.spec import load_config
    from gitops_ml.runs.store import Store
    from gitops_ml.train import train

    config = load_config(project)
    run = train(config, "wine")
    store = Store.open(config)
    assert not store.has_run_file(run.run_key, "drift.json")
    r = gml("drift", "wine", cwd=project)
    assert r.exit_code == 0, r.output
    stored = json.loads(store.read_run_file(run.run_key, "drift.json"))
    assert stored["model"] == "wine" and stored["reference"]["uri"] == "data/train.csv"
    assert [c["column"] for c in stored["columns"]] == [*FEATURES, "grade"]


@pytest.mark.slow
def test_monitor_takes_the_reference_of_the_production_version(project, gml) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True)

    for args in (("train", "wine"), ("evaluate", "wine"), ("promote", "wine")):
        r = gml(*args, cwd=project)
        assert r.exit_code == 0, (args, r.output)
    # the training data changes after the promotion: the reference must still be the old one
    (project / "data/train.csv").write_text(current(project).to_csv(index=False))
    git("commit", "-qam", "new training data")
    cur = current(project)
    cur["alcohol"] += 2
    ref = write(project, "live.csv", cur)
    r = gml("monitor", "wine", "--current", ref, "-o", "json", cwd=project)
    assert r.exit_code == ExitCode.DATA, r.output  # the old bytes are gone from the repo...
    assert r.json()["error"]["code"] == "hash_mismatch", r.output
    git("checkout", "-q", "HEAD~1", "--", "data/train.csv")  # ...until restored
    r = gml("monitor", "wine", "--current", ref, "-o", "json", cwd=project)
    result = r.json()["result"]
    assert result["reference_source"] == "registry"
    assert result["production_version"] == "v0.1.0"
    assert result["drift"]["reference"]["uri"] == "data/train.csv"
    assert result["drift"]["reference"]["rows"] == 120
    alcohol = result["drift"]["columns"][0]
    assert alcohol["column"] == "alcohol" and alcohol["drifted"] is True


def test_current_data_keeps_sensitive_and_contract_columns(project, gml) -> None:
    """data.current with a sensitive attribute and a contract column: both are read from the
    current data too (the checks need them), for drift and for monitor."""
    df = project.frame.assign(site=np.where(project.frame.index % 3 == 0, "a", "b"),
                              batch=project.frame.index % 4)
    write(project, "train.csv", df.iloc[:120])
    write(project, "test.csv", df.iloc[120:])
    write(project, "live.csv", df.iloc[120:])
    spec = SPEC.replace("  test: data/test.csv\n", "  test: data/test.csv\n  current: "
                        "data/live.csv\n").replace("  categorical: [grade]\n",
                                                   "  categorical: [grade]\n  sensitive: [site]\n")
    (project / "models/wine/model.yaml").write_text(spec + "schema:\n  batch: {min: 0, max: 3}\n")
    result = gml("-C", str(project), "drift", "wine", "-o", "json")
    assert result.exit_code == 0, result
    payload = result.json()["result"]
    assert payload["checks"]["passed"] is True, payload["checks"]
    monitor = gml("-C", str(project), "monitor", "wine", "--current", "data/live.csv",
                  "--reference", "data/train.csv")
    assert monitor.exit_code in (0, ExitCode.DRIFT_FOUND), monitor
