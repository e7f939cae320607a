"""Discovery: the directly-follows graph, the variants and the journey statistics of a log.

Durations are float64 seconds, computed from exact integer microseconds. The numbers equal
pm4py's `discover_dfg`, `discover_performance_dfg` (aggregation "all") and `get_variants`
on the same log: stdev is the sample standard deviation (ddof=1), null for an edge seen
once (pm4py gives NaN there); an even count's median is the mean of the two middle values.
All of it is computed by the engine (`miner.engine.discovery`: partial per partition, merge,
finish), here on the log as one partition; a stored partitioned log runs the same plan over
its partitions and gets the same numbers bit for bit.

Interval logs (a `start_timestamp` column) are measured as pm4py measures them on such a
frame: an edge (a, b) joins events consecutive by start time and lasts from a's complete
time to b's start time (negative where they overlap); each touchpoint's own duration
(complete minus start) is its service time.
"""

from __future__ import annotations

import polars as pl

from ..engine.discovery import discover_parts
from ..engine.executors import Executor
from ..engine.parts import split_log
from ..log import EventLog
from .journey_stats import JourneyStats
from .results import (
    DFG,
    EDGE_SCHEMA,
    SERVICE_SCHEMA,
    US_PER_SECOND,
    VARIANT_SCHEMA,
    Discovery,
    Variants,
)


def discover(log: EventLog, *, parts: int = 1, run: Executor | None = None) -> Discovery:
    """Discover the DFG, the variants and the journey statistics of `log` (seen as `parts`
    hash partitions, run by `run`; the result is the same for any of them)."""
    return discover_parts(split_log(log, parts), run=run)


def journey_stats(
    log: EventLog, *, top_ngrams: int = 20, ngram_sizes: tuple[int, ...] = (2, 3)
) -> JourneyStats:
    """Journey statistics of `log`; n-grams count every occurrence, top `top_ngrams` per size."""
    found = discover_parts(split_log(log), top_ngrams=top_ngrams, ngram_sizes=ngram_sizes)
    return found.stats


def discover_dfg(log: EventLog) -> DFG:
    """Directly-follows graph of `log`: each consecutive pair of a case counts once."""
    return discover(log).dfg


def discover_service_times(log: EventLog) -> pl.DataFrame | None:
    """Each touchpoint's own duration (complete minus start, seconds) in an interval log:
    activity, count, mean, median, min, max, sum; None when events have no start time."""
    return discover(log).service_times


def discover_variants(log: EventLog) -> Variants:
    """Variants of `log`: sorted by count desc, then by activity tuple; ids follow that order."""
    return discover(log).variants


__all__ = [
    "DFG",
    "EDGE_SCHEMA",
    "SERVICE_SCHEMA",
    "US_PER_SECOND",
    "VARIANT_SCHEMA",
    "Discovery",
    "Variants",
    "discover",
    "discover_dfg",
    "discover_service_times",
    "discover_variants",
    "journey_stats",
]
