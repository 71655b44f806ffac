"""The artifact store: content-addressed blobs and run records.

Layout (the same in a folder and behind an fsspec URI)::

    <store>/blobs/sha256/<first 2 hex>/<other 62 hex>    artifact bytes, named by their sha256
    <store>/runs/<run_key>/run.json                      the run record (train)
    <store>/runs/<run_key>/evaluation.json, drift.json, model_card.md, ...

The store is a folder relative to the repository root by default (``store:`` in
gitops-ml.yaml); any fsspec URI (``s3://``, ``gs://``, ``memory://``...) works too, with fsspec
imported only then. Every write goes to a temporary name first and is renamed into place, so a
reader never sees half a file; every blob read re-hashes the bytes and names the file when they
do not match. Blobs from a remote store are fetched into the local cache before use.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gitops_ml.errors import ArtifactError
from gitops_ml.util.files import atomic_write, atomic_writer, staged_file
from gitops_ml.util.hashing import SHA256_RE, sha256_file

if TYPE_CHECKING:
    from gitops_ml.project.spec import ProjectConfig

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def is_uri(location: str) -> bool:
    """True for ``scheme://...`` locations (``file://`` included); False for plain paths."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", location) is not None


def _check_sha(sha: str) -> str:
    if not SHA256_RE.fullmatch(sha):
        raise ArtifactError(f"not a sha256: {sha!r}", hint="a sha256 is 64 lowercase hex digits")
    return sha


def _check_key(run_key: str) -> str:
    if not SHA256_RE.fullmatch(run_key):
        raise ArtifactError(f"not a run key: {run_key!r}",
                            hint="a run key is 64 lowercase hex digits")
    return run_key


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name.endswith(".tmp"):
        raise ArtifactError(f"not a valid run file name: {name!r}")
    return name


class _Backend(Protocol):
    """Where the store's files live: a local folder or an fsspec filesystem."""

    location: str

    def exists(self, rel: str) -> bool: ...
    def read(self, rel: str) -> bytes: ...
    def write(self, rel: str, data: bytes) -> None: ...
    def upload(self, rel: str, local: Path) -> None: ...
    def download(self, rel: str, local: Path) -> None: ...
    def listdir(self, rel: str) -> list[str]: ...
    def local_path(self, rel: str) -> Path | None: ...


class _FolderBackend:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = root.as_posix()

    def _p(self, rel: str) -> Path:
        return self.root / rel

    def exists(self, rel: str) -> bool:
        return self._p(rel).is_file()

    def read(self, rel: str) -> bytes:
        return self._p(rel).read_bytes()

    def write(self, rel: str, data: bytes) -> None:
        atomic_write(self._p(rel), data)

    def upload(self, rel: str, local: Path) -> None:
        with atomic_writer(self._p(rel)) as out, open(local, "rb") as src:
            shutil.copyfileobj(src, out)

    def download(self, rel: str, local: Path) -> None:
        shutil.copyfile(self._p(rel), local)

    def listdir(self, rel: str) -> list[str]:
        p = self._p(rel)
        if not p.is_dir():
            return []
        return sorted(child.name for child in p.iterdir())

    def local_path(self, rel: str) -> Path | None:
        return self._p(rel)


class _FsspecBackend:
    def __init__(self, uri: str, storage_options: dict[str, Any] | None = None) -> None:
        import fsspec.core  # lazy: only remote stores pay for it

        fs, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))
        self.fs = fs
        self.base = path.rstrip("/")
        self.location = uri.rstrip("/")

    def _p(self, rel: str) -> str:
        return f"{self.base}/{rel}"

    def exists(self, rel: str) -> bool:
        return bool(self.fs.isfile(self._p(rel)))

    def read(self, rel: str) -> bytes:
        data: bytes = self.fs.cat_file(self._p(rel))
        return data

    def write(self, rel: str, data: bytes) -> None:
        # Object stores make a single PUT visible atomically; on file-like filesystems write a
        # temporary name and move it into place.
        target = self._p(rel)
        parent = target.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        if getattr(self.fs, "protocol", None) in (("s3", "s3a"), "s3", ("gs", "gcs"), "gs"):
            self.fs.pipe_file(target, data)
            return
        tmp = f"{target}.{os.getpid()}.tmp"
        self.fs.pipe_file(tmp, data)
        self.fs.mv(tmp, target)

    def upload(self, rel: str, local: Path) -> None:
        target = self._p(rel)
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        self.fs.put_file(str(local), target)

    def download(self, rel: str, local: Path) -> None:
        self.fs.get_file(self._p(rel), str(local))

    def listdir(self, rel: str) -> list[str]:
        p = self._p(rel)
        if not self.fs.isdir(p):
            return []
        return sorted(str(entry).rstrip("/").rsplit("/", 1)[-1]
                      for entry in self.fs.ls(p, detail=False))

    def local_path(self, rel: str) -> Path | None:
        return None


@dataclass(frozen=True)
class Store:
    """A content-addressed artifact store with run records. Open it with :meth:`open`."""

    location: str
    cache_dir: Path
    _backend: _Backend

    @classmethod
    def open(cls, config: ProjectConfig) -> Store:
        """The store ``config.store`` names: a folder relative to the repo root, or a URI."""
        return cls.at(config.store, root=config.root_path,
                      cache_dir=config.resolve(config.cache) / "store")

    @classmethod
    def at(cls, location: str, *, root: Path | None = None,
           cache_dir: Path | None = None) -> Store:
        """A store at a folder or fsspec URI (``file://`` URIs are opened as folders)."""
        backend: _Backend
        if location.startswith("file://"):
            backend = _FolderBackend(Path(location[len("file://"):]))
        elif is_uri(location):
            backend = _FsspecBackend(location)
        else:
            p = Path(location)
            if not p.is_absolute():
                p = (root or Path.cwd()) / p
            backend = _FolderBackend(p)
        cache = cache_dir or Path(tempfile.gettempdir()) / "gitops-ml-store-cache"
        return cls(location=backend.location, cache_dir=cache, _backend=backend)

    # --- blobs --------------------------------------------------------------------------

    @staticmethod
    def blob_rel(sha: str) -> str:
        _check_sha(sha)
        return f"blobs/sha256/{sha[:2]}/{sha[2:]}"

    def uri_of(self, sha: str) -> str:
        """Where a blob lives, as a path or URI (for run records and manifests)."""
        return f"{self.location}/{self.blob_rel(sha)}"

    def has(self, sha: str) -> bool:
        return self._backend.exists(self.blob_rel(sha))

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        rel = self.blob_rel(sha)
        if not self._backend.exists(rel):
            self._backend.write(rel, data)
        return sha

    def put_file(self, path: str | Path) -> str:
        """Add a file's bytes to the store; returns their sha256. Idempotent."""
        sha = sha256_file(path)
        rel = self.blob_rel(sha)
        if not self._backend.exists(rel):
            self._backend.upload(rel, Path(path))
        return sha

    def path_of(self, sha: str) -> Path:
        """A local file holding the blob, verified against its sha256.

        Raises :class:`ArtifactError` naming the file when the blob is missing or its bytes do
        not hash to ``sha``.
        """
        rel = self.blob_rel(sha)
        local = self._backend.local_path(rel)
        if local is None:
            local = self.cache_dir / rel
            if not local.is_file():
                if not self._backend.exists(rel):
                    raise ArtifactError(f"artifact {sha[:12]} is not in the store "
                                        f"{self.location}", hint="train the model first, or "
                                        "restore the store")
                with staged_file(local.parent, prefix=f".{local.name}.") as staged:
                    staged.file.close()  # the backend writes the staged path itself
                    self._backend.download(rel, staged.path)
                    staged.commit(local)
        elif not local.is_file():
            raise ArtifactError(f"artifact {sha[:12]} is not in the store {self.location}",
                                hint="train the model first, or restore the store")
        actual = sha256_file(local)
        if actual != sha:
            raise ArtifactError(f"{local}: corrupt artifact: sha256 is {actual[:12]}, "
                                f"expected {sha[:12]}", hint="delete the file and train again")
        return local

    def read_bytes(self, sha: str) -> bytes:
        """A blob's bytes, verified."""
        return self.path_of(sha).read_bytes()

    # --- runs ---------------------------------------------------------------------------

    @staticmethod
    def run_rel(run_key: str, name: str) -> str:
        return f"runs/{_check_key(run_key)}/{_check_name(name)}"

    def has_run(self, run_key: str) -> bool:
        return self.has_run_file(run_key, "run.json")

    def has_run_file(self, run_key: str, name: str) -> bool:
        return self._backend.exists(self.run_rel(run_key, name))

    def write_run_file(self, run_key: str, name: str, data: bytes | str) -> str:
        """Write ``runs/<run_key>/<name>`` atomically; returns its path or URI."""
        rel = self.run_rel(run_key, name)
        self._backend.write(rel, data.encode() if isinstance(data, str) else data)
        return f"{self.location}/{rel}"

    def read_run_file(self, run_key: str, name: str) -> bytes:
        """The bytes of ``runs/<run_key>/<name>``; :class:`ArtifactError` when absent."""
        rel = self.run_rel(run_key, name)
        if not self._backend.exists(rel):
            raise ArtifactError(f"{name} of run {run_key[:12]} is not in the store "
                                f"{self.location}")
        return self._backend.read(rel)

    def run_file_uri(self, run_key: str, name: str) -> str:
        return f"{self.location}/{self.run_rel(run_key, name)}"

    def runs(self) -> Iterator[str]:
        """Run keys present in the store, sorted."""
        for name in self._backend.listdir("runs"):
            if SHA256_RE.fullmatch(name):
                yield name
