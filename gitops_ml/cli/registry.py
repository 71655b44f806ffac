"""Registry commands: promote, registry list/show/card/history, rollback, deprecate, lineage,
reproduce. Each parses its arguments, calls one core function and renders the result."""

from __future__ import annotations

from typing import Any

import click

from gitops_ml.cli._app import LazyGroup, ci_context, common_options, emit, state


def _short(sha: Any, n: int = 12) -> str:
    return str(sha)[:n] if sha else "-"


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    return "\n".join(lines)


# --- promote ------------------------------------------------------------------------------

@click.command()
@click.argument("model")
@click.option("--stage", default=None, help="Stage to assign (default: the spec's "
              "promotion.stage). An empty string registers without a stage.")
@click.option("--bump", type=click.Choice(["major", "minor", "patch"]), default=None,
              help="Version part to bump (default: the spec's promotion.bump, else minor).")
@click.option("--retrain", is_flag=True, help="Train now if the PR's artifact is not found "
              "(recorded in the manifest).")
@click.option("--force", is_flag=True, help="Promote despite failed or missing gates "
              "(recorded in the manifest).")
@click.option("--artifacts", type=click.Path(file_okay=False), default=None,
              help="A folder of downloaded CI artifacts (or a cache) to find the run in.")
@click.option("--pr", type=int, default=None, help="Pull request number (default: from the "
              "GitHub event or the merge commit's subject).")
@click.option("--head-sha", default=None, help="The PR's head SHA (default: from the event).")
@click.option("--actor", default=None, help="Who promotes (default: GITHUB_ACTOR, else git's "
              "committer name).")
@click.option("--push/--no-push", default=None, help="Push the tags to origin (default: when "
              "origin exists).")
@common_options
def promote(model: str, stage: str | None, bump: str | None, retrain: bool, force: bool,
            artifacts: str | None, pr: int | None, head_sha: str | None, actor: str | None,
            push: bool | None) -> None:
    """Register the artifact the pull request evaluated and assign its stage.

    The artifact is found by the run key at HEAD (spec, data and library versions), never by
    the merge commit, so squash and rebase merges find it too.
    """
    from gitops_ml import promote_model
    from gitops_ml.github.releases import GitHubReleases

    result = promote_model(state().repo, model, stage=stage, bump=bump, retrain=retrain,
                           force=force, artifacts=artifacts, pr=pr, head_sha=head_sha,
                           actor=actor, push=push, ci=ci_context(),
                           publisher=GitHubReleases())

    def text() -> str:
        verb = "already registered" if result.existing else "registered"
        lines = [f"{result.model} {result.version} {verb} at {_short(result.commit)} "
                 f"(artifact {_short(result.artifact_sha256)}, run {_short(result.run_key)})"]
        if result.stage:
            lines.append(f"stage {result.stage}: {result.version}"
                         + (f" (tag {result.stage_tag})" if result.stage_tag else ""))
        lines.append("tags: " + (", ".join(result.tags) or "none new")
                     + (" — pushed to origin" if result.pushed else " — local only"))
        if result.release_url:
            lines.append(f"release: {result.release_url}")
        lines += [f"note: {n}" for n in result.notes]
        return "\n".join(lines)

    emit(result, text)


# --- registry list/show/history -----------------------------------------------------------

def _gate_status(g: dict[str, Any]) -> str:
    if g.get("skipped"):
        return "skip"
    passed = g.get("passed")
    return "pass" if passed is True else "FAIL" if passed is False else "unknown"


def _gate_lines(m: dict[str, Any]) -> list[str]:
    """The gates a version's manifest records, each with its value, threshold, verdict and
    why; a ``--force`` with the gates it overrode."""
    gates = [g for g in m.get("gates") or [] if isinstance(g, dict)]
    passed = m.get("gates_passed")
    verdict = "passed" if passed is True else "FAILED" if passed is False else "not recorded"
    lines = [f"gates: {verdict}" + ("" if gates else " (no gate recorded)")]
    for g in gates:
        value = g.get("value")
        shown = f"{value:.4g}" if isinstance(value, float) else ("-" if value is None
                                                                  else str(value))
        bounds = g.get("threshold")
        threshold = (", ".join(f"{k} {v}" for k, v in bounds.items())
                     if isinstance(bounds, dict) else str(bounds if bounds is not None else "-"))
        why = g.get("note") or g.get("reason") or ""
        lines.append(f"  {_gate_status(g):<7} {g.get('gate') or g.get('subject')}: value "
                     f"{shown}, threshold {threshold}" + (f" ({why})" if why else ""))
    if m.get("forced"):
        overrode = [str(g.get("gate") or g.get("subject")) for g in gates
                    if g.get("passed") is False and not g.get("skipped")]
        if overrode:
            lines.append("forced: --force overrode " + ", ".join(overrode))
        elif not gates or passed is None:
            lines.append("forced: --force promoted it without a recorded evaluation")
        else:
            lines.append("forced: --force was given; no recorded gate failed")
    return lines


@click.group(cls=LazyGroup)
@common_options
def registry() -> None:
    """List and show model versions and stages (GTO-compatible Git tags)."""


@registry.command("list")
@common_options
def list_cmd() -> None:
    """Every model with its latest version and stages."""
    from gitops_ml import list_models

    result = list_models(state().repo)

    def text() -> str:
        if not result.models:
            return "no models in the registry"
        rows = [[m.name, m.latest or "-", str(m.versions),
                 ", ".join(f"{s}={v}" for s, v in sorted(m.stages.items())) or "-",
                 "deprecated" if m.deprecated else ""] for m in result.models]
        return _table(rows, ["model", "latest", "versions", "stages", ""])

    emit(result, text)


@registry.command("show")
@click.argument("ref", metavar="MODEL[@VERSION|#STAGE]")
@common_options
def show_cmd(ref: str) -> None:
    """A model's versions and stages, or one version with its manifest."""
    from gitops_ml import ModelState, show_model

    result = show_model(state().repo, ref)

    def text() -> str:
        if isinstance(result, ModelState):
            head = f"{result.name}" + (" (deprecated)" if result.deprecated else "")
            stages = ", ".join(f"{s.stage}={s.version}" for s in result.stages) or "none"
            rows = [[v.version, _short(v.commit), v.created_at, v.author,
                     ", ".join(v.stages) or "-",
                     "" if v.active else "deregistered",
                     _short(((v.manifest or {}).get("artifact") or {}).get("sha256"))]
                    for v in result.versions]
            return "\n".join([head, f"stages: {stages}", "",
                              _table(rows, ["version", "commit", "created", "by", "stages",
                                            "", "artifact"])])
        v = result.version
        m = v.manifest or {}
        lines = [f"{result.model} {v.version}" + ("" if v.active else " (deregistered)"),
                 f"tag: {v.tag}", f"commit: {v.commit}", f"created: {v.created_at} by "
                 f"{v.author}", f"stages: {', '.join(v.stages) or 'none'}"]
        art = m.get("artifact") or {}
        if art:
            lines.append(f"artifact: {art.get('sha256')} ({art.get('uri')})")
        for key in ("run_key", "pr", "head_sha", "merge_sha", "actor", "retrained"):
            if m.get(key) not in (None, ""):
                lines.append(f"{key}: {m[key]}")
        metrics = m.get("metrics") or {}
        if metrics:
            lines.append("metrics: " + ", ".join(f"{k}={val:.4g}" if isinstance(val, float)
                                                 else f"{k}={val}"
                                                 for k, val in metrics.items()))
        if m:
            lines += _gate_lines(m)
        return "\n".join(lines)

    emit(result, text)


@registry.command("card")
@click.argument("ref", metavar="MODEL[@VERSION|#STAGE]")
@common_options
def card_cmd(ref: str) -> None:
    """Print the model card (Markdown) stored with a version (MODEL alone: the latest)."""
    from gitops_ml import model_card

    result = model_card(state().repo, ref)
    emit(result, lambda: result.text.rstrip("\n"))


@registry.command("history")
@click.argument("model")
@common_options
def history_cmd(model: str) -> None:
    """Every registry event of a model, newest first (stage tags in counter order)."""
    from gitops_ml import model_history

    result = model_history(state().repo, model)

    def text() -> str:
        rows = [[e.created_iso, e.action, e.version or "", e.stage or "", e.tag,
                 e.commit, e.tagger] for e in result.events]
        return _table(rows, ["when", "action", "version", "stage", "tag", "commit", "by"])

    emit(result, text)


@registry.command("doctor")
@click.argument("model", required=False)
@common_options
def doctor_cmd(model: str | None) -> None:
    """Find tags that make gitops-ml and gto read the registry differently (dated in the
    future, out of counter order, tied in one second) and stages held against the rules.
    Exits 8 when it finds any."""
    from gitops_ml import registry_doctor
    from gitops_ml.errors import ExitCode

    result = registry_doctor(state().repo, model)

    def text() -> str:
        head = (f"{result.models} model(s), {result.tags} tag(s): "
                + ("healthy" if result.healthy else f"{len(result.findings)} finding(s)"))
        return "\n".join([head, *(f"{f.model}: {f.kind}: {f.message}"
                                   for f in result.findings)])

    emit(result, text, exit_code=ExitCode.OK if result.healthy else ExitCode.REGISTRY)


# --- rollback, deprecate ------------------------------------------------------------------

@click.command()
@click.argument("model")
@click.argument("to", metavar="VERSION")
@click.option("--stage", default="production", show_default=True,
              help="The stage to move back.")
@click.option("--actor", default=None, help="Who rolls back (recorded in the tag message).")
@click.option("--force", is_flag=True, help="Assign a version whose gates did not pass, are "
              "unknown, or were forced (recorded in the tag).")
@click.option("--push/--no-push", default=None, help="Push to origin (default: when it exists).")
@common_options
def rollback(model: str, to: str, stage: str, actor: str | None, force: bool,
             push: bool | None) -> None:
    """Assign a stage to an earlier VERSION (vX.Y.Z) of MODEL with a new stage tag (history
    keeps both)."""
    from gitops_ml import rollback_model

    result = rollback_model(state().repo, model, to=to, stage=stage, actor=actor, push=push,
                            force=force, ci=ci_context())

    def text() -> str:
        if not result.tags:
            return f"{model} {stage} is already {to}: nothing to do"
        return (f"{model} {stage}: {result.previous or 'none'} -> {to} (tag {result.tags[0]}"
                + (", pushed)" if result.pushed else ", local only)"))

    emit(result, text)


@click.command()
@click.argument("model")
@click.argument("version", metavar="[VERSION]", required=False)
@click.option("--actor", default=None, help="Who deprecates (recorded in the tag message).")
@click.option("--push/--no-push", default=None, help="Push to origin (default: when it exists).")
@common_options
def deprecate(model: str, version: str | None, actor: str | None, push: bool | None) -> None:
    """Deprecate MODEL (name@deprecated), or with VERSION deregister that version only
    (name@vX.Y.Z!)."""
    from gitops_ml import deprecate_model

    result = deprecate_model(state().repo, model, version=version, actor=actor, push=push,
                             ci=ci_context())
    what = f"{result.model} {version} deregistered" if version else f"{result.model} deprecated"
    lines = [f"{what} (tag {result.tags[0]}" + (", pushed)" if result.pushed
                                                 else ", local only)")]
    lines += [f"{stage}: {version} -> {to or 'none (no earlier version that passed its gates)'}"
              for stage, to in sorted(result.moved.items())]
    emit(result, "\n".join(lines))


# --- lineage, reproduce -------------------------------------------------------------------

@click.command()
@click.argument("ref", metavar="MODEL[@VERSION|#STAGE]")
@common_options
def lineage(ref: str) -> None:
    """How a model version came to be: commit, PR, data, spec, metrics, gates, libraries."""
    from gitops_ml import lineage_text, model_lineage

    result = model_lineage(state().repo, ref)
    emit(result, lambda: lineage_text(result))


@click.command()
@click.argument("ref", metavar="MODEL[@VERSION|#STAGE]")
@click.option("--keep", is_flag=True, help="Keep the temporary worktree (for inspection).")
@common_options
def reproduce(ref: str, keep: bool) -> None:
    """Retrain a version at its recorded commit and compare the artifact's sha256."""
    from gitops_ml import reproduce_model
    from gitops_ml.errors import NotReproduced

    result = reproduce_model(state().repo, ref, keep=keep)

    def text() -> str:
        verdict = "identical" if result.identical else "DIFFERENT"
        lines = [f"{result.model} {result.version}: artifact {verdict}",
                 f"recorded:   {result.expected_sha256}",
                 f"reproduced: {result.actual_sha256}",
                 f"at commit {result.commit} ({result.seconds:.1f}s)"]
        if not result.identical and result.run_key_matches is False:
            lines.append("note: the run key differs (library versions or data changed): "
                         + ", ".join(result.differences))
        if result.worktree:
            lines.append(f"worktree kept at {result.worktree}")
        return "\n".join(lines)

    emit(result, text, verdict=None if result.identical else NotReproduced(
        f"{result.model} {result.version}: the artifact differs from the registered one"))
