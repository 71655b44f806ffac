"""Make docs/comment.png: a real gitops-ml PR comment as GitHub would show it.

The records are real: scikit-learn's breast cancer data, a champion and a candidate trained and
evaluated by gitops-ml, drift on shifted live data (tests/report_scenario.py). The comment is
rendered to HTML by cmark-gfm (GitHub's renderer), styled with GitHub's Markdown CSS, the
Mermaid charts drawn by Mermaid, and the page is captured by headless Chromium.

    mkdir -p /tmp/shotdeps && (cd /tmp/shotdeps && npm install mermaid@11 github-markdown-css@5)
    python docs/comment_screenshot.py --assets /tmp/shotdeps/node_modules [--out docs/comment.png]

The chart sections are opened (as after a reviewer's click); everything else is as posted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--virtual-time-budget=8000"]

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<style>{css}
body {{ background: #fff; margin: 0; }}
.frame {{ width: 880px; margin: 16px; border: 1px solid #d0d7de; border-radius: 6px; }}
.head {{ background: #f6f8fa; border-bottom: 1px solid #d0d7de; padding: 8px 16px;
         font: 14px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #59636e; }}
.head b {{ color: #1f2328; }}
.markdown-body {{ padding: 16px; font-size: 14px; }}
</style></head><body>
<div class="frame"><div class="head"><b>github-actions</b> <span>bot</span> commented</div>
<article class="markdown-body">{body}</article></div>
<script>{mermaid}</script>
<script>
for (const code of document.querySelectorAll('pre[lang="mermaid"] code, code.language-mermaid')) {{
  const pre = code.closest('pre');
  const div = document.createElement('div');
  div.className = 'mermaid';
  div.textContent = code.textContent;
  pre.replaceWith(div);
}}
mermaid.initialize({{startOnLoad: false, theme: 'default'}});
mermaid.run().then(() => {{
  document.body.setAttribute('data-height', document.documentElement.scrollHeight);
}});
</script></body></html>"""


def comment_markdown(work: Path) -> str:
    from gitops_ml.project.spec import load_config
    from gitops_ml.report.view import ReportInputs, load_inputs, render_markdown
    from tests.report_scenario import build

    repo = work / "repo"
    os.environ.setdefault("GIT_AUTHOR_NAME", "gitops-ml")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "bot@example.com")
    os.environ.setdefault("GIT_COMMITTER_NAME", "gitops-ml")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "bot@example.com")
    build(repo)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    context = {"pr": 12, "title": "Regularise the cancer model harder (C=0.01)",
               "branch": "smaller-c", "head_sha": head, "commit": head}
    inputs = load_inputs(load_config(repo), "cancer", context=context)
    return render_markdown(ReportInputs(inputs.model, inputs.run, inputs.evaluation,
                                        inputs.drift, context, inputs.sources))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=Path, default=Path("/tmp/shotdeps/node_modules"))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "comment.png")
    args = parser.parse_args()
    import cmarkgfm
    from cmarkgfm.cmark import Options

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium not found (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="gitops-ml-shot-") as tmp:
        work = Path(tmp)
        md = comment_markdown(work)
        (work / "comment.md").write_text(md)
        # GitHub keeps <details>/<summary> (sanitised); cmark's safe mode would drop them
        body = cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)
        body = re.sub(r"<details><summary>Chart", "<details open><summary>Chart", body)
        css = (args.assets / "github-markdown-css" / "github-markdown-light.css").read_text()
        mermaid = (args.assets / "mermaid" / "dist" / "mermaid.min.js").read_text()
        page = work / "comment.html"
        page.write_text(PAGE.format(css=css, body=body, mermaid=mermaid))
        profile = work / "profile"
        flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        dom = subprocess.run([chromium, *flags, "--window-size=912,2000", "--dump-dom",
                              page.as_uri()], capture_output=True, text=True, timeout=180)
        m = re.search(r'data-height="(\d+)"', dom.stdout)
        height = int(m.group(1)) + 24 if m else 4000
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([chromium, *flags, f"--window-size=912,{height}",
                        f"--screenshot={args.out}", page.as_uri()], check=True,
                       capture_output=True, timeout=180)
    print(f"wrote {args.out} (912x{height})")


if __name__ == "__main__":
    main()
