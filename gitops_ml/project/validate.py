"""``gitops-ml validate``: check the config, the model specs and their data pointers without
fitting anything, and without importing scikit-learn when its catalogue answers."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from gitops_ml.errors import (
    ConfigError,
    ConfigErrors,
    DataError,
    GitopsMLError,
    Location,
    each_error,
    file_order,
)
from gitops_ml.project import catalogue, spec, typed_yaml
from gitops_ml.project.spec import ModelSpec, ProjectConfig
from gitops_ml.project.yaml_document import Document
from gitops_ml.util.frozen import Record, field


class Problem(Record, eq=False):
    """One problem found, as the one line a user sees and its parts."""

    code: str
    message: str
    line_text: str  # the one line a user sees
    file: str | None = None
    line: int | None = None
    column: int | None = None
    key_path: str | None = None

    @classmethod
    def of(cls, err: GitopsMLError) -> Problem:
        loc = err.location
        return cls(err.code, err.message, err.one_line(), loc.file if loc else None,
                   loc.line if loc else None, loc.column if loc else None, err.key_path)


class ModelCheck(Record, eq=False):
    """A model that passed, and which data headers were checked."""

    name: str
    spec: str
    estimator: str
    header_checked: tuple[str, ...] = ()


class ValidationResult(Record, eq=False):
    """Everything validate checked, and the problems found."""

    config: str
    models: tuple[ModelCheck, ...]
    pointers: tuple[str, ...]
    problems: tuple[Problem, ...] = field(default_factory=tuple)
    warnings: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems


def _classify(config: ProjectConfig, paths: tuple[str, ...]) -> tuple[list[str], list[str],
                                                                        list[Problem]]:
    """Split command-line paths into spec files and pointer files (repo-relative)."""
    matched = set(spec.spec_files(config))
    specs: list[str] = []
    pointers: list[str] = []
    problems: list[Problem] = []
    root = config.root_path.resolve()
    for raw in paths:
        p = Path(raw)
        absolute = p if p.is_absolute() else Path.cwd() / p
        try:
            rel = absolute.resolve().relative_to(root).as_posix()
        except ValueError:
            problems.append(Problem.of(ConfigError(
                f"{raw} is outside the project at {root}", location=Location(raw))))
            continue
        if rel == spec.CONFIG_FILE:
            continue  # the config is always checked
        if not absolute.exists():
            problems.append(Problem.of(ConfigError("file not found", location=Location(rel))))
        elif rel.endswith((".ptr.yaml", ".ptr.yml", ".dvc")):
            pointers.append(rel)
        elif rel in matched:
            specs.append(rel)
        else:
            globs = ", ".join(config.model_globs)
            problems.append(Problem.of(ConfigError(
                f"not matched by any model glob in {spec.CONFIG_FILE} ({globs})",
                location=Location(rel),
                hint=f"move the spec, or add its path to 'models' in {spec.CONFIG_FILE}")))
    return specs, pointers, problems


def validate(root: str | Path | None = None, paths: tuple[str, ...] = (),
             check_data: bool = True) -> ValidationResult:
    """Check the project. Problems are collected, not raised, so one run shows every problem
    of every file: all of a spec's loading problems (keys, types, bounds, metric names), or,
    when it loads, each semantic check's. A missing config, or one with one problem, is raised
    (one error line, as for any command); one with several is returned as its problems
    (nothing else can be checked without it)."""
    try:
        config = spec.load_config(root)
    except ConfigErrors as err:
        return ValidationResult(spec.CONFIG_FILE, (), (),
                                tuple(Problem.of(e) for e in err.errors))
    problems: list[Problem] = []
    warnings: list[Problem] = []
    if paths:
        spec_rels, pointer_rels, problems = _classify(config, paths)
    else:
        spec_rels, pointer_rels = spec.spec_files(config), []
    models: list[ModelCheck] = []
    seen: dict[str, str] = {}
    checked_pointers: set[str] = set()
    headers: dict[str, list[str] | None] = {}
    all_names = _all_names(config, spec_rels) if paths else {}
    for rel in spec_rels:
        try:
            model, doc = spec.load_spec_document(config.resolve(rel), rel)
        except GitopsMLError as err:
            # A spec that does not load has no record for the semantic checks to read.
            problems += [Problem.of(e) for e in each_error(err)]
            continue
        found: list[GitopsMLError] = []
        if model.name in seen or all_names.get(model.name, rel) != rel:
            other = seen.get(model.name) or all_names[model.name]
            found.append(doc.error(("name",), f"model name '{model.name}' is already used by "
                                   f"{other}", hint="model names must be unique"))
        else:
            seen[model.name] = rel
        # Each check runs whatever the others found: they read different fields.
        header_checked: tuple[str, ...] = ()
        checks: list[tuple[Any, tuple[Any, ...]]] = [
            (check_estimator, (config, model, doc)), (check_drift_methods, (model, doc)),
            (check_fairness_gates, (model, doc))]
        for check, args in checks:
            try:
                check(*args)
            except GitopsMLError as err:
                found += each_error(err)
        warnings += seed_warnings(model, doc)
        if check_data:
            header_checked = _check_data(config, model, doc, checked_pointers, headers, found)
        if found:
            problems += [Problem.of(e) for e in sorted(found, key=file_order)]
        else:
            models.append(ModelCheck(model.name, rel, model.estimator.class_ or
                                     f"factory {model.estimator.factory}", header_checked))
    for rel in pointer_rels:
        if rel in checked_pointers:
            continue
        try:
            _data().check_pointer(config, rel)
            checked_pointers.add(rel)
        except GitopsMLError as err:
            problems.append(Problem.of(err))
    return ValidationResult(spec.CONFIG_FILE, tuple(models), tuple(sorted(checked_pointers)),
                            tuple(problems), tuple(warnings))


def _all_names(config: ProjectConfig, skip: list[str]) -> dict[str, str]:
    """Names of every spec in the project (for uniqueness when only some files are given)."""
    names: dict[str, str] = {}
    for rel in spec.spec_files(config):
        try:
            model = spec.load_spec_document(config.resolve(rel), rel)[0]
        except GitopsMLError:
            continue
        names.setdefault(model.name, rel)
    return names


def _data() -> Any:

    return importlib.import_module("gitops_ml.data.cache")


# --- fairness gates ------------------------------------------------------------------------

def check_fairness_gates(model: ModelSpec, doc: Document) -> None:
    """A fairness gate must measure something this task's bias slices compute (a parity gate
    on a regression model used to pass validate and then judge a spread of mean predictions).
    Every such gate is reported."""
    errors: list[ConfigError] = []
    for i, gate in enumerate(model.gates):
        if gate.kind != "fairness":
            continue
        mismatch = spec.fairness_gate_mismatch(gate.subject, model.task)
        if mismatch is not None:
            errors.append(doc.error(("gates", i, "fairness"), mismatch[0], hint=mismatch[1]))
    if errors:
        raise ConfigErrors.of(errors)


# --- drift methods -------------------------------------------------------------------------

def check_drift_methods(model: ModelSpec, doc: Document) -> None:
    """An explicit drift method must apply to each column it is used on (Evidently refuses
    chi-square or Z on a numeric column, so a spec that asks for it fails here, not in CI)."""
    kinds = {c: "numerical" for c in model.features.numeric}
    kinds.update({c: "categorical" for c in model.features.categorical})
    kinds[model.target] = "categorical" if model.task == "classification" else "numerical"
    kinds["prediction"] = kinds[model.target]
    settings = model.drift
    errors: list[ConfigError] = []
    for column, kind in kinds.items():
        per = settings.columns.get(column)
        path: tuple[str, ...]
        if per is not None and per.method is not None:
            method, path = per.method, ("drift", "columns", column, "method")
        elif settings.method is not None:
            method, path = settings.method, ("drift", "method")
        else:
            continue
        mismatch = spec.drift_method_mismatch(method, kind, column)
        if mismatch is not None:
            errors.append(doc.error(path, mismatch[0], hint=mismatch[1]))
    if errors:
        raise ConfigErrors.of(errors)


# --- estimators ----------------------------------------------------------------------------

def check_estimator(config: ProjectConfig, model: ModelSpec, doc: Document) -> None:
    est = model.estimator
    if est.factory is not None:
        _check_factory(config, est.factory, doc)
        return
    assert est.class_ is not None
    path = est.class_
    info = catalogue_estimator(path, doc)
    name = path.rsplit(".", 1)[-1]
    if info.needs_estimators:
        raise doc.error(("estimator", "class"),
                        f"{name} is a meta-estimator: it needs "
                        f"{' and '.join(info.needs_estimators)} (other estimators), which "
                        "estimator.params cannot hold",
                        hint="build it in Python and name that function in "
                             "estimator.factory (docs/train.md, 'Factories')")
    if info.kind == "transformer":
        raise doc.error(("estimator", "class"),
                        f"{name} is a transformer, not a model: it cannot be trained on the "
                        "target", hint="gitops-ml adds imputation, scaling and encoding itself; "
                        "for your own preprocessing, build a pipeline in estimator.factory")
    # An unknown class, a meta-estimator or a transformer stops here (raised above): its
    # parameters cannot be judged. Each parameter and the task are then checked apart.
    errors: list[ConfigError] = []
    for key in est.params:
        base = key.split("__", 1)[0]
        if base not in info.params and not info.accepts_kwargs:
            errors.append(doc.error(("estimator", "params", key),
                                    f"'{key}' is not a parameter of {name}",
                                    hint=typed_yaml.did_you_mean(base, info.params)
                                    or "parameters: " + ", ".join(info.params)))
    wrong = {"classification": "regressor", "regression": "classifier"}[model.task]
    if info.kind == wrong:
        errors.append(doc.error(("estimator", "class"),
                                f"{name} is a {wrong}, but the task is {model.task}"))
    if errors:
        raise ConfigErrors.of(errors)


def seed_warnings(model: ModelSpec, doc: Document) -> list[Problem]:
    """A stochastic estimator whose ``random_state`` is explicitly null trains a different
    model every time: the run cache, ``reproduce`` and a reviewer's numbers cannot be trusted
    to repeat. (Without the key, training seeds it with ``data.split.seed``.)"""
    est = model.estimator
    if est.class_ is None or "random_state" not in est.params or \
            est.params["random_state"] is not None:
        return []
    cat = catalogue.load(build_if_missing=False)
    info = cat.get(est.class_) if cat is not None else None
    if info is not None and not info.stochastic:
        return []
    name = est.class_.rsplit(".", 1)[-1]
    warning = ConfigError(
        f"{name} is stochastic and random_state is null: every training gives a different "
        "model, so reproduce and the run cache cannot match it",
        location=doc.location(("estimator", "params", "random_state")),
        key_path="estimator.params.random_state",
        hint="give random_state a number, or leave it out (training then uses "
             "data.split.seed)")
    return [Problem.of(warning)]


def catalogue_estimator(path: str, doc: Document) -> catalogue.EstimatorInfo:
    """The catalogue's entry for ``path``; anything else is refused without being imported.

    Importing the module an untrusted spec names runs its code (``antigravity`` opens a
    browser; a module in the repository runs at validate). Only the catalogue's estimators
    can be saved and loaded as artifacts anyway; a pipeline of them comes from a factory."""
    cat = catalogue.load()
    where = ("estimator", "class")
    if cat is None:
        raise doc.error(where, "scikit-learn is not installed, so estimator.class cannot be "
                        "checked", hint="pip install scikit-learn")
    info = cat.get(path)
    if info is None:
        short = path.rsplit(".", 1)[-1]
        same_name = [n for n in cat.names() if n.rsplit(".", 1)[-1] == short]
        hint = (f"did you mean '{same_name[0]}'?" if same_name
                else typed_yaml.did_you_mean(path, cat.names())
                or "name one of scikit-learn's estimators, or build a pipeline of them in "
                   "estimator.factory")
        raise doc.error(where, f"'{path}' is not a scikit-learn estimator "
                        f"(scikit-learn {cat.version})", hint=hint)
    return info


def _check_factory(config: ProjectConfig, factory: str, doc: Document) -> None:
    import ast

    file, _, func = factory.rpartition(":")
    where = ("estimator", "factory")
    path = config.resolve(file)
    if not config.contains(path, repo_only=True):
        raise doc.error(where, f"factory file {file} is outside the repository",
                        hint="a factory is code that train runs: keep it in the repository")
    if not path.is_file():
        raise doc.error(where, f"factory file not found: {file}")
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=file)
    except SyntaxError as exc:
        raise ConfigError(f"syntax error in factory: {exc.msg}",
                          location=Location(file, exc.lineno, exc.offset)) from exc
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if func not in names:
        raise doc.error(where, f"{file} defines no function '{func}'",
                        hint=typed_yaml.did_you_mean(func, names))


# --- data ----------------------------------------------------------------------------------

def _check_data(config: ProjectConfig, model: ModelSpec, doc: Document, checked: set[str],
                headers: dict[str, list[str] | None], errors: list[GitopsMLError]
                ) -> tuple[str, ...]:
    """Check each pointer, and the columns against the header when the data is local.
    ``headers`` holds the header of each data ref already checked in this run. Each role's
    problems and each missing column go to ``errors``; a role whose pointer fails has no
    header to check its columns against."""
    data = _data()
    header_checked = []
    needed = [("target", model.target)]
    needed += [("features.numeric", c) for c in model.features.numeric]
    needed += [("features.categorical", c) for c in model.features.categorical]
    needed += [("features.sensitive", c) for c in model.features.sensitive]
    for role in ("train", "test", "current"):
        ref = getattr(model.data, role)
        if ref is None:
            continue
        try:
            if isinstance(ref, str) and ref in headers:  # models often share their data
                header = headers[ref]
            else:
                data.check_pointer(config, ref)
                header = data.local_header(config, ref)
        except (DataError, ConfigError) as err:
            if err.location is None:
                err.location = doc.location(("data", role))
                err.key_path = f"data.{role}"
            errors.append(err)
            continue
        if isinstance(ref, str):
            checked.add(ref)
            headers[ref] = header
        if header is None:
            continue
        columns = set(header)
        for where, column in needed:
            if role == "current" and where == "target":
                continue  # fresh production data often has no label yet
            if column not in columns:
                errors.append(doc.error(
                    ("data", role), f"column '{column}' ({where}) is not in the {role} data's "
                    "header", hint=typed_yaml.did_you_mean(column, columns)))
        header_checked.append(role)
    return tuple(header_checked)
