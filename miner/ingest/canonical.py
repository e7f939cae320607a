"""From a source's raw mapped columns to canonical events: types, channel, value limits,
renames, the lifecycle filter or fold, include/exclude, and what to do with missing values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from ..errors import EmptySourceError, MappingError, SourceError
from ..log import ACTIVITY, CASE, CHANNEL, START, TIMESTAMP, canonical_frame
from .limits import DEFAULT_LIMITS, SourceLimits, check_values
from .sources import FOLD, ResolvedColumns, SourceMapping


def apply_mapping(
    raw: pl.DataFrame,
    cols: ResolvedColumns,
    mapping: SourceMapping,
    *,
    file: str | None = None,
    on_fold: Callable[[Any], None] | None = None,
    limits: SourceLimits = DEFAULT_LIMITS,
    row_column: str | None = None,
) -> pl.DataFrame:
    """Canonical events from the raw mapped columns: types, channel, renames and filters.

    Text values are bounded by `limits` (activities: by the file's reader); errors name the row
    `row_column` + 1 when given (a batch of a file), else the frame's row number."""
    frame = canonical_frame(
        raw,
        case=cols.case,
        activity=cols.activity,
        timestamp=cols.timestamp,
        channel=cols.channel,
        channel_value=mapping.channel_value,
        keep=list(cols.keep),
        timestamp_format=mapping.timestamp_format,
        timezone=mapping.timezone,
        ambiguous=mapping.ambiguous,
        file=file,
        start_timestamp=cols.start_timestamp,
    )
    if cols.channel is not None and mapping.channel_value is not None:
        empty = pl.col(CHANNEL).is_null() | (pl.col(CHANNEL) == "")
        frame = frame.with_columns(
            pl.when(empty)
            .then(pl.lit(mapping.channel_value))
            .otherwise(pl.col(CHANNEL))
            .alias(CHANNEL)
        )
    # Before any row is dropped, so that the frame's row numbers are the file's.
    check_values(frame, limits, file=file, row_column=row_column)
    frame = _missing_values(frame, cols, mapping, file)
    if mapping.rename:
        frame = frame.with_columns(pl.col(ACTIVITY).replace(dict(mapping.rename)))
        check_values(
            frame.select(ACTIVITY, *([row_column] if row_column else [])),
            limits,
            file=file,
            row_column=row_column,
        )
    if mapping.lifecycle:
        if "lifecycle" not in frame.columns:
            raise MappingError(
                "the mapping filters on lifecycle, but the source has no lifecycle:transition",
                file=file,
                column="lifecycle",
                expected="an XES log with lifecycle:transition attributes",
                found=", ".join(frame.columns[:20]),
            )
        if mapping.lifecycle == (FOLD,):
            from .lifecycle import fold_lifecycle

            frame, folded = fold_lifecycle(frame, file=file)
            if on_fold is not None:
                on_fold(folded)
        else:
            frame = frame.filter(pl.col("lifecycle").is_in(list(mapping.lifecycle)))
    if mapping.include:
        frame = frame.filter(pl.col(ACTIVITY).is_in(list(mapping.include)))
    if mapping.exclude:
        frame = frame.filter(~pl.col(ACTIVITY).is_in(list(mapping.exclude)))
    if frame.height == 0:
        raise EmptySourceError(
            "no events are left after the include/exclude/lifecycle filters", file=file
        )
    return frame


def _missing_values(
    frame: pl.DataFrame, cols: ResolvedColumns, mapping: SourceMapping, file: str | None
) -> pl.DataFrame:
    checks = {
        CASE: pl.col(CASE).is_null() | (pl.col(CASE) == ""),
        ACTIVITY: pl.col(ACTIVITY).is_null() | (pl.col(ACTIVITY) == ""),
        TIMESTAMP: pl.col(TIMESTAMP).is_null(),
    }
    if START in frame.columns:
        checks[START] = pl.col(START).is_null()
    flags = frame.select(**checks)
    any_missing = flags.select(pl.any_horizontal(pl.all())).to_series()
    if not any_missing.any():
        return frame
    if mapping.on_missing == "drop":
        return frame.filter(~any_missing)
    row = int(any_missing.arg_max() or 0)
    role = next(name for name in checks if flags.get_column(name)[row])
    column = {
        CASE: cols.case,
        ACTIVITY: cols.activity,
        TIMESTAMP: cols.timestamp,
        START: cols.start_timestamp or START,
    }[role]
    raise SourceError(
        f"row {row + 1} has no {role.replace('_', ' ')} ({int(any_missing.sum())} rows lack"
        " one; set on_missing = 'drop' to skip them)",
        file=file,
        row=row + 1,
        column=column,
        expected="a value",
        found="an empty field",
    )
