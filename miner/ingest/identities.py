"""The identity table: which customer each source id (cookie, phone number, CRM id) belongs to.

Read from CSV or Parquet into `source_id, customer_id`; duplicates and empty ids are dropped, and
a source id mapped to two customers is an error naming the rows.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..errors import FormatError, IdentityError, MissingColumnError

SOURCE_ID = "source_id"
CUSTOMER_ID = "customer_id"
#: Rows of an identity table checked at once (a bucket of source ids).
CHECK_ROWS = 1_000_000


def load_identities(
    path: str | Path,
    *,
    source_column: str = SOURCE_ID,
    customer_column: str = CUSTOMER_ID,
) -> pl.DataFrame:
    """Read an identity table (CSV or Parquet) into `source_id, customer_id`; check for conflicts."""
    from .readers import scan_table

    name = Path(path).name
    try:
        raw = scan_table(path, what="identity table")
        columns = raw.collect_schema().names()
        for col in (source_column, customer_column):
            if col not in columns:
                raise MissingColumnError(
                    f"the identity table has no column {col!r}",
                    file=name,
                    column=col,
                    expected=f"columns {source_column!r} and {customer_column!r}",
                    found=", ".join(columns) or "no columns",
                )
        # Read and trimmed in one streaming pass: a table of millions of ids is never held
        # twice (raw and trimmed).
        table = raw.select(
            pl.col(source_column).cast(pl.String).str.strip_chars().alias(SOURCE_ID),
            pl.col(customer_column).cast(pl.String).str.strip_chars().alias(CUSTOMER_ID),
        ).collect(engine="streaming")
    except pl.exceptions.PolarsError as exc:
        raise FormatError(f"cannot read identity table: {exc}", file=name) from exc
    return check_identities(table, file=name)


def check_identities(table: pl.DataFrame, *, file: str | None = None) -> pl.DataFrame:
    """Drop duplicate rows and empty ids; raise IdentityError if a source id has two customers."""
    # Filters copy the table: only where they drop something (a table of millions of ids).
    table = table.with_row_index("__row", offset=1)
    usable = table.select(
        pl.col(SOURCE_ID).is_not_null()
        & (pl.col(SOURCE_ID) != "")
        & pl.col(CUSTOMER_ID).is_not_null()
        & (pl.col(CUSTOMER_ID) != "")
    ).to_series()
    if not usable.all():
        table = table.filter(usable)
    del usable
    # Grouped a bucket of source ids at a time (a source id's rows are all in one bucket):
    # lists per id over a table of millions of ids cost several times its size.
    n = max(1, -(-table.height // CHECK_ROWS))
    bucket = table.select(pl.col(SOURCE_ID).hash(0) % n).to_series() if n > 1 else None
    found, repeats = [], []
    for b in range(n):
        rows = table if bucket is None else table.filter(bucket == b)
        found.append(
            rows.group_by(SOURCE_ID, maintain_order=True)
            .agg(pl.col(CUSTOMER_ID).unique(maintain_order=True), pl.col("__row"))
            .filter(pl.col(CUSTOMER_ID).list.len() > 1)
        )
        repeats.append(rows.filter(~pl.col(SOURCE_ID).is_first_distinct()).get_column("__row"))
        del rows
    del bucket
    conflicts = pl.concat(found).sort(pl.col("__row").list.first())
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
    repeated = pl.concat(repeats)
    if repeated.len():
        table = table.filter(~pl.col("__row").is_in(repeated.implode()))
    return table.select(SOURCE_ID, CUSTOMER_ID)
