"""Data checks: the data contract of a spec (``schema:``), automatic checks, and the checks
training makes before it fits.

Categorical features are compared as labels (:mod:`gitops_ml.data.categorical`): ``3`` read as
an integer and ``3.0`` read as a float (a column with a gap) are the same category, so neither
is a new category nor a change of type.

Automatic checks compare the data with the spec and, when there is one, the current data with
the reference: missing columns, empty data, dtype changes, new categories. The contract checks
each column against its :class:`~gitops_ml.project.spec.ColumnContract` (dtype, min/max, allowed
values, largest null share, uniqueness). Every check has a name from
:data:`gitops_ml.project.spec.CHECK_GATES`, so a spec can gate on it
(``- {check: new_categories}``);
``data_checks`` gates on all checks whose severity is ``error``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gitops_ml.data import categorical
from gitops_ml.errors import DataCheckError, Location
from gitops_ml.project.spec import CHECK_GATES, ColumnContract, ModelSpec

if TYPE_CHECKING:
    import pandas as pd

Severity = Literal["error", "warning", "info"]
MAX_EXAMPLES = 5
# what a category label spells when it came from a whole number / any number
_INT_LABEL = re.compile(r"[+-]?\d+")
_NUMBER_LABEL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)")


@dataclass(frozen=True)
class CheckResult:
    """One check on one column (or on the whole dataset when ``column`` is None)."""

    name: str  # missing_columns | empty_data | dtype_changes | new_categories | schema | ...
    passed: bool
    message: str
    column: str | None = None
    severity: Severity = "error"
    data: str | None = None  # 'reference' | 'current'
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "column": self.column, "data": self.data,
                "passed": self.passed, "severity": self.severity, "message": self.message,
                "examples": list(self.examples)}


@dataclass(frozen=True)
class ChecksResult:
    """All checks, with a verdict per gate name."""

    checks: tuple[CheckResult, ...]
    reference_rows: int
    current_rows: int | None

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def passed(self) -> bool:
        """True when no check of severity ``error`` failed (the ``data_checks`` gate)."""
        return self.gate_passed("data_checks")

    def for_gate(self, gate: str) -> tuple[CheckResult, ...]:
        """The checks a gate looks at."""
        if gate not in CHECK_GATES:
            raise ValueError(f"unknown check gate {gate!r}")
        if gate == "data_checks":
            return tuple(c for c in self.checks if c.severity == "error")
        return tuple(c for c in self.checks if c.name == gate)

    def gate_passed(self, gate: str) -> bool:
        return all(c.passed for c in self.for_gate(gate))

    def summary(self) -> dict[str, Any]:
        gates = {g: self.gate_passed(g) for g in CHECK_GATES}
        return {"passed": self.passed, "checks": len(self.checks),
                "failed": len(self.failures),
                "errors": sum(1 for c in self.failures if c.severity == "error"),
                "warnings": sum(1 for c in self.failures if c.severity == "warning"),
                "gates": gates}

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "reference_rows": self.reference_rows,
                "current_rows": self.current_rows,
                "results": [c.to_dict() for c in self.checks]}


# --- dtype families ------------------------------------------------------------------------

def dtype_family(series: pd.Series) -> str:
    """number | bool | string | category | datetime | empty | other — what a column holds."""
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        values = series.dropna()
        if values.empty:
            return "empty"
        kinds = {type(v) for v in values.iloc[:1000]}
        if kinds <= {str}:
            return "string"
        if kinds <= {bool}:
            return "bool"
        return "other"
    return "other"


def label_family(labels: pd.Series) -> str:
    """number | bool | string | empty — what the labels of a categorical column spell."""
    values = _distinct_labels(labels)
    if not values:
        return "empty"
    if all(_NUMBER_LABEL.fullmatch(v) for v in values):
        return "number"
    if set(values) <= {"True", "False"}:
        return "bool"
    return "string"


def _distinct_labels(labels: pd.Series) -> list[str]:
    import pandas as pd

    return [str(v) for v in pd.unique(labels.dropna())]


def _labels_match_dtype(labels: pd.Series, want: str) -> tuple[bool, str]:
    """A contract dtype on a categorical feature, judged on its labels: ``int`` holds when
    every label spells a whole number, ``float``/``number`` when every one spells a number."""
    values = _distinct_labels(labels)
    if not values or want in ("string", "category"):
        return True, "category labels"
    if want == "int":
        return all(_INT_LABEL.fullmatch(v) for v in values), "category labels"
    if want in ("float", "number"):
        return all(_NUMBER_LABEL.fullmatch(v) for v in values), "category labels"
    if want == "bool":
        return set(values) <= {"True", "False"}, "category labels"
    return False, "category labels"


def _matches_dtype(series: pd.Series, want: str) -> tuple[bool, str]:
    import numpy as np
    import pandas as pd

    family = dtype_family(series)
    if family == "empty":
        return True, family
    dtype = series.dtype
    if want == "int":
        if pd.api.types.is_integer_dtype(dtype) and family == "number":
            return True, str(dtype)
        if pd.api.types.is_float_dtype(dtype):  # integers with nulls read as floats
            values = series.dropna().to_numpy(dtype="float64")
            return bool(np.all(np.mod(values, 1) == 0)), str(dtype)
        return False, str(dtype)
    if want in ("float", "number"):
        return family == "number", str(dtype)
    if want == "string":
        return family in ("string", "category"), str(dtype)
    if want == "category":
        return family in ("string", "category", "bool") or pd.api.types.is_integer_dtype(
            dtype), str(dtype)
    if want == "bool":
        return family == "bool", str(dtype)
    if want == "datetime":
        return family == "datetime", str(dtype)
    raise ValueError(want)


# --- checks --------------------------------------------------------------------------------

def _spec_columns(spec: ModelSpec) -> list[str]:
    cols = [*spec.features.model_inputs, spec.target, *spec.features.sensitive]
    return list(dict.fromkeys(cols))


def _plain(value: Any) -> Any:
    """numpy scalars as Python values, so messages read 7, not np.int64(7)."""
    return value.item() if hasattr(value, "item") and callable(value.item) else value


def _examples(values: Any) -> tuple[str, ...]:
    return tuple(repr(_plain(v)) for v in list(values)[:MAX_EXAMPLES])


def _more(n: int) -> str:
    return f" (and {n - MAX_EXAMPLES} more)" if n > MAX_EXAMPLES else ""


def check_columns(spec: ModelSpec, frame: pd.DataFrame, side: str,
                  reference: pd.DataFrame | None = None) -> list[CheckResult]:
    """Missing spec columns, and (against a reference) columns that are new."""
    out = []
    wanted = _spec_columns(spec)
    missing = [c for c in wanted if c not in frame.columns]
    if side == "current":  # the target may be absent from fresh production data
        missing = [c for c in missing if c != spec.target]
    if missing:
        out.append(CheckResult("missing_columns", False,
                               f"the {side} data lacks column(s) {', '.join(missing)}"
                               + _more(len(missing)), data=side, examples=tuple(missing)))
    else:
        out.append(CheckResult("missing_columns", True, f"the {side} data has every spec "
                               "column", data=side))
    if reference is not None:
        extra = [c for c in frame.columns if c not in reference.columns]
        if extra:
            out.append(CheckResult("extra_columns", True,
                                   f"the {side} data has column(s) the reference lacks: "
                                   f"{', '.join(map(str, extra[:MAX_EXAMPLES]))}"
                                   + _more(len(extra)) + " (ignored)",
                                   severity="info", data=side, examples=_examples(extra)))
    return out


def check_empty_columns(spec: ModelSpec, frame: pd.DataFrame, side: str) -> list[CheckResult]:
    """Spec columns with no value at all on one side. Drift cannot test such a column
    (Evidently refuses it), so it fails here instead of counting as drift."""
    if len(frame) == 0:
        return []  # empty_data says it
    empty = [c for c in _spec_columns(spec) if c in frame.columns and frame[c].count() == 0]
    if not empty:
        return [CheckResult("empty_columns", True, f"every spec column of the {side} data "
                            "has values", data=side)]
    return [CheckResult("empty_columns", False, f"column '{c}' of the {side} data has no "
                        f"values (all {len(frame)} rows are null)", column=c, data=side)
            for c in empty]


def check_empty(frame: pd.DataFrame, side: str) -> CheckResult:
    if len(frame) == 0:
        return CheckResult("empty_data", False, f"the {side} data has no rows", data=side)
    return CheckResult("empty_data", True, f"the {side} data has {len(frame)} rows", data=side)


def check_dtypes(spec: ModelSpec, reference: pd.DataFrame,
                 current: pd.DataFrame) -> list[CheckResult]:
    """A column whose kind of values changed (numbers to text, text to dates, ...).

    int and float are one family (a null turns a CSV integer column into floats); a column
    with no values on one side is not a change of type (the null checks catch it). A
    categorical feature is judged by what its labels spell (numbers, bools or text), whatever
    dtype its file gave it: ``3`` and ``3.0`` are the same category."""
    out = []
    labelled = set(categorical.categorical_columns(spec))
    for col in _spec_columns(spec):
        if col not in reference.columns or col not in current.columns:
            continue
        if col in labelled:
            before = label_family(categorical.category_labels(reference[col]))
            after = label_family(categorical.category_labels(current[col]))
        else:
            before, after = dtype_family(reference[col]), dtype_family(current[col])
        if "empty" in (before, after) or before == after \
                or {before, after} <= {"string", "category"}:
            continue
        out.append(CheckResult("dtype_changes", False,
                               f"column '{col}' changed from {reference[col].dtype} "
                               f"({before}) to {current[col].dtype} ({after})", column=col,
                               data="current"))
    if not out:
        out.append(CheckResult("dtype_changes", True, "no column changed its type"))
    return out


def check_new_categories(spec: ModelSpec, reference: pd.DataFrame,
                         current: pd.DataFrame) -> list[CheckResult]:
    """Values of categorical features (and a classification target) not seen in the
    reference, compared as labels (a classification target too, for this comparison only).
    A warning unless a gate names ``new_categories``."""
    import pandas as pd

    out = []
    cols = list(spec.features.categorical)
    if spec.task == "classification":
        cols.append(spec.target)
    for col in dict.fromkeys(cols):
        if col not in reference.columns or col not in current.columns:
            continue
        seen = pd.Index(pd.unique(categorical.category_labels(reference[col]).dropna()))
        values = pd.Index(pd.unique(categorical.category_labels(current[col]).dropna()))
        new = values[~values.isin(seen)]
        if len(new):
            out.append(CheckResult(
                "new_categories", False,
                f"column '{col}' has {len(new)} value(s) unseen in the reference: "
                + ", ".join(_examples(new)) + _more(len(new)),
                column=col, severity="warning", data="current", examples=_examples(new)))
    if not out:
        out.append(CheckResult("new_categories", True, "no unseen categories",
                               severity="warning"))
    return out


def check_contract(column: str, contract: ColumnContract, frame: pd.DataFrame,
                   side: str, *, labels: bool = False) -> list[CheckResult]:
    """One column against its contract: dtype, min/max, allowed, max_null_share, unique.

    ``labels``: the column is a categorical feature, held as labels; ``allowed`` values are
    compared as labels too (``allowed: [4, 6, 8]`` holds for ``"4"``), ``dtype`` is judged on
    what the labels spell, and ``min``/``max`` on the numbers they spell."""
    import pandas as pd

    if column not in frame.columns:
        return [CheckResult("schema", False, f"column '{column}' is missing from the {side} "
                            "data", column=column, data=side)]
    series = frame[column]
    out: list[CheckResult] = []

    def fail(message: str, examples: tuple[str, ...] = ()) -> None:
        out.append(CheckResult("schema", False, f"column '{column}': {message}", column=column,
                               data=side, examples=examples))

    numeric_ok = True
    if contract.dtype is not None:
        ok, actual = (_labels_match_dtype(series, contract.dtype) if labels
                      else _matches_dtype(series, contract.dtype))
        if not ok:
            fail(f"dtype is {actual}, the contract says {contract.dtype}")
            numeric_ok = False
    values = series.dropna()
    if labels and (contract.min is not None or contract.max is not None) and numeric_ok:
        numbers = pd.to_numeric(values, errors="coerce")
        values = numbers if not numbers.isna().any() else values
    if (contract.min is not None or contract.max is not None) and numeric_ok:
        if not (pd.api.types.is_numeric_dtype(values.dtype)
                or pd.api.types.is_datetime64_any_dtype(values.dtype)):
            fail(f"min/max need numbers, the column holds {series.dtype}")
        else:
            if contract.min is not None:
                below = values[values < contract.min]
                if len(below):
                    fail(f"{len(below)} value(s) below min {contract.min:g} (smallest "
                         f"{_plain(below.min())!r})", _examples(below))
            if contract.max is not None:
                above = values[values > contract.max]
                if len(above):
                    fail(f"{len(above)} value(s) above max {contract.max:g} (largest "
                         f"{_plain(above.max())!r})", _examples(above))
    if contract.allowed is not None:
        distinct = pd.Index(pd.unique(series.dropna()))
        allowed = ([categorical.category_label(v) for v in contract.allowed] if labels
                   else list(contract.allowed))
        bad = distinct[~distinct.isin(allowed)]
        if len(bad):
            fail(f"{len(bad)} value(s) not allowed: "
                 + ", ".join(_examples(bad)) + _more(len(bad)),
                 _examples(bad))
    if contract.max_null_share is not None and len(series):
        share = float(series.isna().mean())
        if share > contract.max_null_share:
            fail(f"null share {share:.3g} is above {contract.max_null_share:g}")
    if contract.unique:
        duplicated = values[values.duplicated()]
        if len(duplicated):
            fail(f"{len(duplicated)} duplicate value(s), the contract says unique",
                 _examples(pd.unique(duplicated)))
    if not out:
        out.append(CheckResult("schema", True, f"column '{column}' meets its contract",
                               column=column, data=side))
    return out


def run_checks(spec: ModelSpec, reference_df: pd.DataFrame,
               current_df: pd.DataFrame | None = None) -> ChecksResult:
    """Every check of the spec's data: the reference (training) data alone, and the current
    data against the reference when given. Never raises on bad data: failures are results.

    The categorical features are taken as labels first, so the frames may come straight from
    the files or already normalised (by training), with the same verdicts."""
    reference_df = categorical.normalise_spec(spec, reference_df)
    if current_df is not None:
        current_df = categorical.normalise_spec(spec, current_df)
    labelled = set(categorical.categorical_columns(spec))
    checks: list[CheckResult] = []
    frames = [("reference", reference_df)]
    if current_df is not None:
        frames.append(("current", current_df))
    for side, frame in frames:
        checks.append(check_empty(frame, side))
        checks.extend(check_columns(spec, frame, side,
                                    reference_df if side == "current" else None))
        checks.extend(check_empty_columns(spec, frame, side))
    if current_df is not None:
        checks.extend(check_dtypes(spec, reference_df, current_df))
        checks.extend(check_new_categories(spec, reference_df, current_df))
    for column, contract in spec.schema_.items():
        for side, frame in frames:
            if side == "current" and column == spec.target and column not in frame.columns:
                continue
            checks.extend(check_contract(column, contract, frame, side,
                                         labels=column in labelled))
    return ChecksResult(checks=tuple(checks), reference_rows=len(reference_df),
                        current_rows=None if current_df is None else len(current_df))


# --- before training: what makes a fit impossible or meaningless (these raise) -------------

def _has(header: list[str]) -> str:
    return "the file has: " + ", ".join(header[:20]) + (" …" if len(header) > 20 else "")


def require_columns(spec: ModelSpec, header: list[str], where: str, role: str,
                    loc: Location | None, extra_columns: tuple[str, ...] = ()) -> None:
    """The target, every feature, the sensitive attributes and ``extra_columns`` must be in
    a file's header before it is read."""
    if spec.target not in header:
        raise DataCheckError(f"{where}: target column '{spec.target}' is missing from the "
                             f"{role} data", location=loc, hint=_has(header))
    missing = [c for c in spec.features.model_inputs if c not in header]
    if missing:
        raise DataCheckError(f"{where}: feature column(s) {', '.join(missing)} missing from "
                             f"the {role} data", location=loc, hint=_has(header))
    missing = [c for c in (*spec.features.sensitive, *extra_columns) if c not in header]
    if missing:
        raise DataCheckError(f"{where}: column(s) {', '.join(missing)} missing from the "
                             f"{role} data", location=loc, hint=_has(header))


def prepare_frame(spec: ModelSpec, frame: pd.DataFrame, where: str, role: str,
                  loc: Location | None) -> pd.DataFrame:
    """A table of the spec's training or test data as the model sees it, or a
    :class:`~gitops_ml.errors.DataCheckError` saying why it cannot be used.

    No rows, a feature with no value at all, a missing target value, and text in a numeric
    feature (or in a regression target) are errors. Numeric features and a regression target
    read as text become numbers; categorical features become labels."""
    import pandas as pd

    if len(frame) == 0:
        raise DataCheckError(f"{where}: the {role} data is empty (no rows)", location=loc)
    for col in spec.features.model_inputs:
        if frame[col].isna().all():
            raise DataCheckError(f"{where}: feature '{col}' is entirely null in the {role} data",
                                 location=loc, hint="fix the data or drop the feature")
    y = frame[spec.target]
    n_null = int(y.isna().sum())
    if n_null:
        raise DataCheckError(f"{where}: target '{spec.target}' has {n_null} missing value(s) "
                             f"in the {role} data", location=loc)
    if spec.task == "regression" and not pd.api.types.is_numeric_dtype(y):
        converted = pd.to_numeric(y, errors="coerce")
        bad = y[converted.isna()]
        if len(bad):
            raise DataCheckError(f"{where}: target '{spec.target}' is not numeric (e.g. "
                                 f"{str(bad.iloc[0])!r}) but the task is regression",
                                 location=loc, hint="use task: classification, or fix the data")
        frame = frame.assign(**{spec.target: converted})
    for col in spec.features.numeric:
        s = frame[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            converted = pd.to_numeric(s, errors="coerce")
            bad = s[converted.isna() & s.notna()]
            if len(bad):
                raise DataCheckError(f"{where}: numeric feature '{col}' has non-numeric values "
                                     f"(e.g. {str(bad.iloc[0])!r})", location=loc,
                                     hint="list it under features.categorical instead")
            frame = frame.assign(**{col: converted})
    return categorical.normalise_spec(spec, frame)


def require_contract(spec: ModelSpec, train: pd.DataFrame, uri: str) -> None:
    """The spec's data contract (``schema:``) must hold on the training data before anything is
    fitted: a model trained on data that breaks its contract is not worth a review."""
    if not spec.schema_:
        return
    failed = [c for c in run_checks(spec, train).failures if c.severity == "error"]
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        first = failed[0]
        column = f"{first.column}: " if first.column else ""
        raise DataCheckError(
            f"{uri}: the training data breaks the data contract: {column}"
            f"{first.message}{more}", location=Location(spec.file) if spec.file else None,
            hint="fix the data, or the 'schema:' section of the spec")


def require_classes(spec: ModelSpec, y: pd.Series, uri: str, loc: Location | None) -> None:
    """Classification needs at least two classes in the training data."""
    if spec.task == "classification" and y.nunique() < 2:
        raise DataCheckError(
            f"{uri}: target '{spec.target}' has a single class ({y.iloc[0]!r}) in the "
            "training data; classification needs at least two", location=loc)
