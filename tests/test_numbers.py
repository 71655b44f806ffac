"""The one number formatter (gitops_ml.util.numbers), in both styles."""

from __future__ import annotations

import math

import pytest

from gitops_ml.util.numbers import number


@pytest.mark.parametrize(("value", "kwargs", "text"), [
    (None, {}, "—"), (None, {"missing": "-"}, "-"), (True, {}, "yes"), (False, {}, "no"),
    (0.98051, {}, "0.9805"), (123456.7, {}, "1.235e+05"), (0.012345, {}, "0.01235"),
    (0.5, {"signed": True}, "+0.5"), (-0.25, {"signed": True}, "-0.25"),
    (3, {"signed": True}, "+3"),
    (7, {}, "7"), (math.nan, {}, "NaN"), (math.inf, {}, "∞"), (-math.inf, {"fixed": True}, "-∞"),
    (0.98051, {"fixed": True}, "0.9805"), (0.0, {"fixed": True}, "0.0000"),
    (1234567, {"fixed": True}, "1,234,567"), (0.00001, {"fixed": True}, "1.00e-05"),
    (2.5e7, {"fixed": True}, "2.50e+07"), (0.1, {"fixed": True, "signed": True}, "+0.1000"),
    (-0.1, {"fixed": True, "signed": True}, "-0.1000"), ("text", {}, "text"),
])
def test_number_styles(value: object, kwargs: dict, text: str) -> None:
    assert number(value, **kwargs) == text


def test_no_python_literal_ever_comes_out() -> None:
    for value in (None, True, False, math.nan):
        for fixed in (False, True):
            assert number(value, fixed=fixed) not in ("None", "True", "False", "nan")
