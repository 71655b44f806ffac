"""The report bundle of fork-safe two-phase reporting.

Phase one (``pull_request``, untrusted code, read-only token): ``gitops-ml report --bundle DIR``
writes ``report.md`` (the comment), ``summary.md`` (the full report) and ``metadata.json``
(model, PR number, head SHA, each gate's verdict and the outcome they give), uploaded as an
artifact.

Phase two (``workflow_run``, write token, never runs PR code): ``gitops-ml comment
--from-bundle DIR`` reads the bundle as untrusted data: no symlinks, size caps, an exact schema,
and the PR number and head SHA must match the triggering run's payload (checked by the GitHub
adapter, which can ask the API when the payload lists no pull request, as for forks). The parts
must agree: the outcome is derived from the gate verdicts, and the report must begin with the
markers of the same model and outcome; a bundle whose parts disagree is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitops_ml.errors import BundleError, UsageError
from gitops_ml.util.hashing import SHA256_PATTERN
from gitops_ml.version import __version__

BUNDLE_SCHEMA_VERSION = 2
REPORT_FILE = "report.md"
SUMMARY_FILE = "summary.md"
METADATA_FILE = "metadata.json"
METADATA_MAX = 16 * 1024  # bytes
REPORT_MAX_CHARS = 65536
REPORT_MAX_BYTES = 4 * REPORT_MAX_CHARS
SUMMARY_MAX_BYTES = 1024 * 1024
MAX_BUNDLES = 256  # one per matrix job: GitHub runs at most 256 (cli.gha.MAX_MATRIX_JOBS)
MODEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
SHA_RE = re.compile(f"[0-9a-f]{{40}}|{SHA256_PATTERN}")  # a commit SHA-1, or a sha256
OUTCOMES = ("passed", "failed", "none")
METADATA_KEYS = {"schema_version": int, "model": str, "pr_number": int, "head_sha": str,
                 "gate_outcome": str, "gates": list, "gitops_ml": str, "created_at": str}
GATE_KEYS = {"gate": str, "passed": bool, "skipped": bool}
MAX_GATES = 256


@dataclass(frozen=True)
class Bundle:
    path: Path
    model: str
    pr_number: int
    head_sha: str
    gate_outcome: str
    report: str
    summary: str | None


def write_bundle(directory: Path, *, model: str, context: Mapping[str, Any],
                 gates: Sequence[Mapping[str, Any]], gate_outcome: str, report: str,
                 summary: str) -> Path:
    """Write a bundle to ``directory`` (created): the rendered comment (``report``), the full
    report (``summary``) and each gate's verdict. The PR number and head SHA come from
    ``context`` (the ``pull_request`` event)."""
    pr, sha = context.get("pr"), context.get("head_sha")
    if not isinstance(pr, int) or not isinstance(sha, str) or not SHA_RE.fullmatch(sha):
        raise UsageError("a bundle needs the pull request number and head SHA",
                         hint="run in a pull_request workflow (GITHUB_EVENT_PATH), or pass "
                              "--pr N and --sha SHA")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / REPORT_FILE).write_text(report, encoding="utf-8")
    (directory / SUMMARY_FILE).write_text(summary, encoding="utf-8")
    verdicts = [{"gate": str(g.get("gate") or g.get("subject") or "")[:200],
                 "passed": bool(g.get("passed")), "skipped": bool(g.get("skipped"))}
                for g in gates]
    meta = {"schema_version": BUNDLE_SCHEMA_VERSION, "model": model, "pr_number": pr,
            "head_sha": sha, "gate_outcome": gate_outcome, "gates": verdicts,
            "gitops_ml": __version__,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    (directory / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return directory


def _read_capped(path: Path, cap: int, what: str) -> bytes:
    if path.is_symlink():
        raise BundleError(f"{path}: {what} is a symbolic link; refused")
    if not path.is_file():
        raise BundleError(f"{path}: {what} is missing from the bundle")
    size = path.stat().st_size
    if size > cap:
        raise BundleError(f"{path}: {what} is {size:,} bytes, over the {cap:,}-byte cap")
    with open(path, "rb") as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise BundleError(f"{path}: {what} grew over the {cap:,}-byte cap")
    return data


def _text(data: bytes, path: Path, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(f"{path}: {what} is not UTF-8 text") from None


def check_metadata(meta: Any, source: str) -> dict[str, Any]:
    """The exact schema of ``metadata.json``: known keys, right types, sane values."""
    if not isinstance(meta, dict):
        raise BundleError(f"{source}: metadata is not a JSON object")
    unknown = sorted(set(meta) - set(METADATA_KEYS))
    if unknown:
        raise BundleError(f"{source}: unknown metadata keys: {', '.join(map(repr, unknown))}")
    for key, typ in METADATA_KEYS.items():
        if key not in meta:
            raise BundleError(f"{source}: metadata lacks '{key}'")
        value = meta[key]
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise BundleError(f"{source}: metadata '{key}' must be {typ.__name__}, got "
                              f"{type(value).__name__}")
    if meta["schema_version"] != BUNDLE_SCHEMA_VERSION:
        raise BundleError(f"{source}: unsupported bundle schema_version "
                          f"{meta['schema_version']}")
    if not MODEL_RE.fullmatch(meta["model"]):
        raise BundleError(f"{source}: metadata 'model' is not a model name: "
                          f"{meta['model'][:80]!r}")
    if not 0 < meta["pr_number"] < 2**31:
        raise BundleError(f"{source}: metadata 'pr_number' out of range: {meta['pr_number']}")
    if not SHA_RE.fullmatch(meta["head_sha"]):
        raise BundleError(f"{source}: metadata 'head_sha' is not a commit SHA")
    if meta["gate_outcome"] not in OUTCOMES:
        raise BundleError(f"{source}: metadata 'gate_outcome' must be one of "
                          f"{', '.join(OUTCOMES)}")
    if len(meta["gitops_ml"]) > 64 or len(meta["created_at"]) > 64:
        raise BundleError(f"{source}: metadata strings too long")
    derived = gate_outcome(_check_gates(meta["gates"], source))
    if derived != meta["gate_outcome"]:
        raise BundleError(f"{source}: metadata 'gate_outcome' is {meta['gate_outcome']}, but "
                          f"its gates say {derived}; refused")
    return meta


def _check_gates(gates: list[Any], source: str) -> list[dict[str, Any]]:
    if len(gates) > MAX_GATES:
        raise BundleError(f"{source}: {len(gates)} gates, over the cap of {MAX_GATES}")
    for i, gate in enumerate(gates):
        if not isinstance(gate, dict) or set(gate) != set(GATE_KEYS) or not all(
                isinstance(gate[k], t) for k, t in GATE_KEYS.items()) or len(gate["gate"]) > 200:
            raise BundleError(f"{source}: metadata 'gates[{i}]' must be "
                              "{gate: str, passed: bool, skipped: bool}")
    return gates


def gate_outcome(gates: list[dict[str, Any]]) -> str:
    """The outcome the gate verdicts give (as :attr:`ReportInputs.gate_outcome` computes)."""
    if not gates:
        return "none"
    return "failed" if any(not g["passed"] and not g["skipped"] for g in gates) else "passed"


def read_bundle(directory: Path) -> Bundle:
    """Read one bundle as untrusted data; raise :class:`BundleError` on anything odd."""
    if directory.is_symlink() or not directory.is_dir():
        raise BundleError(f"{directory}: not a bundle folder")
    meta_path = directory / METADATA_FILE
    raw = _read_capped(meta_path, METADATA_MAX, METADATA_FILE)
    try:
        meta = json.loads(_text(raw, meta_path, METADATA_FILE))
    except ValueError as exc:
        raise BundleError(f"{meta_path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise BundleError(f"{meta_path}: JSON nested too deeply; refused") from None
    meta = check_metadata(meta, str(meta_path))
    report_path = directory / REPORT_FILE
    report = _text(_read_capped(report_path, REPORT_MAX_BYTES, REPORT_FILE), report_path,
                   REPORT_FILE)
    if len(report) > REPORT_MAX_CHARS:
        raise BundleError(f"{report_path}: {len(report):,} characters, over GitHub's "
                          f"{REPORT_MAX_CHARS:,}-character comment limit")
    from gitops_ml.report.markers import leading, model_marker

    named, outcome, _ = leading(report)
    if named is None or model_marker(named) != model_marker(meta["model"]) \
            or outcome != meta["gate_outcome"]:
        raise BundleError(f"{report_path}: the report and {METADATA_FILE} disagree (the report "
                          f"names model {named!r} with gates {outcome!r}; the metadata "
                          f"{meta['model']!r} with {meta['gate_outcome']!r}); refused")
    summary = None
    summary_path = directory / SUMMARY_FILE
    if summary_path.exists() or summary_path.is_symlink():
        summary = _text(_read_capped(summary_path, SUMMARY_MAX_BYTES, SUMMARY_FILE),
                        summary_path, SUMMARY_FILE)
    return Bundle(directory, meta["model"], meta["pr_number"], meta["head_sha"],
                  meta["gate_outcome"], report, summary)


def find_bundles(directory: Path, model: str | None = None) -> list[Bundle]:
    """``directory`` is one bundle, or a folder of bundles (one per model, as
    ``actions/download-artifact`` lays out several artifacts)."""
    if directory.is_symlink() or not directory.is_dir():
        raise BundleError(f"{directory}: not a bundle folder")
    if (directory / METADATA_FILE).exists():
        bundles = [read_bundle(directory)]
    else:
        subdirs = sorted(p for p in directory.iterdir()
                         if p.is_dir() and not p.is_symlink()
                         and (p / METADATA_FILE).exists())
        if len(subdirs) > MAX_BUNDLES:
            raise BundleError(f"{directory}: {len(subdirs)} bundles, over the cap of "
                              f"{MAX_BUNDLES}")
        bundles = [read_bundle(p) for p in subdirs]
    if model is not None:
        bundles = [b for b in bundles if b.model == model]
    if not bundles:
        raise BundleError(f"{directory}: no report bundle"
                          + (f" for model '{model}'" if model else ""),
                          hint="`gitops-ml report MODEL --bundle DIR` writes one")
    models = [b.model for b in bundles]
    if len(set(models)) != len(models):
        raise BundleError(f"{directory}: two bundles for the same model")
    return bundles


def workflow_run_payload(event: Mapping[str, Any]) -> tuple[list[int], str, str | None]:
    """PR numbers, head SHA and head repository of a ``workflow_run`` event payload."""
    run = event.get("workflow_run")
    if not isinstance(run, dict):
        raise BundleError("the triggering event is not a workflow_run event",
                          hint="post bundles from a workflow `on: workflow_run`; a "
                               "pull_request run can post directly with `gitops-ml comment "
                               "--pr N REPORT`")
    numbers = [int(p["number"]) for p in run.get("pull_requests") or []
               if isinstance(p, dict) and isinstance(p.get("number"), int)]
    sha = run.get("head_sha")
    if not isinstance(sha, str) or not SHA_RE.fullmatch(sha):
        raise BundleError("the workflow_run payload has no head_sha")
    head_repo = (run.get("head_repository") or {}).get("full_name")
    return numbers, sha, head_repo if isinstance(head_repo, str) else None


def check_against_run(bundle: Bundle, numbers: list[int], head_sha: str) -> None:
    """Refuse a bundle that names another commit, or a PR the payload does not list."""
    if bundle.head_sha != head_sha:
        raise BundleError(f"bundle for {bundle.model} names head SHA {bundle.head_sha[:12]}, "
                          f"but the triggering run built {head_sha[:12]}; refused")
    if numbers and bundle.pr_number not in numbers:
        raise BundleError(f"bundle for {bundle.model} names PR #{bundle.pr_number}, but the "
                          f"triggering run belongs to "
                          f"{', '.join(f'#{n}' for n in numbers)}; refused")
