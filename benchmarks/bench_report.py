"""The report and the sticky comment: render time for 5,000 features, and HTTP requests to
update an existing sticky comment, counted at a GitHub-compatible server on 127.0.0.1.

    python benchmarks/bench_report.py            # 15 renders per figure
    python benchmarks/bench_report.py --quick    # 5 renders per figure

Figures:

- rendering the PR comment of a run with 5,000 features (200-character names, 3,000 bias
  groups) — warm, median of N; the anchor is the straightforward template (every drift cell
  through Jinja filters, no top-k) rendering the same 5,000-row table, which is what the
  comment would cost without the row pre-rendering, and is over GitHub's limit anyway;
- the full job summary of the same run (cut to fit 1 MiB);
- ``gitops-ml report`` as a whole process (import, read three JSON files, render);
- the size of the comment (must be ≤ 65,536 characters);
- HTTP requests to update an existing sticky comment on a PR with 99 other comments, counted
  at the server; the anchor is the naive PyGithub sequence (non-lazy ``get_repo``,
  ``get_pull``, list the comments, ``get_issue``, ``get_comment``, ``edit``).

The engine behind the deltas (``python benchmarks/bench_report.py --bootstrap`` runs these
alone):

- the paired bootstrap, 1,000 resamples of 200k test rows, accuracy + f1 + roc_auc, two
  models (budget 2 s), in-process, median of 3; the anchor, interleaved with it, is a plain
  numpy pass over the same volume: drawing the 1,000 x 200k Poisson(1) counts with
  ``Generator.poisson`` and summing each resample (the least any Poisson bootstrap does), so
  the ratio says how the engine compares with numpy on the machine of the moment;
- the slice deltas of 20 slices on the same resamples (budget: 2x the bootstrap of the same
  run), as 2 columns (2 + 18 values) and as 4 columns (5 values each): the engine's cost grows
  with the number of columns (two layouts each), hardly with the number of values;
- a loop over scikit-learn's metric functions on 20 explicit resamples, scaled to 1,000
  (what the engine replaces).

Each row's figure names the load average (``os.getloadavg``) read just before it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

N_FEATURES = 5000
TOKEN = "bench-token"
REPO = "acme/models"


def _inputs():
    from gitops_ml.report.view import ReportInputs
    from tests.report_fixtures import HEAD_SHA, sample_drift, sample_evaluation, sample_run

    names = [f"feature_{i:05d}_" + "long_name_" * 19 for i in range(N_FEATURES)]
    ev = sample_evaluation(groups=[f"group-{i}-" + "g" * 100 for i in range(3000)])
    return ReportInputs("churn", sample_run(features=names), ev, sample_drift(names=names),
                        {"pr": 12, "head_sha": HEAD_SHA, "title": "Retrain churn"})


def _median(fn, repeat: int) -> float:
    fn()  # warm: templates compiled, modules imported
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


NAIVE_TEMPLATE = """{% for c in columns %}
| {{ c.column | md }} | {{ c.kind | md }} | {{ (c.stattest_name or c.method) | md }} | \
{{ c.score | num }} | {{ c.threshold | num }} | {{ "yes" if c.drifted else "no" }} |
{% endfor %}"""


def render_figures(repeat: int) -> list[dict]:
    from gitops_ml.report import view as rep

    inputs = _inputs()
    comment = rep.render_markdown(inputs)
    ours = _median(lambda: rep.render_markdown(inputs), repeat)
    naive_tpl = rep.environment().from_string(NAIVE_TEMPLATE)
    cols = inputs.drift["columns"]
    anchor = _median(lambda: naive_tpl.render(columns=rep.sorted_drift(cols)), repeat)
    summary_t = _median(lambda: rep.render_markdown(inputs, full=True), max(3, repeat // 3))
    summary = rep.render_markdown(inputs, full=True)
    rows = [
        {"figure": f"render the PR comment, {N_FEATURES:,} features (warm, median)",
         "ours": ours, "anchor": anchor, "ratio": ours / anchor, "budget": "≤ 0.5 s",
         "ok": ours <= 0.5, "unit": "s"},
        {"figure": f"comment size, {N_FEATURES:,} features with 200-char names",
         "ours": len(comment), "anchor": rep.COMMENT_LIMIT,
         "ratio": len(comment) / rep.COMMENT_LIMIT,
         "budget": "≤ 65,536", "ok": len(comment) <= rep.COMMENT_LIMIT, "unit": "chars"},
        {"figure": f"render the full job summary, {N_FEATURES:,} features (warm, median)",
         "ours": summary_t, "anchor": anchor, "ratio": summary_t / anchor, "budget": "≤ 0.5 s",
         "ok": summary_t <= 0.5, "unit": "s"},
        {"figure": "job summary size", "ours": len(summary.encode()),
         "anchor": rep.SUMMARY_LIMIT,
         "ratio": len(summary.encode()) / rep.SUMMARY_LIMIT, "budget": "≤ 1 MiB",
         "ok": len(summary.encode()) <= rep.SUMMARY_LIMIT, "unit": "bytes"},
    ]
    return rows


def process_figure(repeat: int) -> dict:
    from tests.report_fixtures import write_records

    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        names = [f"feature_{i:05d}_" + "long_name_" * 19 for i in range(N_FEATURES)]
        paths = write_records(Path(tmp), names=names)
        gml = str(Path(sys.executable).parent / "gitops-ml")
        cmd = [gml, "report", "churn", "--run", str(paths["run"]), "--evaluation",
               str(paths["evaluation"]), "--drift", str(paths["drift"]), "--out",
               str(Path(tmp) / "c.md")]
        floor = [sys.executable, "-c", "import click, jinja2, yaml"]

        def wall(c: list[str]) -> float:
            t0 = time.perf_counter()
            subprocess.run(c, check=True, cwd=tmp, stdout=subprocess.DEVNULL)
            return time.perf_counter() - t0

        wall(cmd)
        ours = statistics.median(wall(cmd) for _ in range(repeat))
        anchor = statistics.median(wall(floor) for _ in range(repeat))
    return {"figure": f"`gitops-ml report` whole process, {N_FEATURES:,} features",
            "ours": ours, "anchor": anchor, "ratio": ours / anchor,
            "budget": "(informational: anchor is `import click, jinja2, yaml`)", "ok": None,
            "unit": "s"}


def request_figures() -> list[dict]:
    from github import Auth, Github

    from gitops_ml.github import ClientSettings, GitHubClient
    from gitops_ml.github.comments import marker, upsert_sticky_comment
    from tests.ghserver import GitHubServer

    with GitHubServer(token=TOKEN) as server:
        server.add_repo(REPO)
        server.add_pull(REPO, 7)
        server.add_comments(REPO, 7, [f"review comment {i}" for i in range(60)])
        server.add_comments(REPO, 7, [f"{marker('churn')}\nold report"])
        server.add_comments(REPO, 7, [f"review comment {i}" for i in range(38)])
        settings = ClientSettings(seconds_between_requests=None, seconds_between_writes=None)
        client = GitHubClient(TOKEN, api_url=server.url, settings=settings)
        server.reset_counts()
        upsert_sticky_comment(client, REPO, 7, "churn", "new report")
        ours = server.count()

        gh = Github(auth=Auth.Token(TOKEN), base_url=server.url, per_page=100,
                    seconds_between_requests=None, seconds_between_writes=None)
        server.reset_counts()
        repo = gh.get_repo(REPO)
        pull = repo.get_pull(7)
        found = next(c for c in pull.get_issue_comments() if marker("churn") in c.body)
        comment = repo.get_issue(7).get_comment(found.id)
        comment.edit("newer report")
        naive = server.count()
    return [{"figure": "HTTP requests to update the sticky comment (PR with 99 other comments)",
             "ours": ours, "anchor": naive, "ratio": ours / naive, "budget": "≤ 3",
             "ok": ours <= 3, "unit": "requests"}]


def _bootstrap_data(n: int):
    import numpy as np

    from gitops_ml.evaluate.paired_bootstrap import Predictions

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    s1 = 1 / (1 + np.exp(-(y * 1.2 + rng.normal(0, 1, n))))
    s2 = np.clip(s1 + rng.normal(0, 0.05, n), 0.001, 0.999)
    a = Predictions((s1 > 0.5).astype(int), np.c_[1 - s1, s1])
    b = Predictions((s2 > 0.5).astype(int), np.c_[1 - s2, s2])
    # 20 slices either way: a sensitive attribute (2 values) and a categorical feature (18),
    # or four categorical features of 5 values (the cost grows with columns, not values)
    two = {"sex": rng.integers(0, 2, n), "region": rng.integers(0, 18, n)}
    four = {f"c{i}": rng.integers(0, 5, n) for i in range(4)}
    return y, a, b, (two, four), (s1, s2)


def _load() -> str:
    import os

    return f"load {os.getloadavg()[0]:.1f}"


def bootstrap_figures(n: int = 200_000, n_boot: int = 1000, repeat: int = 3) -> list[dict]:
    import numpy as np
    from sklearn import metrics as m

    from gitops_ml.evaluate.paired_bootstrap import paired_bootstrap, slice_bootstrap

    y, a, b, (two, four), (s1, s2) = _bootstrap_data(n)
    names = ("accuracy", "f1", "roc_auc")

    def anchor() -> None:
        rng = np.random.default_rng(1)
        for _ in range(0, n_boot, 50):
            rng.poisson(1.0, size=(50, n)).sum(axis=1)

    def ours() -> None:
        paired_bootstrap("classification", y, a, b, names, n_boot=n_boot, seed=0)

    def sliced() -> None:
        slice_bootstrap("classification", y, a, b, names, two, n_boot=n_boot, seed=0)

    def sliced4() -> None:
        slice_bootstrap("classification", y, a, b, names, four, n_boot=n_boot, seed=0)

    times: dict[str, list[float]] = {"anchor": [], "ours": [], "sliced": [], "sliced4": []}
    loads: dict[str, list[str]] = {k: [] for k in times}
    for _ in range(repeat):  # interleaved, so load from other work hits all alike
        for key, fn in (("anchor", anchor), ("ours", ours), ("sliced", sliced),
                        ("sliced4", sliced4)):
            loads[key].append(_load())
            t0 = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    loops = 20
    rng = np.random.default_rng(2)
    load_loop = _load()
    t0 = time.perf_counter()
    for _ in range(loops):
        idx = rng.integers(0, n, n)
        yt = y[idx]
        for s in (s1, s2):
            m.accuracy_score(yt, s[idx] > 0.5)
            m.f1_score(yt, s[idx] > 0.5)
            m.roc_auc_score(yt, s[idx])
    loop = (time.perf_counter() - t0) * n_boot / loops
    size = f"{n_boot:,} resamples x {n // 1000}k rows, accuracy+f1+roc_auc, 2 models"
    return [
        {"figure": f"paired bootstrap, {size} (median of {repeat}; {', '.join(loads['ours'])})"
                   f" vs numpy drawing the same Poisson counts ({', '.join(loads['anchor'])})",
         "ours": med["ours"], "anchor": med["anchor"], "ratio": med["ours"] / med["anchor"],
         "budget": "≤ 2 s", "ok": med["ours"] <= 2.0, "unit": "s"},
        {"figure": f"slice deltas, 20 slices in 2 columns (2 + 18 values), {size} (median of "
                   f"{repeat}; {', '.join(loads['sliced'])}) vs the paired bootstrap above",
         "ours": med["sliced"], "anchor": med["ours"], "ratio": med["sliced"] / med["ours"],
         "budget": "≤ 2x", "ok": med["sliced"] <= 2 * med["ours"], "unit": "s"},
        {"figure": f"slice deltas, 20 slices in 4 columns (5 values each), {size} (median of "
                   f"{repeat}; {', '.join(loads['sliced4'])}) vs the paired bootstrap above",
         "ours": med["sliced4"], "anchor": med["ours"], "ratio": med["sliced4"] / med["ours"],
         "budget": "≤ 2x", "ok": med["sliced4"] <= 2 * med["ours"], "unit": "s"},
        {"figure": f"paired bootstrap vs a loop over sklearn's metrics (20 resamples scaled to "
                   f"{n_boot:,}; {load_loop})", "ours": med["ours"], "anchor": loop,
         "ratio": med["ours"] / loop, "budget": "informational", "ok": None, "unit": "s"},
    ]


def main(quick: bool = False) -> list[dict]:
    repeat = 5 if quick else 15
    rows = render_figures(repeat)
    rows.append(process_figure(3 if quick else 7))
    rows += request_figures()
    rows += bootstrap_figures(repeat=3)
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from run import table

    if "--bootstrap" in sys.argv:
        result = bootstrap_figures(repeat=3 if "--quick" in sys.argv else 5)
    else:
        result = main(quick="--quick" in sys.argv)
    print(table([{"area": "report", **r} for r in result]))
    if "--json" in sys.argv:
        print(json.dumps(result, indent=2))
