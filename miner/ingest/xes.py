"""XES event logs (.xes, .xes.gz), read whole by rustxes; malformed XML is reported with its
line and column. Also the rustxes quirks the OCEL reader shares (naive UTC times, panics)."""

from __future__ import annotations

import xml.parsers.expat
from dataclasses import replace
from pathlib import Path

import polars as pl
import rustxes

from ..errors import EmptySourceError, FormatError
from .raw_files import CHUNK, ends_with, open_binary
from .sources import ResolvedColumns, SourceMapping

XES_COLUMNS = ("case:concept:name", "concept:name", "time:timestamp")


def read_xes(path: Path, mapping: SourceMapping) -> tuple[pl.DataFrame, ResolvedColumns]:
    """The mapped columns of an XES log; `lifecycle:transition` is kept as `lifecycle`."""
    try:
        frame, _meta = rustxes.import_xes(str(path))
    except BaseException as exc:  # rustxes panics (a BaseException) on bad XML
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise _xml_error(path, str(exc)) from None
    if frame.height == 0 or not ends_with(path, b"</log>"):
        problem = _xml_error(path, "no events")
        if frame.height == 0 and problem.row is None:
            raise EmptySourceError("the XES log holds no events", file=path.name)
        raise problem
    frame = naive_times_to_utc(frame)
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


def naive_times_to_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Mark naive datetimes as UTC (in us): rustxes converts every offset to UTC, naively."""
    naive = [
        n for n, d in frame.schema.items() if isinstance(d, pl.Datetime) and d.time_zone is None
    ]
    return frame.with_columns(
        pl.col(n).dt.cast_time_unit("us").dt.replace_time_zone("UTC") for n in naive
    )


def _xml_error(path: Path, fallback: str) -> FormatError:
    parser = xml.parsers.expat.ParserCreate()
    try:
        with open_binary(path) as fh:
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
    text = panic_text(fallback)
    if text == "no events":
        return FormatError("the XES file ends before </log>", file=path.name)
    return FormatError(f"not a valid XES log: {text}", file=path.name, expected="<log> with traces")


def panic_text(exc: BaseException | str) -> str:
    """The message of a rustxes panic, without Rust's `unwrap` preamble."""
    text = str(exc)
    return text.split("`Err` value: ", 1)[-1]
