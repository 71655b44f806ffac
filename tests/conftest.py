"""Shared fixtures: isolated Git, and small real gitops-ml repositories in tmp dirs."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import projects

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's git config or writes to their HOME."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[tag]\n\tgpgSign = false\n"
                                     "[commit]\n\tgpgSign = false\n")


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                         text=True)
    return out.stdout.strip()


@pytest.fixture
def make_repo(tmp_path: Path) -> Iterator:
    """Build a git repo from a ``{relative path: text}`` mapping and commit it."""

    def _make(files: dict[str, str], name: str = "repo", commit: bool = True) -> Path:
        return projects.committed_repo(tmp_path / name, files, commit=commit)

    yield _make


@pytest.fixture
def chdir(monkeypatch: pytest.MonkeyPatch):
    def _chdir(path: Path) -> None:
        monkeypatch.chdir(path)

    return _chdir


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("GITOPS_ML_NO_PROGRESS", "1")


class Result:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> dict:
        import json

        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"Result(exit_code={self.exit_code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


@pytest.fixture
def gml(monkeypatch: pytest.MonkeyPatch):
    """Run the real CLI entry point in-process (``run`` is what ``main`` calls), capturing
    stdout and stderr separately. ``cwd`` changes the working directory for the call."""
    from click.testing import CliRunner

    from gitops_ml.cli import cli
    from gitops_ml.cli._app import run

    def _invoke(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        runner = CliRunner()
        with runner.isolation(env=env) as streams:
            code = run(cli, [str(a) for a in args])
            out, err = streams[0].getvalue(), streams[1].getvalue()
        return Result(code, out.decode(), err.decode())

    return _invoke
