"""The model report: one view of a run for the reviewer of a pull request.

It brings together the run record (``run.json``: training, lineage), the evaluation
(``evaluation.json``: metrics against the champion, gates, bias slices) and the drift report
(``drift.json``: per-column drift, data checks), and renders them with Jinja2 templates as

- ``comment`` Markdown, always within GitHub's 65,536-character comment limit (top-k rows and a
  deterministic "N more" line; the rest folded in ``<details>``);
- ``summary`` Markdown, everything, for ``$GITHUB_STEP_SUMMARY`` (kept under 1 MiB) and the
  report artifact;
- ``html`` (autoescaped) and ``json``.

Everything that comes from users or data (column names, category values, PR titles, branch
names, gate labels) goes through :func:`md_escape` in Markdown and through Mermaid-safe labels
in charts. Templates use ``StrictUndefined``: a missing value is a bug, not an empty cell.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops_ml.errors import DataError, OutputError, RunNotFoundError, UsageError
from gitops_ml.gates import GateResult, outcome
from gitops_ml.project.spec import LOWER_IS_BETTER
from gitops_ml.runs.records import (
    DRIFT_FILE,
    EVALUATION_FILE,
    RUN_FILE,
    DriftRecord,
    EvaluationRecord,
    RunRecord,
    run_gates,
)
from gitops_ml.util.numbers import number
from gitops_ml.version import __version__

if TYPE_CHECKING:
    import jinja2

    from gitops_ml.project.spec import ProjectConfig

COMMENT_LIMIT = 65536  # characters: GitHub's limit for an issue or PR comment body
SUMMARY_LIMIT = 1024 * 1024  # bytes: GitHub's limit for one step's job summary
TOP_K = 25  # rows per table in the comment before the "N more" line
CELL_CHARS = 120  # user text in a comment cell is cut to this many characters first
CHART_BARS = 15
# Mermaid reads an init directive in the block (GitHub too): a compact chart, small labels.
CHART_INIT = ('%%{init: {"xyChart": {"width": 760, "height": 300, '
              '"xAxis": {"labelFontSize": 11}, "yAxis": {"labelFontSize": 11}}}}%%')
REPORT_SCHEMA_VERSION = 1
FORMATS = ("md", "html", "json")
P_VALUE_METHODS = frozenset({"ks", "chisquare", "z", "fisher_exact", "g_test", "anderson",
                             "cramer_von_mises", "mannw", "t_test", "epps_singleton",
                             "empirical_mmd"})

# --- escaping ------------------------------------------------------------------------------

_MD_TABLE = {ord(c): "\\" + c for c in "\\`*_[]{}#|~$!:%"}
_MD_TABLE.update({ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;", ord("@"): "@&#8203;",
                  ord("\n"): " ", ord("\r"): " ", ord("\t"): " "})
_MD_TABLE.update({c: "" for c in (*range(0, 9), 11, 12, *range(14, 32), 127)})
_MD_BY_CHAR = {chr(k): v for k, v in _MD_TABLE.items()}
# A regex finds the few special characters faster than str.translate maps every character.
# An underscore inside a word (snake_case) cannot open or close emphasis in GFM, so only one
# at a word's edge is escaped: column names stay readable and cheap to escape.
_MD_SPECIAL = re.compile("[" + re.escape("".join(c for c in _MD_BY_CHAR if c != "_")) + "]"
                         "|_(?:(?<![A-Za-z0-9]_)|(?![A-Za-z0-9]))")
_WWW = re.compile(r"(www)\.", re.IGNORECASE)


def _md_sub(m: re.Match[str]) -> str:
    return _MD_BY_CHAR[m.group()]


def md_escape(value: object, max_chars: int | None = None) -> str:
    """Make text from users or data inert in GitHub Markdown, on one line.

    Backslash-escapes Markdown punctuation (emphasis, code, links, tables, headings, math,
    strikethrough), turns ``<``, ``>`` and ``&`` into entities (no raw HTML), breaks ``@``
    mentions and ``http:``/``www.`` autolinks, and folds newlines. ``max_chars`` cuts the raw text
    first (with an ellipsis), so an escape is never cut in half.
    """
    text = "" if value is None else str(value)
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars - 1] + "…"
    text = _MD_SPECIAL.sub(_md_sub, text)
    return _WWW.sub(r"\1\\.", text) if "w" in text or "W" in text else text


_MERMAID_SAFE = re.compile(r"[^A-Za-z0-9 _.:/+-]+")


def mermaid_label(value: object, max_chars: int = 24) -> str:
    """A label that is safe inside a quoted Mermaid string (no quotes, brackets or markup)."""
    text = _MERMAID_SAFE.sub("_", str(value)).strip() or "_"
    return text if len(text) <= max_chars else text[:max_chars - 1] + "~"


def fmt_num(value: object, digits: int = 4, *, html: bool = False) -> str:
    """Numbers for tables: fixed decimals in the usual range, scientific outside it. Anything
    else is text: Markdown-escaped (``html=True``: left to the HTML autoescape)."""
    if type(value) is float and 1e-3 <= abs(value) < 1e6:  # the common case, first
        return f"{value:.{digits}f}"
    if value is None or isinstance(value, int | float):
        return number(value, digits=digits, fixed=True)
    return str(value)[:CELL_CHARS] if html else md_escape(value, CELL_CHARS)


_BOUNDS = (("min", "≥"), ("max", "≤"), ("max_drop", "drop ≤"), ("min_gain", "gain ≥"))


def fmt_threshold(value: object, *, html: bool = False) -> str:
    """A gate threshold: a number, or the gate's bounds (``{"min": 0.8}`` is ``≥ 0.8000``)."""
    if isinstance(value, dict):
        parts = [f"{sign} {fmt_num(value[key], html=html)}" for key, sign in _BOUNDS
                 if isinstance(value.get(key), (int, float))]
        if parts and value.get("relative"):
            parts.append("(relative)")
        if parts:
            return " ".join(parts)
    return fmt_num(value, html=html)


def direction(metric: str, delta: float | None, ci_low: float | None = None,
              ci_high: float | None = None) -> str | None:
    """Whether a delta (this PR − the champion) is better or worse, from the metric's sense
    (``log_loss`` +0.15 is worse), and whether its interval excludes no change."""
    if delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return None
    if delta == 0:
        return "no change"
    gain = -delta if metric in LOWER_IS_BETTER else delta
    word = "better" if gain > 0 else "worse"
    if ci_low is not None and ci_high is not None and ci_low <= 0 <= ci_high:
        return f"{word} (CI spans 0)"
    return ("🟢 " if gain > 0 else "🔴 ") + word


def fmt_signed(value: object, digits: int = 4, *, html: bool = False) -> str:
    if isinstance(value, float):
        return number(value, digits=digits, fixed=True, signed=True)
    return fmt_num(value, digits, html=html)


# --- inputs --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportInputs:
    """What a report is made from. Any of the three records may be missing."""

    model: str
    run: RunRecord | None = None
    evaluation: EvaluationRecord | None = None
    drift: DriftRecord | None = None
    context: dict[str, Any] = field(default_factory=dict)  # pr, head_sha, branch, title, ...
    sources: dict[str, str] = field(default_factory=dict)  # record -> where it was read

    @property
    def gates(self) -> tuple[GateResult, ...]:
        """Every gate of the run, once (evaluation's, with drift's verdicts merged in)."""
        return run_gates(self.evaluation, self.drift)

    @property
    def gate_outcome(self) -> str:
        """``passed``, ``failed`` or ``none`` (no gate was evaluated)."""
        return outcome(self.gates)


Record = RunRecord | EvaluationRecord | DriftRecord
_READERS: dict[str, Any] = {"run": RunRecord.from_json, "evaluation": EvaluationRecord.from_json,
                            "drift": DriftRecord.from_json}
_FILES = {"run": RUN_FILE, "evaluation": EVALUATION_FILE, "drift": DRIFT_FILE}


def _read_record(path: Path, name: str) -> Record:
    what = _FILES[name]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    record: Record = _READERS[name](data, source=str(path), error=DataError)
    return record


def load_inputs(config: ProjectConfig | None, model: str, *, run_key: str | None = None,
                run_file: Path | None = None, evaluation_file: Path | None = None,
                drift_file: Path | None = None,
                context: Mapping[str, Any] | None = None) -> ReportInputs:
    """Read the records: from explicit files, else from the store by the model's run key
    (computed from the spec and its data, as ``train`` does, unless ``run_key`` is given)."""
    records: dict[str, Record | None] = {"run": None, "evaluation": None, "drift": None}
    sources: dict[str, str] = {}
    explicit = {"run": run_file, "evaluation": evaluation_file, "drift": drift_file}
    for name, path in explicit.items():
        if path is not None:
            records[name] = _read_record(Path(path), name)
            sources[name] = str(path)
    if any(v is None for v in explicit.values()) and config is not None and (
            run_key is not None or not any(explicit.values())):
        from gitops_ml.runs.store import Store

        if run_key is None:
            run_key = _run_key_of(config, model)
        store = Store.open(config)
        for name, what in _FILES.items():
            if records[name] is None and store.has_run_file(run_key, what):
                uri = store.run_file_uri(run_key, what)
                records[name] = _READERS[name](store.read_run_file(run_key, what), source=uri,
                                               error=DataError)
                sources[name] = uri
        if not any(records.values()):
            raise RunNotFoundError(f"no run, evaluation or drift record for model '{model}' "
                                   f"(run key {run_key[:12]})",
                                   hint=f"run `gitops-ml train {model}` and `gitops-ml "
                                        f"evaluate {model}` first, or pass "
                                        "--run/--evaluation/--drift")
    if not any(records.values()):
        raise UsageError(f"nothing to report for model '{model}'",
                         hint="pass --run, --evaluation or --drift, or run inside a "
                              "gitops-ml repository")
    for name, rec in records.items():
        if rec is not None and rec.model not in (None, model):
            raise DataError(f"{sources.get(name, name)}: {_FILES[name]} is for model "
                            f"'{rec.model}', not '{model}'")
    run, evaluation, drift = records["run"], records["evaluation"], records["drift"]
    assert run is None or isinstance(run, RunRecord)
    assert evaluation is None or isinstance(evaluation, EvaluationRecord)
    assert drift is None or isinstance(drift, DriftRecord)
    return ReportInputs(model, run, evaluation, drift, dict(context or {}), sources)


def _run_key_of(config: ProjectConfig, model: str) -> str:
    from gitops_ml.project.spec import find_spec
    from gitops_ml.runs.key import run_key

    # only to find the records: rendering never downloads data
    return run_key(config, find_spec(config, model), fetch=False).key


# --- the view: plain data the templates lay out ----------------------------------------------

def _gate_rows(inputs: ReportInputs) -> list[dict[str, Any]]:
    """The gates as table rows: failed first, then passed, then skipped."""
    rows = []
    for g in inputs.gates:
        bounds = g.threshold.to_dict()
        counted = g.kind == "check" and g.value is not None
        rows.append({"gate": g.gate, "kind": g.kind, "subject": g.subject, "label": g.gate,
                     "value": int(g.value) if counted and g.value is not None else g.value,
                     "threshold": bounds or ("none failed" if g.kind == "check" else "—"),
                     "status": g.status, "passed": g.passed, "skipped": g.skipped,
                     "note": g.note or None,
                     "mark": "⏭️" if g.skipped else ("✅" if g.passed else "❌")})
    rows.sort(key=lambda r: ("fail", "pass", "skip").index(r["status"]))
    return rows


def _severity(col: Mapping[str, Any]) -> float:
    """How far past (or short of) its threshold a column is; > 1 means drifted. Makes p-values
    and distances comparable for sorting."""
    score, threshold = col.get("score"), col.get("threshold")
    if not isinstance(score, (int, float)) or not isinstance(threshold, (int, float)):
        return -1.0
    if col.get("method") in P_VALUE_METHODS or "p_value" in str(col.get("stattest_name")):
        if threshold <= 0 or threshold >= 1:
            return 0.0
        return -math.log10(max(float(score), 1e-300)) / -math.log10(threshold)
    return float(score) / threshold if threshold > 0 else 0.0


def sorted_drift(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most drifted first: drifted columns, then by severity, then by name (deterministic)."""
    return sorted(columns, key=lambda c: (not c.get("drifted"), -_severity(c),
                                          str(c.get("column"))))


@dataclass(frozen=True)
class Rows:
    """A table cut to its first ``shown`` rows; ``more`` says how many were left out."""

    rows: list[dict[str, Any]]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def _top(rows: list[dict[str, Any]], k: int | None) -> Rows:
    return Rows(list(rows) if k is None else rows[:k], len(rows))


def _checks(drift: DriftRecord | None, top_k: int | None) -> dict[str, Any] | None:
    if drift is None or drift.checks is None:
        return None
    rows = [{"name": c.name, "column": c.column, "passed": c.passed, "severity": c.severity,
             "message": c.message} for c in drift.checks.results]
    rows.sort(key=lambda r: (r["passed"], str(r["name"]), str(r["column"])))
    return {"passed": drift.checks.passed, "table": _top(rows, top_k),
            "failed": len(drift.checks.failures)}


def build_view(inputs: ReportInputs, *, top_k: int | None = TOP_K,
               cache: dict[tuple[str, int], Any] | None = None) -> dict[str, Any]:
    """Everything the templates show, already sorted and cut. ``top_k=None``: every row.
    ``cache`` keeps pre-rendered rows between calls on the same inputs (render_markdown
    tries a smaller k when the text is too long)."""
    cache = {} if cache is None else cache
    run, ev, dr = inputs.run, inputs.evaluation, inputs.drift
    gates = _gate_rows(inputs)
    failed = [g for g in gates if g["status"] == "fail"]

    ctx = inputs.context
    view: dict[str, Any] = {
        "model": inputs.model,
        "version": __version__,
        "outcome": inputs.gate_outcome,
        "gates": _top(gates, top_k), "gates_failed": len(failed), "gates_total": len(gates),
        "pr": ctx.get("pr"), "title": ctx.get("title"), "branch": ctx.get("branch"),
        "head_sha": ctx.get("head_sha"), "run_url": ctx.get("run_url"),
        "current_commit": ctx.get("commit"),
        "training": None, "metrics": None, "champion": None, "fairness": [],
        "drift": None, "checks": _checks(dr, top_k), "lineage": None, "task": None,
        "test_rows": None, "drift_table": "",
    }
    if run is not None:
        commit = run.commit
        reused = bool(ctx.get("reused")) or bool(
            ctx.get("commit") and commit and ctx["commit"] != commit)
        view["training"] = {"reused": reused, "fit_s": run.timings.get("fit_s"),
                            "total_s": run.timings.get("total_s"), "estimator": run.estimator,
                            "created_at": run.created_at, "commit": commit,
                            "rows": {r: d.get("rows") for r, d in run.data.items()
                                     if d.get("rows") is not None},
                            "features": len(run.features)}
        view["task"] = run.task
        view["lineage"] = {
            "run_key": run.run_key, "spec_file": run.spec_file, "spec_hash": run.spec_hash,
            "canonical_spec_hash": run.canonical_spec_hash,
            "data": [{"role": role, "uri": d.get("uri"), "sha256": d.get("sha256"),
                      "rows": d.get("rows")} for role, d in sorted(run.data.items())],
            "commit": commit, "dirty": run.git.get("dirty"), "branch": run.git.get("branch"),
            "versions": sorted(run.versions.items()),
            "artifact_sha256": run.artifact_sha256, "artifact_uri": run.artifact.get("uri"),
        }
    if ev is not None:
        champion = ev.champion
        champ_metrics = champion.metrics if champion is not None else {}
        rows = []
        for name, value in ev.metrics.items():
            d = ev.deltas.get(name)
            rows.append({"name": name, "value": value, "champion": champ_metrics.get(name),
                         "delta": d.delta if d else None, "ci_low": d.ci_low if d else None,
                         "ci_high": d.ci_high if d else None, "n_boot": d.n_boot if d else None,
                         "direction": direction(name, d.delta if d else None,
                                                d.ci_low if d else None,
                                                d.ci_high if d else None)})
        view["metrics"] = _top(rows, None if top_k is None else max(top_k, 12))
        view["champion"] = champion
        view["task"] = view["task"] or ev.task
        view["test_rows"] = ev.test_rows
        view["confidence"] = ev.confidence
        for attr, f in sorted(ev.fairness.items()):
            view["fairness"].append(fairness_view(attr, f, top_k, cache))
        charted = [r for r in rows if r["delta"] is not None] or rows
        view["metric_chart"] = _metric_chart(charted[:CHART_BARS], champion is not None)
    else:
        view["confidence"] = None
        view["metric_chart"] = None
    if dr is not None:
        cols = cache.get(("sorted", id(dr)))
        if cols is None:
            cols = cache[("sorted", id(dr))] = sorted_drift([c.to_dict() for c in dr.columns])
        # the share counts the tested columns, as Evidently's page does (an all-null column
        # is a failed data check, a text column is not tested)
        n = len(dr.tested_columns)
        drifted = sum(1 for c in cols if c.get("drifted"))
        shown = _top(cols, top_k)
        view["drift_table"] = "\n".join(_cached(cache, "drift", c, _drift_row)
                                        for c in shown.rows)
        view["drift"] = {
            "columns": shown, "total": n, "drifted": drifted,
            "share": dr.share_of_drifted_columns, "dataset_drift": dr.dataset_drift,
            "drift_share": dr.drift_share, "reference": dr.reference, "current": dr.current,
            "target": dr.target, "prediction": dr.prediction, "sampled_rows": dr.sampled_rows,
            "chart": _drift_chart(cols[:CHART_BARS]),
        }
    return view


def _cached(cache: dict[tuple[str, int], Any], kind: str, row: Mapping[str, Any],
            fn: Any, *args: Any) -> str:
    key = (kind, id(row))
    text: str | None = cache.get(key)
    if text is None:
        text = cache[key] = fn(row, *args)
    return text


def fairness_view(attr: str, f: Mapping[str, Any], top_k: int | None,
                  cache: dict[tuple[str, int], Any] | None = None) -> dict[str, Any]:
    """One attribute's bias slices as the report shows them: the figures its task measures,
    named for what they are (no "selection rate" for a regression, no parity in miles per
    gallon; :func:`gitops_ml.evaluate.fairness.table`)."""
    from gitops_ml.evaluate.fairness import table

    t = table(attr, f)
    shown = _top([dict(g) for g in t.groups], top_k)
    key = tuple(c for c, _ in t.columns)
    rows = [_group_row(g, key) if cache is None else _cached(cache, "group", g, _group_row, key)
            for g in shown.rows]
    diffs = [{"name": n, "label": label, "value": v, "worst_class": cls}
             for n, label, v, cls in t.differences]
    return {"attribute": attr, "groups": shown, "table": "\n".join(rows),
            "columns": [{"name": c, "label": label} for c, label in t.columns],
            "differences": diffs, "method": t.method, "method_note": t.method_note}


def _group_row(g: Mapping[str, Any], columns: tuple[str, ...]) -> str:
    cells = " | ".join(fmt_num(g[c]) if c in g else "—" for c in columns)
    return f"| {md_escape(g.get('group'), CELL_CHARS)} | {fmt_num(g.get('count'))} | {cells} |"


def _drift_row(c: Mapping[str, Any]) -> str:
    """One Markdown row of the drift table. The one table that grows with the data (a row per
    column) is laid out here, in one pass, rather than cell by cell through template filters:
    5,000 rows take milliseconds instead of a large share of the time budget."""
    return (f"| {md_escape(c.get('column'), CELL_CHARS)} | {md_escape(c.get('kind'), CELL_CHARS)}"
            f" | {md_escape(c.get('stattest_name') or c.get('method'), CELL_CHARS)}"
            f" | {fmt_num(c.get('score'))} | {fmt_num(c.get('threshold'))}"
            f" | {'⚠️ yes' if c.get('drifted') else 'no'} |")


def _metric_chart(rows: list[dict[str, Any]], with_champion: bool) -> str | None:
    values = [r for r in rows if isinstance(r["value"], (int, float))]
    if not values:
        return None
    labels = ", ".join(f'"{mermaid_label(r["name"])}"' for r in values)
    nums = [float(r["value"]) for r in values]
    champs = [float(r["champion"]) if isinstance(r["champion"], (int, float)) else 0.0
              for r in values]
    top = max([*nums, *champs, 0.0])
    top = 1.0 if top <= 1.0 else float(f"{top * 1.1:.3g}")
    title = "bars - this pull request, line - champion" if with_champion \
        else "this pull request"
    lines = [CHART_INIT, "xychart-beta", f'    title "{title}"',
             f"    x-axis [{labels}]", f'    y-axis "value" 0 --> {top}',
             f"    bar [{', '.join(f'{v:.4f}' for v in nums)}]"]
    if with_champion:
        lines.append(f"    line [{', '.join(f'{v:.4f}' for v in champs)}]")
    return "\n".join(lines)


def _drift_chart(cols: list[dict[str, Any]]) -> str | None:
    scored = [c for c in cols if _severity(c) >= 0]
    if not scored:
        return None
    sev = [min(_severity(c), 10.0) for c in scored]
    labels = ", ".join(f'"{mermaid_label(c.get("column"))}"' for c in scored)
    top = max(2.0, math.ceil(max(sev)))
    return "\n".join([CHART_INIT, "xychart-beta",
                      '    title "drift score / threshold (above 1 - drifted)"',
                      f"    x-axis [{labels}]", f'    y-axis "score / threshold" 0 --> {top}',
                      f"    bar [{', '.join(f'{v:.3f}' for v in sev)}]",
                      f"    line [{', '.join('1' for _ in sev)}]"])


# --- rendering -----------------------------------------------------------------------------

def templates_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "templates" / "report"


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"),
                                            default_for_string=False),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(md=md_escape, num=fmt_num, signed=fmt_signed, short=_short,
                       threshold=fmt_threshold,
                       intcomma=lambda v: f"{v:,}" if isinstance(v, int) else fmt_num(v))
    env.filters.update(hnum=functools.partial(fmt_num, html=True),
                       hsigned=functools.partial(fmt_signed, html=True),
                       hthreshold=functools.partial(fmt_threshold, html=True))
    env.globals["CELL"] = CELL_CHARS
    return env


def _short(value: object, n: int = 12) -> str:
    return "—" if not value else md_escape(str(value)[:n])


def marker_lines(inputs: ReportInputs) -> str:
    from gitops_ml.report import markers

    return (f"{markers.model_marker(inputs.model)}\n"
            f"{markers.gates_marker(inputs.gate_outcome)}\n")


def render_markdown(inputs: ReportInputs, *, full: bool = False,
                    limit: int | None = None) -> str:
    """The comment (``full=False``: fits ``limit`` characters, 65,536 by default) or the full
    summary (``full=True``: fits ``limit`` UTF-8 bytes, 1 MiB by default).

    Tables are cut to top-k rows; while the text is too long, k is halved (a deterministic
    result for the same inputs); a last resort drops the tables and keeps the verdict."""
    env = environment()
    template = env.get_template("summary.md.j2" if full else "comment.md.j2")
    limit = limit or (SUMMARY_LIMIT if full else COMMENT_LIMIT)

    def size(text: str) -> int:
        return len(text.encode()) if full else len(text)

    k: int | None = None if full else TOP_K
    cache: dict[tuple[str, int], Any] = {}
    while True:
        view = build_view(inputs, top_k=k, cache=cache)
        text = marker_lines(inputs) + template.render(view=view, minimal=False)
        n = size(text)
        if n <= limit:
            return text
        if k == 0:
            break
        # shrink k in proportion to the excess (then by at least one row): deterministic
        shown = _longest_table(view) if k is None else k
        k = max(0, min(shown - 1, int(shown * limit / n * 0.95)))
    text = marker_lines(inputs) + template.render(view=build_view(inputs, top_k=0),
                                                  minimal=True)
    if size(text) > limit:  # only with absurd gate counts: cut on a line boundary
        cut = text[:limit - 200] if not full else text.encode()[:limit - 200].decode(
            "utf-8", "ignore")
        text = cut[:cut.rfind("\n") + 1] + "\n_…cut to fit; see the report artifact._\n"
    return text


def _longest_table(view: Mapping[str, Any]) -> int:
    tables = [view["gates"], *(f["groups"] for f in view["fairness"])]
    if view["drift"]:
        tables.append(view["drift"]["columns"])
    if view["checks"]:
        tables.append(view["checks"]["table"])
    return max(len(t.rows) for t in tables)


def render_html(inputs: ReportInputs) -> str:
    return environment().get_template("report.html.j2").render(
        view=build_view(inputs, top_k=None), minimal=False)


def render_json(inputs: ReportInputs) -> str:
    view = build_view(inputs, top_k=None)
    doc = {
        "schema_version": REPORT_SCHEMA_VERSION, "model": inputs.model,
        "gate_outcome": inputs.gate_outcome, "context": inputs.context,
        "sources": inputs.sources,
        "drift_most_drifted": [c.get("column") for c in
                               (view["drift"]["columns"].rows if view["drift"] else [])
                               if c.get("drifted")],
        "run": inputs.run.to_dict() if inputs.run else None,
        "evaluation": inputs.evaluation.to_dict() if inputs.evaluation else None,
        "drift": inputs.drift.to_dict() if inputs.drift else None,
    }
    return json.dumps(doc, indent=2, default=str) + "\n"


def render(inputs: ReportInputs, fmt: str) -> str:
    if fmt == "md":
        return render_markdown(inputs)
    if fmt == "html":
        return render_html(inputs)
    if fmt == "json":
        return render_json(inputs)
    raise UsageError(f"unknown report format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")


def render_drift_issue(inputs: ReportInputs) -> tuple[str, str]:
    """Title and body of the monitor's drift issue (within the comment limit)."""
    view = build_view(inputs, top_k=TOP_K)
    body = environment().get_template("drift_issue.md.j2").render(view=view, minimal=False)
    while len(body) > COMMENT_LIMIT - 200 and view["drift"]["columns"].rows:
        view = build_view(inputs, top_k=len(view["drift"]["columns"].rows) // 2)
        body = environment().get_template("drift_issue.md.j2").render(view=view,
                                                                      minimal=False)
    d = view["drift"]
    title = f"Drift in {inputs.model}: {d['drifted']} of {d['total']} columns drifted" \
        if d else f"Drift in {inputs.model}"
    return title, body


# --- the report command --------------------------------------------------------------------

@dataclass(frozen=True)
class ReportResult:
    model: str
    format: str
    gate_outcome: str
    chars: int
    out: str | None = None
    bundle: str | None = None
    step_summary: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    text: str = field(default="", repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "format": self.format, "gate_outcome": self.gate_outcome,
                "chars": self.chars, "out": self.out, "bundle": self.bundle,
                "step_summary": self.step_summary, "sources": self.sources}


def make_report(config: ProjectConfig | None, model: str, *, fmt: str = "md",
                out: Path | None = None, bundle: Path | None = None,
                step_summary: Path | None = None, run_key: str | None = None,
                run_file: Path | None = None, evaluation_file: Path | None = None,
                drift_file: Path | None = None,
                context: Mapping[str, Any] | None = None) -> ReportResult:
    """Render the report of ``model``; write it to ``out``, a bundle and the job summary."""
    from gitops_ml.report.bundle import write_bundle

    inputs = load_inputs(config, model, run_key=run_key, run_file=run_file,
                         evaluation_file=evaluation_file, drift_file=drift_file,
                         context=context)
    text = render(inputs, fmt)
    if out is not None:
        _write(Path(out), text)
    summary_path = None
    if step_summary is not None:
        # the 1 MiB limit is per step: leave room for what earlier commands of the step wrote
        used = step_summary.stat().st_size if step_summary.exists() else 0
        summary = render_markdown(inputs, full=True,
                                  limit=max(SUMMARY_LIMIT - used, 16 * 1024))
        summary_path = str(step_summary)
        with open(step_summary, "a", encoding="utf-8") as fh:  # Actions appends per step
            fh.write(summary)
    bundle_path = None
    if bundle is not None:
        bundle_path = str(write_bundle(
            Path(bundle), model=inputs.model, context=inputs.context,
            gates=[g.to_dict() for g in inputs.gates], gate_outcome=inputs.gate_outcome,
            report=text if fmt == "md" else render_markdown(inputs),
            summary=render_markdown(inputs, full=True)))
    return ReportResult(model, fmt, inputs.gate_outcome, len(text),
                        str(out) if out is not None else None, bundle_path, summary_path,
                        inputs.sources, text)


def _write(path: Path, text: str) -> None:
    try:
        from gitops_ml.util.files import atomic_write

        atomic_write(path, text)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
