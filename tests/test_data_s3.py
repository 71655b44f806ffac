"""s3:// pointers against moto's S3 server on 127.0.0.1 (s3fs, the ``s3`` extra)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_data_servers import CSV, make_bucket, make_data_repo, moto_s3, s3_env

pytest.importorskip("s3fs")



def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_s3() as url:
        make_bucket(url, "gitops-ml-test")
        yield url


@pytest.fixture
def s3(endpoint: str, monkeypatch: pytest.MonkeyPatch):
    import boto3

    for key, value in s3_env(endpoint).items():
        monkeypatch.setenv(key, value)
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_data_repo(tmp_path)


def blobs(repo: Path) -> list[Path]:
    root = repo / ".gitops-ml" / "cache" / "sha256"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_add_to_s3_then_pull_and_verify_in_a_fresh_clone(gml, s3, repo: Path,
                                                         tmp_path: Path) -> None:
    result = gml("data", "add", "data/train.csv", "--to", "s3://gitops-ml-test/sets/", cwd=repo)
    assert result.exit_code == 0, result
    body = s3.get_object(Bucket="gitops-ml-test", Key="sets/train.csv")["Body"].read()
    assert body == CSV.encode()
    pointer = (repo / "data" / "train.csv.ptr.yaml").read_text()
    assert pointer.startswith(f"uri: s3://gitops-ml-test/sets/train.csv\nsha256: {sha(CSV)}\n")

    clone = tmp_path / "clone"
    (clone / "data").mkdir(parents=True)
    shutil.copy(repo / "gitops-ml.yaml", clone / "gitops-ml.yaml")
    shutil.copy(repo / "data" / "train.csv.ptr.yaml", clone / "data" / "train.csv.ptr.yaml")
    verify = gml("data", "verify", "data/train.csv.ptr.yaml", cwd=clone)
    assert verify.exit_code == 0 and "not-local" in verify.stdout
    pulled = gml("data", "pull", "data/train.csv.ptr.yaml", cwd=clone)
    assert pulled.exit_code == 0 and "1 downloaded" in pulled.stdout, pulled
    assert [p.read_text() for p in blobs(clone)] == [CSV]
    verify = gml("data", "verify", "data/train.csv.ptr.yaml", cwd=clone)
    assert verify.exit_code == 0 and "ok " in verify.stdout


def test_push_uploads_from_the_cache(gml, s3, repo: Path) -> None:
    (repo / "data" / "train.csv.ptr.yaml").write_text(
        f"uri: s3://gitops-ml-test/push/train.csv\nsha256: {sha(CSV)}\n")
    (repo / "data" / "train.csv").rename(repo / "train-copy.csv")
    missing = gml("data", "push", "data/train.csv.ptr.yaml", cwd=repo)
    assert missing.exit_code == 4 and "no local copy of s3://gitops-ml-test/push/train.csv" \
        in missing.stderr
    cached = repo / ".gitops-ml" / "cache" / "sha256" / sha(CSV)[:2] / sha(CSV)[2:]
    cached.parent.mkdir(parents=True)
    (repo / "train-copy.csv").rename(cached)
    pushed = gml("data", "push", "data/train.csv.ptr.yaml", cwd=repo)
    assert pushed.exit_code == 0 and "1 pushed" in pushed.stdout, pushed
    body = s3.get_object(Bucket="gitops-ml-test", Key="push/train.csv")["Body"].read()
    assert body == CSV.encode()


def test_s3_missing_key_and_hash_mismatch(gml, s3, repo: Path) -> None:
    s3.put_object(Bucket="gitops-ml-test", Key="bad/train.csv", Body=b"tampered")
    (repo / "data" / "a.ptr.yaml").write_text(
        f"uri: s3://gitops-ml-test/nope/train.csv\nsha256: {sha(CSV)}\n")
    (repo / "data" / "b.ptr.yaml").write_text(
        f"uri: s3://gitops-ml-test/bad/train.csv\nsha256: {sha(CSV)}\n")
    missing = gml("data", "pull", "data/a.ptr.yaml", cwd=repo)
    assert missing.exit_code == 4
    assert missing.stderr.strip() == (
        "error: data/a.ptr.yaml:1: not found: s3://gitops-ml-test/nope/train.csv (check the URI "
        "and that the data was pushed ('gitops-ml data push'))")
    bad = gml("data", "pull", "data/b.ptr.yaml", cwd=repo)
    assert bad.exit_code == 4
    assert bad.stderr.startswith(
        f"error: data/b.ptr.yaml:1: sha256 mismatch for s3://gitops-ml-test/bad/train.csv: "
        f"expected {sha(CSV)}, got {sha('tampered')}")
    assert blobs(repo) == []
