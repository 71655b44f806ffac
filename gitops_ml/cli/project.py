"""Project-level commands: validate, plan, schema."""

from __future__ import annotations

import click

from gitops_ml.cli._app import common_options, emit, state
from gitops_ml.errors import ExitCode


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--no-data", is_flag=True, help="Skip pointer and header checks.")
@common_options
def validate(paths: tuple[str, ...], no_data: bool) -> None:
    """Check gitops-ml.yaml, the model specs and their data pointers.

    With PATHS (as pre-commit passes them), check only those files. Nothing is fitted and no
    data is downloaded: columns are checked against the header only when the data is local.
    """
    from gitops_ml import validate as run_validate

    result = run_validate(state().repo, paths, check_data=not no_data)

    def text() -> str:
        lines = [f"error: {p.line_text}" for p in result.problems]
        lines += [f"warning: {w.line_text}" for w in result.warnings]
        for m in result.models:
            header = f"; columns checked against {', '.join(m.header_checked)} data" \
                if m.header_checked else ""
            lines.append(f"ok  {m.name} ({m.spec}): {m.estimator}{header}")
        for p in result.pointers:
            lines.append(f"ok  {p}")
        n = len(result.problems)
        lines.append(f"{len(result.models)} model(s) valid" if not n else
                     f"{n} problem(s) found")
        return "\n".join(lines)

    emit(result, text, exit_code=ExitCode.OK if result.ok else ExitCode.CONFIG)


@click.command()
@click.option("--base", metavar="REF", help="Compare with the merge base of REF and HEAD "
              "(e.g. origin/main). Without it, every model is listed.")
@click.option("--matrix", "matrix_only", is_flag=True,
              help="Print only the GitHub Actions matrix JSON on one line.")
@common_options
def plan(base: str | None, matrix_only: bool) -> None:
    """List the models affected since REF: spec, pointers, config, or their folder changed.

    With --output json the result is a GitHub Actions matrix:
    {"include": [{"model": "churn", "spec": "models/churn/model.yaml"}]}.
    """
    from gitops_ml import plan as run_plan

    result = run_plan(state().repo, base=base)
    if matrix_only:
        import json

        click.echo(json.dumps(result.matrix, separators=(",", ":")))
        return

    def text() -> str:
        if not result.models:
            return f"no models affected since {result.base} ({result.changed_files} file(s) " \
                   "changed)"
        lines = []
        for m in result.models:
            lines.append(f"{m.name}  {m.spec}")
            lines.extend(f"    {r}" for r in m.reasons)
        return "\n".join(lines)

    emit(result, text)


@click.command()
@click.argument("kind", type=click.Choice(["model", "config"]), default="model")
@common_options
def schema(kind: str) -> None:
    """Print the JSON Schema of a model spec (default) or of gitops-ml.yaml."""
    import json

    from gitops_ml import json_schema

    data = json_schema(kind)
    emit(data, lambda: json.dumps(data, indent=2))
