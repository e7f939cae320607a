"""What a failed read of a table means for a person: polars' error for a CSV, Parquet or JSON
lines file turned into a FormatError naming the file, line and what was expected."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from .._typing import SourceFormat
from ..errors import EmptySourceError, FormatError, SourceError
from .delimited import find_ragged_row
from .sources import SourceMapping


def format_error(
    exc: Exception,
    readable: Path,
    path: Path,
    mapping: SourceMapping,
    fmt: SourceFormat,
    delimiter: str = ",",
) -> SourceError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, pl.exceptions.NoDataError):
        return EmptySourceError("the file holds no rows", file=path.name)
    if "utf-8" in text.lower() or "utf8" in text.lower():
        return FormatError(
            f"the file is not valid UTF-8 ({text})",
            file=path.name,
            expected="UTF-8 text; set encoding = 'latin-1', 'cp1252' or 'utf8-lossy'",
            found="bytes that are not UTF-8",
        )
    if fmt == "csv" and "more fields" in text:
        row, n_expected, n_found = find_ragged_row(readable, delimiter, mapping)
        return FormatError(
            f"row {row} has {n_found} fields but the header has {n_expected}",
            file=path.name,
            row=row,
            expected=f"{n_expected} fields separated by {delimiter!r}",
            found=f"{n_found} fields",
        )
    if fmt == "jsonl":
        line, problem = find_bad_json_line(readable)
        if line is not None:
            return FormatError(
                f"line {line} is not a JSON object: {problem}",
                file=path.name,
                row=line,
                expected="one JSON object per line",
                found=problem,
            )
    return FormatError(f"cannot read the {fmt} file: {text}", file=path.name, expected=fmt)


def find_bad_json_line(path: Path) -> tuple[int | None, str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                return number, f"{exc.msg} at column {exc.colno}"
            if not isinstance(value, dict):
                return number, f"a JSON {type(value).__name__}"
    return None, ""
