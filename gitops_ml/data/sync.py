"""The ``data`` verbs: add, push, pull, verify. Each returns a frozen result; none prints.

Long work reports through a :class:`Reporter`: ``with reporter.task(label, total) as advance``
gives a callback that takes the number of bytes just processed. The CLI turns it into a
progress bar on a terminal; the default reporter does nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from gitops_ml.data.cache import find_local, in_cache, known_hashes, materialize, missing_error
from gitops_ml.data.pointers import (
    FORMATS,
    POINTER_SUFFIXES,
    DataPointer,
    infer_format,
    is_remote_uri,
    norm_local_uri,
    rel,
    resolve,
    spec_pointers,
)
from gitops_ml.data.remote import remote_size, upload
from gitops_ml.errors import DataError, DataNotFoundError, GitopsMLError, HashMismatchError
from gitops_ml.project.spec import ProjectConfig, find_spec, load_specs
from gitops_ml.util.files import atomic_write
from gitops_ml.util.hashing import Progress


class Reporter(Protocol):
    def task(self, label: str, total: int | None) -> AbstractContextManager[Progress]: ...


class QuietReporter:
    """Reports nothing (the default, and what CI gets)."""

    @contextlib.contextmanager
    def task(self, label: str, total: int | None) -> Iterator[Progress]:
        yield lambda n: None


@dataclass(frozen=True)
class AddResult:
    file: str
    pointer_file: str
    uri: str
    sha256: str
    size: int
    format: str
    pushed: bool
    changed: bool  # False when the pointer file already said exactly this


@dataclass(frozen=True)
class ItemResult:
    source: str
    uri: str
    sha256: str | None
    status: str
    path: str | None = None
    size: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class TransferResult:
    action: Literal["push", "pull"]
    items: tuple[ItemResult, ...] = field(default_factory=tuple)

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.status == status)


@dataclass(frozen=True)
class VerifyResult:
    items: tuple[ItemResult, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> tuple[ItemResult, ...]:
        return tuple(i for i in self.items if i.status in ("mismatch", "missing"))


# --- add -----------------------------------------------------------------------------------

def pointer_text(uri: str, sha256: str, size: int, fmt: str) -> str:
    return f"uri: {_yaml_str(uri)}\nsha256: {sha256}\nsize: {size}\nformat: {fmt}\n"


def _yaml_str(value: str) -> str:
    import yaml

    out: str = yaml.safe_dump(value, default_style=None, width=10_000).strip()
    return out.removesuffix("\n...").strip()


def add(config: ProjectConfig, file: Path, *, to: str | None = None,
        pointer: Path | None = None, fmt: str | None = None,
        reporter: Reporter | None = None) -> AddResult:
    """Hash ``file`` and write a pointer to it (``FILE.ptr.yaml`` beside it unless
    ``pointer`` says where). With ``to``, upload it there first and point at the upload."""
    reporter = reporter or QuietReporter()
    file = file.absolute()
    if not file.is_file():
        raise DataNotFoundError(f"no such file: {file}")
    fmt = fmt or infer_format(file.name)
    if fmt is None or fmt not in FORMATS:
        raise DataError(f"cannot tell the format of {file.name} from its suffix",
                        hint="use --format csv|parquet|jsonl")
    pointer = (pointer or file.with_name(file.name + ".ptr.yaml")).absolute()
    if not pointer.name.endswith(POINTER_SUFFIXES):
        raise DataError(f"a pointer file name must end with .ptr.yaml: {pointer.name}")
    size = file.stat().st_size
    label = file.name
    if to is not None:
        target = to + file.name if to.endswith("/") else to
        if not is_remote_uri(target):
            # a plain path: repo data when inside the repository, else a file:// store
            dest = Path(os.path.abspath(target))
            if dest == file:
                raise DataError(f"--to names the file itself: {to}")
            target = norm_local_uri(config, str(dest))
            if Path(target).is_absolute():
                target = dest.as_uri()
        with reporter.task(f"push {label}", size) as advance:
            sha256 = upload(file, target if is_remote_uri(target)
                                 else str(config.resolve(target)), advance)
        uri, pushed = target, True
    else:
        uri = norm_local_uri(config, str(file))
        if Path(uri).is_absolute():
            raise DataError(f"{file} is outside the repository",
                            hint="pass --to URI to upload it and point at the upload")
        with reporter.task(f"hash {label}", size) as advance:
            sha256 = known_hashes(config, file, ("sha256",), advance, rehash=True)["sha256"]
        pushed = False
    text = pointer_text(uri, sha256, size, fmt)
    try:
        changed = pointer.read_text(encoding="utf-8") != text
    except OSError:
        changed = True
    if changed:
        atomic_write(pointer, text.encode())
    return AddResult(file=rel(config, file), pointer_file=rel(config, pointer),
                     uri=uri, sha256=sha256, size=size, format=fmt, pushed=pushed,
                     changed=changed)


# --- choosing pointers ---------------------------------------------------------------------

def select_pointers(config: ProjectConfig, refs: Sequence[str] = (),
                    model: str | None = None) -> list[DataPointer]:
    """The pointers named by ``refs`` (repo-relative), else those of ``model``, else those of
    every model, without duplicates."""
    pointers: list[DataPointer] = []
    if refs:
        pointers = [resolve(config, ref) for ref in refs]
    else:
        specs = [find_spec(config, model)] if model else load_specs(config)
        for spec in specs:
            pointers.extend(spec_pointers(config, spec).values())
    seen: set[tuple[str, str, str | None]] = set()
    out = []
    for p in pointers:
        key = (p.source, p.uri, p.sha256)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


# --- pull ----------------------------------------------------------------------------------

def pull(config: ProjectConfig, refs: Sequence[str] = (), *, model: str | None = None,
         reporter: Reporter | None = None) -> TransferResult:
    """Make every selected pointer's data local and verified: remote data is downloaded
    into the cache; repo data is checked. Stops at the first failure (it raises)."""
    reporter = reporter or QuietReporter()
    items = []
    for pointer in select_pointers(config, refs, model):
        was_cached = in_cache(config, pointer.sha256) is not None
        with reporter.task(pointer.uri, pointer.size) as advance:
            local = materialize(config, pointer, advance)
        status = ("cached" if was_cached else "downloaded") if local.cached else "local"
        items.append(ItemResult(pointer.source, pointer.uri, local.sha256, status,
                                path=rel(config, local.path), size=local.size))
    return TransferResult("pull", tuple(items))


# --- push ----------------------------------------------------------------------------------

def local_copy(config: ProjectConfig, pointer: DataPointer) -> Path | None:
    """Local bytes to push for a remote pointer: the cached blob, or the file the pointer
    file was written for (``x.csv`` beside ``x.csv.ptr.yaml``)."""
    cached = in_cache(config, pointer.sha256)
    if cached is not None:
        return cached
    if pointer.kind == "pointer":
        for suffix in POINTER_SUFFIXES:
            if pointer.source.endswith(suffix):
                sibling = config.resolve(pointer.source[: -len(suffix)])
                if sibling.is_file():
                    return sibling
    return None


def push(config: ProjectConfig, refs: Sequence[str] = (), *, model: str | None = None,
         reporter: Reporter | None = None) -> TransferResult:
    """Upload the local data of every selected remote pointer to its URI. Data already there
    (same size) is skipped; local data whose hash differs from the pointer is refused."""
    reporter = reporter or QuietReporter()
    items = []
    for pointer in select_pointers(config, refs, model):
        if not pointer.is_remote:
            items.append(ItemResult(pointer.source, pointer.uri, pointer.sha256, "local",
                                    message="data lives in the repository"))
            continue
        source = local_copy(config, pointer)
        if source is None:
            raise DataNotFoundError(
                f"no local copy of {pointer.uri} to push", location=pointer.location,
                hint="pull it first, or put the file beside its pointer")
        if pointer.sha256 is not None:
            with reporter.task(f"hash {source.name}", source.stat().st_size) as advance:
                actual = known_hashes(config, source, ("sha256",), advance)["sha256"]
            if actual != pointer.sha256:
                raise HashMismatchError(
                    f"sha256 mismatch for {rel(config, source)}: expected "
                    f"{pointer.sha256}, got {actual}", location=pointer.location,
                    hint="the local file changed; run 'gitops-ml data add' to update the "
                         "pointer")
        size = source.stat().st_size
        if remote_size(pointer.uri) == size:
            items.append(ItemResult(pointer.source, pointer.uri, pointer.sha256, "present",
                                    size=size))
            continue
        with reporter.task(f"push {pointer.uri}", size) as advance:
            sent = upload(source, pointer.uri, advance)
        if pointer.sha256 is not None and sent != pointer.sha256:
            raise HashMismatchError(
                f"sha256 mismatch while pushing {pointer.uri}: expected {pointer.sha256}, got "
                f"{sent}", location=pointer.location, hint="the file changed during upload")
        items.append(ItemResult(pointer.source, pointer.uri, sent, "pushed", size=size))
    return TransferResult("push", tuple(items))


# --- verify --------------------------------------------------------------------------------

def verify(config: ProjectConfig, refs: Sequence[str] = (), *, model: str | None = None,
           reporter: Reporter | None = None) -> VerifyResult:
    """Re-hash the local copy of every selected pointer (no remembered hashes). Remote data
    that is not in the cache is reported as ``not-local`` and not fetched."""
    reporter = reporter or QuietReporter()
    items = []
    for pointer in select_pointers(config, refs, model):
        path = find_local(config, pointer)
        if path is None:
            if pointer.is_remote:
                items.append(ItemResult(pointer.source, pointer.uri, pointer.sha256,
                                        "not-local", message="not in the cache; "
                                        "'gitops-ml data pull' fetches it"))
            else:
                err = missing_error(pointer)
                items.append(ItemResult(pointer.source, pointer.uri, pointer.sha256,
                                        "missing", message=err.one_line()))
            continue
        try:
            with reporter.task(pointer.uri, path.stat().st_size) as advance:
                local = materialize(config, pointer, advance, rehash=True)
        except HashMismatchError as exc:
            items.append(ItemResult(pointer.source, pointer.uri, pointer.sha256, "mismatch",
                                    path=rel(config, path), message=exc.one_line()))
            continue
        except GitopsMLError as exc:
            items.append(ItemResult(pointer.source, pointer.uri, pointer.sha256, "missing",
                                    path=rel(config, path), message=exc.one_line()))
            continue
        status = "ok" if (pointer.sha256 or pointer.md5) else "hashed"
        items.append(ItemResult(pointer.source, pointer.uri, local.sha256, status,
                                path=rel(config, local.path), size=local.size))
    return VerifyResult(tuple(items))
