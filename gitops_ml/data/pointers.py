"""Data pointers: resolve them, fetch the bytes behind them into a verified cache, read tables.

A model's data is named in its spec by a *ref*, one of:

- a pointer file ``*.ptr.yaml`` (``uri``, ``sha256``, ``size``, ``format``);
- an inline pointer in the spec (:class:`gitops_ml.project.spec.InlinePointer`, the same four keys);
- a DVC ``*.dvc`` file, read as DVC wrote it (``outs: [{path, md5, size}]``);
- a plain repo-relative data file (``data/train.csv``), hashed when it is read.

Relative URIs are relative to the repository root, except in ``.dvc`` files, where (as in DVC)
they are relative to the ``.dvc`` file's folder.

Remote bytes land in a content-addressed cache (``<cache>/sha256/<2>/<62>``): a download
streams into a temp file in the cache, is hashed while it streams, and is renamed into place
only when its sha256 matches the pointer. fsspec (and s3fs, aiohttp) are imported only when a
remote URI is touched, so ``validate`` and ``plan`` stay light. pandas is imported only by
:func:`read_table`.

This module never prints: long work reports through a ``progress`` callback that receives the
number of bytes just processed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, Literal
from urllib.parse import unquote, urlsplit

from gitops_ml.errors import (
    ConfigError,
    DataError,
    DataNotFoundError,
    GitopsMLError,
    HashMismatchError,
    Location,
    TransferError,
)
from gitops_ml.project import typed_yaml as schema
from gitops_ml.project import yaml_document as yamlio
from gitops_ml.project.spec import InlinePointer, ModelSpec, PointerRef, ProjectConfig
from gitops_ml.util.files import atomic_write

if TYPE_CHECKING:
    import pandas as pd

CHUNK = 8 * 1024 * 1024
FORMATS = ("csv", "parquet", "jsonl")
POINTER_SUFFIXES = (".ptr.yaml", ".ptr.yml")
DVC_SUFFIX = ".dvc"
ROLES = ("train", "test", "current")
DEFAULT_HTTP_TIMEOUT = 30.0
HTTP_TIMEOUT_ENV = "GITOPS_ML_HTTP_TIMEOUT"
LOCAL_SCHEMES = ("", "file")  # written and read with plain os calls, no fsspec
INLINE_SOURCE = "<inline pointer>"

_SUFFIX_FORMATS = {
    ".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_MD5_RE = re.compile(r"[0-9a-f]{32}")
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

Progress = Callable[[int], None]
PointerKind = Literal["pointer", "inline", "dvc", "path", "uri"]


@dataclass(frozen=True)
class DataPointer:
    """Where a dataset lives and what its bytes must hash to.

    ``uri`` is a repo-relative POSIX path for data in the repository, or a URI
    (``file://``, ``https://``, ``s3://`` …). ``source`` is the repo-relative file the pointer
    came from (the pointer file, the ``.dvc`` file, the spec for an inline pointer, or the data
    file itself) and ``line`` the line in it that names the data.
    """

    uri: str
    sha256: str | None
    size: int | None
    format: str
    source: str
    kind: PointerKind
    line: int | None = None
    md5: str | None = None

    @property
    def is_remote(self) -> bool:
        return bool(_scheme(self.uri))

    @property
    def location(self) -> Location | None:
        """Where the pointer is written (None for a bare path or an inline pointer whose spec
        is unknown: the caller knows better)."""
        if self.source in (self.uri, INLINE_SOURCE):
            return None
        return Location(self.source, self.line)

    def describe(self) -> str:
        return self.uri if self.source == self.uri else f"{self.uri} (from {self.source})"


@dataclass(frozen=True)
class LocalData:
    """A verified local copy of a pointer's data."""

    path: Path
    sha256: str
    size: int
    format: str
    cached: bool  # True when it came from (or went into) the content-addressed cache


# --- hashing -------------------------------------------------------------------------------

def sha256_file(path: str | Path, progress: Progress | None = None) -> str:
    """sha256 of a file, read in 8 MiB blocks into one reused buffer."""
    return hash_file(path, ("sha256",), progress)["sha256"]


def hash_file(path: str | Path, algorithms: tuple[str, ...] = ("sha256",),
              progress: Progress | None = None) -> dict[str, str]:
    """Several digests of a file in one pass (hashlib releases the GIL on big updates)."""
    import hashlib  # lazily: loading OpenSSL is not free on validate's path
    hashers = [hashlib.new(a) for a in algorithms]
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            chunk = view[:n]
            for h in hashers:
                h.update(chunk)
            if progress is not None:
                progress(n)
    return {a: h.hexdigest() for a, h in zip(algorithms, hashers, strict=True)}


# --- resolving refs ------------------------------------------------------------------------

def _scheme(uri: str) -> str:
    if not _URI_RE.match(uri):
        return ""
    return uri.split("://", 1)[0].lower()


def infer_format(name: str) -> str | None:
    """csv / parquet / jsonl from a file name or URI (query strings ignored)."""
    path = urlsplit(name).path if _scheme(name) else name
    return _SUFFIX_FORMATS.get(PurePosixPath(path).suffix.lower())


def is_remote_uri(uri: str) -> bool:
    """True for any URI (``file://`` included: a folder outside the repository is a remote
    store too), False for plain paths."""
    return bool(_scheme(uri))


def is_pointer_file(ref: str) -> bool:
    return ref.endswith(POINTER_SUFFIXES)


def is_dvc_file(ref: str) -> bool:
    return ref.endswith(DVC_SUFFIX)


def rel(config: ProjectConfig, path: Path) -> str:
    """Repo-relative POSIX form of ``path`` (or the path itself when outside the repo)."""
    try:
        return path.resolve().relative_to(config.root_path.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def norm_local_uri(config: ProjectConfig, uri: str) -> str:
    """Repo paths stay repo-relative; absolute paths inside the repo become repo-relative."""
    p = Path(uri)
    if p.is_absolute():
        return rel(config, p)
    return PurePosixPath(uri).as_posix()


def _file_uri_path(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise DataError(f"file URI with a host is not supported: {uri}")
    return unquote(parts.path)


def _format_or_fail(fmt: str | None, name: str, where: Location | None) -> str:
    fmt = fmt or infer_format(name)
    if fmt is None:
        raise ConfigError(f"cannot infer the data format of '{name}' from its suffix",
                          location=where, hint="add 'format: csv' (or parquet, jsonl)")
    return fmt


def resolve(config: ProjectConfig, ref: PointerRef, *,
            spec: ModelSpec | None = None) -> DataPointer:
    """Turn a data ref into a :class:`DataPointer`. Reads pointer and ``.dvc`` files (never
    the data). Malformed pointer files raise :class:`ConfigError` naming ``file:line``."""
    if isinstance(ref, InlinePointer):
        source = spec.file if spec is not None and spec.file else INLINE_SOURCE
        uri = ref.uri if _scheme(ref.uri) else norm_local_uri(config, ref.uri)
        where = Location(source) if source != INLINE_SOURCE else None
        return DataPointer(uri=uri, sha256=ref.sha256, size=ref.size,
                           format=_format_or_fail(ref.format, ref.uri, where),
                           source=source, kind="inline")
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"a data ref must be a path or an inline pointer, got {ref!r}")
    if _scheme(ref):
        return DataPointer(uri=ref, sha256=None, size=None,
                           format=_format_or_fail(None, ref, None), source=ref,
                           kind="uri")
    rel = norm_local_uri(config, ref)
    if is_pointer_file(rel):
        return load_pointer_file(config, rel)
    if is_dvc_file(rel):
        return load_dvc_file(config, rel)
    return DataPointer(uri=rel, sha256=None, size=None,
                       format=_format_or_fail(None, rel, None), source=rel,
                       kind="path")


def load_pointer_file(config: ProjectConfig, rel: str) -> DataPointer:
    """Read a ``*.ptr.yaml`` file: unknown keys, bad types and malformed hashes name the line."""
    doc = yamlio.load(config.resolve(rel), display=rel)
    if doc.data is None:
        raise ConfigError("the pointer file is empty", location=Location(rel),
                          hint="it needs at least 'uri'")
    ptr = schema.load_dataclass(InlinePointer, doc.data, doc)
    uri = ptr.uri if _scheme(ptr.uri) else norm_local_uri(config, ptr.uri)
    where = doc.location(("uri",))
    return DataPointer(uri=uri, sha256=ptr.sha256, size=ptr.size,
                       format=_format_or_fail(ptr.format, ptr.uri, where), source=rel,
                       kind="pointer", line=where.line)


def load_dvc_file(config: ProjectConfig, rel: str) -> DataPointer:
    """Read a DVC ``.dvc`` file as DVC writes it: one output with ``path`` and ``md5``."""
    doc = yamlio.load(config.resolve(rel), display=rel)
    data = doc.data
    if not isinstance(data, dict) or "outs" not in data:
        raise doc.error((), "a .dvc file needs 'outs'", hint="is this a DVC file?")
    outs = data["outs"]
    if not isinstance(outs, list) or len(outs) != 1 or not isinstance(outs[0], dict):
        raise doc.error(("outs",), "expected exactly one output in 'outs'")
    out = outs[0]
    for key in ("path", "md5"):
        if key not in out:
            raise doc.error(("outs", 0), f"missing required key '{key}'")
    path, md5 = out["path"], out["md5"]
    if not isinstance(path, str):
        raise doc.error(("outs", 0, "path"), "expected a string")
    if not isinstance(md5, str) or not _MD5_RE.fullmatch(md5.removesuffix(".dir")):
        raise doc.error(("outs", 0, "md5"), f"malformed md5 {md5!r}",
                        hint="an md5 is 32 lowercase hex characters")
    if md5.endswith(".dir"):
        raise doc.error(("outs", 0, "path"), f"'{path}' is a directory output",
                        hint="point at a single file (csv, parquet or jsonl)")
    size = out.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
        raise doc.error(("outs", 0, "size"), "expected an integer")
    folder = PurePosixPath(rel).parent
    uri = (folder / path).as_posix() if not Path(path).is_absolute() else path
    uri = norm_local_uri(config, os.path.normpath(uri))
    where = doc.location(("outs", 0, "path"))
    return DataPointer(uri=uri, sha256=None, size=size,
                       format=_format_or_fail(None, path, where), source=rel, kind="dvc",
                       line=where.line, md5=md5)


def spec_pointers(config: ProjectConfig, model: ModelSpec) -> dict[str, DataPointer]:
    """The pointers of a model's ``train``, ``test`` and ``current`` data (those present)."""
    out: dict[str, DataPointer] = {}
    for role in ROLES:
        ref = getattr(model.data, role)
        if ref is None:
            continue
        try:
            out[role] = resolve(config, ref, spec=model)
        except GitopsMLError as exc:
            loc = exc.location
            if loc is None or loc.file == ref or (loc.file == model.file and loc.line is None):
                exc.location = _spec_location(config, model, role)
                exc.key_path = exc.key_path or f"data.{role}"
            raise
        if out[role].kind == "inline":
            where = _spec_location(config, model, role)
            out[role] = replace(out[role], line=where.line)
    return out


def _spec_location(config: ProjectConfig, model: ModelSpec, role: str) -> Location:
    if not model.file:
        return Location("<spec>")
    try:
        doc = yamlio.load(config.resolve(model.file), display=model.file)
    except GitopsMLError:
        return Location(model.file)
    return doc.location(("data", role))


# --- the cache -----------------------------------------------------------------------------

def cache_root(config: ProjectConfig) -> Path:
    return config.resolve(config.cache)


def cache_path(config: ProjectConfig, sha256: str) -> Path:
    """Where the blob with this sha256 lives in the content-addressed cache."""
    return cache_root(config) / "sha256" / sha256[:2] / sha256[2:]


def in_cache(config: ProjectConfig, sha256: str | None) -> Path | None:
    if sha256 is None:
        return None
    p = cache_path(config, sha256)
    return p if p.is_file() else None


def _stat_key(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _stat_file(config: ProjectConfig, path: Path) -> Path:
    import hashlib  # lazily: loading OpenSSL is not free on validate's path
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()
    return cache_root(config) / "stat" / key[:2] / key[2:]


def known_hashes(config: ProjectConfig, path: Path,
                 algorithms: tuple[str, ...] = ("sha256",),
                 progress: Progress | None = None, *, rehash: bool = False) -> dict[str, str]:
    """Digests of a local file, remembered by (size, mtime, inode) in the cache so that an
    unchanged 2 GB file is hashed once, as DVC does. ``rehash`` ignores what is remembered."""
    memo = _stat_file(config, path)
    stat = list(_stat_key(path))
    if not rehash:
        try:
            saved = json.loads(memo.read_text())
            if saved.get("stat") == stat and all(a in saved["hashes"] for a in algorithms):
                return {a: saved["hashes"][a] for a in algorithms}
        except (OSError, ValueError, KeyError, TypeError):
            pass
    hashes = hash_file(path, algorithms, progress)
    if list(_stat_key(path)) == stat:  # unchanged while we read it
        with contextlib.suppress(OSError):
            atomic_write(memo, json.dumps({"path": str(path.resolve()), "stat": stat,
                                            "hashes": hashes}).encode())
    return hashes


def _mismatch(pointer: DataPointer, expected: str, actual: str, algo: str = "sha256",
              what: str | None = None) -> HashMismatchError:
    return HashMismatchError(
        f"{algo} mismatch for {what or pointer.uri}: expected {expected}, got {actual}",
        location=pointer.location,
        hint="the data changed after the pointer was written; re-run 'gitops-ml data add' "
             "if the change is intended")


# --- local paths ---------------------------------------------------------------------------

def local_path(config: ProjectConfig, pointer: DataPointer) -> Path | None:
    """The local file of a plain-path pointer (None for URIs, ``file://`` included)."""
    if pointer.is_remote:
        return None
    return config.resolve(pointer.uri)


def dvc_cache_candidates(config: ProjectConfig, pointer: DataPointer) -> list[Path]:
    """Where DVC would keep the file of a ``.dvc`` pointer: ``.dvc/cache/files/md5/xx/rest``
    (DVC 3) or ``.dvc/cache/xx/rest`` (DVC 2)."""
    if pointer.md5 is None:
        return []
    start = config.resolve(pointer.source).resolve().parent
    for folder in (start, *start.parents):
        dvc_dir = folder / ".dvc"
        if dvc_dir.is_dir():
            cache = _dvc_cache_dir(dvc_dir)
            md5 = pointer.md5
            return [cache / "files" / "md5" / md5[:2] / md5[2:], cache / md5[:2] / md5[2:]]
    return []


def _dvc_cache_dir(dvc_dir: Path) -> Path:
    import configparser

    parser = configparser.ConfigParser()
    for name in ("config", "config.local"):
        with contextlib.suppress(configparser.Error, OSError, UnicodeDecodeError):
            parser.read(dvc_dir / name, encoding="utf-8")
    if parser.has_option("cache", "dir"):
        p = Path(parser.get("cache", "dir").strip().strip("'\""))
        return p if p.is_absolute() else (dvc_dir / p)
    return dvc_dir / "cache"


def find_local(config: ProjectConfig, pointer: DataPointer) -> Path | None:
    """A local file holding the pointer's data, if there is one, without hashing it."""
    if pointer.kind == "dvc":
        candidates = [p for p in [local_path(config, pointer)] if p is not None]
        candidates += dvc_cache_candidates(config, pointer)
        return next((p for p in candidates if p.is_file()), None)
    path = local_path(config, pointer)
    if path is not None:
        return path if path.is_file() else None
    return in_cache(config, pointer.sha256)


def missing_error(pointer: DataPointer) -> DataNotFoundError:
    if pointer.kind == "dvc":
        return DataNotFoundError(
            f"data file not found: {pointer.uri}, neither in the workspace nor in the DVC cache",
            location=pointer.location, hint="run 'dvc pull' or 'dvc checkout'")
    return DataNotFoundError(f"data file not found: {pointer.uri}", location=pointer.location,
                             hint="paths are relative to the repository root")


# --- fetching ------------------------------------------------------------------------------

def fetch(config: ProjectConfig, pointer: DataPointer,
          progress: Progress | None = None) -> Path:
    """A local file with the pointer's bytes, its hash verified (contract for train/drift)."""
    return materialize(config, pointer, progress).path


def materialize(config: ProjectConfig, pointer: DataPointer,
                progress: Progress | None = None, *, rehash: bool = False) -> LocalData:
    """Fetch the data into the cache if it is remote, verify its hash, and say where it is.

    Local data is hashed (remembered by stat in the cache; ``rehash`` forces a fresh read);
    remote data already in the cache is trusted, being content-addressed and verified when it
    went in.
    """
    if pointer.kind == "dvc":
        return _materialize_dvc(config, pointer, progress, rehash=rehash)
    path = local_path(config, pointer)
    if path is not None:
        if not path.is_file():
            raise missing_error(pointer)
        actual = known_hashes(config, path, ("sha256",), progress, rehash=rehash)["sha256"]
        if pointer.sha256 is not None and actual != pointer.sha256:
            raise _mismatch(pointer, pointer.sha256, actual)
        return LocalData(path, actual, path.stat().st_size, pointer.format, cached=False)
    cached = in_cache(config, pointer.sha256)
    if cached is not None:
        if rehash:
            actual = sha256_file(cached, progress)
            if actual != pointer.sha256:
                cached.unlink()
                raise _mismatch(pointer, pointer.sha256 or "", actual,
                                what=f"the cached copy of {pointer.uri}")
        return LocalData(cached, pointer.sha256 or "", cached.stat().st_size, pointer.format,
                         cached=True)
    return download(config, pointer, progress)


def _materialize_dvc(config: ProjectConfig, pointer: DataPointer,
                     progress: Progress | None, *, rehash: bool) -> LocalData:
    path = find_local(config, pointer)
    if path is None:
        raise missing_error(pointer)
    hashes = known_hashes(config, path, ("md5", "sha256"), progress, rehash=rehash)
    if pointer.md5 is not None and hashes["md5"] != pointer.md5:
        raise _mismatch(pointer, pointer.md5, hashes["md5"], "md5",
                        what=rel(config, path))
    return LocalData(path, hashes["sha256"], path.stat().st_size, pointer.format, cached=False)


def download(config: ProjectConfig, pointer: DataPointer,
             progress: Progress | None = None) -> LocalData:
    """Stream a remote file into the cache: temp file, hashed on the way, renamed into place
    only when the sha256 matches. Nothing is left behind on any failure."""
    blobs = cache_root(config) / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    import tempfile  # lazily: not on the validate path
    fd, tmp_name = tempfile.mkstemp(dir=blobs, prefix=".incoming-")
    tmp = Path(tmp_name)
    try:
        import hashlib  # lazily: loading OpenSSL is not free on validate's path
        h = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out, open_remote(pointer.uri, "rb", pointer.size) as src:
            while True:
                chunk = _read(src, pointer.uri)
                if not chunk:
                    break
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
                if progress is not None:
                    progress(len(chunk))
        actual = h.hexdigest()
        if pointer.sha256 is not None and actual != pointer.sha256:
            raise _mismatch(pointer, pointer.sha256, actual)
        if pointer.size is not None and size != pointer.size:
            raise DataError(f"size mismatch for {pointer.uri}: expected {pointer.size} bytes, "
                            f"got {size}", location=pointer.location)
        final = cache_path(config, actual)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        return LocalData(final, actual, size, pointer.format, cached=True)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _read(src: BinaryIO, uri: str) -> bytes:
    try:
        return src.read(CHUNK)
    except GitopsMLError:
        raise
    except Exception as exc:
        raise _transfer_error(exc, uri) from exc


# --- remote file systems (fsspec, imported lazily) -----------------------------------------

def http_timeout() -> float:
    raw = os.environ.get(HTTP_TIMEOUT_ENV)
    if not raw:
        return DEFAULT_HTTP_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{HTTP_TIMEOUT_ENV} must be a number of seconds, got {raw!r}") \
            from None
    if value <= 0:
        raise ConfigError(f"{HTTP_TIMEOUT_ENV} must be positive, got {raw!r}")
    return value


def storage_options(uri: str) -> dict[str, Any]:
    """fsspec options for a URI's protocol: bounded HTTP timeouts, S3 endpoint from the
    standard AWS environment variables (``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``)."""
    scheme = _scheme(uri)
    if scheme in ("http", "https"):
        import aiohttp

        t = http_timeout()
        return {"client_kwargs": {"timeout": aiohttp.ClientTimeout(
            total=None, connect=t, sock_connect=t, sock_read=t)}}
    if scheme in ("s3", "s3a"):
        client: dict[str, Any] = {}
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            client["endpoint_url"] = endpoint
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            client["region_name"] = region
        return {"client_kwargs": client, "skip_instance_cache": True} if client else {}
    return {}


def filesystem(uri: str) -> tuple[Any, str]:
    """The fsspec file system for ``uri`` and the path within it."""
    try:
        import fsspec
        from fsspec.core import split_protocol
    except ImportError as exc:  # pragma: no cover - fsspec is a dependency
        raise DataError("fsspec is needed for remote data", hint="pip install fsspec") from exc
    protocol, _ = split_protocol(uri)
    try:
        fs = fsspec.filesystem(protocol, **storage_options(uri))
    except ImportError as exc:
        extra = " (pip install 'gitops-ml[s3]')" if protocol in ("s3", "s3a") else ""
        raise DataError(f"no support installed for {protocol}:// URIs{extra}: {exc}") from exc
    except ValueError as exc:
        raise DataError(f"unsupported URI {uri}: {exc}") from exc
    return fs, fs._strip_protocol(uri) if protocol not in ("http", "https") else uri


@contextlib.contextmanager
def open_remote(uri: str, mode: str = "rb", size: int | None = None) -> Iterator[BinaryIO]:
    """Open a remote file for streaming; every failure becomes a one-line DataError.
    A known ``size`` spares an HTTP server the HEAD request fsspec sends first."""
    if _scheme(uri) == "file":
        try:
            f: Any = open(_file_uri_path(uri), mode)  # noqa: SIM115 - closed below
        except OSError as exc:
            raise _transfer_error(exc, uri) from exc
        with f:
            yield f
        return
    fs, path = filesystem(uri)
    try:
        if mode == "rb" and _scheme(uri) in ("http", "https"):
            # one streaming GET, no range requests
            f = fs.open(path, mode, block_size=0, **({"size": size} if size else {}))
        else:
            f = fs.open(path, mode)
    except GitopsMLError:
        raise
    except Exception as exc:
        raise _transfer_error(exc, uri) from exc
    try:
        yield f
    except BaseException:
        # closing a half-written remote file would publish it (s3fs completes the multipart
        # upload on close): throw the upload away instead
        discard = getattr(f, "discard", None) if "w" in mode else None
        with contextlib.suppress(Exception):
            discard() if callable(discard) else f.close()
        raise
    with contextlib.suppress(Exception):
        f.close()


def _transfer_error(exc: BaseException, uri: str) -> DataError:
    import asyncio

    # fsspec's HTTP file system reports every failure of its HEAD request as
    # FileNotFoundError; the real reason is further down the chain.
    chain: list[BaseException] = []
    probe: BaseException | None = exc
    while probe is not None and probe not in chain:
        chain.append(probe)
        probe = probe.__cause__ or probe.__context__
    for link in chain:
        if isinstance(link, (TimeoutError, asyncio.TimeoutError)) \
                or "Timeout" in type(link).__name__:
            return TransferError(f"timed out after {http_timeout():g}s waiting for {uri}",
                                 hint=f"the server did not answer; set {HTTP_TIMEOUT_ENV} to "
                                      "wait longer")
        if "Connector" in type(link).__name__ or isinstance(link, ConnectionError):
            return TransferError(f"cannot connect to the server of {uri}: {link}")
    if isinstance(exc, FileNotFoundError):
        return DataNotFoundError(f"not found: {uri}", hint="check the URI and that the data "
                                 "was pushed ('gitops-ml data push')")
    if isinstance(exc, PermissionError):
        return TransferError(f"permission denied: {uri}", hint="check your credentials")
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    detail = f"HTTP {status}" if isinstance(status, int) else f"{type(exc).__name__}: {exc}"
    return TransferError(f"transfer failed for {uri}: {detail}".strip())


def upload(path: Path, uri: str, progress: Progress | None = None) -> str:
    """Copy a local file to ``uri`` (a path, ``file://`` or an fsspec URI), returning its
    sha256 computed in the same pass."""
    import hashlib  # lazily: loading OpenSSL is not free on validate's path
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    if _scheme(uri) in ("http", "https"):
        raise TransferError(f"cannot push to {uri}: HTTP(S) pointers are read-only",
                            hint="push to s3:// or a folder, and serve it over HTTP yourself")
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(open(path, "rb", buffering=0))
        if _scheme(uri) in LOCAL_SCHEMES:
            dest = Path(_file_uri_path(uri)) if _scheme(uri) == "file" else Path(uri)
            dest.parent.mkdir(parents=True, exist_ok=True)
            import tempfile  # lazily: not on the validate path
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".incoming-")
            stack.callback(lambda: Path(tmp).unlink(missing_ok=True))
            out: Any = stack.enter_context(os.fdopen(fd, "wb"))
        else:
            out = stack.enter_context(open_remote(uri, "wb"))
        try:
            while True:
                n = src.readinto(buf)
                if not n:
                    break
                h.update(view[:n])
                out.write(view[:n])
                if progress is not None:
                    progress(n)
            if _scheme(uri) in LOCAL_SCHEMES:
                out.close()
                os.replace(tmp, dest)
            else:
                out.close()  # s3fs completes the multipart upload here
        except GitopsMLError:
            raise
        except Exception as exc:
            raise _transfer_error(exc, uri) from exc
    return h.hexdigest()


def remote_size(uri: str) -> int | None:
    """The size of a remote object, or None when it does not exist."""
    if _scheme(uri) in LOCAL_SCHEMES:
        p = Path(_file_uri_path(uri)) if _scheme(uri) == "file" else Path(uri)
        return p.stat().st_size if p.is_file() else None
    fs, path = filesystem(uri)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        return None
    except Exception as exc:
        raise _transfer_error(exc, uri) from exc
    size = info.get("size")
    return int(size) if size is not None else None


# --- reading tables ------------------------------------------------------------------------

def read_header(path: str | Path, fmt: str) -> list[str]:
    """The column names of a data file, reading only its header (no pandas)."""
    p = Path(path)
    try:
        if fmt == "csv":
            with open(p, encoding="utf-8-sig", newline="") as f:
                row = next(csv.reader(io.StringIO(f.readline())), None)
            return [c.strip() for c in row] if row else []
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(p).names)
        if fmt == "jsonl":
            with open(p, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        obj = json.loads(line)
                        if not isinstance(obj, dict):
                            raise DataError(f"{p.name}: the first line is not a JSON object")
                        return list(obj)
            return []
    except GitopsMLError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the header of {p}: {exc}") from exc
    except Exception as exc:  # pyarrow's ArrowInvalid and friends
        raise DataError(f"cannot read the header of {p}: {exc}") from exc
    raise DataError(f"unknown data format '{fmt}'", hint="use csv, parquet or jsonl")


def read_table(path: str | Path, fmt: str, columns: list[str] | tuple[str, ...] | None = None
               ) -> pd.DataFrame:
    """Read a data file into a DataFrame with the pyarrow engine (only ``columns`` if given).

    Missing columns are a :class:`~gitops_ml.errors.DataCheckError` naming them."""
    import pandas as pd

    from gitops_ml.errors import DataCheckError

    p = Path(path)
    if fmt not in FORMATS:
        raise DataError(f"unknown data format '{fmt}'", hint="use csv, parquet or jsonl")
    if columns is not None:
        header = read_header(p, fmt)
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataCheckError(f"{p.name}: missing column(s) {', '.join(missing)}",
                                 hint=f"the file has: {', '.join(header[:20])}"
                                 + (" …" if len(header) > 20 else ""))
        columns = list(dict.fromkeys(columns))
    try:
        if fmt == "csv":
            return pd.read_csv(p, engine="pyarrow", usecols=columns)
        if fmt == "parquet":
            return pd.read_parquet(p, engine="pyarrow", columns=columns)
        frame = pd.read_json(p, lines=True, engine="pyarrow")
        return frame[columns] if columns is not None else frame
    except GitopsMLError:
        raise
    except Exception as exc:
        raise DataError(f"cannot read {p} as {fmt}: {type(exc).__name__}: {exc}") from exc


# --- for validate --------------------------------------------------------------------------

def check_pointer(config: ProjectConfig, ref: PointerRef, *,
                  spec: ModelSpec | None = None) -> list[GitopsMLError]:
    """Check a data ref without the network and without reading the data.

    A malformed pointer raises :class:`ConfigError` naming ``file:line``; local data that is
    missing raises :class:`DataNotFoundError` (its location is None for a bare path in the
    spec, so the caller can name the spec's line). Remote data is fine when it is not cached
    yet. The returned list holds non-fatal problems (warnings); it is empty today."""
    pointer = resolve(config, ref, spec=spec)
    if not pointer.is_remote and find_local(config, pointer) is None:
        raise missing_error(pointer)
    return []


def local_header(config: ProjectConfig, ref: PointerRef | DataPointer, *,
                 spec: ModelSpec | None = None) -> list[str] | None:
    """The data's column names if its bytes are already local (in the repo, the DVC
    workspace/cache, or our cache); None otherwise. Reads only the header; no hashing."""
    pointer = ref if isinstance(ref, DataPointer) else resolve(config, ref, spec=spec)
    path = find_local(config, pointer)
    if path is None:
        return None
    return read_header(path, pointer.format)


def is_sha256(value: str) -> bool:
    return bool(_SHA256_RE.fullmatch(value))
