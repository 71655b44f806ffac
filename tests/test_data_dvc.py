"""Interop with real DVC: a ``.dvc`` file written by ``dvc add`` is read as it is, and DVC 2's
legacy md5 (dos2unix of text blocks) is computed as DVC's own code computes it.

DVC is not a runtime dependency; it is in the test extra, so these run in CI. They also find a
``dvc`` on PATH or in the benchmark's venv (benchmarks/.work/dvc-venv)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gitops_ml.data import cache, pointers
from gitops_ml.project import spec

ROOT = Path(__file__).resolve().parents[1]
# the test venv's own dvc first: `.venv/bin/python -m pytest` does not put .venv/bin on PATH
DVC = next((str(p) for p in [Path(sys.executable).parent / "dvc",
                             ROOT / "benchmarks" / ".work" / "dvc-venv" / "bin" / "dvc"]
            if p.exists()), None) or shutil.which("dvc")

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


def _dvc_legacy_md5(path: Path) -> str:
    """DVC's own implementation of DVC 2's md5 (the oracle)."""
    from dvc_data.hashfile.hash import file_md5

    return str(file_md5(str(path), name="md5-dos2unix"))


@pytest.mark.parametrize("case", ["crlf-text", "lf-text", "binary", "crlf-on-block-edges",
                                  "text-then-binary", "empty"])
def test_dos2unix_md5_matches_dvcs_own(tmp_path: Path, case: str) -> None:
    pytest.importorskip("dvc_data")
    from gitops_ml.util.hashing import MD5_DOS2UNIX, hash_file

    mib = 1024 * 1024
    row = b"1,2.5,abc\r\n"
    body = {
        "crlf-text": row * 1000,
        "lf-text": row.replace(b"\r\n", b"\n") * 1000,
        "binary": b"\x00\x01\r\n" * 1000,
        # a CRLF split by DVC's 1 MiB read boundary stays as it is in DVC too
        "crlf-on-block-edges": b"x" * (mib - 1) + b"\r\n" + row * 10 + b"y" * (mib - 3) + b"\r\n",
        # a text first block and a binary second one (judged block by block)
        "text-then-binary": row * (mib // len(row) + 1) + b"\x00\r\n" * 600_000,
        "empty": b"",
    }[case]
    path = tmp_path / "f"
    path.write_bytes(body)
    ours = hash_file(path, (MD5_DOS2UNIX, "md5"))
    assert ours[MD5_DOS2UNIX] == _dvc_legacy_md5(path)
    assert ours["md5"] == hashlib.md5(body).hexdigest()
