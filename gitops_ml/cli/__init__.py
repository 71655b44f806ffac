"""The ``gitops-ml`` command line: all Click code lives in this package.

Command modules are imported only when their command runs, so ``gitops-ml --help`` costs little
more than importing Click itself.
"""

from __future__ import annotations

import sys

import click

from gitops_ml import __version__
from gitops_ml.cli._app import LazyGroup, common_options, run, state

# name -> (module, attribute, short help). The short help is here so --help imports nothing.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("gitops_ml.cli.project", "validate", "Check the config, the model specs and "
                 "their data pointers."),
    "plan": ("gitops_ml.cli.project", "plan", "List the models a change affects (a CI matrix)."),
    "schema": ("gitops_ml.cli.project", "schema", "Print the JSON Schema of the spec or config."),
    "data": ("gitops_ml.cli.data", "data", "Add, push, pull and verify data behind pointers."),
    "train": ("gitops_ml.cli.model", "train", "Train a model from its spec (cached by run key)."),
    "evaluate": ("gitops_ml.cli.model", "evaluate", "Evaluate a model against the champion "
                 "and its gates."),
    "drift": ("gitops_ml.cli.drift", "drift", "Detect drift between reference and current "
              "data."),
    "monitor": ("gitops_ml.cli.drift", "monitor", "Check fresh data against the production "
                "model (scheduled runs)."),
    "report": ("gitops_ml.cli.report", "report", "Render the model report (md, html, json)."),
    "comment": ("gitops_ml.cli.report", "comment", "Post the report as a sticky PR comment."),
    "promote": ("gitops_ml.cli.registry", "promote", "Register the reviewed artifact and "
                "assign its stage."),
    "registry": ("gitops_ml.cli.registry", "registry", "List and show model versions and "
                 "stages."),
    "rollback": ("gitops_ml.cli.registry", "rollback", "Assign a stage to an earlier version."),
    "deprecate": ("gitops_ml.cli.registry", "deprecate", "Deprecate a model or deregister a "
                  "version."),
    "lineage": ("gitops_ml.cli.registry", "lineage", "Show how a model version came to be."),
    "reproduce": ("gitops_ml.cli.registry", "reproduce", "Retrain a version and compare its "
                  "artifact hash."),
    "init": ("gitops_ml.cli.scaffold", "init", "Scaffold a gitops-ml repository."),
    "demo": ("gitops_ml.cli.scaffold", "demo", "Run the whole life of a model on one machine."),
}


def _repo_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        state(ctx).repo = value
    return value


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitops-ml")
@click.option("--repo", "-C", metavar="DIR", expose_value=False, callback=_repo_option,
              help="Run as if started in DIR (default: the current folder).")
@common_options
def cli() -> None:
    """gitops-ml: models that live in Git and are reviewed like code.

    Model specs and data pointers live in the repository; pull requests train, evaluate and
    report; merges promote the exact artifact the reviewers saw.
    """


def main() -> None:
    sys.exit(run(cli))
