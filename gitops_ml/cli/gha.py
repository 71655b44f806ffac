"""Turn a command's JSON envelope into GitHub Actions step outputs.

The composite actions run ``gitops-ml VERB … --output json`` and pipe the envelope here::

    gitops-ml evaluate "$MODEL" --output json | python -m gitops_ml.cli.gha evaluate

so the YAML holds no logic: this module picks the outputs each verb exposes, appends them to
``$GITHUB_OUTPUT`` (with a random heredoc delimiter, so no value can end the block early), and
writes a readable copy of the envelope to the log. Workflow commands the CLI printed after the
envelope (``::error file=…::``) are passed through to the log unchanged. The exit code of the
step is the CLI's own (the shell runs with ``pipefail``).

Values come from our own CLI, but they carry text from users and data (model names, column
names); they are written as data, never evaluated.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from typing import Any

Picker = Callable[[Mapping[str, Any]], Any]

# GitHub runs at most 256 jobs per matrix; the comment side takes as many bundles
# (gitops_ml.report.bundle.MAX_BUNDLES), so every model a plan fans out to gets its comment.
MAX_MATRIX_JOBS = 256
EXIT_CONFIG = 3  # gitops_ml.errors.ExitCode.CONFIG


def _get(*path: str) -> Picker:
    def pick(result: Mapping[str, Any]) -> Any:
        value: Any = result
        for key in path:
            if not isinstance(value, Mapping) or key not in value:
                return None
            value = value[key]
        return value

    return pick


def _matrix(result: Mapping[str, Any]) -> Any:
    if "include" in result:
        return {"include": result["include"]}
    matrix = result.get("matrix")
    return matrix if matrix is not None else {"include": []}


def _models(result: Mapping[str, Any]) -> str:
    rows = _matrix(result).get("include", [])
    return " ".join(str(row.get("model", "")) for row in rows if isinstance(row, Mapping))


def _count(result: Mapping[str, Any]) -> int:
    return len(_matrix(result).get("include", []))


def _comment_urls(result: Mapping[str, Any]) -> str:
    posted = result.get("posted") or []
    urls = [_get("comment", "url")(p) for p in posted if isinstance(p, Mapping)]
    return " ".join(str(u) for u in urls if u)


# verb -> {output name: how to pick it from the envelope's result}
OUTPUTS: dict[str, dict[str, Picker]] = {
    "validate": {},
    "plan": {"matrix": _matrix, "models": _models, "count": _count},
    "train": {"run-key": _get("run_key"), "reused": _get("reused"),
              "artifact-sha256": _get("artifact_sha256")},
    "evaluate": {"gates-passed": _get("gates_passed"), "run-key": _get("run_key")},
    "drift": {"dataset-drift": _get("dataset_drift"),
              "share-of-drifted-columns": _get("share_of_drifted_columns")},
    "report": {"bundle": _get("bundle"), "gate-outcome": _get("gate_outcome")},
    "comment": {"comment-urls": _comment_urls,
                "posted": lambda r: len(r.get("posted") or [])},
    "promote": {"version": _get("version"), "tag": _get("tag"), "stage": _get("stage")},
    "monitor": {"drift-found": _get("drift_found"), "issue-url": _get("issue", "url")},
}


def parse_envelope(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The first JSON object in ``text`` and the lines around it (workflow commands)."""
    start = text.find("{")
    if start < 0:
        return None, text.splitlines()
    try:
        envelope, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return None, text.splitlines()
    rest = (text[:start] + "\n" + text[end:]).splitlines()
    return (envelope if isinstance(envelope, dict) else None), [ln for ln in rest if ln.strip()]


def render(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=False)
    return str(value)


def outputs_for(verb: str, envelope: Mapping[str, Any]) -> dict[str, str]:
    result = envelope.get("result")
    result = result if isinstance(result, Mapping) else {}
    out = {"ok": render(bool(envelope.get("ok"))),
           "exit-code": render(envelope.get("exit_code", 1))}
    for name, pick in OUTPUTS.get(verb, {}).items():
        out[name] = render(pick(result))
    out["result"] = render(envelope.get("result"))
    return out


def write_outputs(path: str, values: Mapping[str, str]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        for name, value in values.items():
            delimiter = f"gitops_ml_{secrets.token_hex(16)}"
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] not in OUTPUTS:
        print("usage: gitops-ml VERB … --output json | python -m gitops_ml.cli.gha VERB\n"
              "verbs: " + ", ".join(OUTPUTS), file=sys.stderr)
        return 2
    verb = args[0]
    text = sys.stdin.read()
    envelope, other_lines = parse_envelope(text)
    for line in other_lines:
        print(line)
    if envelope is None:
        print(f"::warning title=gitops-ml::'{verb}' printed no JSON envelope; no outputs set")
        return 0
    print(json.dumps(envelope, indent=2))
    if verb == "plan" and envelope.get("ok"):
        result = envelope.get("result")
        count = _count(result if isinstance(result, Mapping) else {})
        if count > MAX_MATRIX_JOBS:
            print(f"::error title=gitops-ml plan::{count} models are affected; a GitHub Actions "
                  f"matrix runs at most {MAX_MATRIX_JOBS} jobs. Split the change into pull "
                  f"requests of at most {MAX_MATRIX_JOBS} models each.")
            return EXIT_CONFIG
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:
        write_outputs(github_output, outputs_for(verb, envelope))
    return 0


if __name__ == "__main__":
    sys.exit(main())
