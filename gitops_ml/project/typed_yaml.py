"""Typed loading of YAML documents into frozen records, and their JSON Schema.

Why not pydantic: ``validate`` is the pre-commit path and must start about as fast as
``import click, yaml``; building pydantic models costs more than our whole budget. The specs
are small :class:`~gitops_ml.util.frozen.Record` classes (frozen, slotted, nothing compiled
when they are defined). The first time a class is loaded, each of its fields' types is turned
into a converter function once; loading is then one call per value, with errors that name the
file, line, column and key path, and "did you mean …?" for misspelled keys.

Field metadata understood here:
- ``key``: the YAML key when it differs from the attribute name (``class`` -> ``class_``);
- ``doc``: a description, copied into the JSON Schema;
- ``ge`` / ``le`` / ``gt`` / ``lt``: numeric bounds;
- ``pattern``: a regex a string must match (checked and put in the schema);
- ``min_items``: the least number of list items;
- ``internal``: not read from YAML (set by the loader, e.g. the spec's file).
"""

from __future__ import annotations

import inspect  # already imported by click
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from gitops_ml.errors import ConfigError, ConfigErrors
from gitops_ml.project.yaml_document import Document, KeyPath
from gitops_ml.util.frozen import Field, Record, is_record

R = TypeVar("R", bound=Record)

# A converter checks one YAML value against a declared type and builds it.
Converter = Callable[[Any, Document, KeyPath], Any]


def _hints(cls: type[Record]) -> dict[str, Any]:
    """The declared type of each field. Annotations written as strings (``from __future__
    import annotations``) are evaluated, at a compile each: the spec models avoid them."""
    hints: dict[str, Any] | None = cls.__dict__.get("_typed_yaml_hints")
    if hints is None:
        declared: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            declared.update(inspect.get_annotations(klass))
        hints = {f.name: declared[f.name] for f in cls.__fields__}
        if any(isinstance(tp, str) for tp in hints.values()):
            evaluated = typing.get_type_hints(cls)
            hints = {name: evaluated[name] for name in hints}
        type.__setattr__(cls, "_typed_yaml_hints", hints)
    return hints


def yaml_key(f: Field) -> str:
    return str(f.metadata.get("key", f.name))


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is Any:
        return "any value"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (list, tuple):
        return f"a list of {_describe(get_args(tp)[0]).removeprefix('a ').removeprefix('an ')}s"
    if origin is dict:
        return "a mapping"
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp) if a is not type(None))
    if is_record(tp):
        return "a mapping"
    return str(tp)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) < 40 else "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def closest(word: str, choices: typing.Iterable[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return match[0] if match else None


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str | None:
    match = closest(word, choices)
    return f"did you mean '{match}'?" if match else None


_BOUND_KEYS = ("ge", "gt", "le", "lt", "pattern", "min_items")


def _check_bounds(value: Any, meta: Mapping[str, Any], doc: Document, path: KeyPath) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        import operator

        checks: tuple[tuple[str, Callable[[Any, Any], bool], str], ...] = (
            ("ge", operator.ge, "at least"),
            ("gt", operator.gt, "greater than"),
            ("le", operator.le, "at most"),
            ("lt", operator.lt, "less than"),
        )
        for key, ok, word in checks:
            if key in meta and not ok(value, meta[key]):
                raise doc.error(path, f"must be {word} {meta[key]}, got {value}")
    if isinstance(value, str) and "pattern" in meta and not re.fullmatch(meta["pattern"], value):
        raise doc.error(path, f"{value!r} does not match the pattern {meta['pattern']}",
                        hint=meta.get("pattern_hint"))
    if isinstance(value, list) and len(value) < meta.get("min_items", 0):
        raise doc.error(path, f"needs at least {meta['min_items']} item(s)")


def _bounded(meta: Mapping[str, Any], check: Callable[[Any, Document, KeyPath], Any]
             ) -> Converter:
    """``check``, followed by the bounds ``meta`` declares (when it declares any)."""
    if not any(k in meta for k in _BOUND_KEYS):
        return check

    def conv(value: Any, doc: Document, path: KeyPath) -> Any:
        out = check(value, doc, path)
        _check_bounds(value, meta, doc, path)
        return out

    return conv


def converter(tp: Any, meta: Mapping[str, Any] | None = None) -> Converter:
    """The converter of the type ``tp`` (with a field's ``meta`` bounds): made once per field,
    it checks a YAML value and builds it, or raises a :class:`ConfigError` at its key path."""
    meta = meta or {}
    origin = get_origin(tp)
    if tp is Any:
        return lambda value, doc, path: value
    if origin in (Union, types.UnionType):
        return _union(tp, meta)
    if origin is Literal:
        return _literal(tp)
    if origin in (list, tuple):
        item = converter(get_args(tp)[0])

        def sequence(value: Any, doc: Document, path: KeyPath) -> Any:
            if not isinstance(value, list):
                raise doc.error(path, f"expected {_describe(tp)}, got {_type_name(value)}")
            _check_bounds(value, meta, doc, path)
            try:  # the fast path: every item fits
                return tuple([item(v, doc, (*path, i)) for i, v in enumerate(value)])
            except ConfigError:
                pass
            errors: list[ConfigError] = []
            for i, v in enumerate(value):
                try:
                    item(v, doc, (*path, i))
                except ConfigError as exc:
                    errors.append(exc)
            raise ConfigErrors.of(errors)

        return sequence
    if origin is dict:
        val = converter(get_args(tp)[1])

        def mapping(value: Any, doc: Document, path: KeyPath) -> Any:
            if not isinstance(value, dict):
                raise doc.error(path, f"expected a mapping, got {_type_name(value)}")
            out: dict[Any, Any] = {}
            errors: list[ConfigError] = []
            for k, v in value.items():
                try:
                    out[k] = val(v, doc, (*path, k))
                except ConfigError as exc:
                    errors.append(exc)
            if errors:
                raise ConfigErrors.of(errors)
            return out

        return mapping
    if is_record(tp):
        return lambda value, doc, path: load_record(tp, value, doc, path)
    if tp in _SCALARS:
        return _bounded(meta, _SCALARS[tp])
    raise TypeError(f"typed_yaml: unsupported type {tp!r}")  # a bug in our models


def _bool(value: Any, doc: Document, path: KeyPath) -> Any:
    if not isinstance(value, bool):
        raise doc.error(path, f"expected true or false, got {_type_name(value)}")
    return value


def _int(value: Any, doc: Document, path: KeyPath) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.error(path, f"expected an integer, got {_type_name(value)}")
    return value


def _float(value: Any, doc: Document, path: KeyPath) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise doc.error(path, f"expected a number, got {_type_name(value)}")
    return float(value)


def _str(value: Any, doc: Document, path: KeyPath) -> Any:
    if not isinstance(value, str):
        raise doc.error(path, f"expected a string, got {_type_name(value)}")
    return value


_SCALARS: dict[Any, Converter] = {bool: _bool, int: _int, float: _float, str: _str}


def _literal(tp: Any) -> Converter:
    allowed = get_args(tp)

    def literal(value: Any, doc: Document, path: KeyPath) -> Any:
        if value not in allowed:
            hint = did_you_mean(str(value), [str(a) for a in allowed])
            raise doc.error(
                path, f"expected one of {', '.join(repr(a) for a in allowed)}, got {value!r}",
                hint=hint)
        return value

    return literal


def _union(tp: Any, meta: Mapping[str, Any]) -> Converter:
    nullable = type(None) in get_args(tp)
    options = [(_shape(option), converter(option, meta))
                for option in get_args(tp) if option is not type(None)]

    def union(value: Any, doc: Document, path: KeyPath) -> Any:
        if value is None and nullable:
            return None
        first: ConfigError | None = None
        for fits, conv in options:
            if not fits(value):
                continue
            try:
                return conv(value, doc, path)
            except ConfigError as exc:
                if first is None:
                    first = exc
        if first is not None:
            raise first
        raise doc.error(path, f"expected {_describe(tp)}, got {_type_name(value)}")

    return union


def _shape(tp: Any) -> Callable[[Any], bool]:
    """Whether a value has the right Python shape to be tried as ``tp`` in a union."""
    origin = get_origin(tp)
    if tp is Any or origin is Literal:
        return lambda value: True
    if origin in (list, tuple):
        return lambda value: isinstance(value, list)
    if origin is dict or is_record(tp):
        return lambda value: isinstance(value, dict)
    if tp is str:
        return lambda value: isinstance(value, str)
    if tp is bool:
        return lambda value: isinstance(value, bool)
    if tp in (int, float):
        return lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)
    return lambda value: True


class _Plan:
    """How to load one record class: its YAML keys, each with a converter."""

    __slots__ = ("fields", "keys")

    def __init__(self, cls: type[Record]) -> None:
        hints = _hints(cls)
        loaded = [f for f in cls.__fields__ if not f.metadata.get("internal")]
        self.keys = {yaml_key(f): f for f in loaded}
        self.fields = tuple((yaml_key(f), f.name, converter(hints[f.name], f.metadata),
                             f.required) for f in loaded)


def _plan(cls: type[Record]) -> _Plan:
    plan: _Plan | None = cls.__dict__.get("_typed_yaml_plan")
    if plan is None:
        plan = _Plan(cls)
        type.__setattr__(cls, "_typed_yaml_plan", plan)
    return plan


def load_record(cls: type[R], value: Any, doc: Document, path: KeyPath = ()) -> R:
    """Build the record ``cls`` from a YAML mapping, rejecting unknown keys.

    Every independent problem is gathered (unknown keys, each field's type and bounds, at any
    depth) and raised together as one :class:`ConfigErrors`, in file order. The record's own
    ``check`` needs the built record, so it runs only when its fields loaded; it may raise
    one error or return a list of them."""
    if not isinstance(value, dict):
        raise doc.error(path, f"expected a mapping, got {_type_name(value)}")
    plan = _plan(cls)
    errors: list[ConfigError] = []
    meant: set[str] = set()  # keys that an unknown key is a typo of
    for key in value:
        if key not in plan.keys:
            match = closest(key, plan.keys)
            if match is not None:
                meant.add(match)
            errors.append(doc.error(
                (*path, key), f"unknown key '{key}'",
                hint=f"did you mean '{match}'?" if match
                else "allowed: " + ", ".join(sorted(plan.keys)),
            ))
    kwargs: dict[str, Any] = {}
    for key, name, conv, required in plan.fields:
        if key in value:
            try:
                kwargs[name] = conv(value[key], doc, (*path, key))
            except ConfigError as exc:
                errors.append(exc)
        elif required and key not in meant:  # a misspelt key is reported as unknown only
            errors.append(doc.error(path, f"missing required key '{key}'"))
    if errors:
        raise ConfigErrors.of(errors)
    try:
        obj = cls(**kwargs)
    except ValueError as exc:
        raise doc.error(path, str(exc)) from exc
    check = getattr(obj, "check", None)
    if callable(check):
        found = check(doc, path)
        if found:
            raise ConfigErrors.of(list(found))
    return obj


# --- JSON Schema ---------------------------------------------------------------------------

def json_schema(cls: type[Record], title: str, schema_id: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a record class, with shared ``$defs``."""
    defs: dict[str, Any] = {}
    root = _schema_of_record(cls, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "title": title,
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def _schema_of_record(cls: type[Record], defs: dict[str, Any]) -> dict[str, Any]:
    hints = _hints(cls)
    props: dict[str, Any] = {}
    required = []
    for f in cls.__fields__:
        if f.metadata.get("internal"):
            continue
        key = yaml_key(f)
        prop = _schema_of(hints[f.name], defs)
        for m, js in (("ge", "minimum"), ("le", "maximum"), ("gt", "exclusiveMinimum"),
                      ("lt", "exclusiveMaximum"), ("pattern", "pattern"),
                      ("min_items", "minItems")):
            if m in f.metadata:
                value = f.metadata[m]
                prop[js] = f"^(?:{value})$" if m == "pattern" else value
        if "doc" in f.metadata:
            prop["description"] = f.metadata["doc"]
        if isinstance(f.default, (str, int, float, bool)):
            prop["default"] = f.default
        props[key] = prop
        if f.required:
            required.append(key)
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    if cls.__doc__:
        out["description"] = " ".join(cls.__doc__.split())
    extra = getattr(cls, "__json_schema_extra__", None)
    if extra:
        out.update(extra)
    return out


def _schema_of(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(tp)
    if tp is Any:
        return {}
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin in (list, tuple):
        return {"type": "array", "items": _schema_of(get_args(tp)[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema_of(get_args(tp)[1], defs)}
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        schemas = [_schema_of(a, defs) for a in options]
        if type(None) in get_args(tp):
            schemas.append({"type": "null"})
        return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    if is_record(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            defs[name] = _schema_of_record(tp, defs)
        return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"typed_yaml: unsupported type {tp!r}")
