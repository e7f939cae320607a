"""Read raw sources into canonical events: CSV/TSV, Parquet, JSON lines, XES, OCEL 2.0.

`read_source(path, mapping)` returns the canonical columns (case_id, activity, timestamp
Datetime[us, UTC], channel, kept attributes) *unsorted*; `EventLog` sorts them. CSV,
Parquet and JSON lines are scanned lazily with only the mapped columns projected and
collected by polars' streaming engine; a CSV's delimiter is sniffed (`delimited`); gzip and
non-UTF-8 CSVs are first copied to a temporary UTF-8 file in 1 MiB chunks (`raw_files`).
XES (.xes, .xes.gz) and OCEL 2.0 (JSON, XML) are read by `rustxes`, which holds the whole
log in memory (`xes`, `ocel`). XES `lifecycle:transition` is kept as the attribute
`lifecycle`; every transition is an event (as pm4py reads it) unless the mapping's
`lifecycle` lists the ones to keep. Row numbers in errors count data rows from 1 (the header
is not counted); for JSON lines they are line numbers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import polars as pl

from .._typing import SourceFormat
from ..errors import (
    EmptySourceError,
    FormatError,
    MissingColumnError,
    SourceError,
    SourceLimitError,
    shorten,
)
from ..log import ACTIVITY, CASE, TIMESTAMP
from .canonical import apply_mapping
from .delimited import parse_rows, sniff_delimiter
from .lifecycle import LifecycleFold
from .limits import (
    DEFAULT_LIMITS,
    SourceLimits,
    check_columns_count,
    check_frame_activities,
    check_header,
)
from .ocel import read_ocel
from .raw_files import HEAD, check_file, head_bytes, head_text, needs_copy, plain_copy
from .read_errors import format_error
from .sources import ResolvedColumns, SourceMapping
from .timestamps import (
    EPOCH_FORMATS,
    SAMPLE_SIZE,
    detect_text_format,
    guess_epoch_unit,
    text_to_utc,
)
from .xes import read_xes

EXTENSIONS: dict[str, SourceFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xes": "xes",
    ".jsonocel": "ocel-json",
    ".xmlocel": "ocel-xml",
    ".xml": "ocel-xml",
    ".json": "jsonl",  # or OCEL 2.0 JSON: told apart by content
}
SUPPORTED = (
    ".csv .tsv .txt .parquet .pq .jsonl .ndjson .json .xes .xes.gz .jsonocel .xmlocel .xml"
    " (and .gz of the text formats)"
)
TABLE_COLUMNS = (CASE, ACTIVITY, TIMESTAMP)
INFER_ROWS = 10_000


def read_source(
    path: str | Path,
    mapping: SourceMapping | None = None,
    *,
    format: SourceFormat | None = None,
    on_fold: Callable[[LifecycleFold], None] | None = None,
    limits: SourceLimits = DEFAULT_LIMITS,
) -> pl.DataFrame:
    """Read one source file into canonical (unsorted) events, as `mapping` says, within
    `limits` (a longer value or header, more columns or activities: SourceLimitError);
    `on_fold` gets the counts of a `lifecycle = "fold"` (pairs, unmatched starts and completes)."""
    path = Path(path)
    mapping = mapping or SourceMapping()
    check_file(path)
    fmt = format or detect_format(path)
    if fmt == "xes":
        raw, cols = read_xes(path, mapping)
    elif fmt in ("ocel-json", "ocel-xml"):
        raw, cols = read_ocel(path, mapping, fmt)
    else:
        with plain_copy(path, mapping, fmt) as readable:
            lazy, cols, delimiter = _scan(readable, path, mapping, fmt, limits)
            lazy = _timestamps_in_scan(lazy, cols, mapping)
            try:
                raw = lazy.collect(engine="streaming")
                if PARSE_FAILED in raw.columns:
                    failed = bool(raw.get_column(PARSE_FAILED).any())
                    raw = raw.drop(PARSE_FAILED)
                    if failed:  # re-read as text: parse_timestamps names the first bad row
                        raw = _scan(readable, path, mapping, fmt, limits)[0].collect(
                            engine="streaming"
                        )
            except Exception as exc:
                if fmt != "csv" or "could not parse" not in str(exc):
                    raise format_error(exc, readable, path, mapping, fmt, delimiter) from None
                # A kept attribute changes type after the rows used to infer it: keep it as text.
                lazy = _scan_csv(readable, path, mapping, limits, all_text=True)[0]
                try:
                    raw = lazy.collect(engine="streaming")
                except Exception as exc2:
                    raise format_error(exc2, readable, path, mapping, fmt, delimiter) from None
    frame = apply_mapping(raw, cols, mapping, file=path.name, on_fold=on_fold, limits=limits)
    check_frame_activities(frame, limits, path.name)
    return frame


PARSE_FAILED = "__timestamp_failed"


def _timestamps_in_scan(
    lazy: pl.LazyFrame, cols: ResolvedColumns, mapping: SourceMapping
) -> pl.LazyFrame:
    """Parse a text timestamp column inside the scan when one layout reads a sample of it.

    The text column then never sits in memory whole (a 5 GB CSV stays near the size of its
    result). Rows that fail are flagged; the caller re-reads the file as text to report them.
    """
    column = cols.timestamp
    if lazy.collect_schema().get(column) != pl.String:
        return lazy
    try:
        sample = lazy.select(column).head(SAMPLE_SIZE).collect().get_column(column)
    except Exception:  # unreadable head: the full read reports it with file and row
        return lazy
    fmt = mapping.timestamp_format or detect_text_format(sample)
    if fmt is None:
        return lazy
    failed = pl.lit(False)
    parsed: list[pl.Expr] = []
    # An interval log's start column is read with the complete column's layout, so that
    # batches never guess a layout of their own.
    for name in dict.fromkeys((column, cols.start_timestamp)):
        if name is None or lazy.collect_schema().get(name) != pl.String:
            continue
        value = text_to_utc(name, fmt, mapping.timezone, mapping.ambiguous)
        had_value = pl.col(name).is_not_null() & pl.col(name).str.contains(r"\S")
        failed = failed | (had_value & value.is_null())
        parsed.append(value.alias(name))
    return lazy.with_columns(failed.alias(PARSE_FAILED), *parsed)


@contextlib.contextmanager
def scan_mapped(
    path: str | Path,
    mapping: SourceMapping | None = None,
    *,
    format: SourceFormat | None = None,
    limits: SourceLimits = DEFAULT_LIMITS,
) -> Iterator[tuple[pl.LazyFrame, ResolvedColumns, SourceMapping] | None]:
    """The mapped columns of a CSV, Parquet or JSON-lines source, timestamps parsed in the scan.

    For reading a large file in batches (`miner.ingest.stream`): yields `(lazy, columns,
    mapping)`, or None when the file is better read whole by `read_source` (XES, OCEL, a
    header or mapping problem it reports precisely, or text timestamps whose layout a sample
    does not settle). Epoch numbers without a unit get the unit a whole read would guess
    (from the largest magnitude: one streaming pass over the column) written into the
    mapping that batches are mapped with. gzip and non-UTF-8 files are scanned from a
    temporary plain copy, removed on exit. A flag column `PARSE_FAILED` marks rows whose
    timestamp did not parse.
    """
    path = Path(path)
    mapping = mapping or SourceMapping()
    check_file(path)
    fmt = format or detect_format(path)
    if fmt not in ("csv", "parquet", "jsonl"):
        yield None
        return
    with plain_copy(path, mapping, fmt) as readable:
        try:
            lazy, cols, _ = _scan(readable, path, mapping, fmt, limits)
            lazy = _timestamps_in_scan(lazy, cols, mapping)
            dtype = lazy.collect_schema().get(cols.timestamp)
        except Exception:  # read_source names the file, row and column
            yield None
            return
        if isinstance(dtype, pl.Datetime | pl.Date) or mapping.timestamp_format in EPOCH_FORMATS:
            yield lazy, cols, mapping
        elif dtype is not None and dtype.is_numeric():
            try:
                biggest = lazy.select(pl.col(cols.timestamp).abs().max()).collect().to_series()
            except Exception:  # read_source names the file, row and column
                yield None
                return
            yield (
                lazy,
                cols,
                replace(mapping, timestamp_format=f"epoch_{guess_epoch_unit(biggest)}"),
            )
        else:
            yield None


def read_table(path: str | Path, *, what: str, infer_types: bool = False) -> pl.DataFrame:
    """A small side table (identity table, customer table) from Parquet or delimited text
    (delimiter sniffed; every column text unless `infer_types`); errors name the file."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise SourceError(
            f"{what} not found", file=name, expected="an existing CSV or Parquet file"
        )
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pl.read_parquet(path)
        with open(path, encoding="utf-8", errors="replace") as fh:
            delimiter = sniff_delimiter("".join(fh.readline() for _ in range(20)))
        if infer_types:
            return pl.read_csv(path, separator=delimiter, infer_schema_length=INFER_ROWS)
        return pl.read_csv(path, separator=delimiter, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise FormatError(f"cannot read {what}: {exc}", file=name) from exc


def scan_table(path: str | Path, *, what: str) -> pl.LazyFrame:
    """`read_table` (every column text), lazily: for a side table of millions of rows, read
    by the streaming engine with only the work a caller asks of it (no raw copy held)."""
    path = Path(path)
    if not path.exists():
        raise SourceError(
            f"{what} not found", file=path.name, expected="an existing CSV or Parquet file"
        )
    if path.suffix.lower() in (".parquet", ".pq"):
        return pl.scan_parquet(path)
    with open(path, encoding="utf-8", errors="replace") as fh:
        delimiter = sniff_delimiter("".join(fh.readline() for _ in range(20)))
    return pl.scan_csv(path, separator=delimiter, infer_schema=False)


def scan_source(
    path: str | Path, mapping: SourceMapping | None = None, *, format: SourceFormat | None = None
) -> pl.LazyFrame:
    """The raw mapped columns of an uncompressed UTF-8 CSV, Parquet or JSON-lines file, lazily."""
    path = Path(path)
    mapping = mapping or SourceMapping()
    check_file(path)
    fmt = format or detect_format(path)
    if fmt not in ("csv", "parquet", "jsonl") or needs_copy(path, mapping, fmt):
        raise SourceError(
            "only uncompressed UTF-8 CSV, Parquet and JSON lines can be scanned lazily",
            file=path.name,
            expected="a .csv/.parquet/.jsonl file; use read_source for the others",
            found=fmt,
        )
    return _scan(path, path, mapping, fmt)[0]


def check_columns(
    path: str | Path, mapping: SourceMapping | None = None, limits: SourceLimits = DEFAULT_LIMITS
) -> None:
    """Raise `MissingColumnError` (or `SourceLimitError` for its header) now if a CSV, Parquet
    or JSON-lines file lacks a column the mapping needs, reading only its header; anything
    else is left to the read itself."""
    path = Path(path)
    mapping = mapping or SourceMapping()
    check_file(path)
    fmt = detect_format(path)
    if fmt not in ("csv", "parquet", "jsonl") or needs_copy(path, mapping, fmt):
        return  # XES, OCEL, gzip, other encodings: only a whole read can tell
    try:
        _scan(path, path, mapping, fmt, limits)
    except (MissingColumnError, SourceLimitError):
        raise
    except Exception:  # the read reports it with its row and column
        return


def detect_format(path: str | Path) -> SourceFormat:
    """The source format, from the extension (and a look inside for .json and .gz)."""
    path = Path(path)
    name = path.name.lower()
    gz = name.endswith(".gz")
    ext = Path(name[:-3] if gz else name).suffix
    if ext == ".json":
        head = head_bytes(path)
        return "ocel-json" if b'"objectTypes"' in head or b'"eventTypes"' in head else "jsonl"
    if ext in EXTENSIONS and not (gz and EXTENSIONS[ext] in ("parquet", "ocel-xml", "ocel-json")):
        return EXTENSIONS[ext]
    if gz:
        head = head_bytes(path).lstrip()
        if head.startswith(b"<"):
            return "xes"
        return "jsonl" if head.startswith(b"{") else "csv"
    raise SourceError(
        f"unsupported file type {path.suffix or '(no extension)'!r}; supported: {SUPPORTED}",
        file=path.name,
        expected=SUPPORTED,
        found=path.suffix or "no extension",
    )


# -- table formats --------------------------------------------------------------------
def _scan(
    readable: Path,
    path: Path,
    mapping: SourceMapping,
    fmt: SourceFormat,
    limits: SourceLimits = DEFAULT_LIMITS,
) -> tuple[pl.LazyFrame, ResolvedColumns, str]:
    if fmt == "csv":
        return _scan_csv(readable, path, mapping, limits)
    try:
        if fmt == "parquet":
            lazy = pl.scan_parquet(readable)
        else:
            lazy = pl.scan_ndjson(readable, infer_schema_length=INFER_ROWS)
        columns = lazy.collect_schema().names()
    except Exception as exc:
        raise format_error(exc, readable, path, mapping, fmt) from None
    check_columns_count(len(columns), limits, path.name)
    cols = mapping.resolve(columns, defaults=TABLE_COLUMNS, file=path.name)
    return lazy.select(cols.needed), cols, ","


def _scan_csv(
    readable: Path,
    path: Path,
    mapping: SourceMapping,
    limits: SourceLimits = DEFAULT_LIMITS,
    *,
    all_text: bool = False,
) -> tuple[pl.LazyFrame, ResolvedColumns, str]:
    head = head_text(readable, mapping.skip_rows)
    if not head.strip():
        raise EmptySourceError(
            "the file has no header row", file=path.name, expected="a header and rows"
        )
    try:
        delimiter = mapping.delimiter or sniff_delimiter(head, mapping.quote_char)
        header = parse_rows(head, delimiter, mapping.quote_char, limit=1)[0]
    except FormatError as exc:
        exc.file = exc.file or path.name
        raise
    # A header cut by the end of the head has no line end: count it as longer than the head.
    line = head.split("\n", 1)
    cut = len(line) == 1 and readable.stat().st_size > HEAD
    line_bytes = HEAD + 1 if cut else len(line[0].encode())
    check_header(header, line_bytes, limits, path.name)
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name in seen:
            raise FormatError(
                f"duplicate column name {shorten(repr(name))} in the header"
                f" (columns {seen[name]} and {i})",
                file=path.name,
                column=name,
                expected="distinct column names",
            )
        seen[name] = i
    cols = mapping.resolve(header, defaults=TABLE_COLUMNS, file=path.name)
    roles = (cols.case, cols.activity, cols.timestamp, cols.channel, cols.start_timestamp)
    text = cols.needed if all_text else [c for c in roles if c]
    lazy = pl.scan_csv(
        readable,
        separator=delimiter,
        quote_char=mapping.quote_char,
        skip_rows=mapping.skip_rows,
        encoding="utf8-lossy" if mapping.encoding == "utf8-lossy" else "utf8",
        new_columns=header,  # polars keeps doubled quotes in header names; csv does not
        schema_overrides={c: pl.String for c in text},
        infer_schema_length=INFER_ROWS,
        raise_if_empty=False,
    )
    return lazy.select(cols.needed), cols, delimiter
