"""The artifact store: content addressing, atomic writes, verified reads, fsspec URIs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gitops_ml.errors import ArtifactError
from gitops_ml.project.spec import ProjectConfig
from gitops_ml.runs.store import Store
from gitops_ml.util.hashing import sha256_file

KEY = "ab" * 32


def test_folder_store_relative_to_repo_root(tmp_path: Path) -> None:
    config = ProjectConfig(store=".gitops-ml/store", root=str(tmp_path))
    store = Store.open(config)
    sha = store.put_bytes(b"hello")
    assert sha == hashlib.sha256(b"hello").hexdigest()
    blob = tmp_path / ".gitops-ml/store/blobs/sha256" / sha[:2] / sha[2:]
    assert blob.read_bytes() == b"hello"
    assert store.has(sha)
    assert store.path_of(sha) == blob
    assert store.read_bytes(sha) == b"hello"


def test_put_file_is_idempotent_and_leaves_no_temp_files(tmp_path: Path) -> None:
    src = tmp_path / "model.skops"
    src.write_bytes(b"x" * 100_000)
    store = Store.at(str(tmp_path / "store"))
    a = store.put_file(src)
    b = store.put_file(src)
    assert a == b == sha256_file(src)
    files = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert len(files) == 1 and not files[0].name.endswith(".tmp")


def test_corrupt_blob_is_refused_naming_the_file(tmp_path: Path) -> None:
    store = Store.at(str(tmp_path / "store"))
    sha = store.put_bytes(b"model bytes")
    path = store.path_of(sha)
    path.write_bytes(b"tampered")
    with pytest.raises(ArtifactError) as err:
        store.path_of(sha)
    assert str(path) in err.value.one_line()
    assert "corrupt" in err.value.one_line()


def test_missing_blob_and_bad_sha(tmp_path: Path) -> None:
    store = Store.at(str(tmp_path / "store"))
    with pytest.raises(ArtifactError, match="not in the store"):
        store.path_of("0" * 64)
    with pytest.raises(ArtifactError, match="not a sha256"):
        store.path_of("../../etc/passwd")


def test_run_files(tmp_path: Path) -> None:
    store = Store.at(str(tmp_path / "store"))
    assert not store.has_run(KEY)
    store.write_run_file(KEY, "run.json", '{"a": 1}')
    store.write_run_file(KEY, "evaluation.json", b"{}")
    assert store.has_run(KEY)
    assert store.read_run_file(KEY, "run.json") == b'{"a": 1}'
    assert list(store.runs()) == [KEY]
    with pytest.raises(ArtifactError, match=r"drift\.json"):
        store.read_run_file(KEY, "drift.json")
    with pytest.raises(ArtifactError):
        store.write_run_file(KEY, "../escape", b"")
    with pytest.raises(ArtifactError):
        store.write_run_file("not-a-key", "run.json", b"")


def test_file_uri_is_a_folder(tmp_path: Path) -> None:
    store = Store.at(f"file://{tmp_path / 's'}")
    sha = store.put_bytes(b"abc")
    assert (tmp_path / "s/blobs/sha256" / sha[:2] / sha[2:]).is_file()


def test_fsspec_memory_store_downloads_into_cache_and_verifies(tmp_path: Path) -> None:
    store = Store.at("memory://gitops-ml-test-store", cache_dir=tmp_path / "cache")
    src = tmp_path / "blob.bin"
    src.write_bytes(b"remote bytes")
    sha = store.put_file(src)
    assert store.has(sha)
    local = store.path_of(sha)
    assert local.is_relative_to(tmp_path / "cache") and local.read_bytes() == b"remote bytes"
    store.write_run_file(KEY, "run.json", b"{}")
    assert store.read_run_file(KEY, "run.json") == b"{}"
    assert KEY in list(store.runs())
    # a corrupted cached copy is caught
    local.write_bytes(b"bad")
    with pytest.raises(ArtifactError, match="corrupt"):
        store.path_of(sha)
