"""The human drift report: Evidently's DataDriftPreset rendered to an HTML file.

This is the only module that imports ``evidently`` (about 3 s and 280 MB), and only when a
report is asked for. The verdicts come from :mod:`gitops_ml.drift.stats`; Evidently renders the
pictures. Large data is sampled (seeded) down to ``report_sample_rows`` rows per dataset, and
the report says so in a banner at its top.
"""

from __future__ import annotations

import html as html_lib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops_ml.drift.stats import CATEGORICAL, NUMERICAL, DriftResult
from gitops_ml.errors import OutputError

if TYPE_CHECKING:
    import pandas as pd

    from gitops_ml.project.spec import DriftSettings

SAMPLE_SEED = 0


@dataclass(frozen=True)
class HtmlReport:
    path: str | None
    sampled_rows: int | None
    warnings: tuple[str, ...] = ()


def _sample(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=SAMPLE_SEED).sort_index()


def preset_options(settings: DriftSettings | None) -> dict[str, Any]:
    """The spec's drift settings as DataDriftPreset arguments (same names as Evidently)."""
    if settings is None:
        return {}
    options: dict[str, Any] = {"drift_share": settings.drift_share}
    if settings.method is not None:
        options["method"] = settings.method
    if settings.threshold is not None:
        options["threshold"] = settings.threshold
    per_method = {c: s.method for c, s in settings.columns.items() if s.method is not None}
    per_threshold = {c: s.threshold for c, s in settings.columns.items()
                     if s.threshold is not None}
    if per_method:
        options["per_column_method"] = per_method
    if per_threshold:
        options["per_column_threshold"] = per_threshold
    return options


def snapshot(reference: pd.DataFrame, current: pd.DataFrame, result: DriftResult, *,
             settings: DriftSettings | None = None) -> Any:
    """Evidently's report over exactly the columns whose verdicts ``result`` counts: its
    DataDriftPreset sees the tested features only, so its share of drifted columns is the
    share in the comment, and the target's drift is a metric of its own beside it (counting
    the target in the preset made the page say "3 of 7" where the comment said "3 of 6")."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    features = list(result.tested_columns)
    target = result.target if result.target is not None and result.target.tested else None
    described = [*features, *([target] if target is not None else [])]
    names = [c.column for c in described]
    definition = DataDefinition(
        numerical_columns=[c.column for c in described if c.kind == NUMERICAL],
        categorical_columns=[c.column for c in described if c.kind == CATEGORICAL])
    metrics: list[Any] = [DataDriftPreset(columns=[c.column for c in features],
                                          **preset_options(settings))]
    if target is not None:
        metrics.append(ValueDrift(column=target.column, method=target.method,
                                  threshold=target.threshold))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Report(metrics).run(
            Dataset.from_pandas(current[names], data_definition=definition),
            Dataset.from_pandas(reference[names], data_definition=definition))


def render_html(reference: pd.DataFrame, current: pd.DataFrame, result: DriftResult,
                path: Path, *, sample_rows: int, settings: DriftSettings | None = None
                ) -> HtmlReport:
    """Write Evidently's report (:func:`snapshot`) for the columns of ``result`` to ``path``.

    Columns that could not be tested (no values on one side, text) are left out: Evidently
    refuses empty columns, and the share does not count them either."""
    skipped = [c.column for c in result.columns if not c.tested]
    notes = [f"the HTML report leaves out untested column(s): {', '.join(skipped)}"] \
        if skipped else []
    sampled = None
    if max(len(reference), len(current)) > sample_rows:
        sampled = sample_rows
    ref = _sample(reference, sample_rows)
    cur = _sample(current, sample_rows)
    try:
        report = snapshot(ref, cur, result, settings=settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        report.save_html(str(path))
    except OSError as exc:
        raise OutputError(f"cannot write the drift report {path}: {exc}") from exc
    except Exception as exc:  # Evidently's own failures: the verdicts stand without it
        return HtmlReport(path=None, sampled_rows=None,
                          warnings=(*notes, f"the Evidently HTML report failed: "
                                    f"{type(exc).__name__}: {exc}"))
    if sampled is not None:
        _add_banner(path, f"This report was computed on a seeded random sample of at most "
                          f"{sample_rows} rows of each dataset (reference: {len(reference)} "
                          f"rows, current: {len(current)} rows). The verdicts in drift.json "
                          f"use every row.")
    return HtmlReport(path=str(path), sampled_rows=sampled, warnings=tuple(notes))


def _add_banner(path: Path, message: str) -> None:
    page = path.read_text(encoding="utf-8")
    banner = ('<div id="gitops-ml-sample-note" style="padding:8px 12px;background:#fff3cd;'
              'border-bottom:1px solid #e0c36a;font-family:sans-serif">'
              f"{html_lib.escape(message)}</div>")
    marker = "<body>"
    at = page.find(marker)
    page = page[:at + len(marker)] + banner + page[at + len(marker):] if at >= 0 \
        else banner + page
    path.write_text(page, encoding="utf-8")
