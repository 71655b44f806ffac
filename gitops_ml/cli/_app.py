"""The Click application: global options, output rendering, and the one place errors become
output.

Every command body is: parse arguments, call one core function, hand the result to
:func:`emit`. Errors raised anywhere below are :class:`~gitops_ml.errors.GitopsMLError` and are
translated to one line (or a JSON envelope, or a GitHub annotation) in :func:`main`.
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Callable
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gitops_ml import __version__
from gitops_ml.errors import ExitCode, GitopsMLError, InternalError, Verdict, scrub_error
from gitops_ml.util.frozen import Record

if TYPE_CHECKING:
    from gitops_ml import CIContext

ENVELOPE_VERSION = 1
F = TypeVar("F", bound=Callable[..., Any])


class State:
    """Options that apply to the whole invocation (set by eager option callbacks).

    One instance per invocation, held as click's context object (``ctx.obj``), so two
    invocations in one process (``CliRunner``, tests, an embedding program) never share it.
    """

    def __init__(self, *, traceback: bool = False) -> None:
        self.output = "text"
        self.traceback = traceback
        self.repo: str | None = None
        self.command = ""


def state(ctx: click.Context | None = None) -> State:
    """The invocation's :class:`State`: the context object of ``ctx`` (default: the current
    click context), created on first use."""
    ctx = ctx or click.get_current_context()
    return ctx.ensure_object(State)


def to_jsonable(obj: Any) -> Any:
    """Results are frozen records or dataclasses; this turns them (and paths, enums, tuples)
    into JSON."""
    import dataclasses  # not at import: --help does not need it
    if (dataclasses.is_dataclass(obj) or isinstance(obj, Record)) and not isinstance(obj, type):
        to_dict = getattr(obj, "to_dict", None)
        if callable(to_dict):
            return to_jsonable(to_dict())
        names = obj.__field_names__ if isinstance(obj, Record) else \
            [f.name for f in dataclasses.fields(obj)]
        return {name: to_jsonable(getattr(obj, name)) for name in names
                if not name.startswith("_")}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, PurePath):
        return obj.as_posix()
    if isinstance(obj, enum.Enum):
        return obj.value
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return obj.item()
    if isinstance(obj, float) and obj != obj:  # NaN is not JSON
        return None
    return obj


def envelope(command: str, *, result: Any = None, error: GitopsMLError | None = None,
             exit_code: int = 0) -> dict[str, Any]:
    """The versioned JSON envelope every command prints with ``--output json``."""
    return {
        "gitops_ml": ENVELOPE_VERSION,
        "version": __version__,
        "command": command,
        "ok": error is None and exit_code == 0,
        "exit_code": error.exit_code if error else exit_code,
        "result": to_jsonable(result) if error is None else None,
        "error": error.to_dict() if error else None,
    }


def emit(result: Any, text: str | Callable[[], str], *, exit_code: int = ExitCode.OK,
         verdict: Verdict | None = None) -> None:
    """Print a command's result as text or as the JSON envelope, then exit with ``exit_code``;
    or, when the command worked but its answer is no, raise ``verdict`` (gates failed, drift
    found), whose exit code the envelope carries.

    ``text`` is either the text itself or a callable producing it (so JSON runs skip it).
    """
    if verdict is not None:
        exit_code = verdict.exit_code
    current = state()
    if current.output == "json":
        import json

        click.echo(json.dumps(envelope(current.command, result=result, exit_code=exit_code),
                              indent=2, sort_keys=False))
    else:
        rendered = text() if callable(text) else text
        if rendered:
            click.echo(rendered)
    if verdict is not None:
        raise verdict
    if exit_code:
        raise SystemExit(exit_code)


def _set_output(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    current = state(ctx)
    if ctx.parent is not None:  # a subcommand: name it in the envelope ("data add")
        current.command = " ".join(ctx.command_path.split()[1:])
    if value is not None:
        if param.name == "output":
            current.output = value
        elif param.name == "traceback" and value:
            current.traceback = True
    return value


def common_options(f: F) -> F:
    """``--output`` and ``--traceback`` on every command (as well as on the group)."""
    f = click.option("--traceback", is_flag=True, default=None, expose_value=False,
                     callback=_set_output, is_eager=True,
                     help="Show the full traceback on errors.")(f)
    f = click.option("--output", "-o", type=click.Choice(["text", "json"]), default=None,
                     expose_value=False, callback=_set_output, is_eager=True,
                     help="text for people, json for scripts (a versioned envelope).")(f)
    return f


class LazyGroup(click.Group):
    """Imports a command's module only when the command runs (keeps --help fast)."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            import importlib

            module, attr, _ = self.lazy[cmd_name]
            cmd: click.Command = getattr(importlib.import_module(module), attr)
            return cmd
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help comes from the table, so `--help` imports no command module.
        rows = [(name, self.lazy[name][2]) for name in sorted(self.lazy)]
        rows += [(name, cmd.get_short_help_str())
                 for name, cmd in sorted(self.commands.items()) if name not in self.lazy]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and name not in self.lazy and name not in self.commands \
                and not name.startswith("-"):
            import difflib

            match = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f" Did you mean '{match[0]}'?" if match else ""
            ctx.fail(f"No such command '{name}'.{hint}")
        return super().resolve_command(ctx, args)


def github_escape(value: str, *, prop: bool = False) -> str:
    """Escape for a workflow command (``::error ...::message``)."""
    out = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        out = out.replace(":", "%3A").replace(",", "%2C")
    return out


def annotation(error: GitopsMLError) -> str:
    props = ["title=gitops-ml " + github_escape(error.code, prop=True)]
    if error.location is not None:
        props.insert(0, "file=" + github_escape(error.location.file, prop=True))
        if error.location.line is not None:
            props.insert(1, f"line={error.location.line}")
        if error.location.column is not None:
            props.insert(2, f"col={error.location.column}")
    return f"::error {','.join(props)}::{github_escape(error.one_line())}"


def report_error(error: GitopsMLError, current: State) -> int:
    """The one place an error becomes output (secrets scrubbed, URLs included)."""
    error = scrub_error(error)
    if current.output == "json":
        import json

        click.echo(json.dumps(envelope(current.command, error=error), indent=2))
    else:
        click.secho(f"error: {error.one_line()}", err=True, fg="red")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        click.echo(annotation(error))
    if current.traceback:
        import traceback

        traceback.print_exception(error, file=sys.stderr)
        sys.stderr.flush()
    return error.exit_code


def run(cli: click.Group, args: list[str] | None = None) -> int:
    """Run the CLI and translate every outcome into an exit code. Never lets a traceback out
    unless ``--traceback`` asks for it."""
    argv = list(sys.argv[1:] if args is None else args)
    # Made here, not by the group, so that errors raised while parsing still see it.
    current = State(traceback="--traceback" in argv)
    try:
        cli.main(argv, prog_name="gitops-ml", standalone_mode=False, obj=current)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Verdict as exc:  # the result is shown already; the verdict is its exit code
        return exc.exit_code
    except GitopsMLError as exc:
        return report_error(exc, current)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line, unless asked for the traceback
        if current.traceback:
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
        err = InternalError(f"internal error: {type(exc).__name__}: {exc}",
                            hint="this is a bug in gitops-ml; rerun with --traceback and "
                                 "report it")
        return report_error(err, current)
    return 0


def ci_context() -> CIContext:
    """What the CI run says (pull request, head commit, actor, job summary), read from the
    environment here, at the edge, and passed into the API verbs."""
    from gitops_ml import CIContext

    return CIContext.from_env(os.environ)
