"""Filters applied to a log before discovery, as Disco and Celonis users know them, in one
fixed order (the `Filters` value and its syntax are in `filters.py`).

Log filters, applied by `apply_filters` in this order, each on what the previous one left:

1. time window `[start, end)`: start inclusive, end exclusive, so consecutive windows
   split a log without overlap. `time_mode` says what must lie in the window: "contained"
   (a case's first and last event), "intersecting" (the case's span [first, last] overlaps
   the window), "started" (its first event), "completed" (its last event); "trim" keeps
   only the events in the window. A missing start or end leaves that side open.
2. channels: "cases" keeps every event of the cases with at least one event on one of the
   channels; "events" keeps only the events on them. Events without a channel never match.
3. segment: a case's value of an attribute is its first non-null value in event order,
   compared as text (polars' string cast); a case stays when, for every attribute, its
   value is one of the allowed values. A case with no value matches only the *missing
   value*, allowed as None (JSON null; `~` in a query, as YAML writes null, with a
   backslash for a literal tilde), so "journeys without a region" is a segment too.
4. start/end activities: cases whose first / last activity is in the set.
5. variants: variants ranked as `discover_variants` ranks them (count desc, then activity
   tuple); keep the cases of the `top_variants` first ones and of those whose share of
   the cases (count / n_cases, at this step) is >= `min_variant_share`; both must hold.
6. activity coverage (Disco's activity slider): activities ranked by event count desc,
   then name; an activity stays when the share of events of the activities ranked
   before it is < coverage, i.e. the smallest top set whose cumulative share reaches
   coverage. Events of the other activities are dropped; cases left with none vanish.

Path filters, applied by `filter_dfg` to a DFG discovered from the filtered log:

7. path coverage (Disco's paths slider): edges ranked by count desc, then (source, target);
   the smallest top set whose cumulative count share reaches coverage stays, plus, for
   every activity, its strongest outgoing and strongest incoming edge (first in that
   ranking), so the slider never leaves an activity unconnected.
8. min_edge_count: edges seen fewer times are dropped, the connecting ones included.

`filter_dfg` keeps the start/end counts of the activities still shown: an endpoint of a
kept edge, or an activity that had no edge to begin with (one-event journeys).
An empty result is a valid empty EventLog. Everything is polars over whole columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ..errors import InputError
from ..log import ACTIVITY, CASE, CHANNEL, TIMESTAMP, TS_DTYPE, EventLog
from .discovery import DFG, discover_variants
from .filters import Filters, bad_parameter


# -- log filters --------------------------------------------------------------------------
def apply_filters(log: EventLog, filters: Filters) -> EventLog:
    """The events of `log` that pass the log filters, in the documented order (O(n_events))."""
    check_segment(log.attributes, filters)
    if not filters._log_filters():
        return log
    frame = journey_filters(log.frame, filters)
    # The variants step reuses the log's encoded view when nothing before it removed events.
    frame = _variants(log if frame is log.frame else EventLog(frame, is_sorted=True), filters)
    frame = _activity_coverage(frame, filters)
    # Filtering keeps row order, so the frame is still canonically sorted.
    return EventLog(frame, is_sorted=True)


def journey_filters(frame: pl.DataFrame, filters: Filters) -> pl.DataFrame:
    """Steps 1-4 (time window, channels, segment, start/end activities) on a canonical frame:
    the steps each journey's own events decide, so they give the same rows on any set of
    whole journeys (a partition of the log) as on the whole log."""
    frame = _time_window(frame, filters)
    frame = _channels(frame, filters)
    frame = _segment(frame, filters)
    return _start_end(frame, filters)


def journey_filter_columns(filters: Filters) -> list[str]:
    """The columns `journey_filters` reads (the case id always)."""
    f = filters
    return list(
        dict.fromkeys(
            [CASE]
            + ([TIMESTAMP] if f.start is not None or f.end is not None else [])
            + ([CHANNEL] if f.channels else [])
            + list(f.segment)
            + ([ACTIVITY] if f.start_activities or f.end_activities else [])
        )
    )


def _time_window(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if f.start is None and f.end is None:
        return frame
    ts = pl.col(TIMESTAMP)
    first, last = ts.min().over(CASE), ts.max().over(CASE)
    start = pl.lit(f.start, dtype=TS_DTYPE) if f.start is not None else None
    end = pl.lit(f.end, dtype=TS_DTYPE) if f.end is not None else None

    def inside(x: pl.Expr) -> pl.Expr:
        conditions = ([x >= start] if start is not None else []) + (
            [x < end] if end is not None else []
        )
        return pl.all_horizontal(conditions)

    if f.time_mode == "trim":
        keep = inside(ts)
    elif f.time_mode == "started":
        keep = inside(first)
    elif f.time_mode == "completed":
        keep = inside(last)
    elif f.time_mode == "contained":
        keep = inside(first) & inside(last)
    else:  # intersecting: the closed span [first, last] meets [start, end)
        keep = pl.all_horizontal(
            ([last >= start] if start is not None else [])
            + ([first < end] if end is not None else [])
        )
    return frame.filter(keep)


def _channels(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if not f.channels:
        return frame
    on = pl.col(CHANNEL).is_in(list(f.channels))
    return frame.filter(on if f.channel_mode == "events" else on.any().over(CASE))


def _segment(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if not f.segment:
        return frame
    keep = []
    for attribute, values in f.segment.items():
        value = pl.col(attribute).cast(pl.String).drop_nulls().first().over(CASE)
        named = [v for v in values if v is not None]
        match = value.is_in(named)
        keep.append(match | value.is_null() if None in values else match)
    try:
        return frame.filter(pl.all_horizontal(keep))
    except pl.exceptions.PolarsError as exc:
        # Only a value that has no text form (lists, structs, binary) fails the cast.
        raise bad_parameter(
            "segment",
            "attributes with plain values (text, numbers, dates)",
            ", ".join(f"{a!r} of type {frame.schema[a]}" for a in f.segment),
        ) from exc


def _start_end(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    keep = []
    if f.start_activities:
        keep.append(pl.col(ACTIVITY).first().over(CASE).is_in(list(f.start_activities)))
    if f.end_activities:
        keep.append(pl.col(ACTIVITY).last().over(CASE).is_in(list(f.end_activities)))
    return frame.filter(pl.all_horizontal(keep)) if keep else frame


def _variants(log: EventLog, f: Filters) -> pl.DataFrame:
    frame = log.frame
    if not f.picks_variants() or frame.height == 0:
        return frame
    variants = discover_variants(log)
    kept = kept_variants(variants.frame, variants.cases.height, f)
    cases = variants.cases.filter(pl.col("variant").is_in(kept.implode())).get_column(CASE)
    return frame.filter(pl.col(CASE).is_in(cases.implode()))


def kept_variants(variants: pl.DataFrame, n_cases: int, f: Filters) -> pl.Series:
    """Step 5: the ids of the variants (`Variants.frame` of the log so far, `n_cases`
    journeys) that the variant filters keep."""
    keep = []
    if f.top_variants is not None:
        keep.append(pl.col("variant") < f.top_variants)
    if f.min_variant_share is not None:
        # count / n_cases, as in `Variants.frame["share"]`, rounds like the user's decimal.
        keep.append(pl.col("count") / n_cases >= f.min_variant_share)
    return variants.filter(pl.all_horizontal(keep)).get_column("variant")


def _activity_coverage(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if f.activity_coverage is None or frame.height == 0:
        return frame
    kept = kept_activities(frame.group_by(ACTIVITY).len(), f.activity_coverage)
    return frame.filter(pl.col(ACTIVITY).is_in(kept.implode()))


def kept_activities(counts: pl.DataFrame, coverage: float) -> pl.Series:
    """Step 6: the activities the activity slider keeps, from their event counts
    (`activity`, `len`) in the log so far."""
    ranked = counts.sort(["len", ACTIVITY], descending=[True, False])
    before = (pl.col("len").cum_sum() - pl.col("len")) / pl.col("len").sum()
    return ranked.filter(before < coverage).get_column(ACTIVITY)


def check_segment(attributes: Sequence[str], f: Filters) -> None:
    """Bad input unless every attribute the segment filter names is one of `attributes`."""
    for attribute in f.segment:
        if attribute not in attributes:
            raise InputError(
                f"segment attribute {attribute!r} is not in the log",
                column=attribute,
                expected="one of the log's attributes: " + (", ".join(attributes) or "(none kept)"),
                found=attribute,
                extra={"parameter": "segment"},
            )


# -- path filters -------------------------------------------------------------------------
def filter_dfg(dfg: DFG, filters: Filters) -> DFG:
    """The DFG with the path filters applied; start/end counts kept for activities still shown."""
    if not filters._path_filters():
        return dfg
    edges = dfg.edges.with_row_index("_row")
    keep = pl.lit(True)
    if filters.path_coverage is not None:
        total = edges.get_column("count").sum()
        ranked = edges.sort(
            ["count", "source", "target"], descending=[True, False, False]
        ).with_row_index("_rank")
        rank = pl.col("_rank")
        before = (pl.col("count").cum_sum() - pl.col("count")) / total
        edges = ranked.filter(
            (before < filters.path_coverage)
            | (rank == rank.min().over("source"))
            | (rank == rank.min().over("target"))
        ).sort("_row")
    if filters.min_edge_count is not None:
        keep = pl.col("count") >= filters.min_edge_count
    kept = edges.filter(keep).select(dfg.edges.columns)
    before_ends = pl.concat([dfg.edges.get_column("source"), dfg.edges.get_column("target")])
    after_ends = pl.concat([kept.get_column("source"), kept.get_column("target")])
    shown = pl.col("activity").is_in(after_ends.implode()) | ~pl.col("activity").is_in(
        before_ends.implode()
    )
    return DFG(edges=kept, start=dfg.start.filter(shown), end=dfg.end.filter(shown))
