"""What a user can do with journeyminer: one function per operation, the only way in for the
front doors (CLI, HTTP routes, batch runs).

Each takes a log (and a designed map where it needs one) plus typed options, and returns a
typed result whose `to_dict()` is THE JSON shape of that result, whichever door asked; a door
may wrap it in an envelope of its own (kind, log id and version) but never reshapes it.

- `discover_journeys`: filter, discover (DFG, performance DFG, variants, statistics), abstract
  the DFG by the filters' path coverage and minimum edge count; optionally summarise segments.
- `compare_journeys`: filter, compare with a designed map, group hidden journeys, overlay the map.
- `drift_between_periods`: filter, split the log at a moment, compare both periods with the map.
- `draft_map_from_log`: draft a designed map from the journeys in a log, saying which goal it
  chose and why, and what share of the journeys it covers.

Ingesting sources and appending to a stored log are `ingest.pipeline.ingest_sources` and the
store's append, which share `ingest.stitch_ranges` for stitching (see README, "Where things live").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ._typing import TemplateName
from .discover.discovery import (
    DFG,
    Discovery,
    Variants,
    discover,
    discover_dfg,
    discover_variants,
)
from .discover.filtering import apply_filters, filter_dfg
from .discover.filters import Filters
from .engine.discovery import discover_dfg_parts, discover_parts
from .engine.executors import Executor, executor
from .engine.filtered import FilteredParts, filter_parts, summarize
from .engine.partial_cache import SHARED
from .errors import InputError
from .log import CASE, EventLog

if TYPE_CHECKING:  # imported where used, so `mine` does not load the comparison (CLI start-up)
    from .compare.analysis import MapAnalysis
    from .compare.drift import Drift
    from .engine.dataset import Dataset
    from .maps.designed import DesignedMap
    from .maps.drafting import MapDraft

Progress = Callable[[float, str], None]
MAX_SEGMENTS = 200


def _quiet(share: float, stage: str) -> None:
    """No progress reporting."""


@dataclass(frozen=True)
class DiscoveryRun:
    """A discovery of a (filtered) log: the result, the log it ran on and its segment summary."""

    discovery: Discovery
    log: EventLog | Dataset | FilteredParts  # the (filtered) log the discovery ran on
    filters: Filters
    segments: pl.DataFrame | None  # segment, cases, events, variants, ... (when asked for)

    @property
    def cases(self) -> pl.DataFrame:
        """Per journey: statistics and variant id."""
        d = self.discovery
        return d.stats.per_case.join(d.variants.cases, on=CASE, how="left")

    def to_dict(self, *, lazy_rows: bool = False) -> dict[str, Any]:
        """The JSON of `journeyminer mine --json`: dfg, variants, stats (`Discovery.to_dict`)."""
        return self.discovery.to_dict(lazy_rows=lazy_rows)


def discover_journeys(
    log: EventLog | Dataset,
    *,
    filters: Filters | None = None,
    segment: str | None = None,
    progress: Progress = _quiet,
    workers: int | None = None,
    per_journey: bool = True,
    run: Executor | None = None,
) -> DiscoveryRun:
    """Filter `log`, discover its DFG, variants and statistics, abstract the DFG by the filters.

    A stored dataset is discovered partition by partition (one in memory at a time, or
    `workers` at once: 0 for one per core, or on the executor `run`, e.g. a cluster's
    `journeyminer.connect(...)`),
    with the filters applied partition by partition (`engine.filtered`), unless a segment
    summary is asked for: that reads the whole log first, into this process, and runs here.
    `per_journey=False` skips the per-journey tables (`DiscoveryRun.cases`), which grow with
    the number of journeys.
    """
    filters = filters or Filters()
    pool = executor(workers)
    if not isinstance(log, EventLog):
        if segment is None:
            on = run or pool
            log = _as_workers_see(log, on)
            if filters.picks_events():
                progress(0.2, "filtering")
            parts = _picked(log, filters, on)
            progress(0.3, "discovering")

            def done(k: int, n: int) -> None:
                # One stage name for the run: a job records a new stage at once, a share
                # at most every so often.
                progress(0.3 + 0.4 * k / n, f"discovering {n} partitions")

            # The process's partials: a refresh after an append recomputes the touched ones
            # (a cluster keeps its partials on its workers and merges them there; filtered
            # partitions are not cached).
            found = discover_parts(parts, run=on, keep_cases=per_journey, cache=SHARED, done=done)
            found = replace(found, dfg=filter_dfg(found.dfg, filters))
            return DiscoveryRun(discovery=found, log=parts, filters=filters, segments=None)
        log = log.to_event_log()
    progress(0.2, "filtering")
    view = apply_filters(log, filters)
    progress(0.3, "discovering")
    found = discover(view, run=pool)
    found = replace(found, dfg=filter_dfg(found.dfg, filters))
    whole = DiscoveryRun(discovery=found, log=view, filters=filters, segments=None)
    if segment:
        progress(0.6, "segments")
        summary = segment_summary(view.frame, whole.cases, segment)
        whole = DiscoveryRun(found, view, filters, summary)
    return whole


def _as_workers_see(log: Dataset, pool: Executor) -> Dataset:
    """A stored dataset as `pool`'s workers open it: by its absolute path when they run in
    other processes (a cluster's workers read the partitions themselves)."""
    path = getattr(log, "path", None)
    if pool.remote and isinstance(path, Path):
        return replace(log, path=path.resolve())
    return log


def discover_graph(
    log: EventLog | Dataset, *, filters: Filters | None = None, run: Executor | None = None
) -> DFG:
    """Only the DFG of the filtered log, abstracted by the filters (the quick read of a log);
    a stored dataset's partition by partition, on `run` (default: one at a time)."""
    filters = filters or Filters()
    if isinstance(log, EventLog):
        return filter_dfg(discover_dfg(apply_filters(log, filters)), filters)
    pool = run or executor()
    parts = _picked(_as_workers_see(log, pool), filters, pool)
    return filter_dfg(discover_dfg_parts(parts, run=pool), filters)


def list_variants(
    log: EventLog | Dataset, *, filters: Filters | None = None, run: Executor | None = None
) -> Variants:
    """Only the variants of the filtered log (the quick read of a log); a stored dataset's
    partition by partition, on `run` (default: one at a time)."""
    filters = filters or Filters()
    if isinstance(log, EventLog):
        return discover_variants(apply_filters(log, filters))
    pool = run or executor()
    parts = _picked(_as_workers_see(log, pool), filters, pool)
    return discover_parts(parts, run=pool, keep_cases=False, cache=SHARED).variants


def _picked(log: Dataset, filters: Filters, pool: Executor) -> Dataset | FilteredParts:
    """The partitions of `log` with the events `filters` pick (the dataset itself when they
    pick all)."""
    return filter_parts(log, filters, pool) if filters.picks_events() else log


def segment_summary(frame: pl.DataFrame, cases: pl.DataFrame, attribute: str) -> pl.DataFrame:
    """Journeys per value of `attribute` (its first non-null value in the journey): cases,
    events, variants, median duration and mean channel switches; the largest first."""
    per_case = frame.group_by(CASE).agg(
        pl.col(attribute).drop_nulls().first().cast(pl.String).alias("segment")
    )
    return (
        cases.join(per_case, on=CASE, how="left")
        .group_by("segment")
        .agg(
            pl.len().alias("cases"),
            pl.col("events").sum().alias("events"),
            pl.col("variant").n_unique().alias("variants"),
            pl.col("duration").median().alias("median_duration"),
            pl.col("channel_switches").mean().alias("mean_channel_switches"),
        )
        .sort(["cases", "segment"], descending=[True, False], nulls_last=True)
        .head(MAX_SEGMENTS)
    )


def compare_journeys(
    log: EventLog | Dataset,
    designed: DesignedMap,
    *,
    filters: Filters | None = None,
    segment: str | None = None,
    min_support: int | float = 0.01,
    as_of: datetime | None = None,
    progress: Progress = _quiet,
    workers: int | None = None,
    run: Executor | None = None,
) -> MapAnalysis:
    """Filter `log`, compare it with `designed`: deviations, funnel, leaks, hidden journeys, overlay.

    A stored dataset is compared partition by partition (`engine.comparison.compare_parts`:
    one in memory at a time, `workers` at once (0: one per core), or on the executor `run`),
    with the filters applied partition by partition (`engine.filtered`), and the overlay's DFG
    is discovered the same way; the result is the whole log's, byte for byte.
    """
    from .compare.analysis import analyze_against_map, map_analysis

    if not isinstance(log, EventLog):
        from .engine.comparison import compare_parts, period_ends

        pool = run or executor(workers)
        log = _as_workers_see(log, pool)
        parts: Dataset | FilteredParts = log
        if filters is not None and filters.picks_events():
            progress(0.2, "filtering")
            parts = filter_parts(log, filters, pool)
            if as_of is None:
                # As below: picking journeys leaves the clock at the whole log's end; a time
                # window ends the log where the filtered journeys end.
                if filters.start is not None or filters.end is not None:
                    as_of = period_ends(parts, pool, [(None, None)])[0]
                elif (end := log.summary()["end"]) is not None:
                    as_of = datetime.fromisoformat(end)
        progress(0.3, "comparing")
        with ThreadPoolExecutor(max_workers=1) as lane:
            # The overlay's DFG is discovered on a second lane while the comparison runs
            # (kernels, numpy and polars release the GIL): a second pass over the
            # partitions that would otherwise come after it.
            discovering = lane.submit(discover_dfg_parts, parts, run=pool)
            comparison = compare_parts(parts, designed, run=pool, segment=segment, as_of=as_of)
            progress(0.7, "overlay")
            dfg = discovering.result()
        return map_analysis(comparison, designed, dfg, min_support=min_support)
    view = apply_filters(log, filters) if filters is not None else log
    if as_of is None and filters is not None and not (filters.start or filters.end):
        # Picking journeys (a segment, channels, variants) does not move the clock: right-
        # censoring stays at the whole log's end, so a segment's journeys in progress are the
        # ones the unfiltered split counts for it. A time window ends the log where it ends.
        as_of = log.time_range()[1]
    progress(0.3, "comparing")
    return analyze_against_map(
        view, designed, segment=segment, min_support=min_support, as_of=as_of
    )


@dataclass(frozen=True)
class PeriodDrift:
    """Drift between the periods before and after `split_at`, both compared with one map."""

    drift: Drift
    split_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: split_at, then the drift (periods, hidden journeys, rates, durations)."""
        return {"split_at": self.split_at.isoformat(), **self.drift.to_dict()}


def drift_between_periods(
    log: EventLog | Dataset,
    designed: DesignedMap,
    *,
    filters: Filters | None = None,
    split_at: datetime | None = None,
    progress: Progress = _quiet,
    workers: int | None = None,
    run: Executor | None = None,
) -> PeriodDrift:
    """Split the (filtered) log at `split_at` (default: the middle of its time range) by journey
    start, compare each period with `designed`, and test what changed.

    A stored dataset is compared partition by partition, as `compare_journeys` does (one in
    memory at a time, `workers` at once, or on the executor `run`; filters applied per
    partition): each period is the journeys that started in it, picked inside each
    partition, with the result of the whole log's drift.
    """
    from .compare.drift import compare_periods

    if not isinstance(log, EventLog):
        pool = run or executor(workers)
        log = _as_workers_see(log, pool)
        if filters is not None and filters.picks_events():
            return _drift_parts(
                filter_parts(log, filters, pool), designed, split_at, progress, pool
            )
        return _drift_parts(log, designed, split_at, progress, pool)
    from .compare.to_map import compare_to_map

    view = apply_filters(log, filters) if filters is not None else log
    first, last = view.time_range()
    if first is None or last is None:
        raise InputError("the log has no events to split into periods", column="log")
    split = split_at if split_at is not None else first + (last - first) / 2
    before = apply_filters(view, Filters(end=split, time_mode="started"))
    after = apply_filters(view, Filters(start=split, time_mode="started"))
    progress(0.3, "comparing the first period")
    cmp_before = compare_to_map(before, designed)
    progress(0.6, "comparing the second period")
    cmp_after = compare_to_map(after, designed)
    return PeriodDrift(drift=compare_periods(cmp_before, cmp_after), split_at=split)


def _drift_parts(
    log: Dataset | FilteredParts,
    designed: DesignedMap,
    split_at: datetime | None,
    progress: Progress,
    pool: Executor,
) -> PeriodDrift:
    """`drift_between_periods` of a stored dataset over its partitions (one pass finds both
    periods' last timestamps, one comparison pass per period)."""
    from .compare.drift import compare_periods
    from .compare.to_map import epoch_us
    from .engine.comparison import compare_parts, period_ends

    # A filtered log's time range takes a pass (on `pool`); a dataset's is in its manifest.
    summary = summarize(log, pool) if isinstance(log, FilteredParts) else log.summary()
    if summary["start"] is None or summary["end"] is None:
        raise InputError("the log has no events to split into periods", column="log")
    first = datetime.fromisoformat(summary["start"])
    last = datetime.fromisoformat(summary["end"])
    split = split_at if split_at is not None else first + (last - first) / 2
    # A naive moment is UTC, as `apply_filters` reads it (the result keeps it as given).
    at = epoch_us(split if split.tzinfo is not None else split.replace(tzinfo=UTC))
    periods = ((None, at), (at, None))
    progress(0.2, "finding the periods")
    ends = period_ends(log, pool, periods)
    found = []
    for (period, end), (share, stage) in zip(
        zip(periods, ends, strict=True),
        ((0.3, "comparing the first period"), (0.6, "comparing the second period")),
        strict=True,
    ):
        progress(share, stage)
        found.append(compare_parts(log, designed, run=pool, started=period, as_of=end))
    return PeriodDrift(drift=compare_periods(found[0], found[1]), split_at=split)


def draft_map_from_log(
    log: EventLog | Dataset,
    *,
    name: str = "Drafted map",
    phases: int | TemplateName = 5,
    goals: Sequence[str] = (),
    workers: int | None = None,
    run: Executor | None = None,
) -> MapDraft:
    """Draft a designed map from the journeys in `log`: the map, how its goals were chosen
    (the user's `goals`, else a guess with its reason and the alternatives) and its coverage.

    A stored dataset is read partition by partition (`engine.drafting`: one pass for the
    paths journeys take, `workers` partitions at once or on the executor `run`), with the
    whole log's draft."""
    from .maps.drafting import draft_journey_map

    if isinstance(log, EventLog):
        return draft_journey_map(log, name=name, phases=phases, goals=goals)
    from .engine.drafting import journey_paths

    pool = run or executor(workers)
    paths = journey_paths(_as_workers_see(log, pool), pool)
    return draft_journey_map(paths, name=name, phases=phases, goals=goals)


__all__ = [
    "DiscoveryRun",
    "PeriodDrift",
    "compare_journeys",
    "discover_graph",
    "discover_journeys",
    "draft_map_from_log",
    "drift_between_periods",
    "list_variants",
    "segment_summary",
]
