"""Inputs a pull request controls (specs, pointers, data files, the config) that used to hang a
job, exhaust its memory, run code at validate, read outside the repository, or end in an
"internal error". Each is now one line naming the file (and line), with its own exit code."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitops_ml.errors import ExitCode

from .projects import files, spec

ROOT = Path(__file__).resolve().parents[1]


def one_error_line(result) -> str:
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result
    assert "Traceback" not in result.output and "internal error" not in result.output
    return errors[0]


BOMB = "".join(
    [f"x{0}: &x{0} [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    + [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]\n" for i in range(1, 10)])


def test_an_alias_bomb_is_refused_at_its_line_quickly(make_repo, gml) -> None:
    """9 levels of 9 aliases: 9**10 leaves once expanded (minutes and gigabytes before)."""
    project = files("churn")
    project["models/churn/model.yaml"] = spec() + BOMB
    repo = make_repo(project)
    t0 = time.perf_counter()
    r = gml("validate", cwd=repo)
    elapsed = time.perf_counter() - t0
    assert r.exit_code == ExitCode.CONFIG
    line = one_error_line(r)
    n = spec().count("\n")
    assert f"models/churn/model.yaml:{n + 2}:" in line and "aliases" in line
    assert elapsed < 60  # not a timing assertion: the bomb took minutes; this is a hang guard


def test_an_alias_in_a_pointer_file_is_refused(make_repo, gml) -> None:
    project = files("churn")
    project["models/churn/model.yaml"] = spec(data="\n  train: data/t.ptr.yaml")
    project["data/t.ptr.yaml"] = "uri: data/train.csv\nx: &a [1, 2]\ny: *a\n"
    r = gml("validate", cwd=make_repo(project))
    assert r.exit_code == ExitCode.CONFIG
    assert "data/t.ptr.yaml:3:" in one_error_line(r)


def test_a_5000_digit_integer_is_a_config_error(make_repo, gml) -> None:
    project = files("churn")
    project["models/churn/model.yaml"] = spec(
        estimator="\n  class: sklearn.linear_model.LogisticRegression\n"
                  f"  params: {{C: 1.0, max_iter: {'9' * 5000}}}")
    r = gml("validate", cwd=make_repo(project))
    assert r.exit_code == ExitCode.CONFIG
    line = one_error_line(r)
    assert "models/churn/model.yaml:12:" in line and "integer of 5,000 characters" in line


def test_bootstrap_is_bounded(make_repo, gml) -> None:
    project = files("churn")
    project["models/churn/model.yaml"] = spec(evaluation="{bootstrap: 100000000}")
    r = gml("validate", cwd=make_repo(project))
    assert r.exit_code == ExitCode.CONFIG
    assert "evaluation.bootstrap" in one_error_line(r)
    assert "at most 100000" in one_error_line(r)


def test_a_huge_header_line_is_refused_without_reading_it(make_repo, gml) -> None:
    project = files("churn")
    repo = make_repo(project)
    with open(repo / "data" / "train.csv", "w") as f:  # 20 MB of header, no newline
        f.write("tenure,charges,contract,gender,churned," + "c" * 20_000_000)
    r = gml("validate", cwd=repo)
    assert r.exit_code == ExitCode.CONFIG  # validate reports every problem, then exits 3
    line = one_error_line(r)
    assert "models/churn/model.yaml:4:3: data.train: train.csv: the first line is longer " \
           "than 1,048,576 characters" in line


def test_validate_imports_no_module_the_spec_names(make_repo, gml, tmp_path) -> None:
    """A module in the repository (or antigravity) used to be imported, and so run."""
    sentinel = tmp_path / "ran"
    project = files("churn")
    project["evil.py"] = f"open({str(sentinel)!r}, 'w').write('ran')\n"
    project["models/churn/model.yaml"] = spec(estimator="\n  class: evil.Model")
    repo = make_repo(project)
    env = {**os.environ, "PYTHONPATH": str(repo)}
    for cls in ("evil.Model", "antigravity.Fly"):
        text = spec(estimator=f"\n  class: {cls}")
        (repo / "models" / "churn" / "model.yaml").write_text(text)
        proc = subprocess.run([sys.executable, "-m", "gitops_ml", "validate"], cwd=repo,
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == ExitCode.CONFIG, proc.stderr
        assert f"'{cls}' is not a scikit-learn estimator" in proc.stdout + proc.stderr
    assert not sentinel.exists()


def test_train_imports_no_module_the_spec_names(make_repo, gml, tmp_path) -> None:
    sentinel = tmp_path / "ran"
    project = files("churn")
    project["evil.py"] = f"open({str(sentinel)!r}, 'w').write('ran')\nclass Model: pass\n"
    project["models/churn/model.yaml"] = spec(estimator="\n  class: evil.Model")
    repo = make_repo(project)
    sys.path.insert(0, str(repo))
    try:
        r = gml("train", "churn", cwd=repo)
    finally:
        sys.path.remove(str(repo))
        sys.modules.pop("evil", None)
    assert r.exit_code == ExitCode.CONFIG, r.output
    assert not sentinel.exists()


@pytest.mark.parametrize("ref", ["../outside.csv", "ABSOLUTE", "data/link.csv"])
def test_data_paths_that_leave_the_repository_are_refused(make_repo, gml, tmp_path,
                                                          ref) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("secret_column\n1\n")
    project = files("churn")
    repo = make_repo(project, name="repo")
    os.symlink(outside, repo / "data" / "link.csv")
    ref = str(outside) if ref == "ABSOLUTE" else ref
    (repo / "models" / "churn" / "model.yaml").write_text(spec(data=f"\n  train: {ref}"))
    r = gml("validate", cwd=repo)
    assert r.exit_code == ExitCode.CONFIG, r.output
    line = one_error_line(r)
    assert "is outside the repository; refused" in line
    assert "models/churn/model.yaml" in line and "outside_roots" in line
    assert "secret_column" not in r.output
    # the config may allow an outside root explicitly
    (repo / "gitops-ml.yaml").write_text(f"models: models/*/model.yaml\n"
                                         f"outside_roots: [{tmp_path}]\n")
    r = gml("validate", cwd=repo)
    assert "outside the repository" not in r.output


def test_a_pointer_to_data_outside_the_repository_is_refused(make_repo, gml, tmp_path) -> None:
    project = files("churn")
    project["models/churn/model.yaml"] = spec(data="\n  train: data/t.ptr.yaml")
    project["data/t.ptr.yaml"] = f"uri: {tmp_path}/elsewhere.csv\n"
    r = gml("validate", cwd=make_repo(project))
    assert r.exit_code == ExitCode.CONFIG
    assert "data/t.ptr.yaml:1:" in one_error_line(r)


def test_spec_globs_that_leave_the_repository_are_refused(make_repo, gml, tmp_path) -> None:
    other = tmp_path / "other" / "models" / "x"
    other.mkdir(parents=True)
    (other / "model.yaml").write_text(spec("x"))
    project = files("churn")
    project["gitops-ml.yaml"] = "models: ../other/models/*/model.yaml\n"
    r = gml("validate", cwd=make_repo(project))
    assert r.exit_code == ExitCode.CONFIG
    assert "gitops-ml.yaml: the spec glob" in one_error_line(r)


def test_a_factory_outside_the_repository_is_refused_even_with_outside_roots(
        make_repo, gml, tmp_path) -> None:
    (tmp_path / "f.py").write_text("def build():\n    pass\n")
    project = files("churn")
    project["gitops-ml.yaml"] = f"models: models/*/model.yaml\noutside_roots: [{tmp_path}]\n"
    project["models/churn/model.yaml"] = spec(
        estimator=f"\n  factory: {tmp_path}/f.py:build")
    r = gml("validate", cwd=make_repo(project))
    assert r.exit_code == ExitCode.CONFIG
    assert "is outside the repository" in one_error_line(r)


def test_data_pull_errors_name_the_pointer_file(make_repo, gml) -> None:
    project = files("churn")
    project["data/r.ptr.yaml"] = ("uri: http://127.0.0.1:9/r.csv\n"
                                  f"sha256: {'a' * 64}\n")
    r = gml("data", "pull", "data/r.ptr.yaml", cwd=make_repo(project),
            env={"GITOPS_ML_HTTP_TIMEOUT": "2"})
    assert r.exit_code == ExitCode.DATA, r.output
    assert one_error_line(r).startswith("error: data/r.ptr.yaml:1: ")
