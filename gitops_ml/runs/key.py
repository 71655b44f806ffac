"""The run key: which trained model a spec and its data name, known without reading a table.

``run key = sha256(canonical spec, data sha256s, factory file sha256, gitops-ml version,
training-relevant library versions)``. Same key, same model: ``train`` reuses the run instead
of fitting again, ``evaluate`` and ``drift`` find the run they belong beside, ``promote`` finds
the artifact a pull request evaluated, and ``report`` finds the records to render.

The data enter the key by their sha256. A pointer that names its sha256 costs nothing; a data
file in the repository (or a DVC output) is hashed, remembered by (size, mtime, inode) in the
data cache, so an unchanged file is read once. Only remote data whose pointer names no sha256
must be downloaded to be keyed, and :func:`run_key` does so only with ``fetch=True``; without,
it takes what that URI served when it was last downloaded into the cache.

Library versions are read from the installed distributions' metadata, not by importing the
libraries, so a cache hit costs no scikit-learn import.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitops_ml.errors import ConfigError, DataError, Location
from gitops_ml.util.frozen import replace
from gitops_ml.version import __version__

if TYPE_CHECKING:
    from gitops_ml.data.pointers import DataPointer
    from gitops_ml.project.spec import ModelSpec, ProjectConfig

# distribution name -> key in run.json's versions
TRAINING_LIBRARIES = {
    "scikit-learn": "sklearn",
    "numpy": "numpy",
    "scipy": "scipy",
    "pandas": "pandas",
    "skops": "skops",
}
# Roles whose data changes the model or its evaluation; 'current' feeds drift only.
KEYED_ROLES = ("train", "test")


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def library_versions() -> dict[str, str]:
    """gitops-ml, Python (major.minor) and the libraries that decide what training yields."""
    versions = {"gitops_ml": __version__,
                "python": f"{sys.version_info.major}.{sys.version_info.minor}"}
    for dist, key in TRAINING_LIBRARIES.items():
        versions[key] = _dist_version(dist)
    return versions


def compute_run_key(canonical_spec_hash: str, data_sha256: Mapping[str, str],
                    versions: Mapping[str, str], extra: Mapping[str, str] | None = None) -> str:
    """The run key. ``extra`` holds other inputs of the fit (a factory file's sha256)."""
    payload = {
        "canonical_spec_hash": canonical_spec_hash,
        "data": {role: data_sha256[role] for role in sorted(data_sha256)
                 if role in KEYED_ROLES},
        "versions": dict(sorted(versions.items())),
        "extra": dict(sorted((extra or {}).items())),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class RunKey:
    """A run key and everything it was computed from.

    ``pointers`` holds every data pointer of the spec; those of the keyed roles (train, test)
    carry the sha256 they were keyed by, so reading them later verifies that the bytes are
    still the keyed ones (and finds downloaded data in the cache instead of fetching it
    again)."""

    key: str
    spec: ModelSpec
    pointers: Mapping[str, DataPointer]
    data_sha256: Mapping[str, str]
    versions: Mapping[str, str]
    extra: Mapping[str, str]

    def __str__(self) -> str:
        return self.key


def factory_file(config: ProjectConfig, spec: ModelSpec) -> tuple[Path, str]:
    """The file and function name of the spec's ``estimator.factory`` (``path.py:func``)."""
    assert spec.estimator.factory is not None
    rel, func = spec.estimator.factory.rsplit(":", 1)
    where = Location(spec.file) if spec.file else None
    path = config.check_inside(config.resolve(rel), "the factory file", where,
                               repo_only=True)  # code that train runs: the repository's own
    if not path.is_file():
        raise ConfigError(f"factory file not found: {rel}", location=where,
                          key_path="estimator.factory")
    return path, func


def run_key(config: ProjectConfig, spec: ModelSpec, *, fetch: bool = True) -> RunKey:
    """The run key of ``spec`` with its data as the pointers name it now.

    Reads pointer files, and hashes local data (remembered by stat). Remote data whose pointer
    names no sha256 is downloaded into the data cache when ``fetch`` is true (what it serves
    now is what a training uses). With ``fetch=False`` (finding records to render) it is keyed
    by what it served when it was last downloaded here, and is a
    :class:`~gitops_ml.errors.DataError` when it never was; nothing is downloaded."""
    from gitops_ml.data.cache import last_download, materialize
    from gitops_ml.data.pointers import spec_pointers
    from gitops_ml.util.hashing import sha256_file

    pointers = dict(spec_pointers(config, spec))
    if "train" not in pointers:
        raise ConfigError("the spec has no training data",
                          location=Location(spec.file) if spec.file else None)
    shas: dict[str, str] = {}
    for role in KEYED_ROLES:
        pointer = pointers.get(role)
        if pointer is None:
            continue
        sha = pointer.sha256
        if sha is None and pointer.is_remote and not fetch:
            sha = last_download(config, pointer.uri)
            if sha is None:
                raise DataError(
                    f"the run key of {spec.name} needs the sha256 of its {role} data "
                    f"{pointer.uri}: its pointer names none, and it was never downloaded "
                    "here", location=pointer.location,
                    hint="write a pointer with its sha256 ('gitops-ml data add'), train "
                         "first, or name the records to use")
        elif sha is None:
            sha = materialize(config, pointer).sha256
        if pointer.sha256 is None:
            pointers[role] = replace(pointer, sha256=sha)
        shas[role] = sha
    extra: dict[str, str] = {}
    if spec.estimator.factory is not None:
        path, _ = factory_file(config, spec)
        extra["factory_sha256"] = sha256_file(path)
    versions = library_versions()
    key = compute_run_key(spec.canonical_hash(), shas, versions, extra)
    return RunKey(key, spec, pointers, shas, versions, extra)
