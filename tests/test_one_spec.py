"""One model, one spec: a command about one model loads the config and that model's spec
only, so a broken spec elsewhere does not stop it; ``validate`` and ``plan`` still see every
spec. Real git repos in tmp dirs, driven through the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitops_ml.errors import ConfigError, ExitCode
from gitops_ml.project.spec import claimed_name, find_spec, load_config
from tests import projects

from .conftest import git

# A typo in a key ("estimater"), the kind of change one bad pull request makes.
BROKEN = projects.spec("broken").replace("estimator:", "estimater:")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = {**projects.files("churn"), "models/broken/model.yaml": BROKEN,
             ".gitignore": ".gitops-ml/\n"}
    return projects.committed_repo(tmp_path / "repo", files, origin=tmp_path / "origin.git")


def test_a_broken_sibling_spec_does_not_stop_the_good_model(project: Path, gml) -> None:
    for args in (["train", "churn"], ["evaluate", "churn", "--bootstrap", "20"],
                 ["drift", "churn"], ["report", "churn", "--out", "report.md"],
                 ["promote", "churn"]):
        result = gml(*args, cwd=project)
        assert result.exit_code in (ExitCode.OK, ExitCode.DRIFT_FOUND), (args, result)
        assert "estimater" not in result.output, (args, result)
    assert git(project, "tag", "-l") == "churn#production#1\nchurn@v0.1.0"


def test_validate_and_plan_still_report_the_broken_spec(project: Path, gml) -> None:
    result = gml("validate", "--no-data", cwd=project)
    assert result.exit_code == ExitCode.CONFIG
    line = next(n for n, text in enumerate(BROKEN.splitlines(), 1)
                if text.startswith("estimater:"))
    assert f"models/broken/model.yaml:{line}:1" in result.output
    assert "estimater" in result.output
    result = gml("plan", cwd=project)
    assert result.exit_code == ExitCode.CONFIG
    assert f"models/broken/model.yaml:{line}" in result.output


def test_the_named_spec_itself_is_still_checked(project: Path, gml) -> None:
    result = gml("train", "broken", cwd=project)
    assert result.exit_code == ExitCode.CONFIG
    assert "models/broken/model.yaml:" in result.stderr and "estimater" in result.stderr


def test_two_specs_claiming_one_name_is_an_error(project: Path) -> None:
    (project / "models" / "copy").mkdir()
    (project / "models" / "copy" / "model.yaml").write_text(projects.spec("churn"))
    with pytest.raises(ConfigError, match=re.escape(
            "model name 'churn' is claimed by 2 specs: models/churn/model.yaml, "
            "models/copy/model.yaml")) as caught:
        find_spec(load_config(project), "churn")
    assert caught.value.location is not None and caught.value.location.line == 1


def test_unknown_name_suggests_and_names_unreadable_specs(project: Path) -> None:
    (project / "models" / "garbled").mkdir()
    (project / "models" / "garbled" / "model.yaml").write_text("name: [garbled\n")
    with pytest.raises(ConfigError, match="no model named 'chrun'") as caught:
        find_spec(load_config(project), "chrun")
    hint = caught.value.hint or ""
    assert "did you mean 'churn'?" in hint.lower()
    assert "models/garbled/model.yaml" in hint


@pytest.mark.parametrize(("text", "name"), [
    ("name: churn\n", "churn"),
    ("name: 'churn'  # quoted\n", "churn"),
    ('description: x\nname: "churn"\n', "churn"),
    ("features:\n  name: other\nname: churn\n", "churn"),   # nested keys are indented
    ("description: |\n  name: other\nname: churn\n", "churn"),
    ("{name: churn}\n", None),                               # flow style: parse to know
    ("name: churn\nname: other\n", None),                    # duplicate: the load says why
    ("name: !!str churn\n", None),
    ("task: regression\n", None),
])
def test_claimed_name_reads_only_the_top_level_name_line(tmp_path: Path, text: str,
                                                          name: str | None) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(text)
    assert claimed_name(path) == name


def test_flow_style_spec_is_still_found(project: Path, gml) -> None:
    """A spec whose name is not on a plain line is parsed (not validated) to learn it."""
    import json

    import yaml

    spec = yaml.safe_load(projects.spec("flow"))
    (project / "models" / "flow").mkdir()
    (project / "models" / "flow" / "model.yaml").write_text(json.dumps(spec) + "\n")
    assert find_spec(load_config(project), "flow").name == "flow"
