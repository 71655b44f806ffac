"""The package's layers: every import resolved, imports go one way, no circles.

Every module is parsed; every import in it counts — at the top, inside functions, under
``if TYPE_CHECKING`` — absolute and relative. Importing ``gitops_ml.a.b`` runs the packages
``gitops_ml`` and ``gitops_ml.a`` too, but those edges are Python's, not the module's: only the
module named is the target.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gitops_ml"

# Lowest first. A module may import modules of its own layer or of any layer below it; the
# layer of a module is the one naming its top-level module or package under gitops_ml
# ("gitops_ml" itself is the package's __init__: the public face that re-exports the API).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "version", "util", "ci"),
    ("project",),
    ("data",),
    # below runs/: evaluation.json and drift.json (runs.records) hold gate results
    ("gates",),
    ("runs", "registry"),
    ("train",),
    ("evaluate", "drift"),
    ("promote",),
    ("report",),
    ("scaffold",),
    ("api",),
    ("demo",),
    ("gitops_ml",),
    ("cli", "github", "__main__"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
# What cli/ may import of gitops_ml: the public API (the package), the error tree, itself, the
# GitHub adapter, the record type results are made of (to turn them into JSON), and the one
# number formatter (so the terminal writes numbers as the report and the card do).
CLI_ALLOWED = ("gitops_ml", "gitops_ml.errors", "gitops_ml.cli", "gitops_ml.github",
               "gitops_ml.util.frozen", "gitops_ml.util.numbers")


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in the file, resolved to a module of
    ``modules`` when it is one of ours (third-party names come back as written)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                if node.level > 1:
                    base_parts = base_parts[:-(node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub if sub in modules else base), node.lineno


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def graph(modules: dict[str, Path]) -> dict[str, dict[str, int]]:
    """module -> {imported module of ours: first line}."""
    edges: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        out = edges.setdefault(name, {})
        for target, line in imports_of(name, path, modules):
            if target.split(".")[0] != "gitops_ml":
                continue
            while target not in modules and "." in target:  # a name inside a module
                target = target.rpartition(".")[0]
            if target != name:
                out.setdefault(target, line)
    return edges


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def upward(edges: dict[str, dict[str, int]], modules: dict[str, Path]) -> list[str]:
    top = modules["gitops_ml"].parent.parent
    out = []
    for name, targets in sorted(edges.items()):
        for target, line in sorted(targets.items()):
            if RANK[layer_of(target)] > RANK[layer_of(name)]:
                rel = modules[name].relative_to(top).as_posix()
                out.append(f"{rel}:{line}: {name} ({layer_of(name)}) imports {target} "
                           f"({layer_of(target)}), a higher layer")
    return out


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    return module_files()


@pytest.fixture(scope="module")
def edges(modules: dict[str, Path]) -> dict[str, dict[str, int]]:
    return graph(modules)


def test_every_module_has_a_layer(modules: dict[str, Path]) -> None:
    unplaced = sorted(m for m in modules if layer_of(m) not in RANK)
    assert unplaced == [], f"add these to LAYERS in {Path(__file__).name}: {unplaced}"


def test_no_import_goes_up_a_layer(edges: dict[str, dict[str, int]],
                                   modules: dict[str, Path]) -> None:
    assert upward(edges, modules) == []


def test_no_import_cycles(edges: dict[str, dict[str, int]]) -> None:
    assert cycles(edges) == []


def test_cli_imports_only_the_public_api(modules: dict[str, Path]) -> None:
    offenders = []
    for name, path in modules.items():
        if layer_of(name) != "cli":
            continue
        for target, line in imports_of(name, path, modules):
            if target.split(".")[0] == "gitops_ml" and target != "gitops_ml" and not any(
                    target == a or target.startswith(a + ".") for a in CLI_ALLOWED[1:]):
                offenders.append(f"{path.relative_to(ROOT).as_posix()}:{line}: {target}")
    assert offenders == []


def test_core_imports_neither_click_nor_the_github_adapter(modules: dict[str, Path]) -> None:
    offenders = []
    for name, path in modules.items():
        if layer_of(name) in ("cli", "github", "__main__"):
            continue
        for target, line in imports_of(name, path, modules):
            if target.split(".")[0] in ("click", "github") or target.startswith(
                    "gitops_ml.github"):
                offenders.append(f"{path.relative_to(ROOT).as_posix()}:{line}: {target}")
    assert offenders == []


# --- the checker itself, on a small package in a tmp dir ------------------------------------

def write_package(root: Path, files: dict[str, str]) -> dict[str, Path]:
    for rel, text in files.items():
        path = root / "gitops_ml" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return module_files(root / "gitops_ml")


def test_relative_function_level_and_type_checking_imports_are_resolved(tmp_path: Path) -> None:
    modules = write_package(tmp_path, {
        "__init__.py": "",
        "errors.py": "",
        "report/__init__.py": "",
        "report/view.py": "def f():\n    from .bundle import write\n",
        "report/bundle.py": ("from typing import TYPE_CHECKING\n"
                             "if TYPE_CHECKING:\n    from . import view\n"),
        "project/__init__.py": "",
        "project/spec.py": "def g():\n    from ..report import view\n",
        "data/__init__.py": "from gitops_ml import errors\nimport gitops_ml.project.spec\n",
    })
    edges = graph(modules)
    assert edges["gitops_ml.report.view"] == {"gitops_ml.report.bundle": 2}
    assert edges["gitops_ml.report.bundle"] == {"gitops_ml.report.view": 3}
    assert edges["gitops_ml.project.spec"] == {"gitops_ml.report.view": 2}
    assert edges["gitops_ml.data"] == {"gitops_ml.errors": 1, "gitops_ml.project.spec": 2}
    assert cycles(edges) == [["gitops_ml.report.bundle", "gitops_ml.report.view"]]
    assert [line.split(": ", 1)[1] for line in upward(edges, modules)] == [
        "gitops_ml.project.spec (project) imports gitops_ml.report.view (report), a higher "
        "layer"]


def test_the_architecture_doc_shows_every_layer_and_names_where_the_comment_is_built(
        modules: dict[str, Path]) -> None:
    import re

    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    diagram = doc[doc.index("```"):doc.index("```mermaid")]
    missing = [name for names in LAYERS for name in names if name not in diagram]
    assert missing == []
    answer = doc[doc.index("## Where is the PR comment built?"):]
    named = re.findall(r"\*\*`(gitops_ml[\w.]*)`\*\*", answer)
    assert len(named) == 1 and named[0] in modules, named
    assert "def render_markdown" in modules[named[0]].read_text(encoding="utf-8")
