"""Generated hostile input thrown at ``validate`` and ``comment --from-bundle`` (hypothesis).

Specs, pointer files and bundles are what a pull request controls. Whatever they hold, the
CLI answers with one error line and a named exit code: never a traceback, never "internal
error" (exit 1), never a hang (each example runs under an alarm). The budget is bounded
(a fixed number of examples, no shrinking database), about 20 s on this machine.
"""

from __future__ import annotations

import json
import signal
import string
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.projects import files, spec
from tests.report_fixtures import HEAD_SHA

HANG = 60  # seconds: far above any honest answer, even on a loaded 2-core machine
FUZZ = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SPEC_KEYS = ["name", "task", "data", "train", "test", "current", "split", "target",
             "features", "numeric", "categorical", "sensitive", "estimator", "class",
             "params", "factory", "metrics", "gates", "metric", "min", "max", "max_drop",
             "drift", "fairness", "evaluation", "bootstrap", "promotion", "stage", "uri",
             "sha256", "size", "format", "outs", "path", "md5"]
YAML_NOISE = ["&a ", "*a", "<<: *a", "!!python/object:os.system", "!!binary", "? ", "- ",
              ": ", "{", "}", "[", "]", "\t", "'", '"', "%YAML 1.1\n", "---\n", "...\n",
              "9" * 5000, "1e99999", "0x" + "f" * 300, "2001-13-45", "~", "\\u0000", "\n  "]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**50, max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["classification", "regression", "sklearn.linear_model.LogisticRegression",
                     "antigravity.X", "../../etc/passwd", "/etc/passwd", "data/train.csv",
                     "file:///etc/passwd", "http://127.0.0.1:9/x.csv", "a" * 64,
                     "roc_auc", "<!-- gitops-ml:model=x -->"]))
trees = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(SPEC_KEYS), st.text(max_size=8)), children,
                    max_size=5)), max_leaves=25)


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    """Valid YAML of random trees, a mutated valid spec, or YAML noise."""
    kind = draw(st.sampled_from(["tree", "mutated", "noise"]))
    if kind == "tree":
        return yaml.safe_dump(draw(trees), allow_unicode=True)
    if kind == "mutated":
        text = spec()
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.sampled_from(YAML_NOISE)) + text[at:]
        return text
    return "".join(draw(st.lists(st.sampled_from(YAML_NOISE + list(string.printable)),
                                 max_size=40)))


@pytest.fixture(autouse=True, scope="module")
def warm_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Built once per process (it imports all of scikit-learn): not part of any example."""
    from gitops_ml.project import catalogue

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GITOPS_ML_CACHE_DIR", str(tmp_path_factory.mktemp("catalogue")))
        catalogue.load()
    yield


@contextmanager
def alarm(seconds: int) -> Iterator[None]:
    def hung(signum: int, frame: Any) -> None:
        raise AssertionError(f"no answer within {seconds} s: a hang")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def assert_clean(r: Any) -> None:
    assert r.exit_code != 1, r
    assert "Traceback" not in r.output and "internal error" not in r.output, r


def _project() -> Path:
    root = Path(tempfile.mkdtemp(prefix="gitops-ml-fuzz-"))
    for rel, text in files("churn").items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@FUZZ
@given(text=yaml_texts())
def test_validate_survives_any_spec(gml, text: str) -> None:
    root = _project()
    (root / "models" / "churn" / "model.yaml").write_text(text)
    with alarm(HANG):
        assert_clean(gml("validate", cwd=root))


@FUZZ
@given(text=yaml_texts(), data=st.binary(max_size=200))
def test_validate_survives_any_pointer_file(gml, text: str, data: bytes) -> None:
    root = _project()
    (root / "models" / "churn" / "model.yaml").write_text(spec(data="\n  train: data/t.ptr.yaml"))
    (root / "data" / "t.ptr.yaml").write_text(text)
    (root / "data" / "train.csv").write_bytes(data)
    with alarm(HANG):
        assert_clean(gml("validate", cwd=root))


GOOD_META = {"schema_version": 2, "model": "churn", "pr_number": 12, "head_sha": HEAD_SHA,
             "gate_outcome": "failed", "gates": [{"gate": "roc_auc", "passed": False,
                                                  "skipped": False}],
             "gitops_ml": "0", "created_at": "2026-01-01T00:00:00Z"}
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=10), c,
                                                                   max_size=3)), max_leaves=10)


@st.composite
def metadata(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["mutated", "random", "deep", "raw"]))
    if kind == "mutated":
        meta = dict(GOOD_META)
        for key in draw(st.lists(st.sampled_from([*GOOD_META, "extra"]), max_size=3)):
            meta[key] = draw(json_values)
        return json.dumps(meta)
    if kind == "random":
        return json.dumps(draw(json_values))
    if kind == "deep":
        n = draw(st.integers(100, 6000))
        return "[" * n + "]" * n
    return draw(st.text(max_size=200))


@FUZZ
@given(meta=metadata(), report=st.text(max_size=300), marker=st.booleans())
def test_comment_from_bundle_survives_any_bundle(gml, meta: str, report: str,
                                                 marker: bool) -> None:
    root = Path(tempfile.mkdtemp(prefix="gitops-ml-fuzz-"))
    bundle = root / "b"
    bundle.mkdir()
    (bundle / "metadata.json").write_text(meta)
    head = "<!-- gitops-ml:model=churn -->\n<!-- gitops-ml:gates=failed -->\n" if marker else ""
    (bundle / "report.md").write_text(head + report)
    event = root / "event.json"
    event.write_text(json.dumps({"workflow_run": {
        "head_sha": HEAD_SHA, "pull_requests": [{"number": 12}],
        "head_repository": {"full_name": "acme/models"}}}))
    env = {"GITHUB_TOKEN": "ghs_fuzz", "GITHUB_API_URL": "http://127.0.0.1:9",
           "GITHUB_REPOSITORY": "acme/models", "GITHUB_EVENT_PATH": str(event),
           "GITOPS_ML_GITHUB_RETRIES": "0", "GITOPS_ML_GITHUB_BACKOFF": "0",
           "GITOPS_ML_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
           "GITOPS_ML_GITHUB_SECONDS_BETWEEN_WRITES": "0"}
    with alarm(HANG):
        assert_clean(gml("comment", "--from-bundle", str(bundle), cwd=root, env=env))
