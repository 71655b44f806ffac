"""Run records (``run.json``), stored under their run key (:mod:`gitops_ml.runs.key`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitops_ml.errors import ArtifactError

RUN_SCHEMA_VERSION = 1
RUN_FILE = "run.json"


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
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise ArtifactError(f"{source}: corrupt run record ({exc})") from exc
