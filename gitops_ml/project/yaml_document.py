"""YAML loading that remembers where every value came from.

PyYAML's ``safe_load`` forgets positions, so an error about ``gates[1].metric`` could not name
its line. Here the document is composed into nodes and converted by hand; every key path is
mapped to the 1-based line and column of its key (or of the value, for list items). Duplicate
keys are an error (PyYAML silently keeps the last one, which hides typos in review).

Aliases (``*name``) of mappings and lists are refused: a converter that copies a shared node at
each reference turns a few lines ("billion laughs") into minutes and gigabytes, and specs have
no need for them. Integers are bounded too (Python refuses to parse more than 4,300 digits).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gitops_ml.errors import ConfigError, Location, YAMLSyntaxError

KeyPath = tuple[str | int, ...]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def format_path(path: KeyPath) -> str:
    """``("gates", 1, "metric")`` -> ``gates[1].metric``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class Document:
    """A loaded YAML document: plain data plus the position of every key path.

    A plain class (not a dataclass): it is on the start-up path of ``validate`` and ``plan``.
    """

    __slots__ = ("data", "file", "marks")

    def __init__(self, file: str, data: Any,
                 marks: dict[KeyPath, tuple[int, int]] | None = None) -> None:
        self.file = file
        self.data = data
        self.marks: dict[KeyPath, tuple[int, int]] = {} if marks is None else marks

    def __repr__(self) -> str:
        return f"Document({self.file!r})"

    def location(self, path: KeyPath) -> Location:
        """The location of ``path``, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.marks:
                line, col = self.marks[probe]
                return Location(self.file, line, col)
            probe = probe[:-1]
        if () in self.marks:
            line, col = self.marks[()]
            return Location(self.file, line, col)
        return Location(self.file)

    def error(
        self, path: KeyPath, message: str, *, hint: str | None = None
    ) -> ConfigError:
        return ConfigError(
            message,
            location=self.location(path),
            key_path=format_path(path) or None,
            hint=hint,
        )


MAX_INT_DIGITS = 100


def _once(node: yaml.Node, seen: set[int], file: str, where: yaml.Mark) -> None:
    """A mapping or list node met a second time is an alias: refused, naming where it is used."""
    if id(node) in seen:
        raise YAMLSyntaxError(
            "YAML aliases (*name) of mappings and lists are not allowed in gitops-ml files",
            location=Location(file, where.line + 1, where.column + 1),
            hint="write the values out; an alias can expand a few lines into gigabytes")
    seen.add(id(node))


def _convert(
    node: yaml.Node, loader: yaml.SafeLoader, path: KeyPath, marks: dict[KeyPath, tuple[int, int]],
    file: str, seen: set[int] | None = None, where: yaml.Mark | None = None,
) -> Any:
    if seen is None:
        seen = set()
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        _once(node, seen, file, where or node.start_mark)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise YAMLSyntaxError(
                    "mapping keys must be plain scalars",
                    location=Location(file, key_node.start_mark.line + 1,
                                      key_node.start_mark.column + 1),
                )
            key = str(key) if not isinstance(key, str) else key
            child = (*path, key)
            if key in out:
                raise YAMLSyntaxError(
                    f"duplicate key '{key}'",
                    location=Location(file, key_node.start_mark.line + 1,
                                      key_node.start_mark.column + 1),
                    key_path=format_path(child),
                )
            marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _convert(value_node, loader, child, marks, file, seen, key_node.start_mark)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            child = (*path, i)
            marks[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
            items.append(_convert(item, loader, child, marks, file, seen, node.start_mark))
        return items
    return _scalar(node, loader, file)


_STR, _INT, _FLOAT, _NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "null"))


def _scalar(node: yaml.Node, loader: yaml.SafeLoader, file: str = "<string>") -> Any:
    """The common scalars without PyYAML's constructor machinery (specs are mostly
    strings); anything unusual (0x1F, 1_000, .inf, yes/no, dates) goes through it."""
    tag, value = node.tag, node.value
    if tag == _STR:
        return value
    if tag == _INT and len(value) > MAX_INT_DIGITS:
        raise YAMLSyntaxError(
            f"integer of {len(value):,} characters; at most {MAX_INT_DIGITS} are accepted",
            location=Location(file, node.start_mark.line + 1, node.start_mark.column + 1))
    if tag == _INT and value.lstrip("-+").isdigit() and not value.lstrip("-+").startswith("0"):
        return int(value)
    if tag == _NULL:
        return None
    if tag == _FLOAT and value[:1] != "." and "_" not in value:
        try:
            return float(value)
        except ValueError:
            pass
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:  # a timestamp out of range, and the like
        raise YAMLSyntaxError(
            f"cannot read the value {value[:40]!r}: {exc}",
            location=Location(file, node.start_mark.line + 1, node.start_mark.column + 1),
        ) from None


def loads(text: str, file: str = "<string>") -> Document:
    """Parse YAML text into a :class:`Document`. An empty document gives ``data=None``."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        marks: dict[KeyPath, tuple[int, int]] = {}
        if node is None:
            return Document(file, None, marks)
        marks[()] = (node.start_mark.line + 1, node.start_mark.column + 1)
        data = _convert(node, loader, (), marks, file)
        return Document(file, data, marks)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = exc.problem or exc.context or "invalid YAML"
        raise YAMLSyntaxError(f"YAML syntax error: {problem}", location=where) from exc
    except yaml.YAMLError as exc:
        raise YAMLSyntaxError(f"YAML error: {exc}", location=Location(file)) from exc
    finally:
        loader.dispose()


def load(path: str | Path, display: str | None = None) -> Document:
    """Read and parse a YAML file. ``display`` is the name used in messages (repo-relative)."""
    name = display or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"file not found: {name}", location=Location(name)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("file is not valid UTF-8 text", location=Location(name)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", location=Location(name)) from exc
    return loads(text, name)
