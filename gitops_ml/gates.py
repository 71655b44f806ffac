"""Quality gates: one result type, every verdict, one merge.

A spec's ``gates:`` are judged in two steps of a pull request: ``evaluate`` judges the metric
and fairness gates (and the drift and check gates when ``drift.json`` of the run is already
there), ``drift`` judges the drift and check gates. Both build :class:`GateResult` with the
functions below, and :func:`merge` joins the two lists by gate identity: a gate that one step
skipped and the other judged appears once, with the verdict.

This module needs no heavy import: the values it judges come in as plain numbers, and the
checks and drift verdicts as anything with the attributes of :class:`CheckLike` and
:class:`DriftLike` (the drift engine's results and the records read back from ``drift.json``
both qualify).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from gitops_ml.project.spec import LOWER_IS_BETTER, Gate

GateStatus = Literal["pass", "fail", "skip"]
STATUSES: tuple[GateStatus, ...] = ("pass", "fail", "skip")
KINDS = ("metric", "drift", "fairness", "check")
LEFT_TO_DRIFT = "evaluated by drift"


# --- the result ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Bounds:
    """What a gate allows: absolute bounds on the value, and relative ones against the
    champion (``max_drop``, ``min_gain``; ``relative``: as a fraction of the champion)."""

    min: float | None = None
    max: float | None = None
    max_drop: float | None = None
    min_gain: float | None = None
    relative: bool = False

    @classmethod
    def of(cls, gate: Gate) -> Bounds:
        return cls(gate.min, gate.max, gate.max_drop, gate.min_gain,
                   gate.relative and gate.is_relative_to_champion)

    @property
    def absolute(self) -> bool:
        return self.min is not None or self.max is not None

    @property
    def against_champion(self) -> bool:
        return self.max_drop is not None or self.min_gain is not None

    def to_dict(self) -> dict[str, Any]:
        """``{"min": 0.8}``, ``{"max_drop": 0.01, "relative": true}``: only what is set."""
        out: dict[str, Any] = {k: v for k, v in (("min", self.min), ("max", self.max),
                                                 ("max_drop", self.max_drop),
                                                 ("min_gain", self.min_gain))
                               if v is not None}
        if self.relative:
            out["relative"] = True
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Bounds:
        def num(key: str) -> float | None:
            value = raw.get(key)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"gate bound {key} is not a number: {value!r}")
            return float(value)

        return cls(num("min"), num("max"), num("max_drop"), num("min_gain"),
                   bool(raw.get("relative", False)))


@dataclass(frozen=True)
class GateResult:
    """One gate of a spec, judged.

    ``value`` is the quantity the gate tests: the metric for ``min``/``max``, the drop against
    the champion for ``max_drop``, the gain for ``min_gain``, the worst attribute's difference
    for a fairness gate, the drift share (or 1/0 for a drifted/undrifted flag), the number of
    failed checks. ``note`` is the human reason for the status.
    """

    gate: str  # the gate as a person reads it: "roc_auc ≥ 0.8", "data_checks"
    kind: str  # metric | drift | fairness | check
    subject: str  # the metric, drift measure, fairness measure or check the gate names
    value: float | None
    threshold: Bounds
    status: GateStatus
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    @property
    def skipped(self) -> bool:
        return self.status == "skip"

    @property
    def identity(self) -> tuple[str, str, Bounds]:
        """Which gate of the spec this is: two results with one identity are one gate."""
        return self.kind, self.subject, self.threshold

    def to_dict(self) -> dict[str, Any]:
        """The gate as ``evaluation.json`` and ``drift.json`` hold it. ``passed`` and
        ``skipped`` are derived from ``status`` (kept for readers of schema 1)."""
        value = self.value
        if value is not None and not math.isfinite(value):
            value = None
        return {"gate": self.gate, "kind": self.kind, "subject": self.subject, "value": value,
                "threshold": self.threshold.to_dict(), "status": self.status,
                "passed": self.passed, "skipped": self.skipped, "note": self.note}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, schema_version: int = 2) -> GateResult:
        """A gate as written by records of ``schema_version`` 2, or 1: no ``status``
        (``passed`` None or True when skipped), drift.json's threshold as text, and a
        relative gate's value the gain, where it is the drop now."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"a gate is not a JSON object: {raw!r}")
        kind, subject = str(raw["kind"]), str(raw["subject"])
        status = raw.get("status")
        if status is None:  # schema 1: passed (None or True when skipped) and skipped
            status = "skip" if raw.get("skipped") else ("pass" if raw.get("passed") else "fail")
        if status not in STATUSES:
            raise ValueError(f"gate status {status!r} is not one of {', '.join(STATUSES)}")
        for key, derived in (("passed", status == "pass"), ("skipped", status == "skip")):
            if "status" in raw and key in raw and bool(raw[key]) != derived:
                raise ValueError(f"gate {key}={raw[key]!r} contradicts its status {status!r}")
        threshold = raw.get("threshold")
        if isinstance(threshold, Mapping):
            bounds = Bounds.from_dict(threshold)
        elif isinstance(threshold, str):  # drift.json schema 1: the gate described
            bounds = _parse_bounds(threshold)
        elif threshold is None:
            bounds = Bounds()
        else:
            raise ValueError(f"gate threshold {threshold!r} is neither bounds nor text")
        value = raw.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"gate value is not a number: {value!r}")
        tested = None if value is None else float(value)
        if (schema_version < 2 and tested is not None and kind == "metric"
                and bounds.max_drop is not None and not bounds.absolute):
            tested = -tested
        label = str(raw.get("gate") or "").strip() or describe(subject, bounds)
        return cls(label, kind, subject, tested, bounds, status, str(raw.get("note") or ""))


_BOUND_TEXT = re.compile(r"(≥|≤) (-?[0-9.e+-]+|inf)")


def _parse_bounds(text: str) -> Bounds:
    """Bounds from schema 1's drift.json, where a drift gate's threshold is ``describe()``
    ("share_of_drifted_columns ≤ 0.3") and a check gate's is "pass"."""
    found = {sign: float(num) for sign, num in _BOUND_TEXT.findall(text)}
    return Bounds(min=found.get("≥"), max=found.get("≤"))


def describe(subject: str, bounds: Bounds) -> str:
    """A gate as a person reads it: ``roc_auc ≥ 0.8``, ``roc_auc drop ≤ 0.01 vs champion``."""
    parts = []
    if bounds.min is not None:
        parts.append(f"≥ {bounds.min:g}")
    if bounds.max is not None:
        parts.append(f"≤ {bounds.max:g}")
    unit = " (relative)" if bounds.relative else ""
    if bounds.max_drop is not None:
        parts.append(f"drop ≤ {bounds.max_drop:g}{unit} vs champion")
    if bounds.min_gain is not None:
        parts.append(f"gain ≥ {bounds.min_gain:g}{unit} vs champion")
    return f"{subject} {', '.join(parts)}" if parts else subject


def _result(gate: Gate, value: float | None, status: GateStatus, note: str) -> GateResult:
    bounds = Bounds.of(gate)
    return GateResult(describe(gate.subject, bounds), gate.kind, gate.subject, value, bounds,
                      status, note)


def skip(gate: Gate, note: str) -> GateResult:
    return _result(gate, None, "skip", note)


def _outside(bounds: Bounds, value: float) -> list[str]:
    """Why ``value`` breaks the absolute bounds (empty: it does not). NaN breaks both."""
    failed = []
    if bounds.min is not None and not value >= bounds.min:
        failed.append(f"{value:.4g} < min {bounds.min:g}")
    if bounds.max is not None and not value <= bounds.max:
        failed.append(f"{value:.4g} > max {bounds.max:g}")
    return failed


# --- judging -------------------------------------------------------------------------------

def judge_value(gate: Gate, value: float | None, note: str = "") -> GateResult:
    """A gate with absolute bounds on one value (fairness, drift, a count of failed checks).
    No value: skipped, ``note`` says why."""
    if value is None:
        return skip(gate, note)
    failed = _outside(Bounds.of(gate), value)
    return _result(gate, value, "fail" if failed else "pass",
                   "; ".join([*failed, note] if note else failed))


def judge_metric(gate: Gate, metrics: Mapping[str, float | None],
                 champion_metrics: Mapping[str, float | None] | None) -> GateResult:
    """A metric gate: ``min``/``max`` on the metric, ``max_drop``/``min_gain`` against the
    champion's value of it (gain > 0 is better, whichever way the metric points). Without a
    champion the relative part is skipped (and the gate, when it has nothing else)."""
    name = gate.subject
    bounds = Bounds.of(gate)
    value = metrics.get(name)
    if value is None or math.isnan(value):
        return _result(gate, None, "fail", f"metric {name} could not be computed")
    failed = _outside(bounds, value)
    notes: list[str] = []
    tested: float | None = value
    if bounds.against_champion:
        champ = (champion_metrics or {}).get(name)
        if champ is None or math.isnan(champ):
            why = ("no champion: comparison skipped" if champion_metrics is None
                   else f"champion has no {name}: comparison skipped")
            if not bounds.absolute:
                return _result(gate, None, "skip", why)
            notes.append(why)
        else:
            gain = value - champ if name not in LOWER_IS_BETTER else champ - value
            if bounds.relative:
                gain = gain / abs(champ) if champ != 0 else (
                    0.0 if gain == 0 else math.copysign(math.inf, gain))
            unit = " (relative)" if bounds.relative else ""
            if bounds.max_drop is not None and not -gain <= bounds.max_drop:
                failed.append(f"drop {-gain:.4g}{unit} > max_drop {bounds.max_drop:g}")
            if bounds.min_gain is not None and not gain >= bounds.min_gain:
                failed.append(f"gain {gain:.4g}{unit} < min_gain {bounds.min_gain:g}")
            notes.append(f"{value:.4g} vs champion {champ:.4g}: gain {gain:+.4g}{unit}")
            if not bounds.absolute:  # the value is what the gate tests
                tested = -gain if bounds.max_drop is not None else gain
    return _result(gate, tested, "fail" if failed else "pass", "; ".join(failed + notes))


class Drifted(Protocol):
    @property
    def drifted(self) -> bool: ...


class DriftLike(Protocol):
    """What drift gates read: the drift engine's result or the record of drift.json."""

    @property
    def share_of_drifted_columns(self) -> float: ...

    @property
    def dataset_drift(self) -> bool: ...

    @property
    def target(self) -> Drifted | None: ...

    @property
    def prediction(self) -> Drifted | None: ...


def drift_value(drift: DriftLike, subject: str) -> tuple[float | None, str]:
    """The value a drift gate tests (flags count 1 when drifted), or None and why not."""
    if subject == "share_of_drifted_columns":
        return float(drift.share_of_drifted_columns), ""
    if subject == "dataset_drift":
        return float(drift.dataset_drift), ""
    part = drift.target if subject == "target_drift" else drift.prediction
    if part is None:
        return None, ("skipped: the target is not in both datasets" if subject == "target_drift"
                      else "skipped: no model was given (--model-artifact)")
    return float(part.drifted), ""


def judge_drift(gate: Gate, drift: DriftLike | None) -> GateResult:
    """A ``drift:`` gate. Without a drift result (evaluate before drift): skipped."""
    if drift is None:
        return skip(gate, LEFT_TO_DRIFT)
    value, why = drift_value(drift, gate.subject)
    return judge_value(gate, value, why)


class CheckLike(Protocol):
    """One data check: :class:`gitops_ml.data.checks.CheckResult` or its record."""

    @property
    def name(self) -> str: ...

    @property
    def passed(self) -> bool: ...

    @property
    def severity(self) -> str: ...

    @property
    def message(self) -> str: ...


def checks_for(subject: str, checks: Iterable[CheckLike]) -> list[CheckLike]:
    """The checks a ``check:`` gate looks at: ``data_checks`` every check of severity error,
    any other name the checks of that name."""
    if subject == "data_checks":
        return [c for c in checks if c.severity == "error"]
    return [c for c in checks if c.name == subject]


def judge_check(gate: Gate, checks: Sequence[CheckLike] | None) -> GateResult:
    """A ``check:`` gate: passes when none of its checks failed, or (with ``min``/``max``)
    when the number that failed is within the bounds. Without checks: skipped."""
    if checks is None:
        return skip(gate, LEFT_TO_DRIFT)
    relevant = checks_for(gate.subject, checks)
    failed = [c for c in relevant if not c.passed]
    count = float(len(failed))
    note = "; ".join(c.message for c in failed[:3])
    if Bounds.of(gate).absolute:
        return judge_value(gate, count, note)
    if not note:
        note = f"{len(relevant)} check(s) passed" if relevant else "no check of this kind ran"
    return _result(gate, count, "fail" if failed else "pass", note)


# --- many gates -----------------------------------------------------------------------------

def merge(*lists: Iterable[GateResult]) -> tuple[GateResult, ...]:
    """The gates of several steps, once each, in first-seen order. A later verdict on the
    same gate (same kind, subject and bounds) replaces an earlier one unless it is a skip:
    drift's verdict replaces evaluate's "evaluated by drift", a skip never hides a verdict."""
    merged: dict[tuple[str, str, Bounds], GateResult] = {}
    for gates in lists:
        for gate in gates:
            seen = merged.get(gate.identity)
            if seen is None or not gate.skipped:
                merged[gate.identity] = gate
    return tuple(merged.values())


def all_passed(gates: Iterable[GateResult]) -> bool:
    """No gate failed (skipped gates do not fail)."""
    return not any(g.failed for g in gates)


def outcome(gates: Sequence[GateResult]) -> Literal["passed", "failed", "none"]:
    """``none`` when no gate was judged, else ``failed`` when one failed, else ``passed``."""
    if not gates:
        return "none"
    return "passed" if all_passed(gates) else "failed"
