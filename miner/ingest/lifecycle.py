"""Fold XES lifecycle start/complete pairs into interval events (`lifecycle = "fold"`).

Within each case and activity, in time order, each `complete` takes the oldest `start` still
open (first in, first out), as pm4py's `interval_lifecycle.to_interval` pairs them; a complete
with no open start becomes a zero-length event (start = complete), a start never completed is
dropped, and so are other transitions (schedule, suspend, ...). Events without a transition
count as `complete`. The counts of each are reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from ..errors import EmptySourceError
from ..log import ACTIVITY, CASE, START, TIMESTAMP

LIFECYCLE = "lifecycle"
_ROW = "__fold_row"


@dataclass(frozen=True)
class LifecycleFold:
    """What folding did: start/complete pairs, and the transitions left unpaired or dropped."""

    intervals: int  # completes paired with a start
    unmatched_completes: int  # completes without a start: kept, zero-length
    unmatched_starts: int  # starts never completed: dropped
    other_transitions: int  # neither start nor complete: dropped

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {
            "intervals": self.intervals,
            "unmatched_completes": self.unmatched_completes,
            "unmatched_starts": self.unmatched_starts,
            "other_transitions": self.other_transitions,
        }


def fold_lifecycle(
    frame: pl.DataFrame, *, file: str | None = None
) -> tuple[pl.DataFrame, LifecycleFold]:
    """Interval events (with `start_timestamp`) from a canonical frame with a `lifecycle` column."""
    group = [CASE, ACTIVITY]
    kind = pl.col(LIFECYCLE).cast(pl.String).str.to_lowercase().fill_null("complete")
    events = (
        frame.with_row_index(_ROW).sort([CASE, TIMESTAMP, _ROW]).with_columns(kind.alias("__kind"))
    )
    is_start = pl.col("__kind") == "start"
    is_complete = pl.col("__kind") == "complete"
    # A walk +1 per start, -1 per complete, reflected at 0, is the number of open starts;
    # a complete is paired when one was open before it (Skorokhod: X = S - min(0, min S)).
    # Rows are in time order, so each window below runs in time order too.
    step = pl.when(is_start).then(1).when(is_complete).then(-1).otherwise(0)
    events = events.with_columns(step.alias("__step"))
    events = events.with_columns(pl.col("__step").cum_sum().over(group).alias("__walk"))
    low = pl.min_horizontal(pl.lit(0), pl.col("__walk").cum_min().over(group))
    events = events.with_columns((pl.col("__walk") - low).alias("__open"))
    paired = is_complete & (pl.col("__open").shift(1, fill_value=0).over(group) > 0)
    events = events.with_columns(paired.alias("__paired"))
    # FIFO: the m-th paired complete of a (case, activity) takes its m-th start.
    events = events.with_columns(
        pl.when(is_start)
        .then(is_start.cast(pl.Int64).cum_sum().over(group))
        .when(pl.col("__paired"))
        .then(pl.col("__paired").cast(pl.Int64).cum_sum().over(group))
        .alias("__pair")
    )
    starts = events.filter(is_start).select(*group, "__pair", pl.col(TIMESTAMP).alias(START))
    completes = events.filter(is_complete).join(
        starts, on=[*group, "__pair"], how="left", maintain_order="left"
    )
    counts = events.select(
        is_start.sum().alias("starts"),
        is_complete.sum().alias("completes"),
        pl.col("__paired").sum().alias("paired"),
        pl.len().alias("all"),
    ).row(0, named=True)
    folded = LifecycleFold(
        intervals=counts["paired"],
        unmatched_completes=counts["completes"] - counts["paired"],
        unmatched_starts=counts["starts"] - counts["paired"],
        other_transitions=counts["all"] - counts["starts"] - counts["completes"],
    )
    if completes.height == 0:
        raise EmptySourceError(
            "no complete events to fold: lifecycle = 'fold' needs start/complete pairs",
            file=file,
        )
    columns = [c for c in frame.columns if c != LIFECYCLE]
    out = completes.sort(_ROW).with_columns(pl.col(START).fill_null(pl.col(TIMESTAMP)))
    at = columns.index(TIMESTAMP) + 2  # after timestamp and channel, as canonical_frame puts it
    ordered = [*columns[:at], START, *columns[at:]]
    return out.select(ordered), folded
