"""Stitching: one timeline per customer from many sources, cut into journeys.

An identity table maps source ids (cookie, phone number, CRM id) to a customer id; events
whose id is not in the table stay as their own customer. A customer's timeline is cut into
journeys where the gap since their previous event is >= `gap` (inactivity), and/or right
after a goal touchpoint. Journey id = `<customer>#<n>`, n = 1, 2, ... in time order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

from .errors import FormatError, IdentityError, MissingColumnError, SourceError
from .log import ACTIVITY, CASE, CHANNEL, TIMESTAMP, EventLog, sort_events

SOURCE_ID = "source_id"
CUSTOMER_ID = "customer_id"
DEFAULT_GAP = timedelta(days=30)
_CUSTOMER_CODE = "__customer_code"


@dataclass(frozen=True)
class StitchReport:
    """What stitching did: counts a data engineer checks after every run."""

    events: int
    customers: int
    journeys: int
    source_ids: int
    matched_ids: int
    unmatched_ids: int
    unmatched_events: int
    dropped_no_timestamp: int
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "events": self.events,
            "customers": self.customers,
            "journeys": self.journeys,
            "source_ids": self.source_ids,
            "matched_ids": self.matched_ids,
            "unmatched_ids": self.unmatched_ids,
            "unmatched_events": self.unmatched_events,
            "dropped_no_timestamp": self.dropped_no_timestamp,
            "warnings": list(self.warnings),
        }


def load_identities(
    path: str | Path,
    *,
    source_column: str = SOURCE_ID,
    customer_column: str = CUSTOMER_ID,
) -> pl.DataFrame:
    """Read an identity table (CSV or Parquet) into `source_id, customer_id`; check for conflicts."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise SourceError(
            "identity table not found", file=name, expected="an existing CSV or Parquet file"
        )
    try:
        if path.suffix.lower() == ".parquet":
            raw = pl.read_parquet(path)
        else:
            raw = pl.read_csv(path, infer_schema=False, separator=_sniff_separator(path))
    except pl.exceptions.PolarsError as exc:
        raise FormatError(f"cannot read identity table: {exc}", file=name) from exc
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
    return check_identities(table, file=name)


def check_identities(table: pl.DataFrame, *, file: str | None = None) -> pl.DataFrame:
    """Drop duplicate rows and empty ids; raise IdentityError if a source id has two customers."""
    table = table.with_row_index("__row", offset=1).filter(
        pl.col(SOURCE_ID).is_not_null()
        & (pl.col(SOURCE_ID) != "")
        & pl.col(CUSTOMER_ID).is_not_null()
        & (pl.col(CUSTOMER_ID) != "")
    )
    conflicts = (
        table.group_by(SOURCE_ID, maintain_order=True)
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
    return table.unique(SOURCE_ID, keep="first", maintain_order=True).select(SOURCE_ID, CUSTOMER_ID)


def stitch_sources(
    frames: Sequence[pl.DataFrame],
    identities: pl.DataFrame | None = None,
    *,
    gap: timedelta | None = DEFAULT_GAP,
    goals: Sequence[str] = (),
    keep_source_id: bool = True,
) -> tuple[EventLog, StitchReport]:
    """Merge canonical frames of several sources into journeys; see the module docstring.

    `frames` hold canonical columns whose `case_id` is the source's own id. Events with equal
    timestamps keep the order of `frames`, then of their rows. With `gap=None` and no `goals`,
    timelines are not cut and the customer id is the case id.
    """
    if not frames:
        raise SourceError("no sources to stitch", expected="at least one source")
    events = pl.concat(list(frames), how="diagonal_relaxed")
    total = events.height
    events = events.filter(pl.col(TIMESTAMP).is_not_null())
    dropped = total - events.height
    warnings: list[str] = []
    if dropped:
        warnings.append(f"{dropped} events without a timestamp were left out")
    source_ids = 0  # counted below: without an identity table, one per customer
    if identities is not None:
        source_ids = events.get_column(CASE).n_unique()
        identities = check_identities(identities)
        events = events.join(
            identities, left_on=CASE, right_on=SOURCE_ID, how="left", maintain_order="left"
        )
        matched_mask = pl.col(CUSTOMER_ID).is_not_null()
        counts = events.select(
            matched_mask.not_().sum().alias("ev"),
            pl.col(CASE).filter(matched_mask).n_unique().alias("ids"),
        ).row(0)
        unmatched_events, matched_ids = int(counts[0]), int(counts[1])
        events = events.with_columns(
            pl.coalesce(CUSTOMER_ID, CASE).alias(CUSTOMER_ID),
            pl.col(CASE).alias(SOURCE_ID),
        )
        if not keep_source_id:
            events = events.drop(SOURCE_ID)
    else:
        unmatched_events, matched_ids = events.height, 0
        events = events.with_columns(pl.col(CASE).alias(CUSTOMER_ID))
    if unmatched_events and identities is not None:
        warnings.append(
            f"{source_ids - matched_ids} source ids ({unmatched_events} events) are not in the "
            "identity table and stay their own customer"
        )
    # Sorting on a dense integer code of the customer (its rank among sorted names) is the
    # same order as sorting the names, and several times faster than a string sort.
    names = events.get_column(CUSTOMER_ID).unique().sort()
    customers = names.len()
    if identities is None:
        source_ids = customers
    events = (
        events.drop(CASE)
        .with_columns(pl.col(CUSTOMER_ID).cast(pl.Enum(names)).to_physical().alias(_CUSTOMER_CODE))
        .pipe(sort_events, by=_CUSTOMER_CODE)
    )
    events = events.with_columns(_journey_ids(gap, goals).alias(CASE)).drop(_CUSTOMER_CODE)
    order = [CASE, ACTIVITY, TIMESTAMP, CHANNEL]
    events = events.select(order + [c for c in events.columns if c not in order])
    if gap is None and not goals:
        events = events.drop(CUSTOMER_ID)  # the case id is the customer id
    # Journey ids need not sort like customers ('C1#10' < 'C1#2'): re-sort only when they don't.
    log = EventLog(events, is_sorted=_case_order_holds(events))
    report = StitchReport(
        events=log.n_events,
        customers=customers,
        journeys=log.n_cases,
        source_ids=source_ids,
        matched_ids=matched_ids,
        unmatched_ids=source_ids - matched_ids,
        unmatched_events=unmatched_events,
        dropped_no_timestamp=dropped,
        warnings=tuple(warnings),
    )
    return log, report


def cut_journeys(
    log: EventLog, *, gap: timedelta | None = DEFAULT_GAP, goals: Sequence[str] = ()
) -> EventLog:
    """Cut each case of `log` (taken as one customer's timeline) into journeys."""
    frame = log.frame.rename({CASE: CUSTOMER_ID}).with_columns(
        pl.col(CUSTOMER_ID).rle_id().alias(_CUSTOMER_CODE)
    )
    frame = frame.with_columns(_journey_ids(gap, goals).alias(CASE)).drop(_CUSTOMER_CODE)
    return EventLog(frame.select(CASE, *[c for c in frame.columns if c != CASE]))


def _journey_ids(gap: timedelta | None, goals: Sequence[str]) -> pl.Expr:
    """Journey id per event of a frame sorted by (customer, timestamp), without Python loops."""
    customer = pl.col(CUSTOMER_ID)
    code = pl.col(_CUSTOMER_CODE)
    first_of_customer = code.ne_missing(code.shift(1)).fill_null(True)
    if gap is None and not goals:
        return customer
    new = first_of_customer
    if gap is not None:
        new = new | ((pl.col(TIMESTAMP) - pl.col(TIMESTAMP).shift(1)) >= gap).fill_null(True)
    if goals:
        after_goal = pl.col(ACTIVITY).shift(1).is_in(list(goals)).fill_null(False)
        new = new | after_goal
    running = new.cast(pl.Int64).cum_sum()
    base = pl.when(first_of_customer).then(running).otherwise(None).forward_fill()
    number = running - base + 1
    return pl.concat_str([customer, pl.lit("#"), number.cast(pl.String)])


def _case_order_holds(frame: pl.DataFrame) -> bool:
    if frame.height < 2:
        return True
    ordered = pl.col(CASE).shift(1).le(pl.col(CASE)).fill_null(True).all()
    return bool(frame.select(ordered).item())


def _sniff_separator(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline()
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","
