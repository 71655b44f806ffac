"""Frozen records (``gitops_ml.util.frozen``): what the spec models rely on."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from gitops_ml.project import spec
from gitops_ml.util.frozen import FrozenInstanceError, Record, asdict, field, replace


class Inner(Record):
    """A record compared by value."""

    a: int
    b: tuple[str, ...] = field(default_factory=tuple)
    c: str = "x"


class Outer(Record, eq=False):
    """A record compared by identity."""

    inner: Inner
    extra: dict[str, Any] = field(default_factory=dict, metadata={"doc": "free"})


def test_construction_defaults_and_errors() -> None:
    assert Inner(a=1) == Inner(1, (), "x")
    assert Inner(a=1).b == () and Inner(a=1).c == "x"
    assert Outer(Inner(1)).extra == {} and Outer(Inner(1)).extra is not Outer(Inner(1)).extra
    with pytest.raises(TypeError, match="missing the field 'a'"):
        Inner()
    with pytest.raises(TypeError, match="unexpected field 'd'"):
        Inner(a=1, d=2)
    with pytest.raises(TypeError, match="two values for 'a'"):
        Inner(1, a=2)


def test_frozen_slotted_and_compared_as_declared() -> None:
    inner = Inner(a=1)
    with pytest.raises(FrozenInstanceError):
        inner.a = 2  # type: ignore[misc]
    assert isinstance(FrozenInstanceError(), AttributeError)
    assert not hasattr(inner, "__dict__")
    assert hash(inner) == hash(Inner(a=1)) and inner != Inner(a=2)
    outer = Outer(inner)
    assert outer != Outer(inner) and outer == outer
    assert repr(inner) == "Inner(a=1, b=(), c='x')"


def test_replace_asdict_and_pickle() -> None:
    outer = Outer(Inner(1, ("p",)), {"k": [Inner(2)]})
    assert asdict(outer) == {"inner": {"a": 1, "b": ("p",), "c": "x"},
                             "extra": {"k": [{"a": 2, "b": (), "c": "x"}]}}
    assert replace(outer.inner, c="y") == Inner(1, ("p",), "y")
    with pytest.raises(TypeError, match="no field 'z'"):
        replace(outer.inner, z=1)
    back = pickle.loads(pickle.dumps(outer))
    assert back.inner == outer.inner and back.extra["k"] == [Inner(2)]


def test_asdict_matches_dataclasses_asdict() -> None:
    """The run key hashes ``asdict`` of the spec: it must give what dataclasses gave."""

    @dataclasses.dataclass(frozen=True)
    class DInner:
        a: int
        b: tuple[str, ...] = ()
        c: str = "x"

    @dataclasses.dataclass(frozen=True)
    class DOuter:
        inner: DInner
        extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    value = {"k": [1, (2, 3)], "n": None, "f": 0.5}
    assert asdict(Outer(Inner(1, ("p",)), value)) == dataclasses.asdict(
        DOuter(DInner(1, ("p",)), value))


def test_spec_models_are_records_not_dataclasses() -> None:
    for cls in (spec.ProjectConfig, spec.ModelSpec, spec.Gate, spec.InlinePointer):
        assert issubclass(cls, Record) and not dataclasses.is_dataclass(cls)
