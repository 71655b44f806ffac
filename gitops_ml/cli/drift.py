"""Drift commands: drift (pull requests) and monitor (scheduled runs)."""

from __future__ import annotations

import click

from gitops_ml.cli._app import common_options, emit, state
from gitops_ml.cli.model import gates_failed
from gitops_ml.errors import DriftFound


@click.command()
@click.argument("model")
@click.option("--reference", metavar="REF", help="Reference data: a pointer file, .dvc file, "
              "data path or URI (default: the training data).")
@click.option("--current", metavar="REF", help="Current data (default: data.current of the "
              "spec, else the test data).")
@click.option("--model-artifact", metavar="PATH", type=click.Path(dir_okay=False),
              help="A model artifact (.skops): adds prediction drift.")
@click.option("--html", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write Evidently's HTML report here (sampled when the data is large).")
@click.option("--out", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write drift.json here.")
@common_options
def drift(model: str, reference: str | None, current: str | None,
          model_artifact: str | None, html: str | None, out: str | None) -> None:
    """Detect drift between the reference and the current data of MODEL.

    Methods and thresholds are Evidently's defaults unless the spec's drift: settings override
    them. Exits 5 when a drift: or check: gate of the spec fails.
    """
    from gitops_ml import drift_model, drift_text

    result = drift_model(state().repo, model, reference=reference, current=current,
                         model_artifact=model_artifact, html=html, out=out)
    emit(result, lambda: drift_text(result),
         verdict=None if result.gates_passed else gates_failed(model, result.gates))


@click.command()
@click.argument("model")
@click.option("--current", metavar="REF", required=True, help="The fresh data to check.")
@click.option("--reference", metavar="REF", help="Reference data (default: the production "
              "version's reference from the registry).")
@click.option("--html", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write Evidently's HTML report here.")
@click.option("--out", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write drift.json here.")
@click.option("--github-issue", is_flag=True,
              help="Open or update the model's drift issue on GitHub when drift is found; "
                   "comment and close it when it is gone (GITHUB_TOKEN, GITHUB_REPOSITORY).")
@click.option("--github-repo", "repository", metavar="OWNER/NAME", envvar="GITHUB_REPOSITORY",
              help="The GitHub repository of the drift issue (default: $GITHUB_REPOSITORY).")
@common_options
def monitor(model: str, current: str, reference: str | None, html: str | None,
            out: str | None, github_issue: bool, repository: str | None) -> None:
    """Check fresh data against the production model's reference data.

    Exits 6 when drift is found, 0 when not, and another code on errors.
    """
    from gitops_ml import drift_text, monitor_model

    result = monitor_model(state().repo, model, current=current, reference=reference,
                           html=html, out=out)
    issue = None
    if github_issue:  # the GitHub adapter (github+report area)
        from gitops_ml.github.monitor_issue import sync_monitor_issue

        issue = sync_monitor_issue(result, repo=repository)

    def render() -> str:
        head = (f"{result.model}: drift found" if result.drift_found
                else f"{result.model}: no drift")
        tail = f"\nissue: {issue.action} #{issue.number} {issue.url}" \
            if issue and issue.number else ""
        return head + "\n" + drift_text(result.drift) + tail

    shown = result if issue is None else {**result.to_dict(), "issue": issue}
    emit(shown, render, verdict=DriftFound(f"{result.model}: drift found")
         if result.drift_found else None)
