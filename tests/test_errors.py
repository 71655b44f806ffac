"""The error tree: every class in errors.py, no bare base-class raise, each exit code documented
as what it means, verdicts (gates failed, drift found) raised and shown once."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest

from gitops_ml import errors
from gitops_ml.cli import cli
from gitops_ml.cli._app import State, common_options, emit, run
from gitops_ml.errors import (
    BundleError,
    DriftFound,
    ExitCode,
    GatesFailed,
    GitHubError,
    GitopsMLError,
    NotReproduced,
    Verdict,
)

from .train_fixtures import BC_FEATURES, breast_cancer, spec_text, write_repo

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gitops_ml"
ERROR_CLASSES = {name for name, value in vars(errors).items()
                 if isinstance(value, type) and issubclass(value, Exception)}


def parsed_modules() -> list[tuple[str, ast.Module]]:
    return [(p.relative_to(ROOT).as_posix(), ast.parse(p.read_text(encoding="utf-8")))
            for p in sorted(PACKAGE.rglob("*.py"))]


def base_names(node: ast.ClassDef) -> set[str]:
    out = set()
    for base in node.bases:
        if isinstance(base, ast.Name):
            out.add(base.id)
        elif isinstance(base, ast.Attribute):
            out.add(base.attr)
    return out


def test_every_error_class_lives_in_errors_py() -> None:
    outside = []
    for rel, tree in parsed_modules():
        if rel == "gitops_ml/errors.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and (
                    base_names(node) & (ERROR_CLASSES | {"Exception", "BaseException"})
                    or node.name.endswith("Error")):
                outside.append(f"{rel}:{node.lineno}: {node.name}")
    assert outside == []


def test_no_bare_base_class_is_raised() -> None:
    """The base class exits 1, "a bug": every real failure has its own class and code."""
    bare = [f"{rel}:{node.lineno}" for rel, tree in parsed_modules()
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "GitopsMLError"]
    assert bare == []


def documented_exit_codes() -> dict[int, str]:
    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    section = text[text.index("## Errors, exit codes and JSON output"):]
    return {int(m[1]): m[2] for m in re.finditer(r"^\| (\d+) \| (.+?) \|$", section, re.M)}


def test_each_exit_code_is_documented_once() -> None:
    codes = {v for k, v in vars(ExitCode).items() if k.isupper()}
    assert len(codes) == len([k for k in vars(ExitCode) if k.isupper()])  # no two names share
    assert set(documented_exit_codes()) == codes


def test_each_error_class_exits_with_a_documented_code() -> None:
    documented = documented_exit_codes()
    for name in ERROR_CLASSES - {"GitopsMLError"}:
        cls = getattr(errors, name)
        if issubclass(cls, GitopsMLError):
            assert cls.exit_code in documented, name
            assert cls.code != GitopsMLError.code, f"{name} has no code string of its own"


def test_a_refused_bundle_is_not_a_github_failure() -> None:
    assert not issubclass(BundleError, GitHubError)
    assert BundleError.exit_code == ExitCode.UNTRUSTED != ExitCode.GITHUB
    assert "untrusted" in documented_exit_codes()[ExitCode.UNTRUSTED]
    assert "GitHub" in documented_exit_codes()[ExitCode.GITHUB]


def test_verdicts_are_not_errors_but_have_their_codes() -> None:
    for cls, code in ((GatesFailed, 5), (DriftFound, 6), (NotReproduced, 12)):
        assert issubclass(cls, Verdict) and cls.exit_code == code
    assert "(the command worked)" in documented_exit_codes()[ExitCode.GATES_FAILED]


# --- verdicts through the CLI --------------------------------------------------------------

@click.command()
@click.option("--fail", is_flag=True)
@common_options
def answer(fail: bool) -> None:
    """A command that worked, with a yes or no."""
    emit({"gates_passed": not fail}, "the table",
         verdict=GatesFailed("m: gates failed: roc_auc") if fail else None)


@pytest.mark.parametrize("output", ["text", "json"])
def test_a_verdict_prints_the_result_once_and_exits_with_its_code(
        output: str, capsys: pytest.CaptureFixture[str]) -> None:
    group = click.Group("g", commands={"answer": answer})
    code = run(group, ["answer", "--fail", "-o", output])
    out, err = capsys.readouterr()
    assert code == ExitCode.GATES_FAILED and err == ""  # no error line: the result says it
    if output == "json":
        import json

        envelope = json.loads(out)
        assert (envelope["ok"], envelope["exit_code"], envelope["error"]) == (False, 5, None)
        assert envelope["result"] == {"gates_passed": False}
    else:
        assert out == "the table\n"
    assert run(group, ["answer"]) == 0


@pytest.fixture
def failing_gate_repo(make_repo) -> Path:
    return write_repo(make_repo, {"data/train.csv": breast_cancer()}, {
        "bc": spec_text("bc", numeric=BC_FEATURES[:4], params={"max_iter": 500},
                        metrics=["roc_auc"], gates=[{"metric": "roc_auc", "min": 1.01}],
                        bootstrap=0)})


def test_evaluate_raises_gates_failed_when_a_gate_fails(failing_gate_repo: Path) -> None:
    with pytest.raises(GatesFailed, match=r"bc: gates failed: roc_auc"):
        cli.main(["-C", str(failing_gate_repo), "evaluate", "bc"], prog_name="gitops-ml",
                 standalone_mode=False, obj=State())
