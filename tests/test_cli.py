"""The CLI frame: help for every command, the JSON envelope contract, errors in one place."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click
import pytest

from gitops_ml.cli import COMMANDS, cli
from gitops_ml.errors import ExitCode

from .projects import files

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gitops_ml"


def all_commands() -> list[tuple[str, click.Command]]:
    out = []
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        cmd = cli.get_command(ctx, name)
        assert cmd is not None, f"command {name} does not load"
        out.append((name, cmd))
        if isinstance(cmd, click.Group):
            sub_ctx = click.Context(cmd, parent=ctx)
            out += [(f"{name} {sub}", cmd.get_command(sub_ctx, sub))
                    for sub in cmd.list_commands(sub_ctx)]
    return out


def test_every_command_loads_and_has_help() -> None:
    commands = all_commands()
    assert {name for name, _ in commands} >= set(COMMANDS)
    for name, cmd in commands:
        assert cmd.help and len(cmd.help.strip()) > 20, f"'{name}' lacks help"
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"option {param.opts} of '{name}' lacks help"


def test_every_command_takes_output_json() -> None:
    for name, cmd in all_commands():
        if isinstance(cmd, click.Group):
            continue
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        assert "--output" in opts, f"'{name}' has no --output"


@pytest.mark.parametrize("args", [["--help"], ["validate", "--help"], ["plan", "--help"]])
def test_help_stays_light(args: list[str]) -> None:
    code = ("import sys; from gitops_ml.cli import cli; from gitops_ml.cli._app import run; "
            f"run(cli, {args!r}); "
            "print(sorted(m for m in ('sklearn', 'pandas', 'scipy', 'evidently', 'github', "
            "'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_core_never_prints() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("cli/") or rel == "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "print":
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


ENVELOPE_KEYS = ["gitops_ml", "version", "command", "ok", "exit_code", "result", "error"]
ERROR_KEYS = ["code", "message", "hint", "key_path", "file", "line", "column", "exit_code"]


def test_envelope_contract_on_success(make_repo, gml) -> None:
    payload = gml("plan", "--output", "json", cwd=make_repo(files())).json()
    assert list(payload) == ENVELOPE_KEYS
    assert payload["gitops_ml"] == 1
    assert (payload["command"], payload["ok"], payload["exit_code"]) == ("plan", True, 0)
    assert payload["error"] is None


def test_envelope_contract_on_error(tmp_path, gml) -> None:
    (tmp_path / "gitops-ml.yaml").write_text("models: [a\n")
    result = gml("validate", "-o", "json", cwd=tmp_path)
    assert result.exit_code == ExitCode.CONFIG
    payload = result.json()
    assert list(payload) == ENVELOPE_KEYS
    assert payload["ok"] is False and payload["result"] is None
    assert list(payload["error"]) == ERROR_KEYS
    assert payload["error"]["code"] == "yaml_syntax"
    assert (payload["error"]["file"], payload["error"]["line"]) == ("gitops-ml.yaml", 2)
    assert result.stderr == ""


def test_group_level_output_option(make_repo, gml) -> None:
    payload = gml("-o", "json", "plan", cwd=make_repo(files())).json()
    assert payload["command"] == "plan"


def test_error_is_one_line_and_traceback_on_request(tmp_path, gml) -> None:
    (tmp_path / "gitops-ml.yaml").write_text("models: 3\n")
    plain = gml("validate", cwd=tmp_path)
    assert plain.stderr.count("\n") == 1 and "Traceback" not in plain.output
    assert plain.stderr.startswith("error: gitops-ml.yaml:1:1: models: expected a string or")
    verbose = gml("validate", "--traceback", cwd=tmp_path)
    assert "Traceback (most recent call last)" in verbose.stderr
    assert verbose.exit_code == plain.exit_code == ExitCode.CONFIG


def test_github_annotation(tmp_path, gml) -> None:
    (tmp_path / "gitops-ml.yaml").write_text("models: m\nregistery: git\n")
    result = gml("validate", cwd=tmp_path, env={"GITHUB_ACTIONS": "true"})
    assert result.stdout.strip() == (
        "::error file=gitops-ml.yaml,line=2,col=1,title=gitops-ml config_invalid::"
        "gitops-ml.yaml:2:1: registery: unknown key 'registery' (did you mean 'registry'?)")


def test_unknown_command_suggests(gml) -> None:
    result = gml("valdiate")
    assert result.exit_code == ExitCode.USAGE
    assert "Did you mean 'validate'?" in result.stderr


def test_python_dash_m_and_console_script(make_repo) -> None:
    repo = make_repo(files())
    out = subprocess.run([sys.executable, "-m", "gitops_ml", "plan", "--matrix"], cwd=repo,
                         capture_output=True, text=True, check=True).stdout
    assert '"model":"churn"' in out
    exe = Path(sys.executable).parent / "gitops-ml"
    if exe.exists():
        version = subprocess.run([str(exe), "--version"], capture_output=True, text=True,
                                 check=True).stdout
        assert version.startswith("gitops-ml, version ")


def test_state_does_not_leak_between_invocations(make_repo, monkeypatch) -> None:
    """Two invocations in one process (as CliRunner, or a program embedding the CLI, makes
    them) each start from the defaults: neither ``-o json`` nor ``-C DIR`` carries over."""
    from click.testing import CliRunner

    repo = make_repo(files())
    runner = CliRunner()
    first = runner.invoke(cli, ["-C", str(repo), "-o", "json", "plan"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("{")
    monkeypatch.chdir(repo)
    second = runner.invoke(cli, ["plan"])
    assert second.exit_code == 0, second.output
    assert second.output.startswith("churn  models/churn/model.yaml"), second.output
    elsewhere = make_repo(files("other"), name="elsewhere")
    monkeypatch.chdir(elsewhere)
    third = runner.invoke(cli, ["plan"])
    assert third.output.startswith("other  models/other/model.yaml"), third.output


def _option_kind(param: click.Option) -> str:
    if param.is_flag:
        return "flag"
    return param.metavar or param.type.name.upper()


def test_option_names_keep_one_meaning() -> None:
    """An option spelled the same on two commands takes the same kind of value: ``--repo``
    is never a folder on one command and OWNER/NAME on another, ``--to`` never a URI here and
    a version there."""
    kinds: dict[str, set[tuple[str, str]]] = {}

    def walk(cmd: click.Command, path: str, ctx: click.Context) -> None:
        for param in cmd.params:
            if isinstance(param, click.Option) and param.name not in ("output", "traceback",
                                                                         "help"):
                for opt in param.opts:
                    kinds.setdefault(opt, set()).add((_option_kind(param), path))
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None
                walk(sub, f"{path} {name}", click.Context(sub, parent=ctx))

    walk(cli, "gitops-ml", click.Context(cli))
    mixed = {opt: sorted(uses) for opt, uses in kinds.items()
             if len({kind for kind, _ in uses}) > 1}
    assert mixed == {}
    assert ("OWNER/NAME", "gitops-ml comment") in kinds["--github-repo"]
    assert kinds["--repo"] == {("DIR", "gitops-ml")}
