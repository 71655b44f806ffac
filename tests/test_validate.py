"""``gitops-ml validate`` on real mini-projects: every bad input is one line, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_ml.errors import ExitCode
from gitops_ml.project import catalogue

from .projects import files, spec


def one_error_line(result) -> str:
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result
    assert "Traceback" not in result.output
    return errors[0]


def test_valid_project(make_repo, gml) -> None:
    repo = make_repo(files("churn", "fraud"))
    result = gml("validate", cwd=repo)
    assert result.exit_code == 0, result
    assert "ok  churn (models/churn/model.yaml): sklearn.linear_model.LogisticRegression" \
        in result.stdout
    assert "2 model(s) valid" in result.stdout


def test_validate_json_envelope(make_repo, gml) -> None:
    repo = make_repo(files())
    payload = gml("validate", "--output", "json", cwd=repo).json()
    assert payload["ok"] is True and payload["command"] == "validate"
    assert payload["result"]["models"][0]["name"] == "churn"
    assert payload["result"]["problems"] == []


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"estimator": "\n  class: sklearn.linear_model.LogisticRegresion"},
         "models/churn/model.yaml:11:3: estimator.class: 'sklearn.linear_model."
         "LogisticRegresion' is not a scikit-learn estimator"),
        ({"estimator": "\n  class: sklearn.linear_model.LogisticRegression\n"
                       "  params: {C: 1.0, max_itr: 5}"},
         "estimator.params.max_itr: 'max_itr' is not a parameter of LogisticRegression "
         "(did you mean 'max_iter'?)"),
        ({"estimator": "\n  class: sklearn.linear_model.LinearRegression"},
         "LinearRegression is a regressor, but the task is classification"),
        ({"estimator": "\n  class: nosuchpkg.Model"},
         "'nosuchpkg.Model' is not a scikit-learn estimator"),
        ({"estimator": "\n  class: collections.OrderedDict"},
         "'collections.OrderedDict' is not a scikit-learn estimator"),
        ({"metrics": "[roc_auc, rmse]"},
         "metrics[1]: metric 'rmse' is not valid for classification"),
        ({"gates": "\n  - {metric: log_loss, max: 0.3}"},
         "gates[0].metric: gate on metric 'log_loss', which is not in metrics"),
        ({"task": "clasification"}, "did you mean 'classification'?"),
        ({"target": "[a, b]"}, "target: expected a string, got a list"),
        ({"features": None}, "missing required key 'features'"),
    ],
)
def test_bad_spec_gives_one_line(make_repo, gml, override, expected) -> None:
    project = files()
    project["models/churn/model.yaml"] = spec(**override)
    repo = make_repo(project)
    result = gml("validate", cwd=repo)
    assert result.exit_code == ExitCode.CONFIG, result
    assert expected in one_error_line(result)


def test_sklearn_typo_suggests_the_public_path(make_repo, gml) -> None:
    project = files()
    project["models/churn/model.yaml"] = spec(
        estimator="\n  class: sklearn.linear_model.RandomForestClassifier")
    result = gml("validate", cwd=make_repo(project))
    assert "did you mean 'sklearn.ensemble.RandomForestClassifier'?" in one_error_line(result)


def test_yaml_syntax_error(make_repo, gml) -> None:
    project = files()
    project["models/churn/model.yaml"] = "name: churn\nfeatures: [a, b\n"
    result = gml("validate", cwd=make_repo(project))
    assert result.exit_code == ExitCode.CONFIG
    assert one_error_line(result).startswith("error: models/churn/model.yaml:3:1: YAML syntax")


def test_duplicate_model_names(make_repo, gml) -> None:
    project = files("churn", "fraud")
    project["models/fraud/model.yaml"] = spec("churn")
    result = gml("validate", cwd=make_repo(project))
    assert result.exit_code == ExitCode.CONFIG
    line = one_error_line(result)
    assert "models/fraud/model.yaml:1:1: name: model name 'churn' is already used by " \
           "models/churn/model.yaml" in line


def test_spec_matched_by_no_glob(make_repo, gml) -> None:
    project = files()
    project["experiments/x/model.yaml"] = spec("x")
    repo = make_repo(project)
    result = gml("validate", "experiments/x/model.yaml", "models/churn/model.yaml", cwd=repo)
    assert result.exit_code == ExitCode.CONFIG
    assert "experiments/x/model.yaml: not matched by any model glob in gitops-ml.yaml " \
           "(models/*/model.yaml)" in one_error_line(result)


def test_validating_only_given_files_still_sees_duplicates(make_repo, gml) -> None:
    project = files("churn", "fraud")
    project["models/fraud/model.yaml"] = spec("churn")
    result = gml("validate", "models/fraud/model.yaml", cwd=make_repo(project))
    assert "already used by models/churn/model.yaml" in one_error_line(result)


def test_no_config(tmp_path: Path, gml) -> None:
    result = gml("validate", cwd=tmp_path)
    assert result.exit_code == ExitCode.CONFIG
    assert result.stderr.startswith("error: no gitops-ml.yaml found in ")
    assert "run 'gitops-ml init'" in result.stderr
    assert "Traceback" not in result.output


def test_every_broken_spec_is_reported_in_one_run(make_repo, gml) -> None:
    project = files("churn", "fraud")
    project["models/churn/model.yaml"] = spec(metrics="[rmse]", gates=None)
    project["models/fraud/model.yaml"] = spec("fraud", task="regresion")
    result = gml("validate", cwd=make_repo(project))
    errors = [x for x in result.stdout.splitlines() if x.startswith("error:")]
    assert len(errors) == 2
    assert "2 problem(s) found" in result.stdout


def test_header_checked_when_data_is_local(make_repo, gml) -> None:
    project = files()
    project["models/churn/model.yaml"] = spec(
        features="\n  numeric: [tenure, charge]\n  categorical: [contract]")
    result = gml("validate", cwd=make_repo(project))
    assert result.exit_code == ExitCode.CONFIG
    line = one_error_line(result)
    assert "column 'charge' (features.numeric) is not in the train data's header" in line
    assert "did you mean 'charges'?" in line


def test_header_ok_is_reported(make_repo, gml) -> None:
    result = gml("validate", cwd=make_repo(files()))
    assert result.exit_code == 0, result
    assert "columns checked against train data" in result.stdout


def test_missing_data_file(make_repo, gml) -> None:
    project = files()
    project["models/churn/model.yaml"] = spec(data="\n  train: data/nope.csv")
    result = gml("validate", cwd=make_repo(project))
    assert result.exit_code != 0
    line = one_error_line(result)
    assert "data/nope.csv" in line


def test_malformed_sha256_in_pointer_file(make_repo, gml) -> None:
    project = files()
    project["data/train.ptr.yaml"] = "uri: data/train.csv\nsha256: 12ab\n"
    project["models/churn/model.yaml"] = spec(data="\n  train: data/train.ptr.yaml")
    result = gml("validate", cwd=make_repo(project))
    assert result.exit_code == ExitCode.CONFIG
    assert one_error_line(result).startswith("error: data/train.ptr.yaml:2:")


def test_catalogue_matches_the_real_classes(tmp_path: Path, monkeypatch) -> None:
    """The catalogue read at validate time must agree with scikit-learn itself."""
    import inspect

    from sklearn.utils import all_estimators

    monkeypatch.setenv("GITOPS_ML_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(catalogue, "_loaded", None)
    cat = catalogue.load()
    assert cat is not None and len(cat) > 150
    assert list(tmp_path.glob("sklearn-catalogue-*.json")), "the catalogue is cached"
    checked = 0
    for name, cls in all_estimators():
        info = cat.get(f"{cls.__module__.split('._')[0]}.{name}")
        if info is None:
            continue
        expected = {p for p in inspect.signature(cls.__init__).parameters if p != "self"}
        assert set(info.params) == expected - {"args", "kwargs"}, name
        checked += 1
    assert checked > 150
    import sklearn

    assert cat.version == sklearn.__version__
    assert cat.get("sklearn.ensemble.HistGradientBoostingClassifier").kind == "classifier"
    assert cat.get("sklearn.linear_model.Ridge").kind == "regressor"


def test_validate_does_not_import_sklearn_when_catalogue_is_warm(make_repo, tmp_path) -> None:
    import subprocess
    import sys

    repo = make_repo(files())
    code = ("import sys; from gitops_ml.cli import cli; from gitops_ml.cli._app import run; "
            "rc = run(cli, ['validate']); "
            "heavy = sorted(m for m in ('sklearn', 'pandas', 'scipy', 'evidently', 'github', "
            "'numpy') if m in sys.modules); print(rc, heavy)")
    subprocess.run([sys.executable, "-c", code], cwd=repo, check=True, capture_output=True)
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "0 []"


@pytest.mark.parametrize(("cls", "needs"), [
    ("sklearn.pipeline.Pipeline", "steps"),
    ("sklearn.ensemble.StackingClassifier", "estimators"),
    ("sklearn.multiclass.OneVsRestClassifier", "estimator"),
    ("sklearn.model_selection.GridSearchCV", "estimator"),
])
def test_a_meta_estimator_is_refused_with_the_factory_hint(make_repo, gml, cls: str,
                                                           needs: str) -> None:
    """sklearn.pipeline.Pipeline passed validate, then failed at train with a message cut off
    mid-sentence: a spec's params cannot hold estimators."""
    repo = make_repo(files() | {"models/churn/model.yaml": spec(
        estimator=f"\n  class: {cls}")})
    result = gml("validate", cwd=repo)
    assert result.exit_code == ExitCode.CONFIG, result
    line = one_error_line(result)
    name = cls.rsplit(".", 1)[1]
    assert line.startswith(f"error: models/churn/model.yaml:11:3: estimator.class: {name} is a "
                           f"meta-estimator: it needs {needs}")
    assert "estimator.factory" in line


def test_a_transformer_is_not_a_model(make_repo, gml) -> None:
    repo = make_repo(files() | {"models/churn/model.yaml": spec(
        estimator="\n  class: sklearn.preprocessing.FunctionTransformer")})
    line = one_error_line(gml("validate", cwd=repo))
    assert "FunctionTransformer is a transformer, not a model" in line
    assert "estimator.factory" in line


def test_an_optional_inner_estimator_is_not_a_meta_estimator(make_repo, gml) -> None:
    repo = make_repo(files() | {"models/churn/model.yaml": spec(
        estimator="\n  class: sklearn.ensemble.BaggingClassifier\n  params: {n_estimators: 5}")})
    result = gml("validate", cwd=repo)
    assert result.exit_code == 0, result


def test_an_unseeded_stochastic_estimator_is_warned_about(make_repo, gml) -> None:
    """validate accepted random_state: null without a word; two trainings then differ."""
    text = spec(estimator="\n  class: sklearn.ensemble.RandomForestClassifier\n"
                          "  params:\n    n_estimators: 5\n    random_state: null")
    repo = make_repo(files() | {"models/churn/model.yaml": text})
    result = gml("validate", cwd=repo)
    assert result.exit_code == 0, result  # a warning, not an error
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "random_state" in t)
    warnings = [w for w in result.output.splitlines() if w.startswith("warning:")]
    assert warnings == [
        f"warning: models/churn/model.yaml:{line}:5: estimator.params.random_state: "
        "RandomForestClassifier is stochastic and random_state is null: every training gives "
        "a different model, so reproduce and the run cache cannot match it (give random_state "
        "a number, or leave it out (training then uses data.split.seed))"]
    payload = gml("validate", "-o", "json", cwd=repo).json()
    assert payload["ok"] is True
    assert payload["result"]["warnings"][0]["key_path"] == "estimator.params.random_state"
    # seeded, or left to the split seed: no warning
    for params in ("{n_estimators: 5, random_state: 3}", "{n_estimators: 5}"):
        (repo / "models/churn/model.yaml").write_text(spec(
            estimator=f"\n  class: sklearn.ensemble.RandomForestClassifier\n  params: {params}"))
        assert "warning:" not in gml("validate", cwd=repo).output


# --- every problem in one run (issue 14, item 9) --------------------------------------------

FOUR_TYPOS = {"task": "clasification", "target": "[a, b]",
              "estimator": "\n  class: sklearn.linear_model.LogisticRegression\n"
                           "  parms: {C: 1.0}",
              "descripton": "churn model"}


def error_lines(result) -> list[str]:
    assert "Traceback" not in result.output
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def test_every_loading_problem_is_listed_in_file_order(make_repo, gml) -> None:
    project = files()
    project["models/churn/model.yaml"] = spec(**FOUR_TYPOS)
    result = gml("validate", cwd=make_repo(project))
    assert result.exit_code == ExitCode.CONFIG, result
    assert error_lines(result) == [
        "error: models/churn/model.yaml:2:1: task: expected one of 'classification', "
        "'regression', got 'clasification' (did you mean 'classification'?)",
        "error: models/churn/model.yaml:5:1: target: expected a string, got a list",
        "error: models/churn/model.yaml:12:3: estimator.parms: unknown key 'parms' "
        "(did you mean 'params'?)",
        "error: models/churn/model.yaml:16:1: descripton: unknown key 'descripton' "
        "(did you mean 'description'?)",
    ]
    assert result.output.splitlines()[-1] == "4 problem(s) found"


def test_json_envelope_lists_every_problem(make_repo, gml) -> None:
    project = files()
    project["models/churn/model.yaml"] = spec(**FOUR_TYPOS)
    payload = gml("validate", "--output", "json", cwd=make_repo(project)).json()
    problems = payload["result"]["problems"]
    assert [p["key_path"] for p in problems] == ["task", "target", "estimator.parms",
                                                 "descripton"]
    assert [p["line"] for p in problems] == [2, 5, 12, 16]


def test_record_checks_are_all_listed(make_repo, gml) -> None:
    project = files()
    project["models/churn/model.yaml"] = spec(
        metrics="[roc_auc, rmse]", gates="\n  - {metric: log_loss, max: 0.3}")
    lines = error_lines(gml("validate", cwd=make_repo(project)))
    assert len(lines) == 2, lines
    assert "metrics[1]: metric 'rmse' is not valid for classification" in lines[0]
    assert "gates[0].metric: gate on metric 'log_loss', which is not in metrics" in lines[1]


def test_semantic_checks_each_run(make_repo, gml) -> None:
    """The estimator's parameters and the data's header are checked apart: each problem of
    each is listed, in file order."""
    project = files()
    project["models/churn/model.yaml"] = spec(
        features="\n  numeric: [tenur, charges]\n  categorical: [contract]",
        estimator="\n  class: sklearn.linear_model.LogisticRegression\n"
                  "  params: {CC: 1.0, max_itr: 200}")
    result = gml("validate", cwd=make_repo(project))
    assert result.exit_code == ExitCode.CONFIG, result
    lines = error_lines(result)
    assert len(lines) == 3, lines
    assert "data.train: column 'tenur' (features.numeric) is not in the train data's " \
           "header (did you mean 'tenure'?)" in lines[0]
    assert "estimator.params.CC: 'CC' is not a parameter of LogisticRegression" in lines[1]
    assert "estimator.params.max_itr: 'max_itr' is not a parameter of LogisticRegression " \
           "(did you mean 'max_iter'?)" in lines[2]
    assert result.output.splitlines()[-1] == "3 problem(s) found"


def test_a_command_about_one_model_fails_on_the_first_problem(make_repo, gml) -> None:
    project = files()
    project["models/churn/model.yaml"] = spec(**FOUR_TYPOS)
    result = gml("train", "churn", cwd=make_repo(project))
    assert result.exit_code == ExitCode.CONFIG, result
    assert error_lines(result) == [
        "error: models/churn/model.yaml:2:1: task: expected one of 'classification', "
        "'regression', got 'clasification' (did you mean 'classification'?)"]


def test_every_config_problem_is_listed(make_repo, gml) -> None:
    project = files()
    project["gitops-ml.yaml"] = "modles: models/*/model.yaml\nregistri: x\n"
    result = gml("validate", cwd=make_repo(project))
    assert result.exit_code == ExitCode.CONFIG, result
    lines = error_lines(result)
    assert [line.split(": ")[2] for line in lines] == ["modles", "registri"], lines
    assert result.output.splitlines()[-1] == "2 problem(s) found"
