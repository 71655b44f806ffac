"""Typed loading of YAML documents into frozen dataclasses, and their JSON Schema.

Why not pydantic: ``validate`` is the pre-commit path and must start about as fast as
``import click, yaml``; building pydantic models costs more than our whole budget. The specs
are small, so a few dozen lines over ``dataclasses`` do the job, with errors that name the
file, line, column and key path, and "did you mean …?" for misspelled keys.

Field metadata understood here:
- ``key``: the YAML key when it differs from the attribute name (``class`` -> ``class_``);
- ``doc``: a description, copied into the JSON Schema;
- ``ge`` / ``le`` / ``gt`` / ``lt``: numeric bounds;
- ``pattern``: a regex a string must match (checked and put in the schema);
- ``min_items``: the least number of list items.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from gitops_ml.errors import ConfigError
from gitops_ml.project.yaml_document import Document, KeyPath

T = TypeVar("T")

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def yaml_key(f: dataclasses.Field[Any]) -> str:
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
    if dataclasses.is_dataclass(tp):
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


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str | None:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None


def _check_bounds(value: Any, meta: typing.Mapping[str, Any], doc: Document, path: KeyPath) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        import operator

        checks: tuple[tuple[str, typing.Callable[[Any, Any], bool], str], ...] = (
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


def convert(tp: Any, value: Any, doc: Document, path: KeyPath,
            meta: typing.Mapping[str, Any] | None = None) -> Any:
    """Check ``value`` against the type ``tp`` and build it. Errors name the key path."""
    meta = meta or {}
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        errors: list[ConfigError] = []
        for option in options:
            if option is type(None):
                continue
            if not _shape_matches(option, value):
                continue
            try:
                return convert(option, value, doc, path, meta)
            except ConfigError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
        raise doc.error(path, f"expected {_describe(tp)}, got {_type_name(value)}")
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            hint = did_you_mean(str(value), [str(a) for a in allowed])
            raise doc.error(
                path, f"expected one of {', '.join(repr(a) for a in allowed)}, got {value!r}",
                hint=hint)
        return value
    if origin is list:
        if not isinstance(value, list):
            raise doc.error(path, f"expected {_describe(tp)}, got {_type_name(value)}")
        _check_bounds(value, meta, doc, path)
        (item_tp,) = get_args(tp)
        return tuple(convert(item_tp, v, doc, (*path, i)) for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, list):
            raise doc.error(path, f"expected {_describe(tp)}, got {_type_name(value)}")
        _check_bounds(value, meta, doc, path)
        item_tp = get_args(tp)[0]
        return tuple(convert(item_tp, v, doc, (*path, i)) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise doc.error(path, f"expected a mapping, got {_type_name(value)}")
        _, val_tp = get_args(tp)
        return {k: convert(val_tp, v, doc, (*path, k)) for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return load_dataclass(tp, value, doc, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise doc.error(path, f"expected true or false, got {_type_name(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise doc.error(path, f"expected an integer, got {_type_name(value)}")
        _check_bounds(value, meta, doc, path)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise doc.error(path, f"expected a number, got {_type_name(value)}")
        _check_bounds(value, meta, doc, path)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise doc.error(path, f"expected a string, got {_type_name(value)}")
        _check_bounds(value, meta, doc, path)
        return value
    raise TypeError(f"schema: unsupported type {tp!r}")  # a bug in our models, not user input


def _shape_matches(tp: Any, value: Any) -> bool:
    """Whether ``value`` has the right Python shape to be tried as ``tp`` in a union."""
    origin = get_origin(tp)
    if tp is Any:
        return True
    if origin in (list, tuple):
        return isinstance(value, list)
    if origin is dict or (dataclasses.is_dataclass(tp)):
        return isinstance(value, dict)
    if origin is Literal:
        return True
    if tp is str:
        return isinstance(value, str)
    if tp is bool:
        return isinstance(value, bool)
    if tp in (int, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


def load_dataclass(cls: type[T], value: Any, doc: Document, path: KeyPath = ()) -> T:
    """Build the dataclass ``cls`` from a YAML mapping, rejecting unknown keys."""
    if not isinstance(value, dict):
        raise doc.error(path, f"expected a mapping, got {_type_name(value)}")
    hints = _hints(cls)
    fields = {yaml_key(f): f for f in dataclasses.fields(cls)  # type: ignore[arg-type]
              if f.init and not f.metadata.get("internal")}
    for key in value:
        if key not in fields:
            raise doc.error(
                (*path, key), f"unknown key '{key}'",
                hint=did_you_mean(key, fields) or "allowed: " + ", ".join(sorted(fields)),
            )
    kwargs: dict[str, Any] = {}
    for key, f in fields.items():
        if key in value:
            kwargs[f.name] = convert(hints[f.name], value[key], doc, (*path, key), f.metadata)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise doc.error(path, f"missing required key '{key}'")
    try:
        obj = cls(**kwargs)
    except ValueError as exc:
        raise doc.error(path, str(exc)) from exc
    check = getattr(obj, "check", None)
    if callable(check):
        check(doc, path)
    return obj


# --- JSON Schema ---------------------------------------------------------------------------

def json_schema(cls: type, title: str, schema_id: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a dataclass model, with shared ``$defs``."""
    defs: dict[str, Any] = {}
    root = _schema_of_dataclass(cls, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "title": title,
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def _schema_of_dataclass(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    hints = _hints(cls)
    props: dict[str, Any] = {}
    required = []
    for f in dataclasses.fields(cls):
        if not f.init or f.metadata.get("internal"):
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
        if f.default is not dataclasses.MISSING and isinstance(
                f.default, (str, int, float, bool)):
            prop["default"] = f.default
        props[key] = prop
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
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
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            defs[name] = _schema_of_dataclass(tp, defs)
        return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"schema: unsupported type {tp!r}")
