"""Hostile model artifacts: archives that name callables skops would call while loading.

Each archive is written by skops itself (``skops.io.dumps`` of a harmless carrier object), then
one node's ``__module__``/``__class__`` is renamed to a real numpy, scipy or scikit-learn
callable that runs a string or writes a file. Under the old rule (any name under ``numpy.``,
``scipy.`` or ``sklearn.``) each of them created the sentinel file while loading. Now each is
refused, by name, before any object is built, at every door: ``evaluate --champion``,
``drift --model-artifact`` and ``promote --artifacts``.
"""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitops_ml.errors import ArtifactError, ExitCode
from gitops_ml.project.spec import load_config
from gitops_ml.promote.promotion import PromotionRefused, promote
from gitops_ml.runs import artifacts
from gitops_ml.runs.store import Store
from tests import projects


class Carrier:
    """Saved by skops as a ConstructorFromReduceNode: ``Carrier(*args)`` at load."""

    def __init__(self, *args: Any) -> None:
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return (Carrier, self.args)


class PickleBomb:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (self.code,))


def _rewrite(raw: bytes, edit: Callable[[Any], None]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(raw))
    schema = json.loads(src.read("schema.json"))
    edit(schema)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name in src.namelist():
            out.writestr(name, json.dumps(schema) if name == "schema.json" else src.read(name))
    return buf.getvalue()


def _nodes(schema: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__loader__" in node:
                out.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


def _fitted() -> Any:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=500).fit(X, y)


def _carrier_archive(module: str, name: str, *args: Any) -> bytes:
    """A fitted LogisticRegression holding a Carrier whose constructor becomes module.name."""
    import skops.io as sio

    model = _fitted()
    model.extra_ = Carrier(*args)

    def edit(schema: Any) -> None:
        hits = [n for n in _nodes(schema) if n.get("__class__") == "Carrier"]
        assert hits, "skops did not write the carrier as its own node"
        for n in hits:
            n["__module__"], n["__class__"] = module, name

    return _rewrite(sio.dumps(model), edit)


def _key_type_archive(module: str, name: str, key: str) -> bytes:
    """A dict attribute whose key type (called on the key at load) becomes module.name."""
    import skops.io as sio

    model = _fitted()
    import numpy as np

    model.extra_ = {np.str_(key): 1}  # a key type of its own (str's node is shared)

    def edit(schema: Any) -> None:
        owner = [n for n in _nodes(schema)
                 if n["__loader__"] == "DictNode" and key in n.get("content", {})]
        hits = [t for n in owner for t in n["key_types"]["content"]]
        assert hits and all(t["__loader__"] == "TypeNode" for t in hits)
        for n in hits:
            n["__module__"], n["__class__"] = module, name

    return _rewrite(sio.dumps(model), edit)


def malicious_archives(tmp: Path) -> dict[str, tuple[bytes, Path]]:
    """name -> (archive bytes, the file its payload creates when it runs)."""
    out: dict[str, tuple[bytes, Path]] = {}
    s = tmp / "ran-runstring"
    out["numpy runstring (exec)"] = (_carrier_archive(
        "numpy.testing._private.utils", "runstring",
        f"open({str(s)!r}, 'w').write('ran')", {}), s)
    s = tmp / "ran-savetxt"
    out["numpy savetxt (writes a file)"] = (_carrier_archive(
        "numpy", "savetxt", str(s), [1.0]), s)
    s = tmp / "ran-pickle"
    bomb = tmp / "bomb.npy"
    bomb.write_bytes(pickle.dumps(PickleBomb(f"open({str(s)!r}, 'w').write('ran')")))
    out["numpy load (allow_pickle)"] = (_carrier_archive(
        "numpy", "load", str(bomb), None, True), s)
    s = tmp / "ran-savemat"
    out["scipy savemat (writes a file)"] = (_carrier_archive(
        "scipy.io.matlab._mio", "savemat", str(s), {"a": 1.0}), s)
    s = tmp / "ran-subprocess"
    out["sklearn runs a script"] = (_key_type_archive(
        "sklearn.utils._testing", "assert_run_python_script_without_output",
        f"open({str(s)!r}, 'w').write('ran')"), s)
    return out


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return projects.committed_repo(
        tmp_path / "repo", {**projects.files("churn"), ".gitignore": ".gitops-ml/\n"})


def test_the_old_prefix_rule_would_have_run_each_payload(tmp_path: Path) -> None:
    """The archives are real attacks: loaded the way the prefix rule allowed, each payload
    runs. (This is the proof that the tests below test something.)"""
    import skops.io as sio

    for label, (data, sentinel) in malicious_archives(tmp_path).items():
        found = sio.get_untrusted_types(data=data)
        assert all(t.split(".")[0] in ("numpy", "scipy", "sklearn", "builtins", "functools")
                   for t in found), (label, found)
        with contextlib.suppress(Exception):  # the payload runs while loading; what is
            sio.loads(data, trusted=found)     # built afterwards may fail
        assert sentinel.exists(), label


def test_each_malicious_archive_is_refused_by_name_before_anything_runs(tmp_path: Path):
    expected = {"numpy runstring (exec)": "numpy.testing._private.utils.runstring",
                "numpy savetxt (writes a file)": "numpy.savetxt",
                "numpy load (allow_pickle)": "numpy.load",
                "scipy savemat (writes a file)": "scipy.io.matlab._mio.savemat",
                "sklearn runs a script":
                    "sklearn.utils._testing.assert_run_python_script_without_output"}
    for label, (data, sentinel) in malicious_archives(tmp_path).items():
        with pytest.raises(ArtifactError, match="refusing to load untrusted types") as info:
            artifacts.loads(data, source="evil.skops")
        assert expected[label] in info.value.message, label
        assert not sentinel.exists(), label


def test_a_trained_pipeline_still_loads_and_nothing_is_allowed_by_prefix() -> None:
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    X = np.c_[np.arange(60) % 7, np.arange(60) % 3]
    y = np.arange(60) % 2
    model = Pipeline([("pre", ColumnTransformer([("enc", OrdinalEncoder(), [1]),
                                                 ("log", FunctionTransformer(np.log1p), [0])])),
                      ("m", HistGradientBoostingClassifier(max_iter=5))]).fit(X, y)
    back = artifacts.loads(artifacts.dumps(model))
    assert (back.predict(X) == model.predict(X)).all()
    for name in ("numpy.savetxt", "numpy.load", "scipy.io.matlab._mio.savemat",
                 "sklearn.utils._testing.TempMemmap", "sklearn.anything.At_all"):
        for loader in ("ObjectNode", "FunctionNode", "TypeNode", "ConstructorFromReduceNode",
                       "NdArrayNode", "DictNode", "MethodNode"):
            assert not artifacts.is_trusted_type(name, loader), (name, loader)


def test_evaluate_champion_and_drift_model_artifact_refuse_without_running(
        project: Path, tmp_path: Path, gml) -> None:
    evil = tmp_path / "evil"
    evil.mkdir()
    archives = malicious_archives(evil)
    r = gml("-C", str(project), "train", "churn", "-o", "json")
    assert r.exit_code == 0, r.output
    for label, (data, sentinel) in archives.items():
        path = tmp_path / "champion.skops"
        path.write_bytes(data)
        r = gml("-C", str(project), "evaluate", "churn", "--champion", str(path),
                "--bootstrap", "10", "-o", "text")
        assert r.exit_code == ExitCode.REGISTRY, (label, r.output)
        assert "refusing to load untrusted types" in r.stderr, label
        r = gml("-C", str(project), "drift", "churn", "--model-artifact", str(path),
                "-o", "text")
        assert r.exit_code == ExitCode.REGISTRY, (label, r.output)
        assert "refusing to load untrusted types" in r.stderr, label
        assert "Traceback" not in r.output
        assert not sentinel.exists(), label


def _download(project: Path, tmp_path: Path, data: bytes | None = None,
              failed_gates: bool = False) -> tuple[str, Path]:
    """What an attacker controls: the PR's uploaded artifact folder (run.json names the
    sha256 of whatever model.skops it carries)."""
    from gitops_ml.evaluate.evaluation import evaluate
    from gitops_ml.train import train

    config = load_config(project)
    key = train(config, "churn").run_key
    evaluate(config, "churn", bootstrap=10)
    store = Store.open(config)
    run = json.loads(store.read_run_file(key, "run.json"))
    evaluation = json.loads(store.read_run_file(key, "evaluation.json"))
    blob = store.path_of(run["artifact"]["sha256"]).read_bytes()
    if data is not None:
        blob = data
        import hashlib

        run["artifact"]["sha256"] = hashlib.sha256(data).hexdigest()
    if failed_gates:
        evaluation["gates_passed"] = False
        for g in evaluation["gates"]:
            g.update(status="fail", passed=False)
    folder = tmp_path / "download" / "gitops-ml-run-churn"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps(run))
    (folder / "evaluation.json").write_text(json.dumps(evaluation))
    (folder / "model.skops").write_bytes(blob)
    return key, folder.parent


def test_promote_artifacts_refuses_a_malicious_archive_and_stores_nothing(
        project: Path, tmp_path: Path) -> None:
    evil = tmp_path / "evil"
    evil.mkdir()
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(project), str(clone))
    for label, (data, sentinel) in malicious_archives(evil).items():
        key, download = _download(project, tmp_path, data)
        with pytest.raises(ArtifactError, match="refusing to load untrusted types"):
            promote(load_config(clone), "churn", artifacts=download, push=False)
        assert not sentinel.exists(), label
        store = Store.open(load_config(clone))
        assert not store.has_run(key), label
        assert list(store.runs()) == []


def test_a_refused_promote_leaves_no_imported_run_for_evaluate_to_reuse(
        project: Path, tmp_path: Path, gml) -> None:
    key, download = _download(project, tmp_path, failed_gates=True)
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(project), str(clone))
    with pytest.raises(PromotionRefused):
        promote(load_config(clone), "churn", artifacts=download, push=False)
    assert not Store.open(load_config(clone)).has_run(key)
    r = gml("-C", str(clone), "train", "churn", "-o", "json")
    assert r.exit_code == 0, r.output
    assert r.json()["result"]["reused"] is False


def test_promote_artifacts_refuses_a_run_record_that_does_not_match_the_archive(
        project: Path, tmp_path: Path) -> None:
    """Consistency: the archive must be the model the run record describes."""
    from sklearn.linear_model import Ridge

    other = artifacts.dumps(Ridge().fit([[0.0], [1.0]], [0.0, 1.0]))
    key, download = _download(project, tmp_path, other)
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(project), str(clone))
    with pytest.raises(ArtifactError, match="does not match its run record"):
        promote(load_config(clone), "churn", artifacts=download, push=False)
    assert not Store.open(load_config(clone)).has_run(key)


def _corrupt_nodes(raw: bytes, field: str, value: int) -> bytes:
    """Rewrite the first internal node's ``field`` in every node array of the archive."""
    import numpy as np

    src = zipfile.ZipFile(io.BytesIO(raw))
    buf = io.BytesIO()
    hits = 0
    with zipfile.ZipFile(buf, "w") as out:
        for name in src.namelist():
            payload = src.read(name)
            if name.endswith(".npy"):
                arr = np.load(io.BytesIO(payload), allow_pickle=False)
                if arr.dtype.names and field in arr.dtype.names:
                    arr = arr.copy()
                    leaf = arr["is_leaf"] if "is_leaf" in arr.dtype.names \
                        else (arr["left_child"] == -1)
                    arr[field][int(np.argmin(leaf))] = value
                    b = io.BytesIO()
                    np.save(b, arr, allow_pickle=False)
                    payload = b.getvalue()
                    hits += 1
            out.writestr(name, payload)
    assert hits, f"no node array with {field!r}"
    return buf.getvalue()


@pytest.mark.parametrize(("estimator", "field"), [
    ("sklearn.tree.DecisionTreeClassifier", "left_child"),
    ("sklearn.tree.DecisionTreeClassifier", "feature"),
    ("sklearn.ensemble.HistGradientBoostingClassifier", "left"),
    ("sklearn.ensemble.HistGradientBoostingClassifier", "feature_idx"),
])
def test_tree_node_indices_out_of_range_are_refused(estimator: str, field: str) -> None:
    """The allowed tree types index their node arrays without bounds checks: a crafted
    index would read or write outside an array at the first prediction."""
    import importlib

    import skops.io as sio
    from sklearn.datasets import load_iris

    module, _, name = estimator.rpartition(".")
    X, y = load_iris(return_X_y=True)
    kwargs = {"max_iter": 3} if "HistGradient" in name else {}
    model = getattr(importlib.import_module(module), name)(**kwargs).fit(X, y)
    raw = sio.dumps(model)
    assert artifacts.loads(raw) is not None  # the honest archive loads
    with pytest.raises(ArtifactError, match="node indices are out of range"):
        artifacts.loads(_corrupt_nodes(raw, field, 10**6), source="crafted.skops")
