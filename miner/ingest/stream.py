"""One source file to a Parquet file of canonical events, batch by batch, never whole in memory.

`write_source` reads a CSV, Parquet or JSON-lines source (plain, gzip or another encoding)
with polars' streaming engine (mapped columns only, timestamps parsed in the scan), maps
each batch as `read_source` would map the whole file (`apply_mapping` works row by row),
lets the caller `prepare` it and sinks it to one Parquet file, written atomically, in file
order. So a 5 GB CSV needs memory for the engine's batches, not for the file.

Whatever the batches cannot judge alone falls back to one `read_source` of the whole file,
which either reads it (a kept attribute whose type changes after the rows polars inferred
it from, timestamps whose layout or epoch unit is decided on the whole column, XES, OCEL) or
raises the error that names the file, the row and the column (a missing value, a timestamp
that does not parse: row numbers count from the start of the file, not of a batch). Errors
are rare; the fallback costs memory only for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import polars as pl

from ..errors import EmptySourceError, InputError, SourceLimitError
from ..files import atomic_write
from ..log import ACTIVITY
from .canonical import apply_mapping
from .limits import DEFAULT_LIMITS, SourceLimits, check_activities
from .readers import PARSE_FAILED, read_source, scan_mapped
from .sources import ResolvedColumns, SourceMapping

_ROW = "__source_row"
_HEAD_ROWS = 100

#: A canonical batch -> the batch to write.
Prepare = Callable[[pl.DataFrame], pl.DataFrame]


class _Unstreamable(Exception):
    """A batch met something only a read of the whole file can judge."""


def write_source(
    path: str | Path,
    mapping: SourceMapping | None,
    dest: str | Path,
    *,
    row_column: str,
    prepare: Prepare | None = None,
    limits: SourceLimits = DEFAULT_LIMITS,
) -> tuple[int, pl.Schema]:
    """Write the canonical events of `path` to `dest` in file order: (rows, schema written).

    `row_column` (Int64) grows with each event's row in the file (it orders equal timestamps
    as the file does; numbers may skip rows that were filtered out). `prepare` is applied to
    every batch before it is written (e.g. to add a constant column or to cast attributes).
    A value, header, column count or activity count over `limits` is a SourceLimitError,
    raised by the first batch that holds it (no whole read of the file for it).
    """
    path, mapping = Path(path), mapping or SourceMapping()
    step = prepare or (lambda frame: frame)
    try:
        rows, schema = _stream(path, mapping, dest, row_column, step, limits)
    except _Unstreamable:
        # the precise error, or what batches cannot read
        whole = read_source(path, mapping, limits=limits)
        whole = whole.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(row_column))
        frame = step(whole)
        del whole
        atomic_write(dest, lambda tmp: frame.write_parquet(tmp, statistics=True))
        rows, schema = frame.height, frame.schema
        del frame
    # Batches bound their own activities; the file's may still be too many together.
    try:
        count = pl.scan_parquet(dest).select(pl.col(ACTIVITY).n_unique()).collect().item()
        check_activities(int(count), limits, file=path.name)
    except BaseException:
        Path(dest).unlink(missing_ok=True)
        raise
    return rows, schema


def _stream(
    path: Path,
    mapping: SourceMapping,
    dest: str | Path,
    row_column: str,
    step: Prepare,
    limits: SourceLimits,
) -> tuple[int, pl.Schema]:
    """The batch path of `write_source`; `_Unstreamable` when the whole file must be read."""
    with scan_mapped(path, mapping, limits=limits) as scanned:
        if scanned is None:
            raise _Unstreamable(path.name)
        lazy, cols, mapping = scanned
        cols = replace(cols, keep=(*cols.keep, _ROW))
        lazy = lazy.with_row_index(_ROW)
        if PARSE_FAILED not in lazy.collect_schema().names():
            lazy = lazy.with_columns(pl.lit(False).alias(PARSE_FAILED))
        try:
            schema = _schema(lazy, cols, mapping, path.name, row_column, step, limits)
        except SourceLimitError:
            raise
        except (InputError, pl.exceptions.PolarsError):
            raise _Unstreamable("the first rows") from None

        def batch(raw: pl.DataFrame) -> pl.DataFrame:
            if raw.get_column(PARSE_FAILED).any():
                raise _Unstreamable("a timestamp does not parse")
            try:
                frame = apply_mapping(
                    raw.drop(PARSE_FAILED),
                    cols,
                    mapping,
                    file=path.name,
                    limits=limits,
                    row_column=_ROW,
                )
            except EmptySourceError:  # no rows, or every row of this batch filtered out
                return pl.DataFrame(schema=schema)
            return step(_renumber(frame, row_column))

        mapped = lazy.map_batches(batch, schema=schema, streamable=True)
        try:
            atomic_write(dest, lambda tmp: mapped.sink_parquet(tmp, statistics=True))
            rows = pl.scan_parquet(dest).select(pl.len()).collect().item()
        except SourceLimitError:  # its row is the file's: no need to read the file whole
            raise
        except Exception as exc:  # raised in `batch`, or by polars: the whole read says what
            raise _Unstreamable(str(exc)) from None
        if rows == 0:
            Path(dest).unlink(missing_ok=True)
            raise _Unstreamable("no events")  # read_source says why
        return rows, schema


def _schema(
    lazy: pl.LazyFrame,
    cols: ResolvedColumns,
    mapping: SourceMapping,
    file: str,
    row_column: str,
    step: Prepare,
    limits: SourceLimits,
) -> pl.Schema:
    """The schema of a mapped, prepared batch, from the first rows (filters off)."""
    loose = replace(mapping, include=(), exclude=(), lifecycle=(), on_missing="drop")
    head = lazy.head(_HEAD_ROWS).collect().drop(PARSE_FAILED)
    mapped = apply_mapping(head, cols, loose, file=file, limits=limits, row_column=_ROW)
    return step(_renumber(mapped, row_column)).schema


def _renumber(frame: pl.DataFrame, row_column: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(_ROW).cast(pl.Int64).alias(row_column)).drop(_ROW)
