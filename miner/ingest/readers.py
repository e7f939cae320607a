"""Read raw sources into canonical events: CSV/TSV, Parquet, JSON lines, XES, OCEL 2.0.

`read_source(path, mapping)` returns the canonical columns (case_id, activity, timestamp
Datetime[us, UTC], channel, kept attributes) *unsorted*; `EventLog` sorts them. CSV,
Parquet and JSON lines are scanned lazily with only the mapped columns projected and
collected by polars' streaming engine; gzip and non-UTF-8 CSVs are first copied to a
temporary UTF-8 file in 1 MiB chunks. XES (.xes, .xes.gz) and OCEL 2.0 (JSON, XML) are
read by `rustxes`, which holds the whole log in memory. XES `lifecycle:transition` is kept
as the attribute `lifecycle`; every transition is an event (as pm4py reads it) unless the
mapping's `lifecycle` lists the ones to keep. Row numbers in errors count data rows from 1
(the header is not counted); for JSON lines they are line numbers.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import re
import tempfile
import xml.parsers.expat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO

import polars as pl
import rustxes

from .._typing import SourceFormat
from ..errors import EmptySourceError, FormatError, MappingError, MissingColumnError, SourceError
from ..log import ACTIVITY, CASE, TIMESTAMP
from .sources import (
    CSV_DELIMITERS,
    NATIVE_ENCODINGS,
    ResolvedColumns,
    SourceMapping,
    apply_mapping,
)
from .timestamps import (
    EPOCH_FORMATS,
    SAMPLE_SIZE,
    detect_text_format,
    guess_epoch_unit,
    text_to_utc,
)

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
XES_COLUMNS = ("case:concept:name", "concept:name", "time:timestamp")
OCEL_COLUMNS = ("ocel:oid", "ocel:activity", "ocel:timestamp")
TABLE_COLUMNS = (CASE, ACTIVITY, TIMESTAMP)
CHUNK = 1 << 20
HEAD = 1 << 16
INFER_ROWS = 10_000
_GZIP_MAGIC = b"\x1f\x8b"


def read_source(
    path: str | Path, mapping: SourceMapping | None = None, *, format: SourceFormat | None = None
) -> pl.DataFrame:
    """Read one source file into canonical (unsorted) events, as `mapping` says."""
    path = Path(path)
    mapping = mapping or SourceMapping()
    _check_file(path)
    fmt = format or detect_format(path)
    if fmt == "xes":
        raw, cols = _read_xes(path, mapping)
    elif fmt in ("ocel-json", "ocel-xml"):
        raw, cols = _read_ocel(path, mapping, fmt)
    else:
        with _plain_copy(path, mapping, fmt) as readable:
            lazy, cols, delimiter = _scan(readable, path, mapping, fmt)
            lazy = _timestamps_in_scan(lazy, cols, mapping)
            try:
                raw = lazy.collect(engine="streaming")
                if PARSE_FAILED in raw.columns:
                    failed = bool(raw.get_column(PARSE_FAILED).any())
                    raw = raw.drop(PARSE_FAILED)
                    if failed:  # re-read as text: parse_timestamps names the first bad row
                        raw = _scan(readable, path, mapping, fmt)[0].collect(engine="streaming")
            except Exception as exc:
                if fmt != "csv" or "could not parse" not in str(exc):
                    raise _format_error(exc, readable, path, mapping, fmt, delimiter) from None
                # A kept attribute changes type after the rows used to infer it: keep it as text.
                lazy = _scan_csv(readable, path, mapping, all_text=True)[0]
                try:
                    raw = lazy.collect(engine="streaming")
                except Exception as exc2:
                    raise _format_error(exc2, readable, path, mapping, fmt, delimiter) from None
    return apply_mapping(raw, cols, mapping, file=path.name)


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
    parsed = text_to_utc(column, fmt, mapping.timezone)
    had_value = pl.col(column).is_not_null() & pl.col(column).str.contains(r"\S")
    return lazy.with_columns(
        (had_value & parsed.is_null()).alias(PARSE_FAILED), parsed.alias(column)
    )


@contextlib.contextmanager
def scan_mapped(
    path: str | Path, mapping: SourceMapping | None = None, *, format: SourceFormat | None = None
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
    _check_file(path)
    fmt = format or detect_format(path)
    if fmt not in ("csv", "parquet", "jsonl"):
        yield None
        return
    with _plain_copy(path, mapping, fmt) as readable:
        try:
            lazy, cols, _ = _scan(readable, path, mapping, fmt)
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


def scan_source(
    path: str | Path, mapping: SourceMapping | None = None, *, format: SourceFormat | None = None
) -> pl.LazyFrame:
    """The raw mapped columns of an uncompressed UTF-8 CSV, Parquet or JSON-lines file, lazily."""
    path = Path(path)
    mapping = mapping or SourceMapping()
    _check_file(path)
    fmt = format or detect_format(path)
    if fmt not in ("csv", "parquet", "jsonl") or _needs_copy(path, mapping, fmt):
        raise SourceError(
            "only uncompressed UTF-8 CSV, Parquet and JSON lines can be scanned lazily",
            file=path.name,
            expected="a .csv/.parquet/.jsonl file; use read_source for the others",
            found=fmt,
        )
    return _scan(path, path, mapping, fmt)[0]


def check_columns(path: str | Path, mapping: SourceMapping | None = None) -> None:
    """Raise `MissingColumnError` now if a CSV, Parquet or JSON-lines file lacks a column the
    mapping needs, reading only its header; anything else is left to the read itself."""
    path = Path(path)
    mapping = mapping or SourceMapping()
    _check_file(path)
    fmt = detect_format(path)
    if fmt not in ("csv", "parquet", "jsonl") or _needs_copy(path, mapping, fmt):
        return  # XES, OCEL, gzip, other encodings: only a whole read can tell
    try:
        _scan(path, path, mapping, fmt)
    except MissingColumnError:
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
        head = _head_bytes(path)
        return "ocel-json" if b'"objectTypes"' in head or b'"eventTypes"' in head else "jsonl"
    if ext in EXTENSIONS and not (gz and EXTENSIONS[ext] in ("parquet", "ocel-xml", "ocel-json")):
        return EXTENSIONS[ext]
    if gz:
        head = _head_bytes(path).lstrip()
        if head.startswith(b"<"):
            return "xes"
        return "jsonl" if head.startswith(b"{") else "csv"
    raise SourceError(
        f"unsupported file type {path.suffix or '(no extension)'!r}; supported: {SUPPORTED}",
        file=path.name,
        expected=SUPPORTED,
        found=path.suffix or "no extension",
    )


def sniff_delimiter(head: str, quote_char: str | None = '"') -> str:
    """The delimiter among , ; tab | that splits the first rows of `head` most consistently."""
    best, best_score = ",", (False, 1)
    for delimiter in CSV_DELIMITERS:
        rows = _parse_rows(head, delimiter, quote_char, limit=21)
        if len(rows) > 1 and len(head) >= HEAD:
            rows = rows[:-1]  # the last row may be cut off by the head's end
        if not rows or len(rows[0]) < 2:
            continue
        score = (all(len(r) == len(rows[0]) for r in rows[1:]), len(rows[0]))
        if score > best_score:
            best, best_score = delimiter, score
    return best


# -- table formats --------------------------------------------------------------------
def _scan(
    readable: Path, path: Path, mapping: SourceMapping, fmt: SourceFormat
) -> tuple[pl.LazyFrame, ResolvedColumns, str]:
    if fmt == "csv":
        return _scan_csv(readable, path, mapping)
    try:
        if fmt == "parquet":
            lazy = pl.scan_parquet(readable)
        else:
            lazy = pl.scan_ndjson(readable, infer_schema_length=INFER_ROWS)
        columns = lazy.collect_schema().names()
    except Exception as exc:
        raise _format_error(exc, readable, path, mapping, fmt) from None
    cols = mapping.resolve(columns, defaults=TABLE_COLUMNS, file=path.name)
    return lazy.select(cols.needed), cols, ","


def _scan_csv(
    readable: Path, path: Path, mapping: SourceMapping, *, all_text: bool = False
) -> tuple[pl.LazyFrame, ResolvedColumns, str]:
    head = _head_text(readable, mapping.skip_rows)
    if not head.strip():
        raise EmptySourceError(
            "the file has no header row", file=path.name, expected="a header and rows"
        )
    delimiter = mapping.delimiter or sniff_delimiter(head, mapping.quote_char)
    header = _parse_rows(head, delimiter, mapping.quote_char, limit=1)[0]
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name in seen:
            raise FormatError(
                f"duplicate column name {name!r} in the header (columns {seen[name]} and {i})",
                file=path.name,
                column=name,
                expected="distinct column names",
                found=f"{name!r} twice",
            )
        seen[name] = i
    cols = mapping.resolve(header, defaults=TABLE_COLUMNS, file=path.name)
    roles = (cols.case, cols.activity, cols.timestamp, cols.channel)
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


def _format_error(
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
        row, n_expected, n_found = _find_ragged_row(readable, delimiter, mapping)
        return FormatError(
            f"row {row} has {n_found} fields but the header has {n_expected}",
            file=path.name,
            row=row,
            expected=f"{n_expected} fields separated by {delimiter!r}",
            found=f"{n_found} fields",
        )
    if fmt == "jsonl":
        line, problem = _find_bad_json_line(readable)
        if line is not None:
            return FormatError(
                f"line {line} is not a JSON object: {problem}",
                file=path.name,
                row=line,
                expected="one JSON object per line",
                found=problem,
            )
    return FormatError(f"cannot read the {fmt} file: {text}", file=path.name, expected=fmt)


def _find_ragged_row(path: Path, delimiter: str, mapping: SourceMapping) -> tuple[int, int, int]:
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for _ in range(mapping.skip_rows):
            fh.readline()
        reader = _reader(fh, delimiter, mapping.quote_char)
        header = next(reader, [])
        for row, fields in enumerate(reader, start=1):
            if len(fields) > len(header):
                return row, len(header), len(fields)
    return 0, len(header), len(header)


def _find_bad_json_line(path: Path) -> tuple[int | None, str]:
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


# -- XES and OCEL ---------------------------------------------------------------------
def _read_xes(path: Path, mapping: SourceMapping) -> tuple[pl.DataFrame, ResolvedColumns]:
    try:
        frame, _meta = rustxes.import_xes(str(path))
    except BaseException as exc:  # rustxes panics (a BaseException) on bad XML
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise _xml_error(path, str(exc)) from None
    if frame.height == 0 or not _ends_with(path, b"</log>"):
        problem = _xml_error(path, "no events")
        if frame.height == 0 and problem.row is None:
            raise EmptySourceError("the XES log holds no events", file=path.name)
        raise problem
    frame = _naive_times_to_utc(frame)
    keep_extra = ("lifecycle:transition",)
    cols = replace(mapping, keep_if_present=(*mapping.keep_if_present, *keep_extra)).resolve(
        frame.columns, defaults=XES_COLUMNS, file=path.name
    )
    raw = frame.select(cols.needed)
    if "lifecycle:transition" in cols.keep:
        raw = raw.rename({"lifecycle:transition": "lifecycle"})
        keep = tuple("lifecycle" if k == "lifecycle:transition" else k for k in cols.keep)
        cols = replace(cols, keep=keep)
    return raw, cols


def _read_ocel(
    path: Path, mapping: SourceMapping, fmt: SourceFormat
) -> tuple[pl.DataFrame, ResolvedColumns]:
    reader = rustxes.import_ocel_json if fmt == "ocel-json" else rustxes.import_ocel_xml
    try:
        tables = reader(str(path))
        relations, events = tables["relations"], tables["events"]
        types = sorted(set(tables["objects"].get_column("ocel:type").drop_nulls().to_list()))
    except BaseException as exc:  # rustxes panics (a BaseException) on bad input
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        match = re.search(r"line:? (\d+), column:? (\d+)", str(exc))
        where = f" at line {match.group(1)}, column {match.group(2)}" if match else ""
        raise FormatError(
            f"not a valid OCEL 2.0 {fmt[5:].upper()} log{where}: {_panic_text(exc)}",
            file=path.name,
            row=int(match.group(1)) if match else None,
            expected="an OCEL 2.0 log (objectTypes, eventTypes, objects, events)",
        ) from None
    if mapping.object_type not in types:
        known = ", ".join(types) or "none"
        raise MappingError(
            f"choose the object type whose objects are the cases: object_type = one of {known}",
            file=path.name,
            column="object_type",
            expected=f"one of {known}",
            found=repr(mapping.object_type),
        )
    flat = relations.filter(pl.col("ocel:type") == mapping.object_type)
    attrs = [c for c in events.columns if c not in ("ocel:eid", *OCEL_COLUMNS, *flat.columns)]
    if attrs:
        flat = flat.join(
            events.select("ocel:eid", *attrs), on="ocel:eid", how="left", maintain_order="left"
        )
    if flat.height == 0:
        raise EmptySourceError(
            f"no event relates to an object of type {mapping.object_type!r}", file=path.name
        )
    flat = _naive_times_to_utc(flat)
    cols = mapping.resolve(flat.columns, defaults=OCEL_COLUMNS, file=path.name)
    return flat.select(cols.needed), cols


def _naive_times_to_utc(frame: pl.DataFrame) -> pl.DataFrame:
    # rustxes converts every offset to UTC and returns naive datetimes: say so.
    naive = [
        n for n, d in frame.schema.items() if isinstance(d, pl.Datetime) and d.time_zone is None
    ]
    return frame.with_columns(
        pl.col(n).dt.cast_time_unit("us").dt.replace_time_zone("UTC") for n in naive
    )


def _xml_error(path: Path, fallback: str) -> FormatError:
    parser = xml.parsers.expat.ParserCreate()
    try:
        with _open_binary(path) as fh:
            while chunk := fh.read(CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except xml.parsers.expat.ExpatError as exc:
        reason = xml.parsers.expat.errors.messages[exc.code]
        return FormatError(
            f"malformed XML at line {exc.lineno}, column {exc.offset + 1}: {reason}",
            file=path.name,
            row=exc.lineno,
            expected="a well-formed XES log",
            found=reason,
        )
    except (OSError, EOFError) as exc:
        return FormatError(f"cannot read the file: {exc}", file=path.name)
    text = _panic_text(fallback)
    if text == "no events":
        return FormatError("the XES file ends before </log>", file=path.name)
    return FormatError(f"not a valid XES log: {text}", file=path.name, expected="<log> with traces")


def _panic_text(exc: BaseException | str) -> str:
    text = str(exc)
    return text.split("`Err` value: ", 1)[-1]


# -- files ----------------------------------------------------------------------------
def _check_file(path: Path) -> None:
    if not path.exists():
        raise SourceError("file not found", file=path.name, expected="an existing file")
    if path.is_dir():
        raise SourceError("is a folder, not a file", file=path.name, expected="a file")
    if path.stat().st_size == 0:
        raise EmptySourceError("the file is empty (0 bytes)", file=path.name)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def _open_binary(path: Path) -> IO[bytes]:
    if _is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _head_bytes(path: Path) -> bytes:
    try:
        with _open_binary(path) as fh:
            return fh.read(HEAD)
    except (OSError, EOFError) as exc:
        raise FormatError(f"cannot read the file: {exc}", file=path.name) from None


def _ends_with(path: Path, marker: bytes) -> bool:
    if _is_gzip(path):
        tail = b""
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                tail = (tail + chunk)[-4096:]
    else:
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - 4096))
            tail = fh.read()
    return marker in tail


def _head_text(path: Path, skip_rows: int) -> str:
    with open(path, "rb") as fh:
        head = fh.read(HEAD)
    text = head.decode("utf-8-sig", errors="replace")
    for _ in range(skip_rows):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    return text


def _reader(fh: IO[str], delimiter: str, quote_char: str | None) -> Iterator[list[str]]:
    if quote_char is None:
        return csv.reader(fh, delimiter=delimiter, quoting=csv.QUOTE_NONE)
    return csv.reader(fh, delimiter=delimiter, quotechar=quote_char)


def _parse_rows(text: str, delimiter: str, quote_char: str | None, limit: int) -> list[list[str]]:
    rows: list[list[str]] = []
    try:
        for fields in _reader(io.StringIO(text, newline=""), delimiter, quote_char):
            rows.append(fields)
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    return rows or [[]]


def _needs_copy(path: Path, mapping: SourceMapping, fmt: SourceFormat) -> bool:
    if _is_gzip(path):
        return True
    return fmt == "csv" and mapping.encoding not in NATIVE_ENCODINGS


@contextlib.contextmanager
def _plain_copy(path: Path, mapping: SourceMapping, fmt: SourceFormat) -> Iterator[Path]:
    """The file itself, or a temporary UTF-8, uncompressed copy written in chunks."""
    if not _needs_copy(path, mapping, fmt):
        yield path
        return
    encoding = mapping.encoding if fmt == "csv" else "utf8"
    fd, tmp = tempfile.mkstemp(prefix="journeyminer-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as out, _open_binary(path) as raw:
            if encoding in NATIVE_ENCODINGS:
                while chunk := raw.read(CHUNK):
                    out.write(chunk)
            else:
                text = io.TextIOWrapper(raw, encoding=encoding, newline="")
                while piece := text.read(CHUNK):
                    out.write(piece.encode("utf-8"))
        yield Path(tmp)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot decode the file: {exc}", file=path.name) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
