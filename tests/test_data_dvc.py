"""Interop with real DVC: a ``.dvc`` file written by ``dvc add`` is read as it is.

DVC is not a dependency; the test runs when ``dvc`` is on PATH or in the benchmark's venv
(benchmarks/.work/dvc-venv, made by ``python benchmarks/bench_data.py``)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from gitops_ml.data import cache, pointers
from gitops_ml.project import spec

ROOT = Path(__file__).resolve().parents[1]
DVC = shutil.which("dvc") or next(
    (str(p) for p in [ROOT / "benchmarks" / ".work" / "dvc-venv" / "bin" / "dvc"] if p.exists()),
    None)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(DVC is None, reason="dvc is not installed")]


def test_a_file_added_by_dvc_resolves_from_workspace_and_dvc_cache(tmp_path: Path) -> None:
    assert DVC is not None
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "gitops-ml.yaml").write_text("models: models/*/model.yaml\n")
    body = b"a,b\r\n1,2\r\n3,4\r\n"  # CRLF: DVC 3 hashes the bytes as they are
    (repo / "data" / "t.csv").write_bytes(body)
    subprocess.run([DVC, "init", "--no-scm", "-q"], cwd=repo, check=True)
    subprocess.run([DVC, "add", "-q", "data/t.csv"], cwd=repo, check=True)
    config = spec.load_config(repo)
    pointer = pointers.resolve(config, "data/t.csv.dvc")
    assert (pointer.kind, pointer.uri, pointer.md5) == (
        "dvc", "data/t.csv", hashlib.md5(body).hexdigest())
    assert cache.materialize(config, pointer).path == repo / "data" / "t.csv"
    (repo / "data" / "t.csv").unlink()  # only DVC's cache holds it now
    local = cache.materialize(config, pointer)
    assert ".dvc/cache" in local.path.as_posix()
    assert local.sha256 == hashlib.sha256(body).hexdigest()
    assert cache.local_header(config, pointer) == ["a", "b"]
