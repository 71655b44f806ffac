"""Reading data files: the header alone (:func:`read_header`, no pandas) or a table
(:func:`read_table`, pandas with the pyarrow engine). csv, parquet and jsonl.

Every reader of a data file's bytes lives here, so limits on what is read belong here too.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

from gitops_ml.data.pointers import FORMATS
from gitops_ml.errors import DataCheckError, DataError, GitopsMLError

if TYPE_CHECKING:
    import pandas as pd

# a header line (or a JSON Lines first record) longer than this is refused, not read whole: a
# 200 MB line otherwise costs a gigabyte of memory in validate
MAX_HEADER_CHARS = 1 << 20


def _first_line(f: io.TextIOBase, p: Path) -> str:
    line = f.readline(MAX_HEADER_CHARS + 1)
    if len(line) > MAX_HEADER_CHARS:
        raise DataError(f"{p.name}: the first line is longer than {MAX_HEADER_CHARS:,} "
                        "characters; refused", hint="is this really a data file's header?")
    return line


def read_header(path: str | Path, fmt: str) -> list[str]:
    """The column names of a data file, reading only its header (no pandas)."""
    p = Path(path)
    try:
        if fmt == "csv":
            with open(p, encoding="utf-8-sig", newline="") as f:
                row = next(csv.reader(io.StringIO(_first_line(f, p))), None)
            return [c.strip() for c in row] if row else []
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(p).names)
        if fmt == "jsonl":
            with open(p, encoding="utf-8") as f:
                while line := _first_line(f, p):
                    if line.strip():
                        obj = json.loads(line)
                        if not isinstance(obj, dict):
                            raise DataError(f"{p.name}: the first line is not a JSON object")
                        return list(obj)
            return []
    except GitopsMLError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the header of {p}: {exc}") from exc
    except Exception as exc:  # pyarrow's ArrowInvalid and friends
        raise DataError(f"cannot read the header of {p}: {exc}") from exc
    raise DataError(f"unknown data format '{fmt}'", hint="use csv, parquet or jsonl")


def read_table(path: str | Path, fmt: str, columns: list[str] | tuple[str, ...] | None = None
               ) -> pd.DataFrame:
    """Read a data file into a DataFrame with the pyarrow engine (only ``columns`` if given).

    Missing columns are a :class:`~gitops_ml.errors.DataCheckError` naming them."""
    import pandas as pd

    p = Path(path)
    if fmt not in FORMATS:
        raise DataError(f"unknown data format '{fmt}'", hint="use csv, parquet or jsonl")
    if columns is not None:
        header = read_header(p, fmt)
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataCheckError(f"{p.name}: missing column(s) {', '.join(missing)}",
                                 hint=f"the file has: {', '.join(header[:20])}"
                                 + (" …" if len(header) > 20 else ""))
        columns = list(dict.fromkeys(columns))
    try:
        if fmt == "csv":
            return pd.read_csv(p, engine="pyarrow", usecols=columns)
        if fmt == "parquet":
            return pd.read_parquet(p, engine="pyarrow", columns=columns)
        frame = pd.read_json(p, lines=True, engine="pyarrow")
        return frame[columns] if columns is not None else frame
    except GitopsMLError:
        raise
    except Exception as exc:
        raise DataError(f"cannot read {p} as {fmt}: {type(exc).__name__}: {exc}") from exc
