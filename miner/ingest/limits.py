"""Bounds on a source: the length of one value, its header line, its columns, its activities.

A source is data from outside, and every value of it travels on: into parts, into the log's
facts (`GET /logs` lists its activities), into every result. Without bounds one 1 MB
activity name makes every answer about the log a megabyte, and a million distinct
activities make a DFG nobody can draw. The limits are checked while the source is read
(batch by batch in `stream`, on the whole frame in `read_source`), so the CLI and the
service refuse the same files; a source over one is a `SourceLimitError` (422 / exit
code 2) that names the limit, the file, the row and the column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from ..errors import SourceLimitError
from ..log import ACTIVITY

#: The defaults; the service's settings (`JOURNEYMINER_MAX_*`) pass their own.
MAX_VALUE_BYTES = 2_048
MAX_HEADER_BYTES = 1 << 16  # the head a CSV's header and delimiter are read from
MAX_COLUMNS = 1_000
MAX_ACTIVITIES = 10_000

LimitName = Literal["max_value_bytes", "max_header_bytes", "max_columns", "max_activities"]


@dataclass(frozen=True)
class SourceLimits:
    """How large one source may make things: a value, its header line, columns, activities."""

    max_value_bytes: int = MAX_VALUE_BYTES
    max_header_bytes: int = MAX_HEADER_BYTES
    max_columns: int = MAX_COLUMNS
    max_activities: int = MAX_ACTIVITIES


DEFAULT_LIMITS = SourceLimits()


def limit_error(
    limit: LimitName,
    message: str,
    *,
    maximum: int,
    file: str | None,
    row: int | None = None,
    column: str | None = None,
    found: str | None = None,
) -> SourceLimitError:
    """A `SourceLimitError` whose problem body names the limit (`limit`, `max`)."""
    return SourceLimitError(
        f"{message} ({limit})",
        file=file,
        row=row,
        column=column,
        expected=f"at most {maximum:,}",
        found=found,
        extra={"limit": limit, "max": maximum},
    )


def check_header(header: list[str], line_bytes: int, limits: SourceLimits, file: str) -> None:
    """Refuse a header line longer than `max_header_bytes` or with over `max_columns` names."""
    if line_bytes > limits.max_header_bytes:
        raise limit_error(
            "max_header_bytes",
            f"the header line is longer than the limit of {limits.max_header_bytes:,} bytes",
            maximum=limits.max_header_bytes,
            file=file,
            found=f"{line_bytes:,} bytes or more",
        )
    check_columns_count(len(header), limits, file)


def check_columns_count(n_columns: int, limits: SourceLimits, file: str) -> None:
    """Refuse a source with more than `max_columns` columns."""
    if n_columns > limits.max_columns:
        raise limit_error(
            "max_columns",
            f"the file has {n_columns:,} columns, more than the limit of {limits.max_columns:,}",
            maximum=limits.max_columns,
            file=file,
            found=f"{n_columns:,} columns",
        )


def check_values(
    frame: pl.DataFrame,
    limits: SourceLimits,
    *,
    file: str | None,
    row_column: str | None = None,
) -> None:
    """Refuse a frame with a text value over `max_value_bytes` (UTF-8) in any text column.

    The row named is `row_column` + 1 when given (a batch's rows in the file), else the
    frame's own row number; one pass over the text columns' lengths (O(n_events)).
    """
    text = [c for c, t in frame.schema.items() if t == pl.String and c != row_column]
    if not text or frame.height == 0:
        return
    longest = frame.select(pl.col(text).str.len_bytes().max()).row(0)
    for column, size in zip(text, longest, strict=True):
        if size is None or size <= limits.max_value_bytes:
            continue
        index = int(frame.get_column(column).str.len_bytes().arg_max() or 0)
        row = int(frame.get_column(row_column)[index]) + 1 if row_column else index + 1
        raise limit_error(
            "max_value_bytes",
            f"row {row} has a value of {size:,} bytes in column {column!r}, more than the"
            f" limit of {limits.max_value_bytes:,}",
            maximum=limits.max_value_bytes,
            file=file,
            row=row,
            column=column,
            found=f"{size:,} bytes",
        )


def check_activities(count: int, limits: SourceLimits, *, file: str | None) -> None:
    """Refuse more than `max_activities` distinct activities (in a source or a log)."""
    if count > limits.max_activities:
        raise limit_error(
            "max_activities",
            f"{count:,} distinct activities, more than the limit of {limits.max_activities:,}",
            maximum=limits.max_activities,
            file=file,
            column=ACTIVITY,
            found=f"{count:,} activities",
        )


def check_frame_activities(frame: pl.DataFrame, limits: SourceLimits, file: str | None) -> None:
    """`check_activities` on the distinct activities of `frame`."""
    if frame.height > limits.max_activities:  # fewer rows cannot hold too many
        check_activities(frame.get_column(ACTIVITY).n_unique(), limits, file=file)
