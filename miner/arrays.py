"""Polars columns from the kernels' flat arrays: list columns by offsets, activity names, case ids."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from .log import CASE, EncodedLog, EventLog


class _ArrowCArray:
    """An Arrow array seen only through the Arrow C data interface: polars then imports it
    zero-copy without its pyarrow path, which imports `pyarrow.compute` (~25 ms a process)."""

    def __init__(self, array: pa.Array) -> None:
        self.array = array

    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]:
        return self.array.__arrow_c_array__(requested_schema)


def list_series(offsets: np.ndarray, values: pl.Series) -> pl.Series:
    """A list column from flat values and int64 offsets, zero-copy (Arrow large lists)."""
    # Offsets through polars: `pa.array` of a numpy array imports pandas (~0.4 s once).
    arrow_offsets = pl.Series(offsets, dtype=pl.Int64).to_arrow()
    array = pa.LargeListArray.from_arrays(arrow_offsets, values.to_arrow())
    return pl.Series(_ArrowCArray(array), dtype=pl.List(values.dtype))


def activity_names(enc: EncodedLog) -> pl.Series:
    """The activity names by code, as a column named "activity"."""
    return pl.Series("activity", list(enc.activities), dtype=pl.String)


def first_case_ids(log: EventLog) -> pl.Series:
    """Each case's id, in case order (from its first event: cheaper than the object array)."""
    offsets = log.encoded.offsets
    return log.frame.get_column(CASE).gather(offsets[:-1]).alias(CASE)
