"""The run records: ``run.json``, ``evaluation.json`` and ``drift.json``.

Each record is a frozen dataclass that writes its file (``to_json``) and reads it back
(``from_json``): the writer and every reader share one type. Each file carries a
``schema_version``; a reader takes the current version and every older one (see
``docs/reporting.md``, "Record schemas"), and refuses anything else with one line naming the
file.

Records are stored under their run key (:mod:`gitops_ml.runs.key`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from gitops_ml.data.checks import CheckResult
from gitops_ml.errors import ArtifactError, GitopsMLError
from gitops_ml.gates import GateResult, all_passed, checks_for, merge

RUN_SCHEMA_VERSION = 1
RUN_FILE = "run.json"
# 2: gates carry ``status`` and their bounds as an object; a max_drop gate's value is the drop
EVALUATION_SCHEMA_VERSION = 2
EVALUATION_FILE = "evaluation.json"
DRIFT_SCHEMA_VERSION = 2
DRIFT_FILE = "drift.json"


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- reading -------------------------------------------------------------------------------

R = TypeVar("R")


def _parse(data: bytes | str | Mapping[str, Any], what: str, versions: tuple[int, ...],
           build: Callable[[dict[str, Any], int], R], source: str,
           error: type[GitopsMLError]) -> R:
    """Decode a record: JSON object, a known ``schema_version``, then ``build(raw, version)``.
    Any other shape is one error naming ``source``."""
    try:
        raw = json.loads(data) if isinstance(data, bytes | str) else dict(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise error(f"{source}: cannot read {what}: {exc}") from None
    if not isinstance(raw, dict):
        raise error(f"{source}: {what} is not a JSON object")
    version = raw.get("schema_version")
    if version not in versions:
        raise error(f"{source}: unsupported {what} schema_version {version!r} (this gitops-ml "
                    f"reads {', '.join(map(str, versions))})",
                    hint="upgrade gitops-ml to read records written by a newer one")
    try:
        return build(raw, int(version))
    except GitopsMLError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise error(f"{source}: corrupt {what} ({type(exc).__name__}: {exc})") from None


def _dumps(payload: Mapping[str, Any]) -> bytes:
    """Indented JSON; NaN and infinities (undefined metrics) become null, numpy scalars
    plain numbers."""
    return (json.dumps(_plain(payload), indent=2, allow_nan=False) + "\n").encode()


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _plain(obj.item())
    return str(obj)


def _opt_float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _gates(record: Mapping[str, Any], version: int) -> tuple[GateResult, ...]:
    """The gates of a record; ``gates_passed``, when written, must agree with them."""
    raw = record.get("gates")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise ValueError("gates is not a list")
    gates = tuple(GateResult.from_dict(g, schema_version=version) for g in raw)
    stated = record.get("gates_passed")
    if stated is not None and bool(stated) != all_passed(gates):
        raise ValueError(f"gates_passed is {stated!r}, but its gates say otherwise")
    return gates


# --- run.json ------------------------------------------------------------------------------

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
    data: dict[str, dict[str, Any]]  # role -> {uri, sha256, rows}
    git: dict[str, Any]  # {commit, dirty, branch}
    versions: dict[str, str]
    timings: dict[str, float]
    artifact: dict[str, Any]  # {sha256, uri, size, format}
    estimator: str
    split: dict[str, Any] | None = None
    created_at: str = field(default_factory=utc_now)
    schema_version: int = RUN_SCHEMA_VERSION

    @property
    def artifact_sha256(self) -> str:
        return str(self.artifact["sha256"])

    @property
    def commit(self) -> str | None:
        """The commit the run trained at (None outside Git)."""
        return _opt_str(self.git.get("commit"))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["features"] = list(self.features)
        return {"schema_version": out.pop("schema_version"), **out}

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes | str | Mapping[str, Any], *, source: str = RUN_FILE,
                  error: type[GitopsMLError] = ArtifactError) -> RunRecord:
        def build(raw: dict[str, Any], version: int) -> RunRecord:
            raw = {k: v for k, v in raw.items() if k != "schema_version"}
            raw["features"] = tuple(str(f) for f in raw["features"])
            for key in ("data", "git", "versions", "timings", "artifact"):
                if not isinstance(raw[key], dict):
                    raise ValueError(f"{key} is not an object")
            record = cls(**raw, schema_version=version)
            record.artifact_sha256  # noqa: B018 - every reader needs it: fail here, not later
            return record

        return _parse(data, RUN_FILE, (RUN_SCHEMA_VERSION,), build, source, error)


# --- evaluation.json -----------------------------------------------------------------------

@dataclass(frozen=True)
class Delta:
    """A metric's difference to the champion's (model - champion), with its paired bootstrap
    interval (``n_boot`` 0: no interval)."""

    delta: float | None
    ci_low: float | None
    ci_high: float | None
    n_boot: int

    def to_dict(self) -> dict[str, Any]:
        return {"delta": self.delta, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "n_boot": self.n_boot}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Delta:
        return cls(_opt_float(raw.get("delta")), _opt_float(raw.get("ci_low")),
                   _opt_float(raw.get("ci_high")), int(raw.get("n_boot") or 0))


@dataclass(frozen=True)
class ChampionRecord:
    """The champion an evaluation compared against, and its metrics on the same rows."""

    version: str | None
    run_key: str | None
    artifact_sha256: str
    metrics: dict[str, float | None]
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "run_key": self.run_key,
                "artifact_sha256": self.artifact_sha256, "metrics": dict(self.metrics),
                "source": self.source}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ChampionRecord:
        return cls(_opt_str(raw.get("version")), _opt_str(raw.get("run_key")),
                   str(raw.get("artifact_sha256") or ""), _metrics(raw.get("metrics")),
                   str(raw.get("source") or ""))


@dataclass(frozen=True)
class Bootstrap:
    """How the deltas' intervals were drawn."""

    n_boot: int
    seed: int
    confidence: float
    method: str  # multinomial | poisson

    def to_dict(self) -> dict[str, Any]:
        return {"n_boot": self.n_boot, "seed": self.seed, "confidence": self.confidence,
                "method": self.method}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Bootstrap:
        return cls(int(raw["n_boot"]), int(raw["seed"]), float(raw["confidence"]),
                   str(raw["method"]))


def _metrics(raw: Any) -> dict[str, float | None]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("metrics is not an object")
    return {str(k): _opt_float(v) for k, v in raw.items()}


@dataclass(frozen=True)
class EvaluationRecord:
    """What ``evaluation.json`` holds. ``fairness``, ``confusion_matrix``, ``per_class`` and
    ``slices`` are kept as the JSON they are (see docs/train.md)."""

    model: str
    run_key: str
    task: str
    metrics: dict[str, float | None]
    gates: tuple[GateResult, ...]
    listed_metrics: tuple[str, ...] = ()
    champion: ChampionRecord | None = None
    bootstrap: Bootstrap | None = None
    deltas: dict[str, Delta] = field(default_factory=dict)
    confusion_matrix: dict[str, Any] | None = None
    per_class: list[dict[str, Any]] | None = None
    fairness: dict[str, dict[str, Any]] = field(default_factory=dict)
    test_rows: int = 0
    reused_run: bool = False
    artifact_sha256: str | None = None
    notes: tuple[str, ...] = ()
    slices: dict[str, Any] | None = None  # per-slice deltas against the champion
    schema_version: int = EVALUATION_SCHEMA_VERSION

    @property
    def gates_passed(self) -> bool:
        return all_passed(self.gates)

    @property
    def confidence(self) -> float | None:
        return self.bootstrap.confidence if self.bootstrap is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": EVALUATION_SCHEMA_VERSION,
            "model": self.model, "run_key": self.run_key, "task": self.task,
            "metrics": dict(self.metrics), "listed_metrics": list(self.listed_metrics),
            "champion": self.champion.to_dict() if self.champion is not None else None,
            "bootstrap": self.bootstrap.to_dict() if self.bootstrap is not None else None,
            "deltas": {k: d.to_dict() for k, d in self.deltas.items()},
            "gates": [g.to_dict() for g in self.gates],
            "gates_passed": self.gates_passed,
            "confusion_matrix": self.confusion_matrix, "per_class": self.per_class,
            "fairness": self.fairness, "test_rows": self.test_rows,
            "reused_run": self.reused_run, "artifact_sha256": self.artifact_sha256,
            "notes": list(self.notes), "slices": self.slices,
        }

    def to_json(self) -> bytes:
        return _dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes | str | Mapping[str, Any], *,
                  source: str = EVALUATION_FILE,
                  error: type[GitopsMLError] = ArtifactError) -> EvaluationRecord:
        """Schema 2, or schema 1 (gates without ``status``; a relative gate's value was the
        gain, read here as the drop the gate tests)."""
        def build(raw: dict[str, Any], version: int) -> EvaluationRecord:
            champion = raw.get("champion")
            bootstrap = raw.get("bootstrap")
            deltas = raw.get("deltas") or {}
            fairness = raw.get("fairness") or {}
            if not isinstance(deltas, dict) or not isinstance(fairness, dict):
                raise ValueError("deltas and fairness must be objects")
            return cls(
                model=str(raw["model"]), run_key=str(raw["run_key"]), task=str(raw["task"]),
                metrics=_metrics(raw.get("metrics")), gates=_gates(raw, version),
                listed_metrics=tuple(str(m) for m in raw.get("listed_metrics") or ()),
                champion=ChampionRecord.from_dict(champion) if champion else None,
                bootstrap=Bootstrap.from_dict(bootstrap) if bootstrap else None,
                deltas={str(k): Delta.from_dict(d) for k, d in deltas.items()},
                confusion_matrix=raw.get("confusion_matrix"), per_class=raw.get("per_class"),
                fairness={str(k): dict(v) for k, v in fairness.items()},
                test_rows=int(raw.get("test_rows") or 0),
                reused_run=bool(raw.get("reused_run")),
                artifact_sha256=_opt_str(raw.get("artifact_sha256")),
                notes=tuple(str(n) for n in raw.get("notes") or ()),
                slices=dict(raw["slices"]) if raw.get("slices") is not None else None,
                schema_version=version)

        return _parse(data, EVALUATION_FILE, (1, EVALUATION_SCHEMA_VERSION), build, source,
                      error)


# --- drift.json ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DataRef:
    """Which data was compared: its URI and sha256 when known, and its row count."""

    uri: str | None
    sha256: str | None
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "sha256": self.sha256, "rows": self.rows}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DataRef:
        return cls(_opt_str(raw.get("uri")), _opt_str(raw.get("sha256")),
                   int(raw.get("rows") or 0))


@dataclass(frozen=True)
class ColumnDrift:
    """The drift verdict for one column. ``score`` is None when the column could not be
    tested (``note`` says why)."""

    column: str
    kind: str
    method: str | None
    stattest_name: str | None
    score: float | None
    threshold: float | None
    drifted: bool
    reference_values: int  # non-null values compared
    current_values: int
    note: str | None = None

    @property
    def tested(self) -> bool:
        return self.score is not None

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, "method": self.method,
                "score": self.score, "threshold": self.threshold, "drifted": self.drifted,
                "stattest_name": self.stattest_name,
                "reference_values": self.reference_values,
                "current_values": self.current_values, "note": self.note}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ColumnDrift:
        return cls(str(raw["column"]), str(raw["kind"]), _opt_str(raw.get("method")),
                   _opt_str(raw.get("stattest_name")), _opt_float(raw.get("score")),
                   _opt_float(raw.get("threshold")), bool(raw["drifted"]),
                   int(raw.get("reference_values") or 0), int(raw.get("current_values") or 0),
                   _opt_str(raw.get("note")))


def check_from_dict(raw: Mapping[str, Any]) -> CheckResult:
    return CheckResult(name=str(raw["name"]), passed=bool(raw["passed"]),
                       message=str(raw.get("message") or ""), column=_opt_str(raw.get("column")),
                       severity=raw.get("severity") or "error", data=_opt_str(raw.get("data")),
                       examples=tuple(str(e) for e in raw.get("examples") or ()))


@dataclass(frozen=True)
class ChecksRecord:
    """The data checks of a drift run. The summary (counts, per-gate verdicts) is derived."""

    results: tuple[CheckResult, ...]
    reference_rows: int | None = None
    current_rows: int | None = None

    def gate_passed(self, subject: str) -> bool:
        return all(c.passed for c in checks_for(subject, self.results))

    @property
    def passed(self) -> bool:
        return self.gate_passed("data_checks")

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.results if not c.passed)

    def to_dict(self) -> dict[str, Any]:
        from gitops_ml.project.spec import CHECK_GATES

        failures = self.failures
        return {"passed": self.passed, "checks": len(self.results), "failed": len(failures),
                "errors": sum(1 for c in failures if c.severity == "error"),
                "warnings": sum(1 for c in failures if c.severity == "warning"),
                "gates": {g: self.gate_passed(g) for g in CHECK_GATES},
                "reference_rows": self.reference_rows, "current_rows": self.current_rows,
                "results": [c.to_dict() for c in self.results]}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ChecksRecord:
        results = raw.get("results")
        if not isinstance(results, list):
            raise ValueError("checks.results is not a list")
        ref, cur = raw.get("reference_rows"), raw.get("current_rows")
        return cls(tuple(check_from_dict(c) for c in results),
                   None if ref is None else int(ref), None if cur is None else int(cur))


class ColumnVerdicts:
    """What follows from a drift run's column verdicts and gates, for the engine's result and
    the record alike (both hold ``columns`` and ``gates``)."""

    columns: tuple[ColumnDrift, ...]
    gates: tuple[GateResult, ...]

    @property
    def tested_columns(self) -> tuple[ColumnDrift, ...]:
        """The columns a test ran on: the ones the share counts and Evidently's page shows
        (a column with no values on one side is a failed data check, not drift)."""
        return tuple(c for c in self.columns if c.tested)

    @property
    def number_of_drifted_columns(self) -> int:
        return sum(1 for c in self.columns if c.drifted)

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        return tuple(c.column for c in self.columns if c.drifted)

    @property
    def gates_passed(self) -> bool:
        return all_passed(self.gates)


@dataclass(frozen=True)
class DriftRecord(ColumnVerdicts):
    """What ``drift.json`` holds. The drift engine's :class:`DriftResult` writes it
    (``to_record``); evaluate, report, promote and lineage read it."""

    model: str | None
    reference: DataRef
    current: DataRef
    columns: tuple[ColumnDrift, ...]
    share_of_drifted_columns: float
    dataset_drift: bool
    drift_share: float
    gates: tuple[GateResult, ...] = ()
    target: ColumnDrift | None = None
    prediction: ColumnDrift | None = None
    checks: ChecksRecord | None = None
    report_html: str | None = None
    sampled_rows: int | None = None
    warnings: tuple[str, ...] = ()
    schema_version: int = DRIFT_SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": DRIFT_SCHEMA_VERSION, "model": self.model,
            "reference": self.reference.to_dict(), "current": self.current.to_dict(),
            "columns": [c.to_dict() for c in self.columns],
            "share_of_drifted_columns": self.share_of_drifted_columns,
            "number_of_drifted_columns": self.number_of_drifted_columns,
            "dataset_drift": self.dataset_drift, "drift_share": self.drift_share,
            "target": self.target.to_dict() if self.target else None,
            "prediction": self.prediction.to_dict() if self.prediction else None,
            "checks": self.checks.to_dict() if self.checks is not None else None,
            "report_html": self.report_html, "sampled_rows": self.sampled_rows,
            "warnings": list(self.warnings),
            "gates": [g.to_dict() for g in self.gates], "gates_passed": self.gates_passed,
        }

    def to_json(self) -> bytes:
        return _dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes | str | Mapping[str, Any], *, source: str = DRIFT_FILE,
                  error: type[GitopsMLError] = ArtifactError) -> DriftRecord:
        """Schema 2, or schema 1 (gates without ``status``, a threshold as text)."""
        def build(raw: dict[str, Any], version: int) -> DriftRecord:
            columns = raw.get("columns") or []
            if not isinstance(columns, list):
                raise ValueError("columns is not a list")
            checks, target, prediction = (raw.get(k) for k in ("checks", "target",
                                                                "prediction"))
            sampled = raw.get("sampled_rows")
            return cls(
                model=_opt_str(raw.get("model")),
                reference=DataRef.from_dict(raw["reference"]),
                current=DataRef.from_dict(raw["current"]),
                columns=tuple(ColumnDrift.from_dict(c) for c in columns),
                share_of_drifted_columns=float(raw["share_of_drifted_columns"]),
                dataset_drift=bool(raw["dataset_drift"]),
                drift_share=float(raw["drift_share"]),
                gates=_gates(raw, version),
                target=ColumnDrift.from_dict(target) if target else None,
                prediction=ColumnDrift.from_dict(prediction) if prediction else None,
                checks=ChecksRecord.from_dict(checks) if checks else None,
                report_html=_opt_str(raw.get("report_html")),
                sampled_rows=None if sampled is None else int(sampled),
                warnings=tuple(str(w) for w in raw.get("warnings") or ()),
                schema_version=version)

        return _parse(data, DRIFT_FILE, (1, DRIFT_SCHEMA_VERSION), build, source, error)


# --- the records of a run in the store -----------------------------------------------------

class RunFiles(Protocol):
    """The part of :class:`gitops_ml.runs.store.Store` that reads a run's files."""

    def has_run_file(self, run_key: str, name: str) -> bool: ...

    def read_run_file(self, run_key: str, name: str) -> bytes: ...

    def run_file_uri(self, run_key: str, name: str) -> str: ...


def read_run(store: RunFiles, run_key: str) -> RunRecord | None:
    if not store.has_run_file(run_key, RUN_FILE):
        return None
    return RunRecord.from_json(store.read_run_file(run_key, RUN_FILE),
                               source=store.run_file_uri(run_key, RUN_FILE))


def read_evaluation(store: RunFiles, run_key: str) -> EvaluationRecord | None:
    if not store.has_run_file(run_key, EVALUATION_FILE):
        return None
    return EvaluationRecord.from_json(store.read_run_file(run_key, EVALUATION_FILE),
                                      source=store.run_file_uri(run_key, EVALUATION_FILE))


def read_drift(store: RunFiles, run_key: str) -> DriftRecord | None:
    if not store.has_run_file(run_key, DRIFT_FILE):
        return None
    return DriftRecord.from_json(store.read_run_file(run_key, DRIFT_FILE),
                                 source=store.run_file_uri(run_key, DRIFT_FILE))


def run_gates(evaluation: EvaluationRecord | None,
              drift: DriftRecord | None) -> tuple[GateResult, ...]:
    """The gates of a run: evaluation.json's, with drift.json's verdicts merged in by gate
    identity (:func:`gitops_ml.gates.merge`)."""
    return merge(evaluation.gates if evaluation is not None else (),
                 drift.gates if drift is not None else ())
