"""``gitops-ml init`` and ``gitops-ml demo``."""

from __future__ import annotations

import click

from gitops_ml.cli._app import common_options, emit


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--template", "-t", type=click.Choice(["classification", "regression"]),
              default="classification", show_default=True,
              help="classification: breast cancer sample; regression: diabetes sample.")
@click.option("--force", is_flag=True, help="Overwrite files whose content differs.")
@click.option("--owner-repo", metavar="OWNER/NAME@REF", default="gitops-ml/gitops-ml@v1",
              show_default=True, help="Where the caller workflows find gitops-ml's reusable "
              "workflows.")
@common_options
def init(directory: str, template: str, force: bool, owner_repo: str) -> None:
    """Scaffold a gitops-ml repository in DIRECTORY (default: here).

    Writes gitops-ml.yaml, a model spec, a sample dataset (from scikit-learn) behind a data
    pointer, caller workflows for GitHub Actions, a .gitignore and a pre-commit config.
    Running it again changes nothing; it never overwrites a different file without --force.
    """
    from gitops_ml import init_project

    result = init_project(directory, template=template, force=force, owner_repo=owner_repo)

    def text() -> str:
        lines = [f"created      {p}" for p in result.created]
        lines += [f"overwritten  {p}" for p in result.overwritten]
        if not result.changed:
            lines.append(f"nothing to do: all {len(result.unchanged)} file(s) are up to date "
                         f"in {result.root}")
        else:
            lines.append(f"\nscaffolded model '{result.model}' ({result.template}) in "
                         f"{result.root}; next: git init, then 'gitops-ml validate' and "
                         f"'gitops-ml train {result.model}'")
        return "\n".join(lines)

    emit(result, text)


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="Run in DIR (new or empty) instead of a temporary folder.")
@click.option("--keep/--no-keep", default=True, show_default=True,
              help="Keep the folder (repository, origin and output) afterwards.")
@click.option("--template", "-t", type=click.Choice(["classification", "regression"]),
              default="classification", show_default=True, hidden=True)
@common_options
def demo(directory: str | None, keep: bool, template: str) -> None:
    """Run the whole life of a model on one machine: offline, no GitHub, no token.

    init a repository with a real dataset, promote a baseline, open a "pull request" that
    changes a hyperparameter and the data, run the pull request pipeline (validate, plan,
    train, evaluate, drift, report), merge, promote, and show the registry history and the
    lineage. What a reviewer would see is written to an output folder.
    """
    from gitops_ml import DemoStep, run_demo
    from gitops_ml.cli._app import state

    live = state().output == "text"
    phase = [""]

    def on_step(step: DemoStep) -> None:
        if not live:
            return
        if step.phase != phase[0]:
            phase[0] = step.phase
            click.secho(f"\n== {step.phase} ==", bold=True)
        colour = {"ok": "green", "failed": "red", "skipped": "yellow",
                  "gates failed": "yellow", "drift found": "yellow"}.get(step.status)
        click.echo(f"$ {step.command}")
        click.secho(f"  {step.title}: {step.status} ({step.seconds:.1f}s)", fg=colour)
        for line in step.text.splitlines():
            click.echo(f"  {line}")

    result = run_demo(directory, template=template, keep=keep, on_step=on_step)

    def text() -> str:
        lines = [f"\ndone in {result.seconds:.1f}s."]
        if result.kept:
            lines.append(f"repository: {result.repo}")
            lines.append(f"output:     {result.output}")
            lines += [f"  {what}: {path}" for what, path in result.files.items()]
        return "\n".join(lines)

    emit(result, text, exit_code=result.exit_code)
