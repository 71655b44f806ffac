"""Data pointers: resolving the three forms, hashing, the verified cache, headers, tables."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_ml.data import cache, pointers, remote, tables
from gitops_ml.errors import (
    ConfigError,
    DataCheckError,
    DataNotFoundError,
    HashMismatchError,
    TransferError,
)
from gitops_ml.project import spec
from gitops_ml.project.spec import InlinePointer
from gitops_ml.util import hashing
from tests.test_data_servers import CSV, make_data_repo


def sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_data_repo(tmp_path)


@pytest.fixture
def config(repo: Path) -> spec.ProjectConfig:
    return spec.load_config(repo)


def cache_files(config: spec.ProjectConfig) -> list[Path]:
    root = cache.cache_root(config) / "sha256"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving a folder."""
    folder = tmp_path / "served"
    folder.mkdir()

    def handler(*args: object, **kwargs: object) -> _Quiet:
        return _Quiet(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()


# --- hashing -------------------------------------------------------------------------------

def test_sha256_file_matches_hashlib_across_chunk_boundaries(tmp_path: Path) -> None:
    blob = os.urandom(hashing.CHUNK + 12345)
    path = tmp_path / "blob.bin"
    path.write_bytes(blob)
    seen: list[int] = []
    assert hashing.sha256_file(path, seen.append) == sha(blob)
    assert sum(seen) == len(blob) and len(seen) == 2


def test_hash_file_gives_several_digests_in_one_pass(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    assert hashing.hash_file(path, ("md5", "sha256")) == {"md5": md5(CSV), "sha256": sha(CSV)}


def test_remembered_hash_is_dropped_when_the_file_changes(config: spec.ProjectConfig,
                                                          repo: Path) -> None:
    path = repo / "data" / "train.csv"
    assert cache.known_hashes(config, path)["sha256"] == sha(CSV)
    changed = CSV.replace("x", "z")  # same size
    path.write_text(changed)
    os.utime(path, ns=(1, 1))
    assert cache.known_hashes(config, path)["sha256"] == sha(changed)


# --- resolving -----------------------------------------------------------------------------

def test_pointer_file_resolves_with_format_from_the_uri(config: spec.ProjectConfig,
                                                        repo: Path) -> None:
    (repo / "data" / "train.ptr.yaml").write_text(f"uri: data/train.csv\nsha256: {sha(CSV)}\n")
    p = pointers.resolve(config, "data/train.ptr.yaml")
    assert (p.uri, p.sha256, p.format, p.source, p.kind) == (
        "data/train.csv", sha(CSV), "csv", "data/train.ptr.yaml", "pointer")
    assert not p.is_remote


def test_malformed_sha256_names_file_and_line(config: spec.ProjectConfig, repo: Path) -> None:
    (repo / "data" / "bad.ptr.yaml").write_text("uri: data/train.csv\nsha256: 12ab\n")
    with pytest.raises(ConfigError) as err:
        pointers.resolve(config, "data/bad.ptr.yaml")
    assert err.value.one_line().startswith("data/bad.ptr.yaml:2:1: sha256: '12ab' does not match")


def test_unknown_key_in_pointer_file_suggests_the_right_one(config: spec.ProjectConfig,
                                                           repo: Path) -> None:
    (repo / "data" / "bad.ptr.yaml").write_text("uri: data/train.csv\nformt: csv\n")
    with pytest.raises(ConfigError) as err:
        pointers.resolve(config, "data/bad.ptr.yaml")
    assert err.value.one_line() == ("data/bad.ptr.yaml:2:1: formt: unknown key 'formt' "
                                    "(did you mean 'format'?)")


def test_format_that_cannot_be_inferred_is_a_config_error(config: spec.ProjectConfig,
                                                          repo: Path) -> None:
    (repo / "data" / "x.ptr.yaml").write_text("uri: https://example.com/download?id=3\n")
    with pytest.raises(ConfigError, match="cannot infer the data format"):
        pointers.resolve(config, "data/x.ptr.yaml")
    (repo / "data" / "x.ptr.yaml").write_text("uri: https://example.com/download?id=3\n"
                                              "format: parquet\n")
    assert pointers.resolve(config, "data/x.ptr.yaml").format == "parquet"


def test_inline_pointer_and_plain_path_and_file_uri(config: spec.ProjectConfig,
                                                    repo: Path) -> None:
    inline = pointers.resolve(config, InlinePointer(uri="s3://bucket/k.parquet", sha256=sha("x")))
    assert (inline.kind, inline.format, inline.is_remote) == ("inline", "parquet", True)
    plain = pointers.resolve(config, "data/train.csv")
    assert (plain.kind, plain.sha256, plain.uri) == ("path", None, "data/train.csv")
    as_file = pointers.resolve(config, InlinePointer(uri=(repo / "data/train.csv").as_uri(),
                                                 sha256=sha(CSV)))
    assert as_file.is_remote  # a file:// store is copied into the cache like any remote
    assert cache.fetch(config, as_file) == cache.cache_path(config, sha(CSV))
    absolute = pointers.resolve(config, str(repo / "data/train.csv"))
    assert absolute.uri == "data/train.csv" and not absolute.is_remote


def test_spec_pointers_name_the_spec_line_of_a_missing_pointer_file(
        config: spec.ProjectConfig, repo: Path) -> None:
    (repo / "models" / "m").mkdir(parents=True)
    (repo / "models" / "m" / "model.yaml").write_text(
        "name: m\ntask: classification\ndata:\n  train: data/train.csv\n"
        "  test: data/nope.ptr.yaml\n  current: {uri: data/train.csv, sha256: "
        f"'{sha(CSV)}'}}\ntarget: label\nfeatures: {{numeric: [a]}}\n"
        "estimator: {class: sklearn.linear_model.LogisticRegression}\n")
    model = spec.find_spec(config, "m")
    with pytest.raises(ConfigError) as err:
        pointers.spec_pointers(config, model)
    assert err.value.one_line().startswith("models/m/model.yaml:5:3: data.test: file not found: "
                                           "data/nope.ptr.yaml")
    (repo / "data" / "nope.ptr.yaml").write_text("uri: data/train.csv\n")
    found = pointers.spec_pointers(config, model)
    assert sorted(found) == ["current", "test", "train"]
    assert found["current"].location == spec.Location("models/m/model.yaml", 6)


# --- DVC -----------------------------------------------------------------------------------

def dvc_file(repo: Path, text: str = CSV, size: int | None = None) -> None:
    (repo / ".dvc").mkdir(exist_ok=True)
    (repo / "data" / "train.csv.dvc").write_text(
        f"outs:\n- md5: {md5(text)}\n  size: {size or len(text)}\n  hash: md5\n"
        "  path: train.csv\n")


def test_dvc_file_uses_the_workspace_copy_and_checks_md5(config: spec.ProjectConfig,
                                                         repo: Path) -> None:
    dvc_file(repo)
    p = pointers.resolve(config, "data/train.csv.dvc")
    assert (p.kind, p.uri, p.md5, p.format) == ("dvc", "data/train.csv", md5(CSV), "csv")
    local = cache.materialize(config, p)
    assert local.path == repo / "data" / "train.csv" and local.sha256 == sha(CSV)
    (repo / "data" / "train.csv").write_text(CSV + "4,y,1\n")
    with pytest.raises(HashMismatchError, match=f"md5 mismatch .* expected {md5(CSV)}"):
        cache.materialize(config, p)


@pytest.mark.parametrize("layout", ["files/md5", "legacy"])
def test_dvc_file_falls_back_to_the_dvc_cache(config: spec.ProjectConfig, repo: Path,
                                              layout: str) -> None:
    dvc_file(repo)
    (repo / "data" / "train.csv").unlink()
    digest = md5(CSV)
    base = repo / ".dvc" / "cache" / ("files/md5" if layout == "files/md5" else "")
    (base / digest[:2]).mkdir(parents=True)
    (base / digest[:2] / digest[2:]).write_text(CSV)
    p = pointers.resolve(config, "data/train.csv.dvc")
    assert cache.local_header(config, p) == ["a", "b", "label"]
    assert cache.materialize(config, p).sha256 == sha(CSV)


def test_dvc_file_with_no_data_anywhere(config: spec.ProjectConfig, repo: Path) -> None:
    dvc_file(repo)
    (repo / "data" / "train.csv").unlink()
    with pytest.raises(DataNotFoundError) as err:
        cache.check_pointer(config, "data/train.csv.dvc")
    assert "neither in the workspace nor in the DVC cache" in err.value.one_line()
    assert err.value.location and err.value.location.file == "data/train.csv.dvc"


def test_dvc_directory_outputs_are_refused(config: spec.ProjectConfig, repo: Path) -> None:
    (repo / "data" / "d.dvc").write_text(f"outs:\n- md5: {md5('x')}.dir\n  path: d\n")
    with pytest.raises(ConfigError, match="is a directory output"):
        pointers.resolve(config, "data/d.dvc")


# --- fetching and the cache ----------------------------------------------------------------

def test_local_hash_mismatch_names_pointer_and_both_hashes(config: spec.ProjectConfig,
                                                           repo: Path) -> None:
    wrong = sha("something else")
    (repo / "data" / "train.ptr.yaml").write_text(f"uri: data/train.csv\nsha256: {wrong}\n")
    with pytest.raises(HashMismatchError) as err:
        cache.fetch(config, pointers.resolve(config, "data/train.ptr.yaml"))
    line = err.value.one_line()
    assert line.startswith("data/train.ptr.yaml:1:")
    assert f"expected {wrong}, got {sha(CSV)}" in line


def test_missing_local_data_file(config: spec.ProjectConfig) -> None:
    with pytest.raises(DataNotFoundError, match=re.escape("data file not found: data/gone.csv")):
        cache.check_pointer(config, "data/gone.csv")
    with pytest.raises(DataNotFoundError):
        cache.fetch(config, pointers.resolve(config, "data/gone.csv"))


def test_http_download_lands_in_the_content_addressed_cache(
        config: spec.ProjectConfig, http_dir: tuple[str, Path]) -> None:
    base, folder = http_dir
    blob = os.urandom(3 * 1024 * 1024 + 7)
    (folder / "t.parquet").write_bytes(blob)
    p = pointers.resolve(config, InlinePointer(uri=f"{base}/t.parquet", sha256=sha(blob)))
    assert cache.local_header(config, p) is None
    progress: list[int] = []
    local = cache.materialize(config, p, progress.append)
    expected = cache.cache_root(config) / "sha256" / sha(blob)[:2] / sha(blob)[2:]
    assert local.path == expected and local.cached and expected.read_bytes() == blob
    assert sum(progress) == len(blob)
    (folder / "t.parquet").unlink()  # now served from the cache
    assert cache.fetch(config, p) == expected
    assert cache_files(config) == [expected]


def test_http_hash_mismatch_leaves_nothing_in_the_cache(
        config: spec.ProjectConfig, repo: Path, http_dir: tuple[str, Path]) -> None:
    base, folder = http_dir
    (folder / "t.csv").write_text(CSV)
    (repo / "data" / "remote.ptr.yaml").write_text(
        f"# remote copy\nuri: {base}/t.csv\nsha256: {sha('other')}\n")
    with pytest.raises(HashMismatchError) as err:
        cache.fetch(config, pointers.resolve(config, "data/remote.ptr.yaml"))
    assert err.value.one_line().startswith("data/remote.ptr.yaml:2:")
    assert f"expected {sha('other')}, got {sha(CSV)}" in err.value.one_line()
    assert cache_files(config) == []
    assert list((cache.cache_root(config) / "sha256").iterdir()) == []  # no temp file either


def test_http_404_and_unanswering_server(config: spec.ProjectConfig,
                                         http_dir: tuple[str, Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    base, _ = http_dir
    with pytest.raises(DataNotFoundError, match=re.escape(f"not found: {base}/missing.csv")):
        cache.fetch(config, pointers.resolve(config, f"{base}/missing.csv"))
    monkeypatch.setenv(remote.HTTP_TIMEOUT_ENV, "0.3")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        uri = f"http://127.0.0.1:{sock.getsockname()[1]}/t.csv"
        message = re.escape(f"timed out after 0.3s waiting for {uri}")
        with pytest.raises(TransferError, match=message):
            cache.fetch(config, pointers.resolve(config, uri))
        # with a known size there is no HEAD request: the GET itself must time out
        with pytest.raises(TransferError, match=message):
            cache.fetch(config, pointers.resolve(config, InlinePointer(uri=uri, size=10)))
    with pytest.raises(DataNotFoundError, match=re.escape(f"not found: {base}/missing.csv")):
        cache.fetch(config, pointers.resolve(config, InlinePointer(uri=f"{base}/missing.csv",
                                                              size=10)))
    assert cache_files(config) == []


def test_cached_blob_that_rotted_is_caught_by_rehash(config: spec.ProjectConfig,
                                                    http_dir: tuple[str, Path]) -> None:
    base, folder = http_dir
    (folder / "t.csv").write_text(CSV)
    p = pointers.resolve(config, InlinePointer(uri=f"{base}/t.csv", sha256=sha(CSV)))
    path = cache.fetch(config, p)
    path.write_text("rotten")
    with pytest.raises(HashMismatchError, match="the cached copy"):
        cache.materialize(config, p, rehash=True)
    assert not path.exists()


# --- headers and tables --------------------------------------------------------------------

@pytest.fixture
def table_files(tmp_path: Path) -> dict[str, Path]:
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "x"], "label": [0, 1, 0]})
    out = {"csv": tmp_path / "t.csv", "parquet": tmp_path / "t.parquet",
           "jsonl": tmp_path / "t.jsonl"}
    frame.to_csv(out["csv"], index=False)
    frame.to_parquet(out["parquet"], index=False)
    frame.to_json(out["jsonl"], orient="records", lines=True)
    return out


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_read_header_and_table(table_files: dict[str, Path], fmt: str) -> None:
    assert tables.read_header(table_files[fmt], fmt) == ["a", "b", "label"]
    frame = tables.read_table(table_files[fmt], fmt, columns=["label", "a"])
    assert list(frame.columns) == ["label", "a"] and frame["a"].tolist() == [1, 2, 3]
    assert tables.read_table(table_files[fmt], fmt).shape == (3, 3)
    with pytest.raises(DataCheckError, match=r"missing column\(s\) nope"):
        tables.read_table(table_files[fmt], fmt, columns=["a", "nope"])


def test_csv_header_with_bom_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(b'\xef\xbb\xbf"a,1",b\n1,2\n')
    assert tables.read_header(path, "csv") == ["a,1", "b"]


def test_header_checks_stay_light(repo: Path, http_dir: tuple[str, Path]) -> None:
    """validate's path (check_pointer, local_header) imports neither pandas nor fsspec."""
    base, _ = http_dir
    (repo / "data" / "r.ptr.yaml").write_text(f"uri: {base}/r.csv\nsha256: {sha('r')}\n")
    code = (
        "import sys, json\nfrom gitops_ml.data import cache\n"
        "from gitops_ml.project import spec\n"
        f"c = spec.load_config({str(repo)!r})\n"
        "h = cache.local_header(c, 'data/train.csv'); cache.check_pointer(c, 'data/train.csv')\n"
        "r = cache.local_header(c, 'data/r.ptr.yaml'); cache.check_pointer(c, 'data/r.ptr.yaml')\n"
        "print(json.dumps([h, r, sorted(m for m in ('pandas', 'fsspec', 'aiohttp', 'sklearn')"
        " if m in sys.modules)]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == [["a", "b", "label"], None, []]


def test_data_add_of_a_local_file_stays_light(repo: Path) -> None:
    """Hashing a repo file and writing its pointer imports no pandas, fsspec or aiohttp."""
    code = (
        "import sys, json\nfrom gitops_ml.cli import cli\nfrom gitops_ml.cli._app import run\n"
        "code = run(cli, ['data', 'add', 'data/train.csv'])\n"
        "print(json.dumps([code, sorted(m for m in ('pandas', 'fsspec', 'aiohttp', 'pyarrow')"
        " if m in sys.modules)]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=repo)
    assert json.loads(out.stdout.splitlines()[-1]) == [0, []]
    assert (repo / "data" / "train.csv.ptr.yaml").is_file()


# DVC 2 wrote no `hash:` key and hashed text files after dos2unix (CRLF -> LF); DVC 3 writes
# `hash: md5` and hashes the bytes as they are. Both must verify, each by its own rule.
CRLF_CSV = "a,b,label\r\n1,x,0\r\n2,y,1\r\n"


def test_a_dvc2_file_over_crlf_text_verifies_with_the_dos2unix_md5(
        config: spec.ProjectConfig, repo: Path) -> None:
    (repo / "data" / "train.csv").write_bytes(CRLF_CSV.encode())
    legacy = hashlib.md5(CRLF_CSV.replace("\r\n", "\n").encode()).hexdigest()
    (repo / "data" / "train.csv.dvc").write_text(
        f"outs:\n- md5: {legacy}\n  size: {len(CRLF_CSV)}\n  path: train.csv\n")
    p = pointers.resolve(config, "data/train.csv.dvc")
    assert p.md5_algorithm == "md5-dos2unix"
    local = cache.materialize(config, p, rehash=True)
    assert local.sha256 == hashlib.sha256(CRLF_CSV.encode()).hexdigest()
    # the same file recorded by DVC 3: the md5 of the bytes as they are
    (repo / "data" / "train.csv.dvc").write_text(
        f"outs:\n- md5: {md5(CRLF_CSV)}\n  size: {len(CRLF_CSV)}\n  hash: md5\n"
        "  path: train.csv\n")
    assert cache.materialize(config, pointers.resolve(config, "data/train.csv.dvc"),
                             rehash=True).path == repo / "data" / "train.csv"
    # a DVC 2 file that holds the raw md5 of a CRLF text file was not written by DVC 2
    (repo / "data" / "train.csv.dvc").write_text(
        f"outs:\n- md5: {md5(CRLF_CSV)}\n  path: train.csv\n")
    with pytest.raises(HashMismatchError, match="md5-dos2unix mismatch"):
        cache.materialize(config, pointers.resolve(config, "data/train.csv.dvc"), rehash=True)


def test_a_dvc2_binary_file_is_hashed_as_it_is(config: spec.ProjectConfig, repo: Path) -> None:
    body = b"PAR1\x00\x01\r\n\x02" * 100  # NUL bytes: binary, CRLF left alone
    (repo / "data" / "t.parquet").write_bytes(body)
    (repo / "data" / "t.parquet.dvc").write_text(
        f"outs:\n- md5: {hashlib.md5(body).hexdigest()}\n  path: t.parquet\n")
    p = pointers.resolve(config, "data/t.parquet.dvc")
    assert cache.find_local(config, p) == repo / "data" / "t.parquet"
    assert cache.known_hashes(config, repo / "data" / "t.parquet", ("md5-dos2unix",))[
        "md5-dos2unix"] == hashlib.md5(body).hexdigest()


def test_an_unknown_dvc_hash_is_refused_at_its_line(config: spec.ProjectConfig,
                                                    repo: Path) -> None:
    (repo / "data" / "train.csv.dvc").write_text(
        f"outs:\n- md5: {md5(CSV)}\n  hash: blake3\n  path: train.csv\n")
    with pytest.raises(ConfigError) as err:
        pointers.resolve(config, "data/train.csv.dvc")
    assert err.value.one_line().startswith("data/train.csv.dvc:3:")
    assert "unsupported DVC hash 'blake3'" in err.value.one_line()


def test_a_changed_dvc_file_hints_at_dvc_not_at_gitops_ml(config: spec.ProjectConfig,
                                                          repo: Path) -> None:
    dvc_file(repo)
    (repo / "data" / "train.csv").write_text(CSV + "4,y,1\n")
    with pytest.raises(HashMismatchError) as err:
        cache.materialize(config, pointers.resolve(config, "data/train.csv.dvc"))
    line = err.value.one_line()
    assert "dvc add data/train.csv" in line and "dvc pull" in line
    assert "gitops-ml data add" not in line
