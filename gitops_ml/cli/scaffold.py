"""``gitops-ml init`` and ``gitops-ml demo``."""

from __future__ import annotations

import click

from ._app import common_options, emit


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
    from ..scaffold import init as run_init

    result = run_init(directory, template, force=force, owner_repo=owner_repo)

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
