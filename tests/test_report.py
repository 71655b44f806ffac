"""The report: content, escaping, size limits, formats, and the ``report`` command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from gitops_ml.errors import ExitCode
from gitops_ml.report import view as rep
from tests import report_fixtures as fx

INJECT = [
    "<img src=x onerror=alert(1)>",
    "a | b | c",
    "[click me](javascript:alert(1))",
    "**bold** _em_ `code`",
    "@octocat please",
    "x\n# heading\n- item",
    "<details><summary>hidden</summary>",
    "https://evil.example/x www.evil.example",
    "{{ 7*7 }} {% raw %}",
    "$x^2$ ~~gone~~ <!-- c -->",
]


def gfm(text: str) -> str:
    """GitHub's cmark-gfm, raw HTML kept (GitHub keeps a sanitised subset; layout check)."""
    return cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)


def inputs(**kw) -> rep.ReportInputs:
    return fx.report_inputs("churn", kw.pop("run", fx.sample_run()),
                            kw.pop("evaluation", fx.sample_evaluation()),
                            kw.pop("drift", fx.sample_drift()),
                            kw.pop("context", {"pr": 12, "head_sha": fx.HEAD_SHA}))


def test_comment_has_every_section_and_the_verdict() -> None:
    md = rep.render_markdown(inputs())
    assert md.startswith("<!-- gitops-ml:model=churn -->\n<!-- gitops-ml:gates=failed -->\n")
    assert "## ❌ churn: 2 of 4 gates failed" in md
    for heading in ("### Gates", "### Metrics vs the champion (v1.2.0)", "### Bias slices",
                    "### Drift: 3 of 6 columns drifted", "### Data checks", "### Training",
                    "<summary>Lineage</summary>"):
        assert heading in md
    assert "| roc_auc | 0.8912 | 0.9054 | -0.0142 🔴 worse | [-0.0242, -0.0042] |" in md
    assert "Trained HistGradientBoostingClassifier in 3.21 s" in md
    assert "```mermaid\n%%{init: " in md and "\nxychart-beta\n" in md
    assert fx.RUN_KEY in md and "1111111111111111" in md  # lineage: run key, data hash


def test_failed_gates_come_first_with_crosses() -> None:
    rows = [line for line in rep.render_markdown(inputs()).splitlines()
            if line.startswith("| ❌") or line.startswith("| ✅")]
    assert [r[:3] for r in rows[:4]] == ["| ❌", "| ❌", "| ✅", "| ✅"]
    assert "roc_auc drop ≤ 0.01 vs champion | 0.0142 | drop ≤ 0.0100 |" in rows[0]


def test_gates_passed_and_no_champion() -> None:
    ev = fx.sample_evaluation(champion=False, failing=False)
    dr = fx.sample_drift(10, seed=3)
    fx.set_gates(dr, [])
    md = rep.render_markdown(inputs(evaluation=ev, drift=dr))
    assert "## ✅ churn: all 3 gates passed" in md
    assert "No champion yet" in md and "| metric | this PR |" in md


def test_no_gates_and_drift_only() -> None:
    dr = fx.sample_drift()
    fx.set_gates(dr, [])
    md = rep.render_markdown(fx.report_inputs("churn", None, None, dr, {}))
    assert "no gates evaluated" in md and "gitops-ml:gates=none" in md
    assert "### Metrics" not in md and "### Drift" in md


def test_reused_run_is_said() -> None:
    md = rep.render_markdown(inputs(context={"commit": "1" * 40}))
    assert "♻️ Reused the cached run trained at commit 999999999999" in md


def test_drift_is_sorted_most_drifted_first_across_methods() -> None:
    cols = [
        {"column": "a", "method": "wasserstein", "score": 0.12, "threshold": 0.1,
         "drifted": True},
        {"column": "b", "method": "ks", "stattest_name": "K-S p_value", "score": 1e-9,
         "threshold": 0.05, "drifted": True},
        {"column": "c", "method": "jensenshannon", "score": 0.01, "threshold": 0.1,
         "drifted": False},
        {"column": "d", "method": "ks", "score": 0.5, "threshold": 0.05, "drifted": False},
        {"column": "e", "method": "z", "score": None, "threshold": None, "drifted": False},
    ]
    assert [c["column"] for c in rep.sorted_drift(cols)] == ["b", "a", "d", "c", "e"]


def test_comment_fits_with_5000_long_feature_names() -> None:
    names = [f"feature_{i:05d}_" + "very_long_name_" * 14 for i in range(5000)]
    dr = fx.sample_drift(names=names)
    ev = fx.sample_evaluation(groups=[f"group-{i}-" + "g" * 150 for i in range(3000)])
    md = rep.render_markdown(inputs(drift=dr, evaluation=ev,
                                run=fx.sample_run(features=names)))
    assert len(md) <= rep.COMMENT_LIMIT
    drifted = sum(c["drifted"] for c in dr["columns"])
    shown = [line for line in md.splitlines() if line.startswith("| feature_")]
    assert len(shown) == 25
    assert f"_… and {5000 - 25:,} more columns (not shown here" in md
    assert f"### Drift: {drifted:,} of 5,000 columns drifted" in md
    assert md == rep.render_markdown(inputs(drift=dr, evaluation=ev,
                                        run=fx.sample_run(features=names)))  # deterministic
    summary = rep.render_markdown(inputs(drift=dr, evaluation=ev), full=True)
    assert len(summary.encode()) <= rep.SUMMARY_LIMIT
    assert summary.count("| feature_") > 1000


def test_comment_shrinks_top_k_when_rows_are_huge() -> None:
    dr = fx.sample_drift(names=[f"c{i}-" + "w" * 5000 for i in range(400)])
    full = len(rep.render_markdown(inputs(drift=dr)))
    md = rep.render_markdown(inputs(drift=dr), limit=full - 1000)
    assert len(md) <= full - 1000
    m = re.search(r"and ([\d,]+) more columns", md)
    assert m and int(m.group(1).replace(",", "")) > 375


def test_comment_renders_as_tables_with_no_template_syntax_left() -> None:
    html = gfm(rep.render_markdown(inputs()))
    assert "{{" not in html and "{%" not in html and "{#" not in html
    assert html.count("<table>") == 7  # gates, metrics, bias, groups, drift, checks, lineage
    gates = html.split("<table>")[1]
    assert gates.count("<tr>") == 5 and gates.count("<td") == 4 * 5


TAGS = ("<strong>", "<em>", "<code>", "<a ", "<h1", "<h2", "<h3", "<h4", "<li>", "<del>",
        "<img", "<details", "<summary", "<script", "<table>", "<tr>", "<td", "<math", "<p>")


def with_value(value: str) -> str:
    dr = fx.sample_drift(names=[value, "plain"])
    dr["columns"][0]["drifted"] = True
    ev = fx.sample_evaluation(groups=[value, "other"])
    ev["gates"][0]["gate"] = value
    return rep.render_markdown(inputs(drift=dr, evaluation=ev,
                                  context={"pr": 3, "title": value, "branch": value}))


@pytest.mark.parametrize("evil", INJECT)
def test_injected_markup_in_data_comes_out_inert(evil: str) -> None:
    md = with_value(evil)
    html, plain = gfm(md), gfm(with_value("benign"))
    for tag in TAGS:  # the same structure as with a harmless value: nothing was injected
        assert html.count(tag) == plain.count(tag), tag
    assert 'href="javascript' not in html and "<a " not in html
    assert "{{ 7" not in md and "{%" not in md
    assert "@octocat" not in md
    drift_table = html.split("<th>column</th>")[1].split("</table>")[0]
    for row in drift_table.split("<tr>")[2:]:
        assert row.count("<td") == 6  # a "|" in a name split no cell


def test_md_escape_is_one_line_and_cut_before_escaping() -> None:
    assert rep.md_escape("a\nb\r\nc") == "a b  c"
    assert rep.md_escape("x" * 10 + "|", 5) == "xxxx…"
    assert rep.md_escape("ab|cd", 4) == "ab\\|…"
    assert rep.md_escape(None) == ""
    assert rep.mermaid_label('evil"] --> x[') == "evil_ --_ x_"


def test_mermaid_labels_stay_inside_quotes() -> None:
    dr = fx.sample_drift(names=['a"]\n```\n<b>', "b"])
    md = rep.render_markdown(inputs(drift=dr))
    block = md.split("```mermaid\n")[2].split("```")[0]
    assert '"a_ _ _b_"' in block or '"a_' in block
    assert block.count('"') % 2 == 0 and "<" not in block


def test_templates_use_strict_undefined() -> None:
    import jinja2

    from gitops_ml.report.view import environment

    view = rep.build_view(inputs())
    del view["drift_table"]
    with pytest.raises(jinja2.UndefinedError):
        environment().get_template("comment.md.j2").render(view=view, minimal=False)


def test_html_is_autoescaped() -> None:
    dr = fx.sample_drift(names=["<script>alert(1)</script>", "b"])
    html = rep.render_html(inputs(drift=dr, context={"title": "<b>t</b>"}))
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;t&lt;/b&gt;" in html
    ev = fx.sample_evaluation()
    ev["gates"][0]["note"] = "n/a <i>"
    html = rep.render_html(inputs(evaluation=ev))
    assert "n/a &lt;i&gt;" in html and "\\" not in html  # escaped for HTML, not Markdown


def test_json_report() -> None:
    doc = json.loads(rep.render_json(inputs()))
    assert doc["schema_version"] == 1 and doc["gate_outcome"] == "failed"
    assert doc["drift_most_drifted"] == ["col_0", "col_1", "col_4"]
    assert doc["evaluation"]["metrics"]["roc_auc"] == 0.8912


# --- the command ----------------------------------------------------------------------------

def records_args(folder: Path) -> list[str]:
    paths = fx.write_records(folder)
    return ["--run", str(paths["run"]), "--evaluation", str(paths["evaluation"]),
            "--drift", str(paths["drift"])]


def test_report_command_prints_markdown(tmp_path, gml) -> None:
    r = gml("report", "churn", *records_args(tmp_path), cwd=tmp_path)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("<!-- gitops-ml:model=churn -->")
    assert "### Drift" in r.stdout


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_report_command_writes_each_format(tmp_path, gml, fmt) -> None:
    out = tmp_path / "out" / f"report.{fmt}"
    r = gml("report", "churn", "--format", fmt, "--out", out, *records_args(tmp_path),
            "-o", "json", cwd=tmp_path)
    assert r.exit_code == 0, r.output
    result = r.json()["result"]
    assert result["gate_outcome"] == "failed" and result["out"] == str(out)
    assert out.stat().st_size == len(out.read_bytes()) > 100


def test_report_appends_the_full_report_to_the_step_summary(tmp_path, gml) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    r = gml("report", "churn", "--out", tmp_path / "c.md", *records_args(tmp_path),
            cwd=tmp_path, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert r.exit_code == 0, r.output
    text = summary.read_text()
    assert text.startswith("earlier step\n<!-- gitops-ml:model=churn -->")
    assert "### Drift" in text


def test_step_summary_leaves_room_for_earlier_output(tmp_path, gml) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("x" * (rep.SUMMARY_LIMIT - 200_000))
    paths = fx.write_records(tmp_path, names=[f"c{i}_" + "n" * 100 for i in range(5000)])
    r = gml("report", "churn", "--out", tmp_path / "c.md", "--run", paths["run"],
            "--evaluation", paths["evaluation"], "--drift", paths["drift"], cwd=tmp_path,
            env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert r.exit_code == 0, r.output
    assert rep.SUMMARY_LIMIT - 200_000 < summary.stat().st_size <= rep.SUMMARY_LIMIT


def test_report_bundle(tmp_path, gml) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12, "title": "t",
                                                  "head": {"sha": fx.HEAD_SHA, "ref": "f"}}}))
    bundle = tmp_path / "bundle"
    r = gml("report", "churn", "--bundle", bundle, "--out", tmp_path / "c.md",
            *records_args(tmp_path), cwd=tmp_path, env={"GITHUB_EVENT_PATH": str(event)})
    assert r.exit_code == 0, r.output
    meta = json.loads((bundle / "metadata.json").read_text())
    assert meta["pr_number"] == 12 and meta["head_sha"] == fx.HEAD_SHA
    assert meta["model"] == "churn" and meta["gate_outcome"] == "failed"
    assert (bundle / "report.md").read_text() == (tmp_path / "c.md").read_text()
    assert "### Drift" in (bundle / "summary.md").read_text()


def test_bundle_needs_pr_and_sha(tmp_path, gml) -> None:
    r = gml("report", "churn", "--bundle", tmp_path / "b", *records_args(tmp_path),
            cwd=tmp_path)
    assert r.exit_code == ExitCode.USAGE  # an option it needs is missing, not a bug
    assert "a bundle needs the pull request number and head SHA" in r.stderr


def test_missing_record_file_names_it(tmp_path, gml) -> None:
    r = gml("report", "churn", "--drift", tmp_path / "nope.json", cwd=tmp_path)
    assert r.exit_code == ExitCode.DATA
    assert f"{tmp_path / 'nope.json'}: drift.json not found" in r.stderr
    assert "Traceback" not in r.output


def test_record_of_another_model_is_refused(tmp_path, gml) -> None:
    args = records_args(tmp_path)
    r = gml("report", "fraud", *args, cwd=tmp_path)
    assert r.exit_code == ExitCode.DATA
    assert "is for model 'churn', not 'fraud'" in r.stderr


def test_corrupt_record_is_one_line(tmp_path, gml) -> None:
    bad = tmp_path / "evaluation.json"
    bad.write_text("{not json")
    r = gml("report", "churn", "--evaluation", bad, cwd=tmp_path)
    assert r.exit_code == ExitCode.DATA and "cannot read evaluation.json" in r.stderr


def test_report_reads_the_store_by_run_key(make_repo, gml) -> None:
    from gitops_ml.project.spec import load_config
    from gitops_ml.runs.store import Store
    from tests import projects

    repo = make_repo(projects.files("churn"))
    store = Store.open(load_config(repo))
    store.write_run_file(fx.RUN_KEY, "run.json", json.dumps(fx.sample_run()))
    store.write_run_file(fx.RUN_KEY, "evaluation.json", json.dumps(fx.sample_evaluation()))
    r = gml("report", "churn", "--run-key", fx.RUN_KEY, "-o", "json", cwd=repo)
    assert r.exit_code == 0, r.output
    sources = r.json()["result"]["sources"]
    assert set(sources) == {"run", "evaluation"} and fx.RUN_KEY in sources["run"]
    r = gml("report", "churn", "--run-key", "ab" * 32, "-o", "json", cwd=repo)
    assert r.exit_code == ExitCode.REGISTRY  # the store lacks the run, not a bug
    assert r.json()["error"]["code"] == "run_not_found"
    assert "no run, evaluation or drift record for model 'churn'" in r.json()["error"]["message"]


def test_comment_fits_whatever_the_records_hold() -> None:
    ev = fx.sample_evaluation()
    ev["metrics"] = {f"metric_{i}_" + "m" * 300: 0.5 for i in range(2000)}
    fx.set_gates(ev, [fx.gate(f"gate {i} " + "g" * 300, "metric", f"x{i}", 0.1, {"min": 0.2},
                              "fail", "n" * 500) for i in range(3000)])
    dr = fx.sample_drift(names=[f"c{i}" + "<|>" * 100 for i in range(2000)])
    dr["checks"] = {"passed": False, "results": [
        {"name": "x" * 300, "column": "c" * 300, "passed": False, "message": "m" * 900}
        for _ in range(3000)]}
    md = rep.render_markdown(inputs(evaluation=ev, drift=dr))
    assert len(md) <= rep.COMMENT_LIMIT
    assert md.startswith("<!-- gitops-ml:model=churn -->\n<!-- gitops-ml:gates=failed -->")
    assert "## ❌ churn:" in md


def test_drift_verdict_replaces_evaluates_skip_of_the_same_gate() -> None:
    """evaluate skips drift gates ("evaluated by drift"); drift.json's verdict counts."""
    gate = ("share_of_drifted_columns ≤ 0.5", "drift", "share_of_drifted_columns")
    ev = fx.sample_evaluation(champion=False, failing=False)
    fx.set_gates(ev, [fx.gate(*gate, None, {"max": 0.5}, "skip", "evaluated by drift")])
    dr = fx.sample_drift(10, seed=3)
    fx.set_gates(dr, [fx.gate(*gate, 0.2, {"max": 0.5}, "pass")])
    md = rep.render_markdown(inputs(evaluation=ev, drift=dr))
    assert "evaluated by drift" not in md
    assert "## ✅ churn: the gate passed" in md
    fx.set_gates(dr, [fx.gate(*gate, 0.7, {"max": 0.5}, "fail")])
    assert "## ❌ churn: 1 of 1 gate failed" in rep.render_markdown(inputs(evaluation=ev, drift=dr))


def test_every_delta_says_better_or_worse_from_the_metrics_sense() -> None:
    """log_loss 0.019 -> 0.173 was shown as "+0.1536" with no better or worse."""
    ev = fx.sample_evaluation()
    ev["metrics"]["log_loss"] = 0.1726
    ev["champion"]["metrics"]["log_loss"] = 0.019
    ev["deltas"]["log_loss"] = {"delta": 0.1536, "ci_low": 0.12, "ci_high": 0.19, "n_boot": 1000}
    ev["deltas"]["f1"] = {"delta": 0.0113, "ci_low": -0.002, "ci_high": 0.024, "n_boot": 1000}
    md = rep.render_markdown(inputs(evaluation=ev))
    assert "| log_loss | 0.1726 | 0.0190 | +0.1536 🔴 worse | [+0.1200, +0.1900] |" in md
    assert "| f1 | 0.6134 | 0.6021 | +0.0113 better (CI spans 0) |" in md
    assert rep.direction("rmse", -0.5, -0.7, -0.3) == "🟢 better"
    assert rep.direction("roc_auc", 0.0) == "no change" and rep.direction("mae", None) is None
    assert "🔴 worse" in rep.render_html(inputs(evaluation=ev))
