"""Categorical values as labels: the one way a category is spelled.

A file does not say whether ``3`` is a number or a category, and the same column reads
differently from one file to the next: integers (``int64``) when complete, floats (``3.0``)
as soon as one value is missing, text when one row holds a word. Training, evaluation, drift
and the data checks all compare categories, so they must all spell them alike: every value of
a categorical feature becomes a Python string, with NaN for a missing value.

- a whole number is written without a fraction, whatever its dtype: ``3``, ``3.0`` and
  ``np.int64(3)`` are all ``"3"``;
- any other number is ``str(float)``: ``2.5`` is ``"2.5"``;
- a bool is ``"True"`` / ``"False"``; text is kept as it is (``"3.0"`` read as text stays
  ``"3.0"``); anything else is ``str(value)``.

:func:`category_labels` is idempotent: labels map to themselves, so a frame may be normalised
twice (the checks normalise what they are given).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from gitops_ml.project.spec import ModelSpec

# beyond 2**53 a float no longer holds every whole number; beyond 2**63 Int64 overflows
_EXACT_INT = 2.0 ** 53


def category_label(value: Any) -> Any:
    """One value as its label (NaN and None stay missing, as NaN)."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        value = value.item()
        if isinstance(value, bool):
            return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        if math.isnan(number):
            return math.nan
        if number.is_integer() and abs(number) < _EXACT_INT:
            return str(int(number))
        return str(number)
    try:
        import pandas as pd

        if pd.isna(value):
            return math.nan
    except (TypeError, ValueError):
        pass
    return str(value)


def category_labels(series: pd.Series) -> pd.Series:
    """A column as labels: an object Series of str, NaN where a value is missing."""
    import numpy as np
    import pandas as pd

    missing = series.isna().to_numpy()
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        values = series.astype(str).astype(object)  # gaps of Int64 are masked below
    elif pd.api.types.is_float_dtype(dtype):
        numbers = series.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):  # inf has no fraction to take
            whole = ~missing & (np.mod(numbers, 1) == 0) & (np.abs(numbers) < _EXACT_INT)
        if (whole | missing).all():
            ints = np.where(whole, numbers, 0).astype(np.int64)
            values = pd.Series(ints.astype(str), index=series.index, dtype=object)
        else:
            values = pd.Series([category_label(v) for v in numbers], index=series.index,
                               dtype=object)
    elif pd.api.types.is_object_dtype(dtype):
        text = pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")
        values = series if text else series.map(category_label)
    elif pd.api.types.is_string_dtype(dtype):
        values = series.astype(object)
    else:
        values = series.astype(object).map(category_label)
    return values.where(~missing, other=math.nan).astype(object)


def normalise(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """``frame`` with each of ``columns`` it has as labels (a new frame; the input is kept)."""
    labels = {c: category_labels(frame[c]) for c in dict.fromkeys(columns) if c in frame.columns}
    return frame.assign(**labels) if labels else frame


def categorical_columns(spec: ModelSpec) -> tuple[str, ...]:
    """The columns of a spec whose values are categories: its categorical features."""
    return tuple(spec.features.categorical)


def normalise_spec(spec: ModelSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """A frame of a spec's data with its categorical features as labels, as the model sees
    them."""
    return normalise(frame, categorical_columns(spec))
