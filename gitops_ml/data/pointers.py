"""Data pointers: what a spec's data ref names, read without touching the data.

A model's data is named in its spec by a *ref*, one of:

- a pointer file ``*.ptr.yaml`` (``uri``, ``sha256``, ``size``, ``format``);
- an inline pointer in the spec (:class:`gitops_ml.project.spec.InlinePointer`, the same four keys);
- a DVC ``*.dvc`` file, read as DVC wrote it (``outs: [{path, md5, size}]``);
- a plain repo-relative data file (``data/train.csv``), hashed when it is read.

Relative URIs are relative to the repository root, except in ``.dvc`` files, where (as in DVC)
they are relative to the ``.dvc`` file's folder.

:func:`resolve` turns a ref into a :class:`DataPointer`; :mod:`gitops_ml.data.cache` turns a
pointer into verified local bytes, :mod:`gitops_ml.data.remote` moves bytes to and from remote
stores, and :mod:`gitops_ml.data.tables` reads them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import unquote, urlsplit

from gitops_ml.errors import ConfigError, DataError, GitopsMLError, Location
from gitops_ml.project import typed_yaml
from gitops_ml.project import yaml_document as yamlio
from gitops_ml.project.spec import InlinePointer, ModelSpec, PointerRef, ProjectConfig
from gitops_ml.util.frozen import Record, replace
from gitops_ml.util.hashing import MD5_DOS2UNIX, MD5_RE

FORMATS = ("csv", "parquet", "jsonl")
POINTER_SUFFIXES = (".ptr.yaml", ".ptr.yml")
DVC_SUFFIX = ".dvc"
ROLES = ("train", "test", "current")
INLINE_SOURCE = "<inline pointer>"

_SUFFIX_FORMATS = {
    ".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

PointerKind = Literal["pointer", "inline", "dvc", "path", "uri"]


class DataPointer(Record):
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
    md5_algorithm: str = "md5"
    """How ``md5`` was computed: ``md5`` (DVC 3, ``hash: md5``) or ``md5-dos2unix`` (DVC 2,
    which hashes text files with CRLF turned into LF)."""

    @property
    def is_remote(self) -> bool:
        return bool(uri_scheme(self.uri))

    @property
    def location(self) -> Location | None:
        """Where the pointer is written (None for a bare path or an inline pointer whose spec
        is unknown: the caller knows better)."""
        if self.source in (self.uri, INLINE_SOURCE):
            return None
        return Location(self.source, self.line)

    def describe(self) -> str:
        return self.uri if self.source == self.uri else f"{self.uri} (from {self.source})"


# --- URIs and paths ------------------------------------------------------------------------

def uri_scheme(uri: str) -> str:
    """The lower-case scheme of a URI (``s3``, ``https``, ``file`` …); '' for a plain path."""
    if not _URI_RE.match(uri):
        return ""
    return uri.split("://", 1)[0].lower()


def file_uri_path(uri: str) -> str:
    """The local path of a ``file://`` URI (no host, or ``localhost``)."""
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise DataError(f"file URI with a host is not supported: {uri}")
    return unquote(parts.path)

def infer_format(name: str) -> str | None:
    """csv / parquet / jsonl from a file name or URI (query strings ignored)."""
    path = urlsplit(name).path if uri_scheme(name) else name
    return _SUFFIX_FORMATS.get(PurePosixPath(path).suffix.lower())


def is_remote_uri(uri: str) -> bool:
    """True for any URI (``file://`` included: a folder outside the repository is a remote
    store too), False for plain paths."""
    return bool(uri_scheme(uri))


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


def _format_or_fail(fmt: str | None, name: str, where: Location | None) -> str:
    fmt = fmt or infer_format(name)
    if fmt is None:
        raise ConfigError(f"cannot infer the data format of '{name}' from its suffix",
                          location=where, hint="add 'format: csv' (or parquet, jsonl)")
    return fmt


def resolve(config: ProjectConfig, ref: PointerRef, *,
            spec: ModelSpec | None = None) -> DataPointer:
    """Turn a data ref into a :class:`DataPointer`. Reads pointer and ``.dvc`` files (never
    the data). Malformed pointer files raise :class:`ConfigError` naming ``file:line``.

    Neither the pointer file nor a local data path may leave the repository (``../``, an
    absolute path, a symbolic link) unless ``outside_roots`` allows it."""
    if isinstance(ref, str) and ref and not uri_scheme(ref):
        config.check_inside(config.resolve(norm_local_uri(config, ref)), "the data ref")
    pointer = _resolve(config, ref, spec=spec)
    if not pointer.is_remote:  # a URI (file:// included) names a remote, not a repo path
        config.check_inside(config.resolve(pointer.uri), "the data path", pointer.location)
    return pointer


def _resolve(config: ProjectConfig, ref: PointerRef, *,
             spec: ModelSpec | None = None) -> DataPointer:
    if isinstance(ref, InlinePointer):
        source = spec.file if spec is not None and spec.file else INLINE_SOURCE
        uri = ref.uri if uri_scheme(ref.uri) else norm_local_uri(config, ref.uri)
        where = Location(source) if source != INLINE_SOURCE else None
        return DataPointer(uri=uri, sha256=ref.sha256, size=ref.size,
                           format=_format_or_fail(ref.format, ref.uri, where),
                           source=source, kind="inline")
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"a data ref must be a path or an inline pointer, got {ref!r}")
    if uri_scheme(ref):
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
    ptr = typed_yaml.load_record(InlinePointer, doc.data, doc)
    uri = ptr.uri if uri_scheme(ptr.uri) else norm_local_uri(config, ptr.uri)
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
    if not isinstance(md5, str) or not MD5_RE.fullmatch(md5.removesuffix(".dir")):
        raise doc.error(("outs", 0, "md5"), f"malformed md5 {md5!r}",
                        hint="an md5 is 32 lowercase hex characters")
    if md5.endswith(".dir"):
        raise doc.error(("outs", 0, "path"), f"'{path}' is a directory output",
                        hint="point at a single file (csv, parquet or jsonl)")
    size = out.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
        raise doc.error(("outs", 0, "size"), "expected an integer")
    # DVC 3 writes `hash: md5`; a file without it is DVC 2's, whose md5 is dos2unix'd.
    algorithm = out.get("hash", MD5_DOS2UNIX)
    if algorithm not in ("md5", MD5_DOS2UNIX):
        raise doc.error(("outs", 0, "hash"), f"unsupported DVC hash {algorithm!r}",
                        hint="gitops-ml reads the md5 that DVC 2 and DVC 3 write")
    folder = PurePosixPath(rel).parent
    uri = (folder / path).as_posix() if not Path(path).is_absolute() else path
    uri = norm_local_uri(config, os.path.normpath(uri))
    where = doc.location(("outs", 0, "path"))
    return DataPointer(uri=uri, sha256=None, size=size,
                       format=_format_or_fail(None, path, where), source=rel, kind="dvc",
                       line=where.line, md5=md5, md5_algorithm=algorithm)


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


