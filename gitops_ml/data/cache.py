"""The content-addressed cache, and verified local copies of a pointer's data.

Remote bytes land in ``<cache>/sha256/<2>/<62>``: a download streams into a staged file in the
cache, is hashed while it streams, and is renamed into place only when its sha256 matches the
pointer. Local files are hashed once per (size, mtime, inode), remembered under
``<cache>/stat``, as DVC does. :func:`materialize` is the one way from a pointer to bytes whose
hash was checked.

This module never prints: long work reports through a ``progress`` callback that receives the
number of bytes just processed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from gitops_ml.data.pointers import DataPointer, rel, resolve
from gitops_ml.data.remote import open_remote, read_chunks
from gitops_ml.data.tables import read_header
from gitops_ml.errors import DataError, DataNotFoundError, GitopsMLError, HashMismatchError
from gitops_ml.project.spec import ModelSpec, PointerRef, ProjectConfig
from gitops_ml.util.files import atomic_write, staged_file
from gitops_ml.util.frozen import Record
from gitops_ml.util.hashing import Progress, hash_file, sha256_file


class LocalData(Record):
    """A verified local copy of a pointer's data."""

    path: Path
    sha256: str
    size: int
    format: str
    cached: bool  # True when it came from (or went into) the content-addressed cache


# --- the content-addressed cache ----------------------------------------------------------

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
    if pointer.kind == "dvc":
        hint = (f"the data changed after 'dvc add': run 'dvc add {pointer.uri}' if the change "
                "is intended, or 'dvc checkout' / 'dvc pull' to get the recorded version")
    else:
        hint = ("the data changed after the pointer was written; re-run 'gitops-ml data add' "
                "if the change is intended")
    return HashMismatchError(
        f"{algo} mismatch for {what or pointer.uri}: expected {expected}, got {actual}",
        location=pointer.location, hint=hint)


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
    with _located(pointer):
        return download(config, pointer, progress)


@contextlib.contextmanager
def _located(pointer: DataPointer) -> Iterator[None]:
    """An error about the data names the pointer file it came from, not only the URI."""
    try:
        yield
    except DataError as exc:
        if exc.location is None:
            exc.location = pointer.location
        raise


def _materialize_dvc(config: ProjectConfig, pointer: DataPointer,
                     progress: Progress | None, *, rehash: bool) -> LocalData:
    path = find_local(config, pointer)
    if path is None:
        raise missing_error(pointer)
    algorithm = pointer.md5_algorithm
    hashes = known_hashes(config, path, (algorithm, "sha256"), progress, rehash=rehash)
    if pointer.md5 is not None and hashes[algorithm] != pointer.md5:
        raise _mismatch(pointer, pointer.md5, hashes[algorithm], algorithm,
                        what=rel(config, path))
    return LocalData(path, hashes["sha256"], path.stat().st_size, pointer.format, cached=False)


def download(config: ProjectConfig, pointer: DataPointer,
             progress: Progress | None = None) -> LocalData:
    """Stream a remote file into the cache: a staged file, hashed on the way, renamed into
    place only when the sha256 matches. Nothing is left behind on any failure."""
    import hashlib  # lazily: loading OpenSSL is not free on validate's path

    h = hashlib.sha256()
    size = 0
    with staged_file(cache_root(config) / "sha256") as staged, \
            open_remote(pointer.uri, "rb", pointer.size) as src:
        for chunk in read_chunks(src, pointer.uri):
            h.update(chunk)
            staged.file.write(chunk)
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
        staged.commit(final)
    if pointer.sha256 is None:
        _remember_download(config, pointer.uri, actual)
    return LocalData(final, actual, size, pointer.format, cached=True)


def _download_memo(config: ProjectConfig, uri: str) -> Path:
    import hashlib  # lazily: loading OpenSSL is not free on validate's path

    key = hashlib.sha256(uri.encode()).hexdigest()
    return cache_root(config) / "uri" / key[:2] / key[2:]


def _remember_download(config: ProjectConfig, uri: str, sha256: str) -> None:
    with contextlib.suppress(OSError):
        atomic_write(_download_memo(config, uri), json.dumps({"uri": uri,
                                                              "sha256": sha256}).encode())


def last_download(config: ProjectConfig, uri: str) -> str | None:
    """The sha256 of what ``uri`` (a remote URI named without a sha256) served when it was
    last downloaded, if those bytes are still in the cache; None otherwise. What the data was,
    not what it is now: for finding records, never for training."""
    try:
        saved = json.loads(_download_memo(config, uri).read_text())
    except (OSError, ValueError):
        return None
    sha = saved.get("sha256") if isinstance(saved, dict) else None
    if not isinstance(sha, str) or saved.get("uri") != uri or in_cache(config, sha) is None:
        return None
    return sha


# --- for validate: what is local, without the network -------------------------------------

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
    with _located(pointer):
        return read_header(path, pointer.format)
