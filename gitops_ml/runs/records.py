"""Run keys and run records (``run.json``).

``run key = sha256(canonical spec, data sha256s, gitops-ml version, training-relevant library
versions)``. Same key, same model: ``train`` reuses the run instead of fitting again, and
``promote`` finds the artifact a pull request evaluated by this key.

Library versions are read from the installed distributions' metadata, not by importing the
libraries, so a cache hit costs no scikit-learn import.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitops_ml import __version__
from gitops_ml.errors import ArtifactError

RUN_SCHEMA_VERSION = 1
RUN_FILE = "run.json"
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


def compute_run_key(canonical_spec_hash: str, data_sha256: dict[str, str],
                    versions: dict[str, str], extra: dict[str, str] | None = None) -> str:
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


def merged_gates(evaluation: dict[str, Any] | None,
                 drift: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The gates of evaluation.json and drift.json, once each. evaluate skips drift and check
    gates ("evaluated by drift"); drift.json's verdict on the same gate replaces the skip."""
    gates: dict[str, dict[str, Any]] = {}
    for record in (evaluation, drift):
        for gate in (record or {}).get("gates") or []:
            if not isinstance(gate, dict):
                continue
            key = json.dumps([gate.get("gate"), gate.get("kind"), gate.get("subject")],
                             default=str)
            if key in gates and not (gates[key].get("skipped") and not gate.get("skipped")):
                continue
            gates[key] = gate
    return list(gates.values())


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RunRecord:
    """What ``run.json`` holds (schema_version 1)."""

    run_key: str
    model: str
    spec_file: str
    spec_hash: str
    canonical_spec_hash: str
    task: str
    target: str
    features: tuple[str, ...]
    data: dict[str, dict[str, Any]]
    git: dict[str, Any]
    versions: dict[str, str]
    timings: dict[str, float]
    artifact: dict[str, Any]
    estimator: str
    split: dict[str, Any] | None = None
    created_at: str = field(default_factory=utc_now)
    schema_version: int = RUN_SCHEMA_VERSION

    @property
    def artifact_sha256(self) -> str:
        return str(self.artifact["sha256"])

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["features"] = list(self.features)
        return {"schema_version": out.pop("schema_version"), **out}

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes, *, source: str = RUN_FILE) -> RunRecord:
        try:
            raw = json.loads(data)
            version = raw.pop("schema_version", None)
            if version != RUN_SCHEMA_VERSION:
                raise ArtifactError(f"{source}: unsupported run record schema_version "
                                    f"{version!r}")
            raw["features"] = tuple(raw["features"])
            return cls(**raw)
        except ArtifactError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ArtifactError(f"{source}: corrupt run record ({exc})") from exc
