"""Customer attributes: a customer master table (CRM export) joined onto stitched journeys.

Segments a CX lead splits by (region, new or returning, tier) often live in the CRM's
customer table rather than on events. `load_customers` reads such a table (CSV or Parquet)
keyed by the stitched customer id; `attach_customers` copies its columns onto every event
of the customer's journeys, so `--segment region` works like an event attribute. The key
is the log's `customer_id` column, or the case id where journeys are not cut (the case is
the customer then).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ..errors import IdentityError, MappingError, MissingColumnError
from ..log import CANONICAL, CASE, EventLog
from .identities import CUSTOMER_ID, SOURCE_ID
from .readers import read_table

#: Column names a customer table may not bring: the log's own.
RESERVED = frozenset((*CANONICAL, CUSTOMER_ID, SOURCE_ID))


@dataclass(frozen=True)
class CustomerMatch:
    """How a customer table met a log: customers of the log with and without a row."""

    customers: int
    with_attributes: int
    attributes: tuple[str, ...]

    def __add__(self, other: CustomerMatch) -> CustomerMatch:
        """The match over two logs with no customer in common (same table)."""
        return CustomerMatch(
            self.customers + other.customers,
            self.with_attributes + other.with_attributes,
            self.attributes,
        )

    @property
    def without_attributes(self) -> int:
        """Customers of the log that have no row in the table (their attributes are null)."""
        return self.customers - self.with_attributes

    def warning(self, table: str) -> str | None:
        """The ingest warning when some customers have no row in `table` (None when all have)."""
        if not self.without_attributes:
            return None
        return (
            f"{self.without_attributes} of {self.customers} customers have no row in {table};"
            f" their {', '.join(self.attributes)} stay empty"
        )

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready dict."""
        return {
            "customers": self.customers,
            "with_attributes": self.with_attributes,
            "without_attributes": self.without_attributes,
            "attributes": list(self.attributes),
        }


def load_customers(path: str | Path, *, key: str = CUSTOMER_ID) -> pl.DataFrame:
    """Read a customer table (CSV or Parquet): `customer_id` (the key) and attribute columns.

    Keys are text, trimmed; rows without a key are left out and identical rows count once.
    A key with two different rows, a missing key column or an attribute named like a log
    column is an error naming the file, the row and the column.
    """
    name = Path(path).name
    raw = read_table(path, what="customer table", infer_types=True)
    if key not in raw.columns:
        raise MissingColumnError(
            f"the customer table has no key column {key!r}",
            file=name,
            column=key,
            expected=f"a column {key!r} holding the stitched customer id",
            found=", ".join(raw.columns[:20]) or "no columns",
        )
    clash = [c for c in raw.columns if c != key and c in RESERVED]
    if clash:
        raise MappingError(
            f"the customer table's column {clash[0]!r} clashes with a column of the log",
            file=name,
            column=clash[0],
            expected=f"attribute names other than {', '.join(sorted(RESERVED))}",
        )
    table = (
        raw.with_columns(pl.col(key).cast(pl.String).str.strip_chars().alias(CUSTOMER_ID))
        .select(CUSTOMER_ID, *[c for c in raw.columns if c != key])
        .with_row_index("__row", offset=1)
        .filter(pl.col(CUSTOMER_ID).is_not_null() & (pl.col(CUSTOMER_ID) != ""))
    )
    attributes = [c for c in table.columns if c not in (CUSTOMER_ID, "__row")]
    distinct = table.unique([CUSTOMER_ID, *attributes], keep="first", maintain_order=True)
    doubled = distinct.filter(pl.col(CUSTOMER_ID).is_duplicated())
    if doubled.height:
        first = doubled.row(0, named=True)
        rows = doubled.filter(pl.col(CUSTOMER_ID) == first[CUSTOMER_ID]).get_column("__row")
        raise IdentityError(
            f"customer {first[CUSTOMER_ID]!r} has different rows ({', '.join(map(str, rows[:5]))})",
            file=name,
            row=int(rows[0]),
            column=key,
            expected="one row of attributes per customer",
            found=f"{rows.len()} different rows",
        )
    return distinct.drop("__row")


def attach_customers(log: EventLog, table: pl.DataFrame) -> tuple[EventLog, CustomerMatch]:
    """Copy each customer's attributes onto the events of their journeys (null without a row)."""
    frame = log.frame
    on = CUSTOMER_ID if CUSTOMER_ID in frame.columns else CASE
    attributes = [c for c in table.columns if c != CUSTOMER_ID]
    clash = [c for c in attributes if c in frame.columns]
    if clash:
        raise MappingError(
            f"the events have an attribute {clash[0]!r} already; rename it in the customer table",
            column=clash[0],
            expected="customer attributes the events do not have",
        )
    joined = frame.join(table.rename({CUSTOMER_ID: on}), on=on, how="left", maintain_order="left")
    customers = frame.get_column(on).n_unique()
    known = frame.select(pl.col(on).unique().is_in(table.get_column(CUSTOMER_ID).implode()).sum())
    match = CustomerMatch(customers, int(known.item()), tuple(attributes))
    return EventLog(joined, is_sorted=True), match
