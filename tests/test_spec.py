"""Loading specs and configs: types, unknown keys, positions, JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_ml.errors import ConfigError, NoConfigError, YAMLSyntaxError
from gitops_ml.project import spec, typed_yaml
from gitops_ml.project import yaml_document as yamlio

from .projects import spec as spec_text

ROOT = Path(__file__).resolve().parents[1]


def load(text: str) -> spec.ModelSpec:
    doc = yamlio.loads(text, "models/m/model.yaml")
    return typed_yaml.load_record(spec.ModelSpec, doc.data, doc)


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(text)
    return info.value


def test_valid_spec_loads_typed() -> None:
    m = load(spec_text())
    assert m.name == "churn"
    assert m.features.numeric == ("tenure", "charges")
    assert m.estimator.class_ == "sklearn.linear_model.LogisticRegression"
    assert m.estimator.params == {"C": 1.0, "max_iter": 200}
    assert m.gates[0].kind == "metric" and m.gates[0].min == 0.5
    assert m.data.split.seed == 42  # defaults filled in


def test_yaml_syntax_error_names_line_and_column() -> None:
    with pytest.raises(YAMLSyntaxError) as info:
        yamlio.loads("name: a\nfeatures: [a, b\ntarget: y\n", "m.yaml")
    assert info.value.location is not None
    assert info.value.location.file == "m.yaml"
    assert info.value.location.line == 3
    assert "m.yaml:3:" in info.value.one_line()


def test_duplicate_key_is_an_error_with_its_line() -> None:
    with pytest.raises(YAMLSyntaxError, match="duplicate key 'target'") as info:
        yamlio.loads("target: a\nname: b\ntarget: c\n", "m.yaml")
    assert info.value.location is not None and info.value.location.line == 3


def test_misspelled_key_suggests_the_right_one() -> None:
    text = spec_text()
    err = error_of(text + "metircs: [f1]\n")
    line = err.one_line()
    typo_line = text.count("\n") + 1
    assert "unknown key 'metircs'" in line
    assert "did you mean 'metrics'?" in line
    assert line.startswith(f"models/m/model.yaml:{typo_line}:1: metircs:")


def test_unknown_nested_key_names_the_key_path() -> None:
    err = error_of(spec_text(estimator="\n  class: x.Y\n  parms: {C: 1}"))
    assert err.key_path == "estimator.parms"
    assert "did you mean 'params'?" in err.one_line()
    text = spec_text(estimator="\n  class: x.Y\n  parms: {C: 1}")
    expected = text.splitlines().index("  parms: {C: 1}") + 1
    assert err.location is not None and (err.location.line, err.location.column) == (expected, 3)


def test_wrong_type() -> None:
    err = error_of(spec_text(metrics="roc_auc"))
    assert err.key_path == "metrics"
    assert "expected a list of strings, got the string 'roc_auc'" in err.message


def test_wrong_scalar_type_in_nested_mapping() -> None:
    err = error_of(spec_text(data="\n  train: data/train.csv\n  split: {test_size: big}"))
    assert err.key_path == "data.split.test_size"
    assert "expected a number" in err.message


def test_bounds_are_checked() -> None:
    err = error_of(spec_text(data="\n  train: data/train.csv\n  split: {test_size: 1.5}"))
    assert "must be less than 1" in err.message


def test_missing_required_field() -> None:
    err = error_of(spec_text(target=None))
    assert "missing required key 'target'" in err.message


def test_bad_task_value_suggests() -> None:
    err = error_of(spec_text(task="classificaton"))
    assert "did you mean 'classification'?" in err.one_line()


def test_metric_not_valid_for_task() -> None:
    err = error_of(spec_text(metrics="[rmse]", gates=None))
    assert err.key_path == "metrics[0]"
    assert "metric 'rmse' is not valid for classification" in err.message


def test_gate_on_unlisted_metric() -> None:
    err = error_of(spec_text(gates="\n  - {metric: log_loss, max: 0.5}"))
    assert err.key_path == "gates[0].metric"
    assert "not in metrics" in err.message


def test_gate_needs_exactly_one_subject_and_a_bound() -> None:
    assert "exactly one" in error_of(
        spec_text(gates="\n  - {metric: f1, drift: dataset_drift, min: 1}")).message
    assert "needs a bound" in error_of(spec_text(gates="\n  - {metric: f1}")).message
    err = error_of(spec_text(gates="\n  - {fairness: demographic_parity_diff, max: 0.1}"))
    assert "did you mean 'demographic_parity_difference'?" in err.one_line()


def test_malformed_inline_sha256() -> None:
    err = error_of(spec_text(data="\n  train: {uri: data/train.csv, sha256: abc}"))
    assert err.key_path == "data.train.sha256"
    assert "64 lowercase hex" in err.one_line()


def test_estimator_needs_class_or_factory() -> None:
    assert "exactly one of 'class' and 'factory'" in error_of(
        spec_text(estimator="\n  params: {C: 1}")).message


def test_canonical_hash_ignores_gates_and_description_only() -> None:
    base = load(spec_text())
    assert load(spec_text(description="other words")).canonical_hash() == base.canonical_hash()
    assert load(spec_text(gates="\n  - {metric: f1, min: 0.9}")).canonical_hash() == \
        base.canonical_hash()
    changed = load(spec_text(estimator="\n  class: sklearn.linear_model.LogisticRegression\n"
                                       "  params: {C: 2.0, max_iter: 200}"))
    assert changed.canonical_hash() != base.canonical_hash()
    assert load(spec_text(gates="\n  - {metric: f1, min: 0.9}")).spec_hash() != base.spec_hash()


def test_no_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NoConfigError, match=r"no gitops-ml\.yaml found"):
        spec.load_config(tmp_path)


def test_config_defaults_and_unknown_key(tmp_path: Path) -> None:
    (tmp_path / "gitops-ml.yaml").write_text("")
    cfg = spec.load_config(tmp_path)
    assert cfg.store == ".gitops-ml/store" and cfg.registry == "git"
    (tmp_path / "gitops-ml.yaml").write_text("models: m/*.yaml\nregistery: git\n")
    with pytest.raises(ConfigError) as info:
        spec.load_config(tmp_path)
    assert "did you mean 'registry'?" in info.value.one_line()
    assert str(info.value.location) == "gitops-ml.yaml:2:1"


@pytest.mark.parametrize("kind", ["model", "config"])
def test_committed_json_schema_is_current(kind: str) -> None:
    """Editors validate model.yaml against these files; they must match the code."""
    current = spec.spec_json_schema() if kind == "model" else spec.config_json_schema()
    committed = json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text())
    assert committed == current, f"run: gitops-ml schema {kind} > schemas/{kind}.schema.json"


def test_json_schema_accepts_a_valid_spec_and_rejects_an_unknown_key() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(spec.spec_json_schema())
    good = yamlio.loads(spec_text()).data
    assert not list(validator.iter_errors(good))
    bad = dict(good, metircs=["f1"])
    assert any("metircs" in e.message for e in validator.iter_errors(bad))
