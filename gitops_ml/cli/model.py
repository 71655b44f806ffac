"""Model commands: train and evaluate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from gitops_ml.cli._app import common_options, emit, state
from gitops_ml.errors import ExitCode, GatesFailed
from gitops_ml.util.numbers import number

if TYPE_CHECKING:
    from gitops_ml import EvaluationResult, TrainResult


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1000  # type: ignore[assignment]
    return f"{n} B"


def train_text(result: TrainResult) -> str:
    rec = result.record
    head = f"{result.model}: {result.note}"
    if not result.reused:
        head += f" in {_seconds(result.timings.get('total_s'))} " \
                f"(fit {_seconds(result.timings.get('fit_s'))})"
    rows = ", ".join(f"{role} {n:,}" for role, n in result.rows.items())
    lines = [
        head,
        f"  artifact  sha256:{result.artifact_sha256}  ({_size(rec.artifact.get('size'))})",
        f"  rows      {rows}",
        f"  run key   {result.run_key}",
        f"  run file  {result.run_file}",
    ]
    lines.extend(f"  warning   {w}" for w in result.warnings)
    return "\n".join(lines)


def _fmt(v: Any, signed: bool = False) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        v = float(v)  # metric columns line up: 5 is 5.0000
    return number(v, fixed=True, signed=signed, missing="-")


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]


def evaluate_text(result: EvaluationResult, listed: tuple[str, ...]) -> str:
    champ = result.champion
    who = "none (first model)" if champ is None else \
        (champ.version or champ.source or (champ.run_key or "")[:12])
    lines = [f"{result.model}: run {result.run_key[:12]}"
             f"{' (reused)' if result.train.reused else ''}, {result.test_rows:,} test rows, "
             f"champion: {who}"]
    header = ["metric", "value"]
    if champ is not None:
        header += ["champion", "delta", f"{'CI':>4}"]
    rows = [header]
    for name in listed:
        row = [name, _fmt(result.metrics.get(name))]
        if champ is not None:
            d = result.deltas.get(name)
            row.append(_fmt((result.champion_metrics or {}).get(name)))
            row.append(_fmt(d.delta if d else None, signed=True))
            ci = f"[{_fmt(d.ci_low, True)}, {_fmt(d.ci_high, True)}]" if d and d.n_boot else "-"
            row.append(ci)
        rows.append(row)
    lines += _table(rows)
    others = [k for k, v in result.metrics.items() if k not in listed and v is not None]
    if others:
        lines.append("  also: " + ", ".join(f"{k} {result.metrics[k]:.4f}" for k in others))
    if result.gates:
        lines.append("gates")
        for g in result.gates:
            mark = "skip" if g.skipped else ("pass" if g.passed else "FAIL")
            note = f"  ({g.note})" if g.note else ""
            lines.append(f"  {mark:<4}  {g.gate}: {_fmt(g.value)}{note}")
    from gitops_ml import fairness_label

    for attr, fair in result.fairness.items():
        diffs = ", ".join(
            f"{fairness_label(k)} {_fmt(v)}"
            + (f" (class {fair.worst_class[k]})" if k in fair.worst_class else "")
            for k, v in fair.differences.items())
        lines.append(f"fairness by {attr} ({fair.method}): {diffs}")
        rows = [["group", "count", *(fairness_label(c) for c in fair.columns)]]
        for grp in fair.groups:
            rows.append([grp.group, str(grp.count), *(_fmt(grp.get(c)) for c in fair.columns)])
        lines += _table(rows, indent="    ")
    lines.extend(f"note: {n}" for n in result.notes)
    verdict = "gates passed" if result.gates_passed else \
        f"gates FAILED (exit code {ExitCode.GATES_FAILED})"
    lines.append(f"{verdict}; evaluation written to {result.out_file or result.evaluation_file}")
    return "\n".join(lines)


def gates_failed(model: str, gates: Sequence[Any]) -> GatesFailed:
    """The verdict of a result whose gates failed, naming them."""
    names = [str(g.gate) for g in gates if g.passed is False and not g.skipped]
    return GatesFailed(f"{model}: gates failed: {', '.join(names) or 'see the result'}")


@click.command()
@click.argument("model")
@click.option("--force", is_flag=True, help="Train again even when the run key is cached.")
@common_options
def train(model: str, force: bool) -> None:
    """Train MODEL (a name or a spec path) from its spec.

    The run key hashes the canonical spec, the data, gitops-ml's and the training libraries'
    versions; when a run with that key is in the store it is reused, not fitted again.
    """
    from gitops_ml import train_model

    result = train_model(state().repo, model, force=force)
    emit(result, lambda: train_text(result))


@click.command()
@click.argument("model")
@click.option("--champion", metavar="PATH|RUN", help="Compare against this artifact file or "
              "run key (default: the model at the spec's promotion stage, if any).")
@click.option("--out", metavar="FILE", type=click.Path(dir_okay=False),
              help="Also write evaluation.json to FILE.")
@click.option("--bootstrap", metavar="N", type=click.IntRange(min=0, max=100_000),
              help="Paired bootstrap resamples for the deltas (default: the spec's).")
@common_options
def evaluate(model: str, champion: str | None, out: str | None, bootstrap: int | None) -> None:
    """Evaluate MODEL on its test data, against the champion, through its gates.

    Exit code 5 when a gate fails (the evaluation itself worked); other codes are errors.
    """
    from gitops_ml import evaluate_model

    result = evaluate_model(state().repo, model, champion=champion, bootstrap=bootstrap,
                            out=out)
    listed = result.listed_metrics
    emit(result, lambda: evaluate_text(result, listed),
         verdict=None if result.gates_passed else gates_failed(model, result.gates))
