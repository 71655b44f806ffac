"""``gitops-ml plan`` on real git histories."""

from __future__ import annotations

import json
import subprocess
import sys

from gitops_ml.errors import ExitCode

from .conftest import git
from .projects import files, spec


def _project():
    project = files("churn", "fraud", "price")
    project["data/fraud.ptr.yaml"] = "uri: s3://bucket/fraud.parquet\n"
    project["models/fraud/model.yaml"] = spec("fraud", data="\n  train: data/fraud.ptr.yaml")
    return project


def commit_change(repo, path: str, text: str) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"change {path}")


def affected(gml, repo, base="main") -> list[str]:
    result = gml("plan", "--base", base, "--output", "json", cwd=repo)
    assert result.exit_code == 0, result
    return [entry["model"] for entry in result.json()["result"]["include"]]


def test_nothing_changed(make_repo, gml) -> None:
    repo = make_repo(_project())
    assert affected(gml, repo) == []
    assert "no models affected since main" in gml("plan", "--base", "main", cwd=repo).stdout


def test_spec_change_on_a_branch(make_repo, gml) -> None:
    repo = make_repo(_project())
    git(repo, "checkout", "-q", "-b", "pr")
    commit_change(repo, "models/price/model.yaml", spec("price", gates=None))
    assert affected(gml, repo) == ["price"]
    text = gml("plan", "--base", "main", cwd=repo).stdout
    assert "price  models/price/model.yaml\n    spec changed (models/price/model.yaml)" in text


def test_pointer_change_affects_its_users_only(make_repo, gml) -> None:
    repo = make_repo(_project())
    git(repo, "checkout", "-q", "-b", "pr")
    commit_change(repo, "data/fraud.ptr.yaml", "uri: s3://bucket/fraud-v2.parquet\n")
    assert affected(gml, repo) == ["fraud"]


def test_shared_data_file_affects_every_user(make_repo, gml) -> None:
    repo = make_repo(_project())
    git(repo, "checkout", "-q", "-b", "pr")
    commit_change(repo, "data/train.csv", "tenure,churned\n1,0\n")
    assert affected(gml, repo) == ["churn", "price"]


def test_config_change_affects_all(make_repo, gml) -> None:
    repo = make_repo(_project())
    git(repo, "checkout", "-q", "-b", "pr")
    commit_change(repo, "gitops-ml.yaml", "models: models/*/model.yaml\nregistry: git\n")
    assert affected(gml, repo) == ["churn", "fraud", "price"]


def test_file_in_model_folder_and_uncommitted_work(make_repo, gml) -> None:
    repo = make_repo(_project())
    (repo / "models/churn/notes.md").write_text("untracked notes")
    assert affected(gml, repo) == ["churn"]
    text = gml("plan", "--base", "main", cwd=repo).stdout
    assert "file in its folder changed (models/churn/notes.md)" in text


def test_unrelated_file_affects_nothing(make_repo, gml) -> None:
    repo = make_repo(_project())
    git(repo, "checkout", "-q", "-b", "pr")
    commit_change(repo, "README.md", "docs")
    commit_change(repo, "models/README.md", "docs")
    assert affected(gml, repo) == []


def test_base_is_the_merge_base_not_the_tip(make_repo, gml) -> None:
    """Changes that land on main after the branch point do not count for the PR."""
    repo = make_repo(_project())
    git(repo, "checkout", "-q", "-b", "pr")
    commit_change(repo, "models/churn/model.yaml", spec("churn", gates=None))
    git(repo, "checkout", "-q", "main")
    commit_change(repo, "models/price/model.yaml", spec("price", gates=None))
    git(repo, "checkout", "-q", "pr")
    assert affected(gml, repo) == ["churn"]


def test_matrix_flag_prints_the_bare_matrix(make_repo, gml) -> None:
    repo = make_repo(_project())
    git(repo, "checkout", "-q", "-b", "pr")
    commit_change(repo, "models/churn/model.yaml", spec("churn", gates=None))
    out = gml("plan", "--base", "main", "--matrix", cwd=repo).stdout
    assert json.loads(out) == {"include": [{"model": "churn",
                                            "spec": "models/churn/model.yaml"}]}
    assert out.count("\n") == 1


def test_without_base_every_model(make_repo, gml) -> None:
    repo = make_repo(_project())
    result = gml("plan", "--output", "json", cwd=repo)
    assert [e["model"] for e in result.json()["result"]["include"]] == ["churn", "fraud",
                                                                        "price"]


def test_unknown_base_is_a_clear_error(make_repo, gml) -> None:
    repo = make_repo(_project())
    result = gml("plan", "--base", "origin/nope", cwd=repo)
    assert result.exit_code == ExitCode.REGISTRY
    assert result.stderr.strip() == ("error: unknown git revision 'origin/nope' (fetch it first "
                                     "(in Actions: actions/checkout with fetch-depth: 0))")


def test_plan_in_a_project_below_the_git_top(make_repo, gml) -> None:
    repo = make_repo({f"ml/{k}": v for k, v in _project().items()})
    git(repo, "checkout", "-q", "-b", "pr")
    commit_change(repo, "ml/models/fraud/extra.py", "x = 1\n")
    assert affected(gml, repo / "ml") == ["fraud"]


def test_plan_stays_light(make_repo) -> None:
    repo = make_repo(_project())
    code = ("import sys; from gitops_ml.cli import cli; from gitops_ml.cli._app import run; "
            "rc = run(cli, ['plan', '--base', 'main']); "
            "print(rc, sorted(m for m in ('sklearn', 'pandas', 'scipy', 'evidently', 'numpy',"
            " 'github') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "0 []"


def test_many_changed_files_and_errors_while_git_runs(make_repo, gml, tmp_path) -> None:
    """git answers while the specs load: more output than a pipe holds is still read whole,
    a broken spec is still reported at its line, and a folder outside git is a clear error."""
    repo = make_repo(_project())
    folder = repo / "models" / "churn" / "generated"
    folder.mkdir()
    for i in range(1500):  # ~100 kB of ls-files output, more than a pipe buffer
        (folder / f"{i:05d}-{'x' * 50}.txt").write_text("")
    result = gml("plan", "--base", "main", "-o", "json", cwd=repo)
    assert result.exit_code == 0, result
    [churn] = result.json()["result"]["include"]
    assert churn["model"] == "churn"
    result = gml("plan", "--base", "main", cwd=repo)
    assert "and 1499 more" in result.stdout
    (repo / "models" / "price" / "model.yaml").write_text(spec("price") + "oops: 1\n")
    result = gml("plan", "--base", "main", cwd=repo)
    assert result.exit_code == ExitCode.CONFIG
    assert "models/price/model.yaml:" in result.stderr and "unknown key 'oops'" in result.stderr
    outside = tmp_path / "not-git"
    outside.mkdir()
    for rel, text in _project().items():
        (outside / rel).parent.mkdir(parents=True, exist_ok=True)
        (outside / rel).write_text(text)
    result = gml("plan", "--base", "main", cwd=outside)
    assert result.exit_code == ExitCode.REGISTRY
    assert "is not a git repository" in result.stderr
