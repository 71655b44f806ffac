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

TEMPLATE = "model_card.md.j2"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _num(value: Any) -> Any:
    """Numbers to 4 significant digits; everything else unchanged."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(f"{value:.4g}") if isinstance(value, float) else value
    return value


def _text(value: Any) -> str:
    """A figure as a card shows it: 4 significant digits, "—" when there is none (never
    ``None``)."""
    value = _num(value)
    return "—" if value is None else str(value)


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
        metrics.append({"name": name, "value": _num(value), "delta": _num(d.get("delta")),
                        "ci_low": _num(d.get("ci_low")), "ci_high": _num(d.get("ci_high"))})
    gates = [{"gate": g.get("gate"), "value": _num(g.get("value")),
              "threshold": _num(g.get("threshold")), "passed": bool(g.get("passed")),
              "skipped": bool(g.get("skipped"))} for g in (ev.get("gates") or [])]
    fairness = []
    for attr, f in (ev.get("fairness") or {}).items():
        t = fairness_table(attr, f)
        fairness.append((attr, {
            "method_note": t.method_note,
            "differences": [{"label": label, "value": _text(v),
                             "worst_class": cls} for _, label, v, cls in t.differences],
            "columns": [label for _, label in t.columns],
            "groups": [{"group": g.get("group"), "count": g.get("count"),
                        "cells": [_text(g.get(c)) for c, _ in t.columns]}
                       for g in t.groups]}))
    drift = None
    if inputs.drift:
        dr = inputs.drift
        drift = {"drifted": dr.get("number_of_drifted_columns"),
                 "columns": len(dr.get("columns") or []),
                 "share": _num(dr.get("share_of_drifted_columns")),
                 "dataset_drift": bool(dr.get("dataset_drift"))}
    champion = ev.get("champion") or None
    artifact = run.get("artifact") or m.get("artifact") or {}
    data = sorted((role, {"uri": d.get("uri"), "sha256": d.get("sha256"), "rows": d.get("rows")})
                  for role, d in (run.get("data") or {}).items())
    features = list(run.get("features") or [])
    return {
        "model": m.get("model") or run.get("model"),
        "version": m.get("version"),
        "stage": m.get("stage"),
        "task": run.get("task"),
        "estimator": run.get("estimator") or "unknown",
        "artifact_sha256": artifact.get("sha256"),
        "artifact_format": artifact.get("format") or "skops",
        "run_key": run.get("run_key") or m.get("run_key"),
        "created_at": m.get("created_at"),
        "description": inputs.description.strip(),
        "features": features,
        "target": run.get("target"),
        "sensitive": list(inputs.sensitive),
        "sensitive_used": any(s in features for s in inputs.sensitive),
        "data": data,
        "split": run.get("split"),
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
        "actor": m.get("actor"),
        "spec_file": run.get("spec_file") or m.get("spec_file"),
        "spec_hash": run.get("spec_hash") or m.get("spec_hash"),
        "versions": [f"{k} {v}" for k, v in sorted((run.get("versions") or {}).items())],
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
