"""Comparison of the real journeys with a designed map: deviations, fitness, leaks, time frames.

Each *variant* is replayed once (`miner.compare.deviations`, `kernels.replay`) over the map's
transition matrix; its cases inherit the verdict through a gather. (`compare_to_map` takes the
whole log in memory; `miner.engine.comparison.compare_parts` gives the same result from a
log's partitions, one at a time; both end in `miner.compare.assemble`.) Timestamps give the
case-level parts (`miner.compare.windows`): time frames, rules, drop-off vs in progress. Semantics:

- unknown touchpoint: an activity the map does not name; recorded at its first occurrence.
  Transitions into or out of it are covered by it, never unexpected transitions.
- unexpected transition: consecutive mapped a -> b that `DesignedMap.allowed` does not hold
  (flows, also through unobservable touchpoints); first occurrence of each pair. A repeat
  a -> a is *rework*, never an unexpected transition (`transition_matrix(repeats=True)`).
- skipped touchpoint: for an unexpected a -> c, the observable touchpoints on the shortest path
  of designed flows from a to c (one BFS per distinct source, neighbours in map order), except
  those the journey showed before the jump: looping back past a step taken earlier skips
  nothing. No path from a to c: nothing skipped.
- wrong start: the first activity is not in `observable_start` (also when it is unknown).
- drop-off: a *closed* journey that never reached a goal, at its last event. Its leak point is
  its last touchpoint (possibly unknown) and the phase of its last mapped touchpoint. A journey
  that reached the goal and went on is not a drop-off.
- phase regression: consecutive mapped a -> b with b in an earlier phase, allowed or not.
- rework: an activity (mapped or not) seen again; once per activity, at its second occurrence.
- time-frame breach: the first `to` after the first `from` (in event order) comes later than
  `max`, at the `to`. A `to` that never came is no breach, but counts as *overdue* in
  `time_frames` when `max` had passed by `as_of` and the journey is still in progress (one that
  dropped off is not waiting any more). Phase frame: first to last event in the
  phase takes longer than `max`.
- rule breach: `within`: each `after` needs a `then` after it within `max` (a missing `then`
  breaches once `max` has passed by `as_of`); `not_while_open`: an `event` after `opened_by`
  and before the next `closed_by`. One row per journey and rule, at the first breaching event.
- fits: none of unknown touchpoint, unexpected transition, skipped touchpoint, wrong start,
  drop-off. Fitness: the share of journeys that fit, and the share of all events that lie in
  fitting journeys.
- in progress (right-censoring): not converted, and the last event lies within `timeout` of
  `as_of` (the log's last timestamp unless given). `timeout` defaults to the map's longest time
  frame (touchpoint frames, phase frames, `within` rules), else 30 days. A converted journey is
  never in progress. Conversion rates and leaks count closed journeys (converted + dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import polars as pl

from ...kernels.warm import warm_up
from ..errors import InputError
from ..log import CANONICAL, CASE, START, EventLog
from ..maps.designed import DesignedMap
from .assemble import assemble_comparison
from .cases import CaseFacts, first_per_case
from .comparison import Comparison
from .deviations import MapCodes, replay_log
from .satisfaction import satisfaction_curve
from .windows import measure_windows

DEFAULT_TIMEOUT = timedelta(days=30)


def compare_to_map(
    log: EventLog,
    designed: DesignedMap,
    *,
    segment: str | None = None,
    value_attribute: str | None = "order_value",
    score_attribute: str | None = "csat",
    as_of: datetime | None = None,
    timeout: timedelta | None = None,
    top_paths: int = 20,
    examples: int = 3,
) -> Comparison:
    """Compare every journey of `log` with `designed` (semantics: this module's docstring).

    A value or score attribute the log lacks is ignored; a segment attribute it lacks is an
    error. `as_of` defaults to the log's last timestamp, `timeout` to `default_timeout`.
    """
    frame = log.frame
    check_segment(segment, frame.columns)
    with ThreadPoolExecutor(max_workers=1) as side:
        # Two lanes for two cores (kernels, numpy and polars release the GIL), each side task
        # submitted once its inputs exist. While this lane encodes the log, the side lane
        # loads the kernels from numba's cache (a fresh process: ~0.5 s) and measures
        # satisfaction; while this lane replays the variants, it measures time frames and
        # values and names the cases (`assemble_comparison` goes on the same way). Results are
        # the same as one lane's: every task is a pure function of its inputs.
        loading = side.submit(warm_up)
        scoring = side.submit(satisfaction_curve, frame, designed, score_attribute)
        enc = log.encoded
        loading.result()
        end = _as_of(log, as_of)
        timeout = timeout if timeout is not None else default_timeout(designed)
        as_of_us = epoch_us(end) if end is not None else 0
        codes = MapCodes(designed, enc.activities)
        measuring = side.submit(measure_windows, enc, codes, as_of_us)
        valuing = side.submit(first_per_case, frame, enc, value_attribute, pl.Float64)
        naming = side.submit(frame.get_column(CASE).gather, enc.offsets[:-1])
        timeout_us = timeout // timedelta(microseconds=1)
        facts = CaseFacts.of(enc, codes.goal, as_of_us, timeout_us)
        replayed = replay_log(enc, codes)
        segments = first_per_case(frame, enc, segment, pl.String)
        return assemble_comparison(
            codes,
            enc.channels,
            replayed,
            measuring.result(),
            facts,
            naming.result(),
            valuing.result(),
            segments,
            scoring.result(),
            side=side,
            end=end,
            timeout=timeout,
            segment=segment,
            value_attribute=value_attribute if value_attribute in frame.columns else None,
            top_paths=top_paths,
            examples=examples,
        )


def check_segment(segment: str | None, columns: Sequence[str]) -> None:
    """An error naming the log's attributes when `segment` is not one of its `columns`."""
    if segment is not None and segment not in columns:
        attributes = [c for c in columns if c not in CANONICAL and c != START]
        raise InputError(
            f"the segment attribute {segment!r} is not in the log",
            column=segment,
            expected="one of " + ", ".join(attributes or ["(no attributes)"]),
        )


def default_timeout(designed: DesignedMap) -> timedelta:
    """Idle time after which an unconverted journey has dropped off: the map's longest time
    frame (touchpoint frames, phase frames, `within` rules), else 30 days."""
    frames = [t.max for t in designed.time_frames]
    frames += [p.max for p in designed.phases if p.max is not None]
    frames += [r.max for r in designed.rules if r.kind == "within" and r.max is not None]
    return max(frames, default=DEFAULT_TIMEOUT)


def _as_of(log: EventLog, as_of: datetime | None) -> datetime | None:
    return as_of_moment(as_of, log.time_range()[1] if as_of is None else None)


def as_of_moment(as_of: datetime | None, last: object) -> datetime | None:
    """The right-censoring point: `as_of` (naive: UTC), else the log's `last` timestamp."""
    if as_of is None:
        return last if isinstance(last, datetime) else None
    return as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)


def epoch_us(moment: datetime) -> int:
    """Microseconds since 1970 of an aware `moment`."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
