"""A log written out for other tools: the canonical columns as Parquet (polars, duckdb), CSV
(ISO-8601 times) or XES (pm4py, ProM), each file written atomically.

Columns: case_id, activity, timestamp, channel, start_timestamp (interval logs), then the kept
attributes, in log order. In XES a case is a trace (`concept:name`), an event carries
`concept:name`, `time:timestamp`, `channel` and, in an interval log, the date attribute
`start_timestamp` (pm4py's name), plus its attributes typed as string, int, float, boolean or
date; a null value is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, get_args
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

import polars as pl

from ._typing import ExportFormat
from .errors import InputError
from .files import atomic_write
from .log import ACTIVITY, CASE, TIMESTAMP, EventLog

EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)
ISO_US = "%Y-%m-%dT%H:%M:%S%.6f%:z"  # 2024-02-15T11:20:15.834000+00:00
XES_NS = "http://www.xes-standard.org/"
XES_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
)
# Characters XML 1.0 cannot hold at all; they become U+FFFD rather than a broken file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def check_format(fmt: str) -> ExportFormat:
    """`fmt` as an ExportFormat, or InputError listing the formats."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(
            f"unknown export format {fmt!r} for --format",
            expected=", ".join(EXPORT_FORMATS),
            found=fmt,
        )
    return fmt  # type: ignore[return-value]


def export_log(log: EventLog, dest: str | Path, fmt: ExportFormat) -> Path:
    """Write `log`'s canonical columns to `dest` as `fmt` (atomically); returns `dest`."""
    fmt = check_format(fmt)
    if fmt == "parquet":
        return log.write_parquet(dest)
    if fmt == "csv":
        times = [c for c, d in log.frame.schema.items() if isinstance(d, pl.Datetime)]
        text = log.frame.with_columns(pl.col(times).dt.strftime(ISO_US))
        return atomic_write(dest, lambda tmp: text.write_csv(tmp))
    return atomic_write(dest, lambda tmp: _write_xes(log.frame, tmp))


def _write_xes(frame: pl.DataFrame, path: Path) -> None:
    columns = [c for c in frame.columns if c not in (CASE, ACTIVITY, TIMESTAMP)]
    writers = {c: _xes_attribute(frame.schema[c]) for c in columns}
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        xml = XMLGenerator(fh, encoding="utf-8", short_empty_elements=True)
        xml.startDocument()
        xml.startElement(
            "log",
            AttributesImpl(
                {"xes.version": "1.0", "xes.features": "nested-attributes", "xmlns": XES_NS}
            ),
        )
        xml.ignorableWhitespace("\n")
        for name, prefix, uri in XES_EXTENSIONS:
            _empty(xml, "extension", {"name": name, "prefix": prefix, "uri": uri})
            xml.ignorableWhitespace("\n")
        _empty(xml, "classifier", {"name": "Activity", "keys": "concept:name"})
        xml.ignorableWhitespace("\n")
        case = None
        for row in frame.iter_rows(named=True):
            if row[CASE] != case:
                if case is not None:
                    xml.endElement("trace")
                    xml.ignorableWhitespace("\n")
                case = row[CASE]
                xml.startElement("trace", AttributesImpl({}))
                _empty(xml, "string", {"key": "concept:name", "value": _text(case)})
                xml.ignorableWhitespace("\n")
            xml.startElement("event", AttributesImpl({}))
            _empty(xml, "string", {"key": "concept:name", "value": _text(row[ACTIVITY])})
            _empty(xml, "date", {"key": "time:timestamp", "value": row[TIMESTAMP].isoformat()})
            for c in columns:
                if row[c] is not None:
                    tag, value = writers[c](row[c])
                    _empty(xml, tag, {"key": _text(c), "value": value})
            xml.endElement("event")
            xml.ignorableWhitespace("\n")
        if case is not None:
            xml.endElement("trace")
            xml.ignorableWhitespace("\n")
        xml.endElement("log")
        xml.ignorableWhitespace("\n")
        xml.endDocument()


def _xes_attribute(dtype: pl.DataType) -> Callable[[Any], tuple[str, str]]:
    """How a value of `dtype` is written in XES: its tag and its text."""
    if dtype == pl.Boolean:
        return lambda v: ("boolean", "true" if v else "false")
    if dtype.is_integer():
        return lambda v: ("int", str(v))
    if dtype.is_float():
        return lambda v: ("float", repr(float(v)))
    if isinstance(dtype, pl.Datetime | pl.Date):
        return lambda v: ("date", _date(v))
    return lambda v: ("string", _text(v if isinstance(v, str) else str(v)))


def _date(value: datetime | date) -> str:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.isoformat() + "+00:00"  # a naive time is read as UTC, as on the way in
    return value.isoformat()


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _empty(xml: XMLGenerator, tag: str, attrs: dict[str, str]) -> None:
    xml.startElement(tag, AttributesImpl(attrs))
    xml.endElement(tag)
