"""The ``drift`` and ``monitor`` verbs: find the data, check it, compute drift, evaluate gates,
render the Evidently report and write ``drift.json``.

:mod:`gitops_ml.drift.stats` holds the verdict engine; this module only wires it to specs, data
pointers, the model artifact, the store and the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops_ml import gates
from gitops_ml.data.categorical import categorical_columns, normalise_spec
from gitops_ml.data.checks import ChecksResult, run_checks
from gitops_ml.drift import stats as engine
from gitops_ml.drift.stats import CATEGORICAL, NUMERICAL, DriftResult
from gitops_ml.errors import ConfigError, DataCheckError, Location, OutputError, TrainingError
from gitops_ml.gates import GateResult
from gitops_ml.project.spec import ModelSpec, ProjectConfig
from gitops_ml.runs.records import DRIFT_FILE, ColumnDrift, DataRef
from gitops_ml.util.numbers import number

if TYPE_CHECKING:
    import pandas as pd

BLOCKING_CHECKS = ("empty_data", "missing_columns")


# --- gates -------------------------------------------------------------------------------

def judge_gates(spec: ModelSpec, result: DriftResult) -> tuple[GateResult, ...]:
    """The spec's ``drift:`` and ``check:`` gates against a drift result (see
    :mod:`gitops_ml.gates`; metric and fairness gates are evaluate's)."""
    checks = result.checks.checks if result.checks is not None else None
    return tuple(gates.judge_drift(g, result) if g.kind == "drift" else gates.judge_check(g, checks)
                 for g in spec.gates if g.kind in ("drift", "check"))


# --- data ----------------------------------------------------------------------------------

def spec_kinds(spec: ModelSpec) -> dict[str, str]:
    kinds = {c: NUMERICAL for c in spec.features.numeric}
    kinds.update({c: CATEGORICAL for c in categorical_columns(spec)})
    kinds[spec.target] = CATEGORICAL if spec.task == "classification" else NUMERICAL
    return kinds


def load_table(config: ProjectConfig, ref: Any, spec: ModelSpec,
               columns: list[str]) -> tuple[pd.DataFrame, DataRef]:
    """Read a data ref (pointer file, .dvc, data path, URI or inline pointer): only the spec's
    columns that the file has (missing ones are reported by the checks)."""
    from gitops_ml.data.cache import materialize
    from gitops_ml.data.pointers import resolve
    from gitops_ml.data.tables import read_header, read_table

    pointer = resolve(config, ref, spec=spec)
    local = materialize(config, pointer)
    header = read_header(local.path, local.format)
    present = [c for c in dict.fromkeys(columns) if c in header]
    frame = read_table(local.path, local.format, columns=present)
    return frame, DataRef(pointer.uri, local.sha256, len(frame))


def _training_data(config: ProjectConfig, spec: ModelSpec
                   ) -> tuple[pd.DataFrame, pd.DataFrame, DataRef, DataRef, str]:
    """The data the model was trained on and its test data (split as training splits it)."""
    from gitops_ml.runs.key import run_key
    from gitops_ml.train import read_datasets

    key = run_key(config, spec)
    sets = read_datasets(config, key, tuple(spec.schema_))
    tr, te = key.pointers["train"], key.pointers.get("test")
    ref = DataRef(tr.uri, key.data_sha256["train"], len(sets.train))
    if te is not None:
        cur = DataRef(te.uri, key.data_sha256["test"], len(sets.test))
    else:
        cur = DataRef(tr.uri + " (test split)", key.data_sha256["train"], len(sets.test))
    return sets.train, sets.test, ref, cur, key.key


def _check_blocking(checks: ChecksResult) -> None:
    for check in checks.failures:
        if check.name in BLOCKING_CHECKS and check.severity == "error":
            raise DataCheckError(check.message,
                                 hint="the reference and the current data need every feature "
                                      "of the spec and at least one row")


def _check_settings(spec: ModelSpec) -> None:
    """drift.columns must name a feature, the target, or 'prediction'."""
    from gitops_ml.project.typed_yaml import did_you_mean

    known = [*spec.features.model_inputs, spec.target, "prediction"]
    for name in spec.drift.columns:
        if name not in known:
            raise ConfigError(f"drift.columns names '{name}', which is not a feature, the "
                              "target or 'prediction'",
                              location=Location(spec.file) if spec.file else None,
                              hint=did_you_mean(name, known) or "features: "
                              + ", ".join(spec.features.model_inputs))


def _predictions(model: Any, frame: pd.DataFrame, spec: ModelSpec, side: str) -> Any:
    import pandas as pd

    try:
        values = model.predict(frame[list(spec.features.model_inputs)])
    except Exception as exc:
        raise TrainingError(f"the model cannot predict on the {side} data: "
                            f"{type(exc).__name__}: {exc}") from exc
    return pd.Series(values, name="prediction")


# --- the verbs ---------------------------------------------------------------------------

def run_drift(config: ProjectConfig, spec: ModelSpec, *, reference: Any = None,
              current: Any = None, model_artifact: str | Path | None = None,
              html: str | Path | None = None, out: str | Path | None = None,
              write_store: bool = True) -> DriftResult:
    """Drift of the current data against the reference for a model, with data checks, gates,
    optionally prediction drift and the Evidently HTML report; writes drift.json to ``out``
    and (when the model's run is known) into the store beside the run."""
    # everything the checks look at: features, target, sensitive attributes, contract columns
    columns = list(dict.fromkeys((*spec.features.model_inputs, spec.target,
                                  *spec.features.sensitive, *spec.schema_)))
    run_key = None
    reference_is_training = reference is None
    if reference is None or current is None:
        use_default_current = current is None and spec.data.current is None
        if reference is None or use_default_current:
            tr, te, tr_ref, te_ref, run_key = _training_data(config, spec)
            if reference is None:
                ref_df, ref_ref = tr, tr_ref
            if use_default_current:
                cur_df, cur_ref = te, te_ref
        if current is None and spec.data.current is not None:
            current = spec.data.current
    if reference is not None:
        ref_df, ref_ref = load_table(config, reference, spec, columns)
    if current is not None:
        cur_df, cur_ref = load_table(config, current, spec, columns)
    result = compare(spec, ref_df, cur_df, ref_ref, cur_ref, model_artifact=model_artifact,
                     html=html)
    # drift.json belongs beside the run only when it compares against that run's training data
    keep = write_store and reference_is_training
    return write_result(config, result, out=out, run_key=run_key if keep else None)


def compare(spec: ModelSpec, ref_df: pd.DataFrame, cur_df: pd.DataFrame, ref_ref: DataRef,
            cur_ref: DataRef, *, model_artifact: str | Path | None = None,
            html: str | Path | None = None) -> DriftResult:
    """Checks, drift, prediction drift, HTML and gates for two frames of a spec's data."""
    _check_settings(spec)
    # categories as labels once, for the checks, the tests, the model and the HTML alike
    ref_df, cur_df = normalise_spec(spec, ref_df), normalise_spec(spec, cur_df)
    checks = run_checks(spec, ref_df, cur_df)
    _check_blocking(checks)
    kinds = spec_kinds(spec)
    has_target = spec.target in ref_df.columns and spec.target in cur_df.columns
    result = engine.detect_drift(
        ref_df, cur_df, columns=list(spec.features.model_inputs), kinds=kinds,
        settings=spec.drift, target=spec.target if has_target else None,
        target_kind=kinds[spec.target], reference_ref=ref_ref, current_ref=cur_ref)
    prediction = None
    if model_artifact is not None:
        from gitops_ml.runs import artifacts

        model = artifacts.load(model_artifact)
        kind = CATEGORICAL if spec.task == "classification" else NUMERICAL
        method, threshold = engine.column_settings(spec.drift, "prediction")
        prediction = engine.column_drift(
            "prediction", _predictions(model, ref_df, spec, "reference"),
            _predictions(model, cur_df, spec, "current"), kind, method=method,
            threshold=threshold)
    warnings = list(result.warnings)
    if not has_target:
        warnings.append(f"no target drift: '{spec.target}' is not in both datasets")
    result = replace(result, prediction=prediction, checks=checks, model=spec.name,
                     warnings=tuple(warnings))
    if html is not None:
        from gitops_ml.drift.evidently_html import render_html

        report = render_html(ref_df, cur_df, result, Path(html),
                             sample_rows=spec.drift.report_sample_rows, settings=spec.drift)
        result = replace(result, report_html=report.path, sampled_rows=report.sampled_rows,
                         warnings=(*result.warnings, *report.warnings))
    return replace(result, gates=judge_gates(spec, result))


def write_result(config: ProjectConfig, result: DriftResult, *, out: str | Path | None,
                 run_key: str | None) -> DriftResult:
    payload = result.to_record().to_json().decode()
    if out is not None:
        path = Path(out)
        try:
            from gitops_ml.util.files import atomic_write

            atomic_write(path, payload)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc}") from exc
    if run_key is not None:
        from gitops_ml.runs.store import Store

        store = Store.open(config)
        if store.has_run(run_key):
            store.write_run_file(run_key, DRIFT_FILE, payload.encode())
    return result


# --- monitor -------------------------------------------------------------------------------

@dataclass(frozen=True)
class MonitorResult:
    """Drift of fresh data against the production model's reference, for scheduled runs.

    ``issue_title``/``issue_body`` are what the GitHub adapter puts in the drift issue."""

    model: str
    drift_found: bool
    reference_source: str  # 'registry' | 'option'
    production_version: str | None
    drift: DriftResult
    issue_title: str
    issue_body: str

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "drift_found": self.drift_found,
                "reference_source": self.reference_source,
                "production_version": self.production_version,
                "issue_title": self.issue_title, "issue_body": self.issue_body,
                "drift": self.drift.to_dict()}


def monitor(config: ProjectConfig, spec: ModelSpec, *, current: Any, reference: Any = None,
            html: str | Path | None = None, out: str | Path | None = None) -> MonitorResult:
    """Drift of ``current`` against the production model's reference data (or ``reference``)."""
    version = None
    source = "option"
    if reference is None:
        from gitops_ml.drift.reference import production_reference

        found = production_reference(config, spec)
        if found is None:
            raise ConfigError(
                f"no reference data for '{spec.name}': the registry has no production "
                "version with a reference", location=Location(spec.file) if spec.file else None,
                hint="pass --reference POINTER (the data the production model was trained on)")
        reference, version = found.pointer, found.version
        source = "registry"
    result = run_drift(config, spec, reference=reference, current=current, html=html, out=out,
                       write_store=False)
    failed_gates = [g for g in result.gates if g.kind == "drift" and g.failed]
    found_drift = result.dataset_drift or bool(failed_gates)
    return MonitorResult(model=spec.name, drift_found=found_drift, reference_source=source,
                         production_version=version, drift=result,
                         issue_title=f"Data drift in {spec.name}: "
                                     f"{result.number_of_drifted_columns} of "
                                     f"{len(result.tested_columns)} columns drifted",
                         issue_body=markdown(result))


# --- rendering -----------------------------------------------------------------------------

def _fmt(value: float | None) -> str:
    return number(value)


def _row(col: ColumnDrift) -> str:
    mark = "🔴 drift" if col.drifted else "🟢 ok"
    note = f" ({col.note})" if col.note else ""
    return (f"| `{col.column}` | {col.kind} | {col.method or '—'} | {_fmt(col.score)} | "
            f"{_fmt(col.threshold)} | {mark}{note} |")


def markdown(result: DriftResult, top: int = 50) -> str:
    """A Markdown summary: the dataset verdict and a table of columns, drifted first."""
    head = (f"**Dataset drift: {'yes' if result.dataset_drift else 'no'}** — "
            f"{result.number_of_drifted_columns} of {len(result.tested_columns)} columns drifted "
            f"(share {result.share_of_drifted_columns:.2f}, threshold {result.drift_share:g}).")
    lines = [head, "", f"Reference: `{result.reference.uri}` ({result.reference.rows} rows); "
             f"current: `{result.current.uri}` ({result.current.rows} rows).", "",
             "| column | kind | method | score | threshold | verdict |",
             "|---|---|---|---|---|---|"]
    cols = sorted(result.columns, key=lambda c: not c.drifted)
    lines += [_row(c) for c in cols[:top]]
    if len(cols) > top:
        lines.append(f"| … {len(cols) - top} more | | | | | |")
    for label, col in (("Target", result.target), ("Prediction", result.prediction)):
        if col is not None:
            lines += ["", f"{label} drift: {'yes' if col.drifted else 'no'} "
                      f"({col.method}, score {_fmt(col.score)}, threshold {_fmt(col.threshold)})"]
    if result.sampled_rows:
        lines += ["", f"The HTML report ran on a seeded sample of {result.sampled_rows} rows."]
    return "\n".join(lines)


def text(result: DriftResult) -> str:
    """Terminal text for the drift command."""
    width = max([len(c.column) for c in result.columns] + [6])
    lines = [f"{'column':<{width}}  {'kind':<11}  {'method':<13}  {'score':>10}  "
             f"{'threshold':>9}  verdict"]
    for c in result.columns:
        lines.append(f"{c.column:<{width}}  {c.kind:<11}  {c.method or '-':<13}  "
                     f"{_fmt(c.score):>10}  {_fmt(c.threshold):>9}  "
                     f"{'DRIFT' if c.drifted else 'ok'}{'  (' + c.note + ')' if c.note else ''}")
    lines.append(f"dataset drift: {'yes' if result.dataset_drift else 'no'} "
                 f"({result.number_of_drifted_columns}/{len(result.tested_columns)} columns, share "
                 f"{result.share_of_drifted_columns:.3f}, threshold {result.drift_share:g})")
    for label, col in (("target", result.target), ("prediction", result.prediction)):
        if col is not None:
            lines.append(f"{label} drift: {'yes' if col.drifted else 'no'} ({col.method}, "
                         f"score {_fmt(col.score)})")
    if result.checks is not None:
        s = result.checks.summary()
        lines.append(f"data checks: {'passed' if s['passed'] else 'FAILED'} "
                     f"({s['failed']} of {s['checks']} failed)")
        lines += [f"  - {c.name}: {c.message}" for c in result.checks.failures]
    for g in result.gates:
        state = "skipped" if g.skipped else ("passed" if g.passed else "FAILED")
        value = "" if g.value is None else f" (value {_fmt(g.value)})"
        lines.append(f"gate {g.gate}: {state}{value}" + (f" — {g.note}" if g.note else ""))
    if result.report_html:
        lines.append(f"report: {result.report_html}"
                     + (f" (sample of {result.sampled_rows} rows)" if result.sampled_rows
                        else ""))
    lines += [f"warning: {w}" for w in result.warnings]
    return "\n".join(lines)
