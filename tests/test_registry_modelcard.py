"""The model card: every section from the records, rendered as GitHub renders Markdown."""

from __future__ import annotations

import pytest

from gitops_ml.promote.model_card import CardInputs, context, render

RUN = {"run_key": "k" * 64, "model": "churn", "task": "classification",
       "estimator": "sklearn.linear_model.LogisticRegression",
       "features": ["tenure", "charges", "gender"], "target": "churned",
       "data": {"train": {"uri": "data/train.csv", "sha256": "a" * 64, "rows": 800},
                "test": {"uri": "data/test.csv", "sha256": "b" * 64, "rows": 200}},
       "git": {"commit": "c" * 40}, "spec_file": "models/churn/model.yaml",
       "spec_hash": "d" * 64, "versions": {"sklearn": "1.9.1", "numpy": "2.3.0"},
       "artifact": {"sha256": "e" * 64, "format": "skops"}}
EVALUATION = {
    "metrics": {"roc_auc": 0.8123456, "f1": 0.7},
    "deltas": {"roc_auc": {"delta": 0.0123, "ci_low": -0.0021, "ci_high": 0.0302,
                           "n_boot": 1000}},
    "champion": {"version": "v0.1.0", "run_key": "f" * 64},
    "gates": [{"gate": "roc_auc >= 0.8", "value": 0.8123, "threshold": 0.8, "passed": True,
               "skipped": False},
              {"gate": "demographic_parity_difference <= 0.1", "value": 0.15,
               "threshold": 0.1, "passed": False, "skipped": False}],
    "fairness": {"gender": {"groups": [
        {"group": "f", "count": 104, "selection_rate": 0.31, "tpr": 0.8, "fpr": 0.1},
        {"group": "m", "count": 96, "selection_rate": 0.46, "tpr": 0.9, "fpr": 0.2}],
        "demographic_parity_difference": 0.15, "equalized_odds_difference": 0.1}}}
MANIFEST = {"model": "churn", "version": "v0.2.0", "stage": "production", "pr": 12,
            "head_sha": "1" * 40, "merge_sha": "2" * 40, "actor": "alice", "forced": True,
            "retrained": False, "created_at": "2026-11-30T03:00:00Z"}
DRIFT = {"number_of_drifted_columns": 1, "columns": [{}, {}, {}],
         "share_of_drifted_columns": 0.3333, "dataset_drift": False}


def card() -> str:
    return render(CardInputs(manifest=MANIFEST, run=RUN, evaluation=EVALUATION, drift=DRIFT,
                             description="Predicts churn in the next 30 days.",
                             sensitive=("gender",)))


def test_every_section_comes_from_the_records():
    text = card()
    assert text.startswith("# Model card: churn v0.2.0\n")
    assert "Predicts churn in the next 30 days." in text  # intended use
    assert "| train | `data/train.csv` | `aaaaaaaaaaaaaaaa` | 800 |" in text  # data
    assert "| roc_auc | 0.8123 | +0.0123 | -0.0021 to +0.0302 |" in text  # metrics + CI
    assert "95% CI of the difference" in text and "champion v0.1.0" in text
    assert "| demographic_parity_difference <= 0.1 | 0.15 | 0.1 | **failed** |" in text
    assert "| roc_auc >= 0.8 | 0.8123 | 0.8 | passed |" in text
    assert "Promoted with `--force`" in text
    assert "### gender" in text and "| f | 104 | 0.31 | 0.8 | 0.1 |" in text  # bias slices
    assert "1 of 3 columns drifted" in text
    assert "## Limitations" in text
    assert "| Pull request | #12 |" in text and "| Promoted by | alice |" in text  # lineage
    assert "sklearn 1.9.1" in text


def test_a_card_with_nothing_recorded_still_renders():
    text = render(CardInputs(manifest={"model": "m", "version": "v0.1.0"}, run={}))
    assert "No evaluation was recorded" in text and "No gates were recorded" in text
    assert "No bias analysis was recorded" in text


def test_the_context_names_everything_the_template_uses():
    # StrictUndefined: a name missing from the context would raise while rendering; the
    # empty context must carry every key too.
    assert set(context(CardInputs(manifest={}, run={}))) == set(
        context(CardInputs(manifest=MANIFEST, run=RUN, evaluation=EVALUATION, drift=DRIFT)))


def test_the_card_is_valid_github_markdown():
    cmarkgfm = pytest.importorskip("cmarkgfm")
    from cmarkgfm.cmark import Options

    html = cmarkgfm.github_flavored_markdown_to_html(card(), options=Options.CMARK_OPT_UNSAFE)
    assert html.count("<table>") == 6  # summary, data, metrics, gates, bias, lineage
    assert "<h2>Bias slices</h2>" in html
