"""Turn a column of timestamps in any common shape into Datetime[us, UTC].

Accepted: ISO-8601 with or without offset (offsets may change mid-column, as they do
across daylight saving), a trailing `Z`, common day-first/month-first/dotted layouts,
epoch seconds/milliseconds/microseconds/nanoseconds, or a user format string in
chrono/strftime syntax. Naive times are read in the configured zone (default UTC).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import polars as pl

from .._typing import Ambiguous
from ..errors import TimestampError, shorten
from .zones import UTC, dst_problem, timezone_problem

EPOCH_FORMATS: tuple[str, ...] = ("epoch_s", "epoch_ms", "epoch_us", "epoch_ns")

# Tried in order on a sample; the first that parses every sampled value wins. Day-first
# comes before month-first (the European exports we meet most); pass a format to override.
AWARE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%d %H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M%:z",
    "%Y-%m-%d %H:%M%:z",
)
NAIVE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%d/%m/%Y %H:%M:%S%.f",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S%.f",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%d-%m-%Y %H:%M:%S%.f",
    "%d-%m-%Y %H:%M",
    "%d.%m.%Y %H:%M:%S%.f",
    "%d.%m.%Y %H:%M",
    "%Y%m%d%H%M%S",
    "%Y%m%dT%H%M%S",
    "%d %b %Y %H:%M:%S",
    "%d-%b-%Y %H:%M:%S",
    "%b %d %Y %H:%M:%S",
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
)
SAMPLE_SIZE = 2000
_EPOCH_LIMITS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))


def parse_timestamps(
    values: pl.Series,
    *,
    fmt: str | None = None,
    timezone: str = UTC,
    file: str | None = None,
    column: str | None = None,
    row_offset: int = 1,
    ambiguous: Ambiguous = "earliest",
) -> pl.Series:
    """Parse `values` into Datetime[us, UTC]; raise TimestampError naming the first bad row.

    `row_offset` is the row number of `values[0]` in the user's file (1 = first data row).
    A naive time in the hour clocks go back takes the first or second of its two moments
    (`ambiguous`), or fails ("raise"); one in the hour they skip always fails.
    """
    problem = timezone_problem(timezone)
    if problem is not None:  # the Python API's door: the mapping checks its own
        raise TimestampError(problem, file=file, column=column, found=repr(timezone))
    name = values.name
    if values.len() == 0:
        return pl.Series(name, [], dtype=pl.Datetime("us", UTC))
    if isinstance(values.dtype, pl.Datetime):  # already a time: a format applies to text only
        out = _to_utc(values, timezone, ambiguous)
    elif values.dtype == pl.Date:
        out = _to_utc(values.cast(pl.Datetime("us")), timezone, ambiguous)
    elif fmt in EPOCH_FORMATS:
        out = _from_epoch(values, fmt[len("epoch_") :])
    elif values.dtype.is_numeric():
        out = _from_epoch(values, guess_epoch_unit(values))
    elif values.dtype in (pl.String, pl.Categorical) or isinstance(values.dtype, pl.Enum):
        text = values.cast(pl.String)
        if text.head(SAMPLE_SIZE).str.contains(r"^\s|\s$").any():
            text = text.str.strip_chars()  # only copy the column when padding is seen
        out = _parse_text(text, fmt, timezone, file, column, row_offset, ambiguous)
    else:
        raise TimestampError(
            f"column holds {values.dtype}, which is not a timestamp",
            file=file,
            column=column,
            expected="text, a datetime or an epoch number",
            found=str(values.dtype),
        )
    _raise_on_failures(values, out, fmt, file, column, row_offset, timezone)
    return out.alias(name)


def _polars_ambiguous(ambiguous: Ambiguous) -> Literal["earliest", "latest", "null"]:
    # "raise" becomes null here, so the failure is reported with its file, row and moment.
    return "null" if ambiguous == "raise" else ambiguous


def _to_utc(values: pl.Series, timezone: str, ambiguous: Ambiguous = "earliest") -> pl.Series:
    dtype = values.dtype
    assert isinstance(dtype, pl.Datetime)
    values = values.dt.cast_time_unit("us")
    if dtype.time_zone is None:
        values = values.dt.replace_time_zone(
            timezone, ambiguous=_polars_ambiguous(ambiguous), non_existent="null"
        )
    return values.dt.convert_time_zone(UTC)


def guess_epoch_unit(values: pl.Series) -> str:
    """The epoch unit (s, ms, us, ns) of numbers, from the largest magnitude among them."""
    biggest = values.abs().max()
    big = float(biggest) if biggest is not None else 0.0  # type: ignore[arg-type]
    for limit, unit in _EPOCH_LIMITS:
        if big < limit:
            return unit
    return "ns"


def _from_epoch(values: pl.Series, unit: str) -> pl.Series:
    return values.to_frame().select(_epoch_expr(pl.col(values.name), unit)).to_series()


def _epoch_expr(col: pl.Expr, unit: str) -> pl.Expr:
    scale = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}[unit]
    whole = col.cast(pl.Int64, strict=False)  # exact for integers, even in nanoseconds
    exact = whole // 1000 if unit == "ns" else whole * scale
    factor = 0.001 if unit == "ns" else float(scale)
    floats = (col.cast(pl.Float64, strict=False) * factor).round(0).cast(pl.Int64, strict=False)
    micros = pl.when(col.cast(pl.Float64, strict=False) % 1 == 0).then(exact).otherwise(floats)
    return micros.cast(pl.Datetime("us")).dt.replace_time_zone(UTC)


def _parse_with(
    text: pl.Series, fmt: str, timezone: str, ambiguous: Ambiguous = "earliest"
) -> pl.Series:
    aware = "%z" in fmt or "%:z" in fmt or "%#z" in fmt
    if fmt.endswith("Z"):  # a literal Z means UTC, whatever zone naive times take
        parsed = text.str.to_datetime(fmt, strict=False, time_unit="us")
        return parsed.dt.replace_time_zone(UTC)
    if aware:
        return text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone=UTC)
    parsed = text.str.to_datetime(fmt, strict=False, time_unit="us")
    return parsed.dt.replace_time_zone(
        timezone, ambiguous=_polars_ambiguous(ambiguous), non_existent="null"
    ).dt.convert_time_zone(UTC)


def _normalize_zulu(text: pl.Series) -> pl.Series:
    return text.str.replace(r"(?i)z$", "+00:00")


def _parse_text(
    text: pl.Series,
    fmt: str | None,
    timezone: str,
    file: str | None,
    column: str | None,
    row_offset: int,
    ambiguous: Ambiguous = "earliest",
) -> pl.Series:
    if fmt is not None:
        return _parse_with(text, fmt, timezone, ambiguous)
    sample = text.drop_nulls().filter(text.drop_nulls() != "").head(SAMPLE_SIZE)
    if sample.len() == 0:
        return pl.Series(text.name, [None] * text.len(), dtype=pl.Datetime("us", UTC))
    if sample.str.contains(r"^-?\d+(\.\d+)?$").all():
        return _from_epoch(text, guess_epoch_unit(text.cast(pl.Float64, strict=False)))
    if sample.str.contains(r"\dz$").any():  # a lower-case z: rare, worth a copy
        text = _normalize_zulu(text)
        sample = _normalize_zulu(sample)
    candidates = [f for f in (*AWARE_FORMATS, *NAIVE_FORMATS) if _parses_all(sample, f)]
    if not candidates:
        # No single layout fits the sample: combine all (e.g. some rows carry an offset).
        candidates = [f for f in (*AWARE_FORMATS, *NAIVE_FORMATS) if _parses_any(sample, f)]
    if not candidates:
        bad = int(text.is_not_null().arg_max() or 0)
        raise TimestampError(
            f"cannot read {shorten(repr(text[bad]))} as a timestamp",
            file=file,
            column=column,
            row=row_offset + bad,
            expected="ISO-8601 (2024-03-31T02:30:00+02:00), an epoch number, or pass a format such as '%d/%m/%Y %H:%M'",
            found=shorten(repr(text[bad])),
        )
    out = _parse_with(text, candidates[0], timezone, ambiguous)
    if out.null_count() > text.null_count():
        # Mixed layouts in one column: fill the rows the first format missed with the others.
        for other in (*AWARE_FORMATS, *NAIVE_FORMATS):
            if other == candidates[0]:
                continue
            out = out.fill_null(_parse_with(text, other, timezone, ambiguous))
            if out.null_count() == text.null_count():
                break
    return out


def _parses_all(sample: pl.Series, fmt: str) -> bool:
    try:
        parsed = _parse_with(sample, fmt, UTC)
    except Exception:  # polars rejects some formats for some inputs outright
        return False
    return parsed.null_count() == 0


def _parses_any(sample: pl.Series, fmt: str) -> bool:
    try:
        parsed = _parse_with(sample, fmt, UTC)
    except Exception:
        return False
    return parsed.null_count() < parsed.len()


def _raise_on_failures(
    values: pl.Series,
    out: pl.Series,
    fmt: str | None,
    file: str | None,
    column: str | None,
    row_offset: int,
    timezone: str = UTC,
) -> None:
    had_value = values.is_not_null()
    if values.dtype == pl.String:
        had_value = had_value & values.str.contains(r"\S")
    failed = had_value & out.is_null()
    if failed.any():
        bad = int(failed.arg_max() or 0)
        local = _naive_value(values, bad, fmt)
        if local is not None and timezone != UTC:
            dst = dst_problem(local, timezone)
            if dst is not None:
                message, expected = dst
                raise TimestampError(
                    message,
                    file=file,
                    column=column,
                    row=row_offset + bad,
                    expected=expected,
                    found=shorten(repr(values[bad])),
                )
        raise TimestampError(
            f"cannot read {shorten(repr(values[bad]))} as a timestamp"
            + (f" with format {fmt!r}" if fmt else "")
            + _rows_fail(int(failed.sum()), values.len()),
            file=file,
            column=column,
            row=row_offset + bad,
            expected=f"format {fmt!r}"
            if fmt
            else "ISO-8601, a known date layout or an epoch number",
            found=shorten(repr(values[bad])),
        )


def _rows_fail(failed: int, total: int) -> str:
    return f"; {failed} of {total} rows fail" if failed > 1 else ""


def _naive_value(values: pl.Series, row: int, fmt: str | None) -> datetime | None:
    """The wall-clock time of `values[row]` when it reads as a naive time, else None."""
    value = values[row]
    if isinstance(value, datetime):
        return value if value.tzinfo is None else None
    if not isinstance(value, str):
        return None
    one = pl.Series([value.strip()])
    for layout in (fmt,) if fmt is not None else NAIVE_FORMATS:
        if layout in EPOCH_FORMATS or "%z" in layout or "%:z" in layout or layout.endswith("Z"):
            continue
        try:
            parsed = one.str.to_datetime(layout, strict=False, time_unit="us")[0]
        except pl.exceptions.PolarsError:
            continue
        if parsed is not None:
            return parsed
    return None


def detect_text_format(sample: pl.Series) -> str | None:
    """The one layout (or epoch unit) that reads every value of `sample`, else None.

    None means "mixed or unknown": the caller falls back to `parse_timestamps` on the
    whole column, which combines layouts and names the first bad row.
    """
    values = sample.cast(pl.String).drop_nulls()
    values = values.filter(values.str.contains(r"\S"))
    if values.len() == 0 or values.str.contains(r"^\s|\s$|\dz$").any():
        return None
    if values.str.contains(r"^-?\d+(\.\d+)?$").all():
        return "epoch_" + guess_epoch_unit(values.cast(pl.Float64))
    for fmt in (*AWARE_FORMATS, *NAIVE_FORMATS):
        if _parses_all(values, fmt):
            return fmt
    return None


def text_to_utc(
    column: str, fmt: str, timezone: str = UTC, ambiguous: Ambiguous = "earliest"
) -> pl.Expr:
    """An expression parsing text `column` with `fmt` (or an epoch unit) to Datetime[us, UTC].

    Values that do not parse become null; used inside lazy scans so the text column never
    has to be held in memory whole.
    """
    col = pl.col(column)
    if fmt in EPOCH_FORMATS:
        return _epoch_expr(col, fmt[len("epoch_") :])
    if fmt.endswith("Z"):
        return col.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone(UTC)
    if "%z" in fmt or "%:z" in fmt or "%#z" in fmt:
        return col.str.to_datetime(fmt, strict=False, time_unit="us", time_zone=UTC)
    naive = col.str.to_datetime(fmt, strict=False, time_unit="us")
    local = naive.dt.replace_time_zone(
        timezone, ambiguous=_polars_ambiguous(ambiguous), non_existent="null"
    )
    return local.dt.convert_time_zone(UTC)


def format_problem(fmt: str) -> str | None:
    """Why `fmt` is no timestamp format (no field, or one chrono does not know), or None."""
    if fmt in EPOCH_FORMATS:
        return None
    if "%" not in fmt:
        return f"timestamp format {fmt!r} has no date or time field such as %Y or %H"
    try:  # formatting a datetime checks every %-directive without any data to parse
        pl.Series([0], dtype=pl.Datetime("us", UTC)).dt.strftime(fmt)
    except pl.exceptions.PolarsError:
        return f"timestamp format {fmt!r} has a field polars does not know"
    return None
