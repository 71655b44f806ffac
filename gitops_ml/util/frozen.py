"""Frozen record classes that cost almost nothing to define.

``@dataclass`` writes each class's ``__init__``, ``__repr__``, ``__eq__``, ``__setattr__`` …
as source text and ``exec``s it: about 0.3 ms a class, paid at import on every start. The
model specs alone are a dozen classes on the start-up path of ``validate`` and ``plan``, whose
budget is 1.5× ``import click, yaml``. A :class:`Record` is declared like a frozen dataclass
(annotations, ``field(default=…, default_factory=…, metadata=…)``) and type-checks like one
(:func:`typing.dataclass_transform`), but its methods are shared and generic: defining a class
is collecting its fields into ``__slots__``, with nothing compiled.

What a record is:
- slotted and frozen: assigning an attribute raises :class:`FrozenInstanceError`;
- built by keyword (or position, in field order); a missing required field is a ``TypeError``;
- compared by value and hashable (``eq=True``, the default), or by identity (``eq=False``);
- turned into plain data by :func:`asdict` exactly as :func:`dataclasses.asdict` does, and
  copied with changes by :func:`replace`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar, dataclass_transform

from gitops_ml.errors import FrozenInstanceError

R = TypeVar("R", bound="Record")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """One declared field: its name, default (or default factory) and metadata."""

    __slots__ = ("default", "default_factory", "metadata", "name")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING,
                 metadata: Mapping[str, Any] | None = None) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot give both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.metadata: Mapping[str, Any] = metadata or {}

    @property
    def required(self) -> bool:
        return self.default is MISSING and self.default_factory is MISSING

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


def field(*, default: Any = MISSING, default_factory: Callable[[], Any] | Any = MISSING,
          metadata: Mapping[str, Any] | None = None) -> Any:
    """Declare a field with a default, a default factory or metadata (as dataclasses'
    ``field``)."""
    return Field(default, default_factory, metadata)


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
class _RecordMeta(type):
    """Turns the annotations of a class body into :class:`Field` objects and ``__slots__``."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any],
                eq: bool = True, **kwargs: Any) -> _RecordMeta:
        inherited: tuple[Field, ...] = ()
        for base in bases:
            inherited = getattr(base, "__fields__", inherited)
        own: list[Field] = []
        for fname, annotation in ns.get("__annotations__", {}).items():
            if "ClassVar" in str(annotation):
                continue
            value = ns.pop(fname, MISSING)
            f = value if isinstance(value, Field) else Field(default=value)
            f.name = fname
            own.append(f)
        ns["__slots__"] = tuple(f.name for f in own)
        if not eq and "__eq__" not in ns:
            ns["__eq__"] = object.__eq__
            ns["__hash__"] = object.__hash__
        cls = super().__new__(mcls, name, bases, ns, **kwargs)
        fields = (*inherited, *own)
        cls.__fields__ = fields  # type: ignore[attr-defined]
        cls.__field_names__ = tuple(f.name for f in fields)  # type: ignore[attr-defined]
        return cls


class Record(metaclass=_RecordMeta):
    """Base of frozen records; see the module's docstring."""

    __slots__ = ()
    __fields__: ClassVar[tuple[Field, ...]] = ()
    __field_names__: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = type(self).__fields__
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__}() takes {len(fields)} arguments, "
                            f"got {len(args)}")
        setter = object.__setattr__
        for f, value in zip(fields, args, strict=False):
            if f.name in kwargs:
                raise TypeError(f"{type(self).__name__}() got two values for {f.name!r}")
            setter(self, f.name, value)
        for f in fields[len(args):]:
            if f.name in kwargs:
                setter(self, f.name, kwargs.pop(f.name))
            elif f.default is not MISSING:
                setter(self, f.name, f.default)
            elif f.default_factory is not MISSING:
                setter(self, f.name, f.default_factory())
            else:
                raise TypeError(f"{type(self).__name__}() is missing the field {f.name!r}")
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got an unexpected field "
                            f"{next(iter(kwargs))!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in type(self).__field_names__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in type(self).__field_names__)
        return f"{type(self).__name__}({inner})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._values())


def is_record(obj: Any) -> bool:
    """Whether ``obj`` is a record class or instance."""
    return isinstance(obj, Record) or (isinstance(obj, type) and issubclass(obj, Record))


def fields(obj: Record | type[Record]) -> tuple[Field, ...]:
    return obj.__fields__


def replace(obj: R, **changes: Any) -> R:
    """A copy of ``obj`` with some fields changed (as :func:`dataclasses.replace`)."""
    values = {n: getattr(obj, n) for n in type(obj).__field_names__}
    unknown = set(changes) - set(values)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {sorted(unknown)[0]!r}")
    values.update(changes)
    return type(obj)(**values)


def asdict(obj: Any) -> Any:
    """Records to dicts, recursively, as :func:`dataclasses.asdict` does (lists and tuples
    keep their type, dict keys and values are converted too)."""
    if isinstance(obj, Record):
        return {n: asdict(getattr(obj, n)) for n in type(obj).__field_names__}
    if isinstance(obj, (list, tuple)):
        return type(obj)(asdict(v) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((asdict(k), asdict(v)) for k, v in obj.items())
    if isinstance(obj, (str, int, float, bool, type(None))):
        return obj
    import copy

    return copy.deepcopy(obj)


__all__ = ["MISSING", "Field", "FrozenInstanceError", "Record", "asdict", "field", "fields",
           "is_record", "replace"]
