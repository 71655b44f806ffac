"""The public API: the verbs the CLI calls, re-exported lazily from the package, one argument
order, frozen results, and an import that costs nothing."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
import types
import typing

import pytest

import gitops_ml
from gitops_ml import api

# Verbs that act on no repository.
NO_REPO = {"json_schema", "drift_text", "lineage_text", "fairness_label"}
VERBS = sorted(n for n in api.__all__ if n[0].islower() and n != "NO_CI")
TYPES = sorted(n for n in api.__all__ if n[0].isupper() and n != "NO_CI")


def test_importing_the_package_imports_nothing_heavy() -> None:
    code = ("import sys, gitops_ml; from gitops_ml import validate, plan; "
            "print(sorted(m for m in ('pandas', 'sklearn', 'scipy', 'numpy', 'evidently', "
            "'click', 'github', 'jinja2', 'yaml', 'dataclasses', 'gitops_ml.ci') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_plain_import_loads_only_the_package_and_its_version() -> None:
    code = ("import sys, gitops_ml; "
            "print(sorted(m for m in sys.modules if m.startswith('gitops_ml')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['gitops_ml', 'gitops_ml.version']"


def test_the_package_re_exports_the_api_and_the_demo() -> None:
    assert set(gitops_ml.__all__) == set(api.__all__) | {"__version__", "run_demo",
                                                         "DemoResult", "DemoStep"}
    for name in gitops_ml.__all__:
        assert getattr(gitops_ml, name) is not None, name
    assert gitops_ml.train_model is api.train_model
    assert set(gitops_ml.__all__) <= set(dir(gitops_ml))
    with pytest.raises(AttributeError):
        gitops_ml.no_such_verb  # noqa: B018


def test_verb_names_do_not_shadow_the_packages_below() -> None:
    """``gitops_ml.train`` is the training module; the verb is ``train_model``. A verb named
    like a subpackage would turn into that module once the module is imported."""
    import pkgutil

    submodules = {m.name for m in pkgutil.iter_modules(gitops_ml.__path__)}
    assert not set(gitops_ml.__all__) & submodules


@pytest.mark.parametrize("name", VERBS)
def test_verbs_take_the_repository_first_then_one_subject_then_options(name: str) -> None:
    params = list(inspect.signature(getattr(api, name)).parameters.values())
    positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params), name
    if name in NO_REPO:
        assert len(positional) == 1
        return
    assert positional[0].name == "repo", name
    assert len(positional) <= 2, f"{name}: options must be keyword-only"
    if len(positional) == 2:
        assert positional[1].name in ("model", "ref", "paths", "file", "pointers"), name


def return_types(name: str) -> list[type]:
    namespace = {n: getattr(api, n) for n in TYPES}
    hint = typing.get_type_hints(getattr(api, name), localns=namespace)["return"]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return list(typing.get_args(hint))
    return [typing.get_origin(hint) or hint]


def is_frozen(cls: type) -> bool:
    """A frozen dataclass, or a frozen record (util.frozen.Record, cheaper to define)."""
    from gitops_ml.util.frozen import Record

    if isinstance(cls, type) and issubclass(cls, Record):
        return True
    return dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen


@pytest.mark.parametrize("name", VERBS)
def test_every_verb_returns_a_frozen_result(name: str) -> None:
    for cls in return_types(name):
        if name in NO_REPO:
            assert cls in (dict, str)  # a JSON Schema document, a rendering
            continue
        assert is_frozen(cls), f"{name} returns {cls}, not a frozen result"
