"""The model card stored with every registered version (Markdown, from a Jinja2 template).

The template is ``gitops_ml/templates/model_card.md.j2``, rendered with ``StrictUndefined``:
the context below always holds every name the template uses (None or empty when unknown), so a
typo in the template fails loudly instead of rendering blanks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_ml.evaluate.fairness import table as fairness_table
from gitops_ml.util.numbers import number

TEMPLATE = "model_card.md.j2"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _num(value: Any) -> Any:
    """Numbers to 4 significant digits; everything else unchanged."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(f"{value:.4g}") if isinstance(value, float) else value
    return value


NONE = "—"


def _text(value: Any) -> str:
    """A value as a card shows it: 4 significant digits, "—" when there is none, yes/no for a
    boolean (never ``None``, ``True`` or a Python repr)."""
    if value is None or value == "":
        return NONE
    if isinstance(value, bool | float):
        return number(value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {_text(v)}" for k, v in value.items()) or NONE
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) or NONE
    return str(value)


def _signed(value: Any) -> str:
    """A difference with its sign ("+0.0123", "-0.002"); "—" when there is none."""
    value = _num(value)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return _text(value)
    return number(value, signed=True)


def bounds_text(threshold: Any) -> str:
    """A gate's bounds as people read them: "≥ 0.95", "≤ 0.1", "drop ≤ 0.01 vs champion",
    "relative gain ≥ 0.02 vs champion"; a bare number as itself; "—" when none."""
    if not isinstance(threshold, dict):
        return _text(threshold)
    rel = "relative " if threshold.get("relative") else ""
    parts = []
    for key, words in (("min", "≥ {}"), ("max", "≤ {}"),
                       ("max_drop", rel + "drop ≤ {} vs champion"),
                       ("min_gain", rel + "gain ≥ {} vs champion")):
        if threshold.get(key) is not None:
            parts.append(words.format(_text(threshold[key])))
    return ", ".join(parts) or NONE


def _code(value: Any) -> str:
    """A code span, or "—" (not in a code span) when there is no value."""
    return NONE if value is None or value == "" else f"`{value}`"


@dataclass(frozen=True)
class CardInputs:
    """What a card is made of: the manifest, the run record and the evaluation/drift files."""

    manifest: dict[str, Any]
    run: dict[str, Any]
    evaluation: dict[str, Any] | None = None
    drift: dict[str, Any] | None = None
    description: str = ""
    sensitive: tuple[str, ...] = ()
    confidence: float = 0.95
    limitations: tuple[str, ...] = ()


def context(inputs: CardInputs) -> dict[str, Any]:
    m, run, ev = inputs.manifest, inputs.run, inputs.evaluation or {}
    deltas = ev.get("deltas") or {}
    metrics = []
    for name, value in (ev.get("metrics") or {}).items():
        d = deltas.get(name) or {}
        low, high = d.get("ci_low"), d.get("ci_high")
        metrics.append({"name": name, "value": _text(value),
                        "delta": "" if d.get("delta") is None else _signed(d.get("delta")),
                        "ci": "" if low is None or high is None
                        else f"{_signed(low)} to {_signed(high)}"})
    gates = [{"gate": _text(g.get("gate") or g.get("subject")),
              "value": _text(g.get("value")),
              "threshold": bounds_text(g.get("threshold")),
              "result": "skipped" if g.get("skipped") else "passed" if g.get("passed") is True
              else "**failed**" if g.get("passed") is False else "unknown",
              "note": _text(g.get("note")) if g.get("note") else ""}
             for g in (ev.get("gates") or []) if isinstance(g, dict)]
    fairness = []
    for attr, f in (ev.get("fairness") or {}).items():
        t = fairness_table(attr, f)
        fairness.append((attr, {
            "method_note": t.method_note,
            "differences": [{"label": label, "value": _text(v),
                             "worst_class": cls} for _, label, v, cls in t.differences],
            "columns": [label for _, label in t.columns],
            "groups": [{"group": _text(g.get("group")), "count": _text(g.get("count")),
                        "cells": [_text(g.get(c)) for c, _ in t.columns]}
                       for g in t.groups]}))
    drift = None
    if inputs.drift:
        dr = inputs.drift
        drift = {"drifted": _text(dr.get("number_of_drifted_columns")),
                 "columns": len(dr.get("columns") or []),
                 "share": _text(dr.get("share_of_drifted_columns")),
                 "dataset_drift": _text(bool(dr.get("dataset_drift")))}
    champion = ev.get("champion") or None
    artifact = run.get("artifact") or m.get("artifact") or {}
    data = sorted((str(role), {"uri": _code(d.get("uri")),
                               "sha256": _code((d.get("sha256") or "")[:16] or None),
                               "rows": _text(d.get("rows"))})
                  for role, d in (run.get("data") or {}).items() if isinstance(d, dict))
    split_rec = run.get("split")
    split = None
    if isinstance(split_rec, dict):
        split = {"test_size": _text(split_rec.get("test_size")),
                 "seed": _text(split_rec.get("seed"))}
    features = list(run.get("features") or [])
    return {
        "model": _text(m.get("model") or run.get("model")),
        "version": m.get("version"),
        "stage": m.get("stage"),
        "task": _text(run.get("task")),
        "estimator": run.get("estimator") or "unknown",
        "artifact_sha256": _code(artifact.get("sha256")),
        "artifact_format": artifact.get("format") or "skops",
        "run_key": _code(run.get("run_key") or m.get("run_key")),
        "created_at": _text(m.get("created_at")),
        "description": inputs.description.strip(),
        "features": features,
        "target": _code(run.get("target")),
        "sensitive": list(inputs.sensitive),
        "sensitive_used": any(s in features for s in inputs.sensitive),
        "data": data,
        "split": split,
        "metrics": metrics,
        "confidence": inputs.confidence,
        "champion": (champion.get("version") or (champion.get("run_key") or "")[:12])
        if champion else None,
        "gates": gates,
        "forced": bool(m.get("forced")),
        "fairness": fairness,
        "drift": drift,
        "train_sha256": ((run.get("data") or {}).get("train") or {}).get("sha256"),
        "limitations": list(inputs.limitations),
        "trained_commit": (run.get("git") or {}).get("commit"),
        "merge_sha": m.get("merge_sha"),
        "pr": m.get("pr"),
        "head_sha": m.get("head_sha"),
        "actor": _text(m.get("actor")),
        "spec_file": _code(run.get("spec_file") or m.get("spec_file")),
        "spec_hash": _code((run.get("spec_hash") or m.get("spec_hash") or "")[:16] or None),
        "versions": [f"{k} {_text(v)}" for k, v in sorted((run.get("versions") or {}).items())],
        "retrained": bool(m.get("retrained")),
    }


def render(inputs: CardInputs) -> str:
    """The card as Markdown."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             undefined=jinja2.StrictUndefined, autoescape=False,
                             keep_trailing_newline=True)
    env.filters["code"] = lambda s: f"`{s}`"
    text = env.get_template(TEMPLATE).render(**context(inputs))
    return text.strip() + "\n"

