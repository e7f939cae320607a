"""Delimited text (CSV, TSV): which delimiter a file uses, its first rows, and the first row
with more fields than the header (for the error that names it)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..errors import FormatError
from .raw_files import HEAD
from .sources import CSV_DELIMITERS, SourceMapping


def sniff_delimiter(head: str, quote_char: str | None = '"') -> str:
    """The delimiter among , ; tab | that splits the first rows of `head` most consistently."""
    best, best_score = ",", (False, 1)
    for delimiter in CSV_DELIMITERS:
        try:
            rows = parse_rows(head, delimiter, quote_char, limit=21)
        except FormatError:  # split on the wrong delimiter a wide header is one huge field
            continue
        if len(rows) > 1 and len(head) >= HEAD:
            rows = rows[:-1]  # the last row may be cut off by the head's end
        if not rows or len(rows[0]) < 2:
            continue
        score = (all(len(r) == len(rows[0]) for r in rows[1:]), len(rows[0]))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def find_ragged_row(path: Path, delimiter: str, mapping: SourceMapping) -> tuple[int, int, int]:
    """(row, fields in the header, fields found) of the first row longer than the header."""
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for _ in range(mapping.skip_rows):
            fh.readline()
        reader = _reader(fh, delimiter, mapping.quote_char)
        header = next(reader, [])
        for row, fields in enumerate(reader, start=1):
            if len(fields) > len(header):
                return row, len(header), len(fields)
    return 0, len(header), len(header)


def _reader(fh: IO[str], delimiter: str, quote_char: str | None) -> Iterator[list[str]]:
    if quote_char is None:
        return csv.reader(fh, delimiter=delimiter, quoting=csv.QUOTE_NONE)
    return csv.reader(fh, delimiter=delimiter, quotechar=quote_char)


def parse_rows(text: str, delimiter: str, quote_char: str | None, limit: int) -> list[list[str]]:
    """Up to `limit` rows of `text` split on `delimiter`; [[]] when none parse."""
    rows: list[list[str]] = []
    try:
        for fields in _reader(io.StringIO(text, newline=""), delimiter, quote_char):
            rows.append(fields)
            if len(rows) >= limit:
                break
    except csv.Error as exc:
        if "field limit" in str(exc):  # no column name or value is that long: say so
            limit = csv.field_size_limit()
            where = f"row {len(rows)}" if rows else "the header line"
            raise FormatError(
                f"{where} has a field longer than {limit:,} characters",
                row=len(rows) or None,  # data rows count from 1, after the header
                expected=f"fields of at most {limit:,} characters",
            ) from None
    return rows or [[]]
