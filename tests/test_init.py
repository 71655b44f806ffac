"""``gitops-ml init``: the scaffold validates, is idempotent, and never overwrites silently."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml

from gitops_ml import scaffold
from gitops_ml.cli import cli
from gitops_ml.cli._app import run

EXPECTED = {
    "gitops-ml.yaml", ".gitignore", ".pre-commit-config.yaml",
    ".github/workflows/ml-pull-request.yml", ".github/workflows/ml-comment.yml",
    ".github/workflows/ml-promote.yml", ".github/workflows/ml-monitor.yml",
}


def gitops(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(cli, list(args))
    out, err = capsys.readouterr()
    return code, out, err


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("template", "model"), [("classification", "breast-cancer"),
                                                  ("regression", "diabetes")])
def test_init_writes_a_scaffold_that_validates(tmp_path: Path, capsys, template: str,
                                               model: str) -> None:
    root = tmp_path / "repo"
    code, out, _ = gitops(capsys, "init", str(root), "--template", template)
    assert code == 0, out
    written = set(files_under(root))
    assert EXPECTED | {f"models/{model}/model.yaml", f"data/{model}.ptr.yaml",
                       f"data/{model}.csv"} == written
    pointer = yaml.safe_load((root / f"data/{model}.ptr.yaml").read_text())
    data = (root / pointer["uri"]).read_bytes()
    assert pointer["sha256"] == hashlib.sha256(data).hexdigest()
    assert pointer["size"] == len(data)
    spec = yaml.safe_load((root / f"models/{model}/model.yaml").read_text())
    assert spec["features"]["sensitive"] == ["group"]
    assert "synthetic" in spec["description"] and "seed" in spec["description"]
    header = data.decode().splitlines()[0].split(",")
    assert header[-2:] == ["group", spec["target"]]
    assert set(spec["features"]["numeric"]) <= set(header)

    code, out, err = gitops(capsys, "--repo", str(root), "validate")
    assert code == 0, out + err
    assert f"ok  {model}" in out


def test_sample_is_the_real_dataset(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    sample = scaffold.load_sample("classification")
    ds = load_breast_cancer()
    assert len(sample.rows) == ds.data.shape[0] == 569
    assert sample.rows[0][0] == pytest.approx(ds.data[0][0])
    # malignant is coded 0 by scikit-learn: the sample's positive class is malignant
    assert sum(r[-1] for r in sample.rows) == int((ds.target == 0).sum())
    groups = [r[-2] for r in sample.rows]
    assert set(groups) == {"A", "B"} and 0.5 < groups.count("A") / len(groups) < 0.7


def test_rendering_is_deterministic() -> None:
    first = scaffold.render_scaffold("classification")[1]
    second = scaffold.render_scaffold("classification")[1]
    assert first == second


def test_init_twice_changes_nothing(tmp_path: Path, capsys) -> None:
    root = tmp_path / "repo"
    assert gitops(capsys, "init", str(root))[0] == 0
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}
    code, out, _ = gitops(capsys, "init", str(root), "-o", "json")
    assert code == 0
    result = json.loads(out)["result"]
    assert result["created"] == [] and result["overwritten"] == []
    assert result["changed"] is False and len(result["unchanged"]) == len(before)
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}
    assert after == before


def test_init_refuses_to_overwrite_different_content(tmp_path: Path, capsys) -> None:
    root = tmp_path / "repo"
    assert gitops(capsys, "init", str(root))[0] == 0
    spec = root / "models/breast-cancer/model.yaml"
    spec.write_text(spec.read_text().replace("C: 1.0", "C: 0.5"))
    (root / ".gitignore").unlink()
    code, out, err = gitops(capsys, "init", str(root))
    assert code == 3
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "would overwrite 1 file(s)" in err and "models/breast-cancer/model.yaml" in err
    assert "--force" in err
    assert "C: 0.5" in spec.read_text()
    assert not (root / ".gitignore").exists()  # all or nothing: no partial write

    code, out, _ = gitops(capsys, "init", str(root), "--force")
    assert code == 0
    assert "overwritten  models/breast-cancer/model.yaml" in out
    assert "created      .gitignore" in out
    assert "C: 1.0" in spec.read_text()


def test_init_json_error_envelope(tmp_path: Path, capsys) -> None:
    root = tmp_path / "repo"
    assert gitops(capsys, "init", str(root))[0] == 0
    (root / "gitops-ml.yaml").write_text("models: x\n")
    code, out, _ = gitops(capsys, "init", str(root), "-o", "json")
    assert code == 3
    envelope = json.loads(out)
    assert envelope["ok"] is False and envelope["error"]["code"] == "init_conflict"


@pytest.mark.parametrize("value", ["acme", "acme/gitops-ml", "acme/gitops-ml@v1;touch x",
                                   "acme/gitops-ml@${{ github.token }}", "a b/c@v1"])
def test_init_rejects_a_bad_owner_repo(tmp_path: Path, capsys, value: str) -> None:
    root = tmp_path / "repo"
    code, _, err = gitops(capsys, "init", str(root), "--owner-repo", value)
    assert code == 3
    assert "--owner-repo must look like OWNER/gitops-ml@REF" in err
    assert not root.exists()


def test_init_uses_the_owner_repo(tmp_path: Path, capsys) -> None:
    root = tmp_path / "repo"
    assert gitops(capsys, "init", str(root), "--owner-repo", "acme/gitops-ml@v2.1")[0] == 0
    text = (root / ".github/workflows/ml-pull-request.yml").read_text()
    assert "uses: acme/gitops-ml/.github/workflows/pull-request.yml@v2.1" in text


def test_init_unknown_template_is_a_usage_error(tmp_path: Path, capsys) -> None:
    code, _, err = gitops(capsys, "init", str(tmp_path / "r"), "--template", "vision")
    assert code == 2 and "vision" in err


def test_init_into_a_file_is_an_error(tmp_path: Path, capsys) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    code, _, err = gitops(capsys, "init", str(target))
    assert code != 0 and "Traceback" not in err


def test_templates_are_package_data() -> None:
    """The package must work installed non-editable: templates live inside gitops_ml."""
    import tomllib

    root = Path(scaffold.__file__).parent / "templates" / "init"
    assert (root / "common" / "gitops-ml.yaml.j2").is_file()
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["gitops_ml"]
    assert "templates/**/*" in patterns
    # setuptools' package-data glob skips names starting with '.': dotfiles are 'dot-name'.
    for path in root.rglob("*"):
        assert not any(part.startswith(".") for part in path.relative_to(root).parts), path
        if path.is_file():
            assert path.suffix == ".j2", path


def test_setuptools_ships_the_templates(tmp_path: Path, monkeypatch) -> None:
    """Ask setuptools itself which data files build_py puts in the wheel."""
    import shutil
    import warnings

    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    project = Path(__file__).parents[1]
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(project / "pyproject.toml", copy)
    shutil.copytree(project / "gitops_ml", copy / "gitops_ml",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "README.md").write_text("x\n")
    monkeypatch.chdir(copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dist = Distribution()
        apply_configuration(dist, "pyproject.toml")
        dist.script_name = "setup.py"
        build_py = dist.get_command_obj("build_py")
        build_py.ensure_finalized()
        shipped = {f"gitops_ml/{name}" for pkg, _src, _build, names in build_py.data_files
                   if pkg == "gitops_ml" for name in names}
    templates = {p.relative_to(project).as_posix()
                 for p in (project / "gitops_ml/templates/init").rglob("*.j2")}
    assert len(templates) >= 10
    assert templates <= shipped, templates - shipped


def test_pre_commit_hook_runs_validate(tmp_path: Path, capsys) -> None:
    root = tmp_path / "repo"
    assert gitops(capsys, "init", str(root))[0] == 0
    config = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())
    hook = config["repos"][0]["hooks"][0]
    assert hook["entry"] == "gitops-ml validate"
    import re

    assert re.search(hook["files"], "models/breast-cancer/model.yaml")
    assert re.search(hook["files"], "data/breast-cancer.ptr.yaml")
    assert not re.search(hook["files"], "README.md")
    assert os.access(root / "gitops-ml.yaml", os.R_OK)


@pytest.mark.slow
@pytest.mark.parametrize(("template", "model"), [("classification", "breast-cancer"),
                                                  ("regression", "diabetes")])
def test_the_scaffolded_model_trains_and_passes_its_gates(tmp_path: Path, capsys,
                                                           template: str, model: str) -> None:
    """The sample's gates are set so that the sample model passes them."""
    root = tmp_path / "repo"
    assert gitops(capsys, "init", str(root), "--template", template)[0] == 0
    import subprocess

    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", "init"], check=True)
    code, out, err = gitops(capsys, "--repo", str(root), "train", model)
    assert code == 0, out + err
    code, out, err = gitops(capsys, "--repo", str(root), "evaluate", model, "-o", "json")
    assert code == 0, out + err
    result = json.loads(out)["result"]
    assert result["gates_passed"] is True
    assert any(g["kind"] == "metric" and g["passed"] for g in result["gates"])


def test_published_pre_commit_hook_matches_the_scaffolded_one() -> None:
    published = yaml.safe_load((Path(__file__).parents[1] / ".pre-commit-hooks.yaml")
                               .read_text())
    scaffolded = yaml.safe_load(scaffold.render_scaffold()[1][".pre-commit-config.yaml"])
    local = scaffolded["repos"][0]["hooks"][0]
    (hook,) = published
    assert hook["id"] == local["id"] and hook["entry"] == local["entry"]
    assert hook["files"] == local["files"]
