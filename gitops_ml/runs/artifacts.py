"""Model artifacts: skops archives in a canonical, byte-stable form, loaded safely.

skops (not pickle): a promotion job holds a write token, and a pickle from a pull request is
code. But a skops archive is not byte-stable: its zip entry names and the ``__id__`` fields of
its ``schema.json`` come from ``id()`` of the objects saved, and the zip timestamps from the
clock, so two identical trainings give different bytes. The artifact's sha256 is its identity
(the store, the run cache, the registry, ``reproduce``), so we write a *canonical* archive:

- every ``__id__`` is renumbered 1, 2, 3 ... in order of first appearance in schema.json,
  walked with sorted keys so that the form is idempotent (0 is
  avoided: skops treats a falsy id as "not memoised");
- every array file is renamed ``<n>.npy`` (or its own suffix) in order of first appearance, and
  schema.json's references follow;
- schema.json is written with sorted keys and no whitespace, entries in a fixed order with a
  fixed timestamp and fixed attributes, stored uncompressed (deflate output depends on the
  zlib build; stored bytes do not).

Loading lists the archive's untrusted types (``skops.io.get_untrusted_types``) and accepts only
types from scikit-learn, numpy, scipy and a few plain builtins; anything else is refused with an
:class:`~gitops_ml.errors.ArtifactError` before a single object is built.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from gitops_ml.errors import ArtifactError

ARTIFACT_FORMAT = "skops"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
TRUSTED_MODULE_ROOTS = ("sklearn", "numpy", "scipy")
# builtins that are plain data; never eval, exec, open, getattr, __import__ ...
TRUSTED_BUILTINS = frozenset({
    "builtins.int", "builtins.float", "builtins.complex", "builtins.str", "builtins.bytes",
    "builtins.bytearray", "builtins.bool", "builtins.list", "builtins.tuple", "builtins.dict",
    "builtins.set", "builtins.frozenset", "builtins.slice", "builtins.range", "builtins.NoneType",
    "builtins.object", "builtins.type",
    # a partial's function and arguments are nodes of their own, checked like any other
    "functools.partial",
})


def canonicalize(data: bytes) -> bytes:
    """Rewrite a skops archive in the canonical form described in the module docstring."""
    try:
        src = zipfile.ZipFile(io.BytesIO(data))
        schema = json.loads(src.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ArtifactError(f"not a skops archive: {exc}") from exc
    names = set(src.namelist())
    ids: dict[Any, int] = {}
    files: dict[str, str] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in sorted(node.items()):  # sorted: canonicalize is idempotent
                if key == "__id__" and isinstance(value, int):
                    out[key] = ids.setdefault(value, len(ids) + 1)
                elif key == "file" and isinstance(value, str) and value in names:
                    if value not in files:
                        suffix = Path(value).suffix
                        files[value] = f"{len(files) + 1}{suffix}"
                    out[key] = files[value]
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    canonical_schema = walk(schema)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as out:
        _write_entry(out, "schema.json",
                     json.dumps(canonical_schema, sort_keys=True, separators=(",", ":")).encode())
        for old, new in files.items():
            _write_entry(out, new, src.read(old))
    return buf.getvalue()


def _write_entry(archive: zipfile.ZipFile, name: str, payload: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    archive.writestr(info, payload)


def dumps(model: Any) -> bytes:
    """A fitted model as canonical skops bytes."""
    import skops.io as sio

    try:
        raw = sio.dumps(model)
    except Exception as exc:  # skops refuses objects it cannot represent without pickle
        raise ArtifactError(f"cannot save the model with skops: {type(exc).__name__}: {exc}",
                            hint="use estimators and functions from scikit-learn, numpy or "
                                 "scipy") from exc
    return canonicalize(raw)


def untrusted_types(data: bytes, *, source: str = "artifact") -> list[str]:
    """The types in an archive that skops does not trust by default."""
    import skops.io as sio

    try:
        return list(sio.get_untrusted_types(data=data))
    except Exception as exc:
        raise ArtifactError(f"{source}: corrupt model artifact ({type(exc).__name__}: {exc})",
                            hint="the file is not a skops archive") from exc


def is_trusted_type(name: str) -> bool:
    """Types from scikit-learn, numpy, scipy, and plain builtins are trusted."""
    if name in TRUSTED_BUILTINS:
        return True
    root = name.split(".", 1)[0]
    return root in TRUSTED_MODULE_ROOTS


def loads(data: bytes, *, source: str = "artifact") -> Any:
    """Load canonical (or plain) skops bytes, refusing any type outside the trusted set."""
    import skops.io as sio

    found = untrusted_types(data, source=source)
    refused = sorted(t for t in found if not is_trusted_type(t))
    if refused:
        shown = ", ".join(refused[:5]) + (f" and {len(refused) - 5} more" if len(refused) > 5
                                          else "")
        raise ArtifactError(f"{source}: refusing to load untrusted types: {shown}",
                            hint="artifacts may hold only scikit-learn, numpy and scipy types")
    try:
        return sio.loads(data, trusted=found)
    except ArtifactError:
        raise
    except Exception as exc:
        raise ArtifactError(f"{source}: corrupt model artifact ({type(exc).__name__}: {exc})")\
            from exc


def load(path: str | Path) -> Any:
    """Load an artifact file (see :func:`loads`); missing files are an ArtifactError."""
    p = Path(path)
    if not p.is_file():
        raise ArtifactError(f"{p}: model artifact not found")
    return loads(p.read_bytes(), source=str(p))
