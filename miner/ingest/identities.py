"""The identity table: which customer each source id (cookie, phone number, CRM id) belongs to.

Read from CSV or Parquet into `source_id, customer_id`; duplicates and empty ids are dropped, and
a source id mapped to two customers is an error naming the rows.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..errors import IdentityError, MissingColumnError

SOURCE_ID = "source_id"
CUSTOMER_ID = "customer_id"


def load_identities(
    path: str | Path,
    *,
    source_column: str = SOURCE_ID,
    customer_column: str = CUSTOMER_ID,
) -> pl.DataFrame:
    """Read an identity table (CSV or Parquet) into `source_id, customer_id`; check for conflicts."""
    from .readers import read_table

    name = Path(path).name
    raw = read_table(path, what="identity table")
    for col in (source_column, customer_column):
        if col not in raw.columns:
            raise MissingColumnError(
                f"the identity table has no column {col!r}",
                file=name,
                column=col,
                expected=f"columns {source_column!r} and {customer_column!r}",
                found=", ".join(raw.columns) or "no columns",
            )
    table = raw.select(
        pl.col(source_column).cast(pl.String).str.strip_chars().alias(SOURCE_ID),
        pl.col(customer_column).cast(pl.String).str.strip_chars().alias(CUSTOMER_ID),
    )
    del raw  # a table of millions of ids: not twice in memory while it is checked
    return check_identities(table, file=name)


def check_identities(table: pl.DataFrame, *, file: str | None = None) -> pl.DataFrame:
    """Drop duplicate rows and empty ids; raise IdentityError if a source id has two customers."""
    table = table.with_row_index("__row", offset=1).filter(
        pl.col(SOURCE_ID).is_not_null()
        & (pl.col(SOURCE_ID) != "")
        & pl.col(CUSTOMER_ID).is_not_null()
        & (pl.col(CUSTOMER_ID) != "")
    )
    # Source ids with two customers, from the table sorted by source id (ties in table order):
    # neighbours with one source id and two customers. Lists per id (a group_by) only for
    # those, for the message: grouping a table of millions of ids costs several times its size.
    torn = _torn_ids(table)
    conflicts = (
        table.filter(pl.col(SOURCE_ID).is_in(torn.implode()))
        .group_by(SOURCE_ID, maintain_order=True)
        .agg(pl.col(CUSTOMER_ID).unique(maintain_order=True), pl.col("__row"))
        .filter(pl.col(CUSTOMER_ID).list.len() > 1)
    )
    if conflicts.height:
        first = conflicts.row(0, named=True)
        raise IdentityError(
            f"source id {first[SOURCE_ID]!r} maps to several customers "
            f"({', '.join(map(repr, first[CUSTOMER_ID][:5]))}) on rows "
            f"{', '.join(str(r) for r in first['__row'][:5])}; {conflicts.height} ids conflict",
            file=file,
            row=int(first["__row"][0]),
            column=SOURCE_ID,
            expected="each source id mapped to exactly one customer id",
            found=f"{len(first[CUSTOMER_ID])} customers",
        )
    return table.filter(pl.col(SOURCE_ID).is_first_distinct()).select(SOURCE_ID, CUSTOMER_ID)


def _torn_ids(table: pl.DataFrame, rows: int = 1_000_000) -> pl.Series:
    """Source ids of `table` with more than one customer: in source id order (ties in table
    order) they are neighbours with one source id and two customers. Compared `rows` sorted
    rows at a time, so the sorted table is never copied whole."""
    order = table.select(pl.arg_sort_by(SOURCE_ID, maintain_order=True)).to_series()
    torn = []
    for start in range(0, order.len(), rows):
        idx = order.slice(max(0, start - 1), rows + (1 if start else 0))
        chunk = table.select(pl.col(SOURCE_ID, CUSTOMER_ID).gather(idx))
        torn.append(
            chunk.filter(
                (pl.col(SOURCE_ID) == pl.col(SOURCE_ID).shift(1))
                & (pl.col(CUSTOMER_ID) != pl.col(CUSTOMER_ID).shift(1))
            ).get_column(SOURCE_ID)
        )
    return pl.concat(torn) if torn else pl.Series(SOURCE_ID, [], dtype=pl.String)
