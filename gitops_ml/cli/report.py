"""``gitops-ml report`` and ``gitops-ml comment``."""

from __future__ import annotations

from pathlib import Path

import click

from gitops_ml.cli._app import ci_context, common_options, emit, state
from gitops_ml.errors import ExitCode


@click.command()
@click.argument("model")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md",
              show_default=True, help="md: the PR comment (fits GitHub's limit); html; json.")
@click.option("--out", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE instead of printing it.")
@click.option("--bundle", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Also write a bundle for fork-safe posting: report.md, summary.md, "
                   "metadata.json.")
@click.option("--run-key", metavar="KEY", help="Report this run (default: the run key of the "
              "spec and data as they are now).")
@click.option("--run", "run_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read run.json from FILE instead of the store.")
@click.option("--evaluation", "evaluation_file",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Read evaluation.json from FILE instead of the store.")
@click.option("--drift", "drift_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read drift.json from FILE instead of the store.")
@click.option("--pr", type=int, help="Pull request number (default: from GITHUB_EVENT_PATH).")
@click.option("--sha", help="Head commit SHA of the pull request (default: from the event).")
@click.option("--step-summary/--no-step-summary", default=True, show_default=True,
              help="Append the full report to $GITHUB_STEP_SUMMARY when it is set.")
@common_options
def report(model: str, fmt: str, out: Path | None, bundle: Path | None, run_key: str | None,
           run_file: Path | None, evaluation_file: Path | None, drift_file: Path | None,
           pr: int | None, sha: str | None, step_summary: bool) -> None:
    """Render the report of MODEL: checks, training, metrics vs the champion with gates, bias
    slices, drift (most drifted first) and lineage.

    Records come from the store by the model's run key, or from --run/--evaluation/--drift.
    """
    from gitops_ml import report_model

    ci = ci_context().but(pr=pr, head_sha=sha)
    summary = ci.step_summary if step_summary else None
    result = report_model(state().repo, model, fmt=fmt, out=out, bundle=bundle,
                          run_key=run_key, run_file=run_file, evaluation_file=evaluation_file,
                          drift_file=drift_file, step_summary=Path(summary) if summary else None,
                          ci=ci)

    def text() -> str:
        if out is None:
            return result.text.rstrip("\n")
        lines = [f"wrote {result.format} report of {model} to {out} ({result.chars:,} chars; "
                 f"gates: {result.gate_outcome})"]
        if result.bundle:
            lines.append(f"wrote bundle to {result.bundle}")
        return "\n".join(lines)

    if out is None and bundle is not None and state().output == "text":
        click.echo(f"wrote bundle to {result.bundle}", err=True)
    emit(result, text, exit_code=ExitCode.OK)


@click.command()
@click.argument("report_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pr", type=int, help="Pull request number (default: from GITHUB_EVENT_PATH).")
@click.option("--github-repo", "repository", metavar="OWNER/NAME", envvar="GITHUB_REPOSITORY",
              help="The GitHub repository (default: $GITHUB_REPOSITORY).")
@click.option("--from-bundle", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Post the bundle(s) in DIR, checked against the workflow_run payload.")
@click.option("--model", metavar="NAME", help="Model name (default: the marker in the report).")
@click.option("--sha", help="Commit for the status (default: the PR's head).")
@click.option("--status/--no-status", default=True, show_default=True,
              help="Record the gate outcome as a check run (or commit status).")
@common_options
def comment(report_file: Path | None, pr: int | None, repository: str | None,
            from_bundle: Path | None, model: str | None, sha: str | None,
            status: bool) -> None:
    """Post REPORT_FILE (or a bundle) as the model's sticky PR comment, updated in place.

    Reads GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL and GITHUB_EVENT_PATH.
    With --from-bundle, no folder (or an empty one) means the pull request run uploaded no
    bundle (no model was affected): nothing is posted, no request is made, and it succeeds.
    """
    from gitops_ml.github.publish import PublishResult, publish_comment

    if report_file is None and from_bundle is not None and _no_bundles(from_bundle):
        nothing = PublishResult(repository or ci_context().repository or "")
        note = (f"nothing to post: no report bundle in {from_bundle} (the pull request run "
                "uploaded none: it affected no model)")
        if state().output != "text":
            click.echo(note, err=True)  # the log says so too
        emit(nothing, note)
        return
    result = publish_comment(repo=repository, pr=pr, report_file=report_file,
                             from_bundle=from_bundle, model=model, sha=sha, status=status)
    emit(result, result.text)


def _no_bundles(directory: Path) -> bool:
    """No folder, or an empty one: what download-artifact leaves when no artifact matched
    (v7 creates no folder for zero matches). A folder with anything in it is checked."""
    if directory.is_symlink():
        return False
    if not directory.exists():
        return True
    return directory.is_dir() and not any(directory.iterdir())
