"""Comparison of the real journeys with a designed map: deviations, fitness, leaks, time frames.

Each *variant* is replayed once (`miner.compare.deviations`, `kernels.replay`) over the map's
transition matrix; its cases inherit the verdict through a gather. Timestamps give the
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

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial

import numpy as np
import polars as pl

from ...kernels.warm import warm_up
from ..errors import InputError
from ..log import CASE, EncodedLog, EventLog
from ..maps.designed import DesignedMap
from .cases import PerCase, cases_frame, first_per_case, leak_table
from .comparison import BuiltOnce, Comparison, Fitness
from .deviation_rows import deviation_tables, journey_deviations
from .deviations import MapCodes, Replayed, replay_log
from .effort import effort_counts
from .funnel import funnel_counts, rules_summary, segment_split
from .priorities import rank_priorities
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
    if segment is not None and segment not in frame.columns:
        raise InputError(
            f"the segment attribute {segment!r} is not in the log",
            column=segment,
            expected="one of " + ", ".join(log.attributes or ["(no attributes)"]),
        )
    with ThreadPoolExecutor(max_workers=1) as side:
        # Two lanes for two cores (kernels, numpy and polars release the GIL), each side task
        # submitted once its inputs exist. While this lane encodes the log, the side lane
        # loads the kernels from numba's cache (a fresh process: ~0.5 s) and measures
        # satisfaction; while this lane replays the variants, it measures time frames and
        # values and names the cases; while this lane builds the per-journey frame, it
        # groups the deviations and sums effort and leak points. Results are the same as
        # one lane's: every task is a pure function of its inputs.
        loading = side.submit(warm_up)
        scoring = side.submit(satisfaction_curve, frame, designed, score_attribute)
        enc = log.encoded
        loading.result()
        end = _as_of(log, as_of)
        timeout = timeout if timeout is not None else default_timeout(designed)
        as_of_us = _epoch_us(end) if end is not None else 0
        codes = MapCodes(designed, enc.activities)
        measuring = side.submit(measure_windows, enc, codes, as_of_us)
        valuing = side.submit(first_per_case, frame, enc, value_attribute, pl.Float64)
        naming = side.submit(frame.get_column(CASE).gather, enc.offsets[:-1])
        replayed = replay_log(enc, codes)
        windows = measuring.result()
        pc = PerCase.of(enc, replayed, windows, as_of_us, timeout // timedelta(microseconds=1))
        # Overdue counts journeys still waiting: right-censoring decides which those are.
        windows = windows.still_open(pc.in_progress)
        framing = side.submit(windows.frame_summary)
        case_ids = naming.result()
        grouping = side.submit(deviation_tables, replayed, windows, pc, codes, case_ids, examples)
        efforts = side.submit(
            effort_counts,
            pc.converted,
            pc.in_progress,
            pc.goal,
            pc.n_events,
            pc.before,
            pc.switches,
        )
        values = valuing.result()
        mean_value = values.filter(pl.Series(pc.converted)).mean()
        mean_value = float(mean_value) if mean_value is not None else None  # type: ignore[arg-type]
        leaking = side.submit(
            leak_table, enc, codes, replayed, pc, values, case_ids, mean_value, examples
        )
        cases = cases_frame(enc, codes, replayed, pc, case_ids).with_columns(
            first_per_case(frame, enc, segment, pl.String).alias("segment"),
            values.alias("value"),
        )
        phases = [p.id for p in designed.phases]
        leaks = leaking.result()
        split = None
        if segment is not None:
            frames = windows.frames
            segments = cases.get_column("segment").gather(frames.get_column("_case"))
            split = segment_split(
                segment,
                cases,
                frames.with_columns(segments),
                windows.frame_specs,
                replayed.variant_acts,
                phases,
                mean_value,
            )
        closed = ~pc.in_progress
        deviation_summary, grouped = grouping.result()
        ranked = rank_priorities(
            grouped, leaks, mean_value, int(closed.sum()), int((pc.converted & closed).sum())
        )
        return Comparison(
            map_name=designed.name,
            map_version=designed.version,
            as_of=end,
            timeout=timeout,
            segment=segment,
            cases=cases,
            variants=replayed.variants,
            fitness=_fitness(cases),
            deviation_summary=deviation_summary,
            blank_spots=_blank_spots(designed, enc, codes, replayed),
            funnel=funnel_counts(
                phases,
                replayed.max_phase[pc.var],
                replayed.last_phase[pc.var],
                pc.converted,
                pc.in_progress,
                pc.dropped,
            ),
            leaks=leaks,
            time_frames=framing.result(),
            rules=rules_summary(windows.rules, windows.rule_specs),
            paths=_paths(cases, replayed, pc, top_paths),
            effort=efforts.result(),
            satisfaction=scoring.result(),
            priorities=ranked.costs,
            by_segment=split,
            _deviations=BuiltOnce(
                partial(journey_deviations, enc, codes, replayed, windows, cases)
            ),
            better_than_designed=ranked.better_than_designed,
            after_goal=ranked.after_goal,
            value_attribute=value_attribute if value_attribute in frame.columns else None,
            mean_value=mean_value,
        )


def default_timeout(designed: DesignedMap) -> timedelta:
    """Idle time after which an unconverted journey has dropped off: the map's longest time
    frame (touchpoint frames, phase frames, `within` rules), else 30 days."""
    frames = [t.max for t in designed.time_frames]
    frames += [p.max for p in designed.phases if p.max is not None]
    frames += [r.max for r in designed.rules if r.kind == "within" and r.max is not None]
    return max(frames, default=DEFAULT_TIMEOUT)


def _as_of(log: EventLog, as_of: datetime | None) -> datetime | None:
    if as_of is None:
        last = log.time_range()[1]
        return last if isinstance(last, datetime) else None
    return as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)


def _epoch_us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


# -- summaries ------------------------------------------------------------------------------
def _fitness(cases: pl.DataFrame) -> Fitness:
    fits = cases.get_column("fits")
    n_events = cases.get_column("n_events")
    total = int(n_events.sum())
    fitting_events = int(n_events.filter(fits).sum())
    return Fitness(
        cases=float(fits.mean()) if cases.height else 1.0,  # type: ignore[arg-type]
        events=fitting_events / total if total else 1.0,
        fitting_cases=int(fits.sum()),
        n_cases=cases.height,
        fitting_events=fitting_events,
        n_events=total,
    )


def _blank_spots(
    designed: DesignedMap, enc: EncodedLog, codes: MapCodes, rp: Replayed
) -> pl.DataFrame:
    """Observable touchpoints the log never shows, and designed flows it never walks."""
    acts, list_offsets = rp.sequences
    inner = np.ones(acts.size, dtype=bool)  # False where a variant starts
    inner[list_offsets[:-1][np.diff(list_offsets) > 0]] = False
    width = max(codes.n_act, 1)
    pairs = acts[:-1][inner[1:]].astype(np.int64) * width + acts[1:][inner[1:]]
    seen = set(np.flatnonzero(np.bincount(pairs, minlength=1)).tolist())
    rank = {t.id: i for i, t in enumerate(designed.touchpoints)}
    shown = set(enc.activities)
    touchpoints = [t for t in designed.touchpoints if t.observable and t.id not in shown]
    flows = sorted(
        (
            (a, b)
            for a, b in designed.allowed
            if a in designed.observable
            and b in designed.observable
            and (
                codes.log_code(a) < 0
                or codes.log_code(b) < 0
                or codes.log_code(a) * width + codes.log_code(b) not in seen
            )
        ),
        key=lambda f: (rank[f[0]], rank[f[1]]),
    )
    return pl.DataFrame(
        {
            "kind": ["touchpoint"] * len(touchpoints) + ["flow"] * len(flows),
            "touchpoint": [t.id for t in touchpoints] + [None] * len(flows),
            "from": [None] * len(touchpoints) + [a for a, _ in flows],
            "to": [None] * len(touchpoints) + [b for _, b in flows],
            "phase": [t.phase for t in touchpoints]
            + [designed.touchpoint_index[a].phase for a, _ in flows],
        },
        schema={k_: pl.String for k_ in ("kind", "touchpoint", "from", "to", "phase")},
    )


def _paths(cases: pl.DataFrame, rp: Replayed, pc: PerCase, top: int) -> pl.DataFrame:
    """Conversion of the `top` most frequent variants (ids are sorted by count)."""
    variants = rp.variants
    k_var = rp.rep.size
    per = pl.DataFrame(
        {
            "variant": np.arange(k_var, dtype=np.int64),
            "closed": np.bincount(pc.var[~pc.in_progress], minlength=k_var),
            "converted": np.bincount(pc.var[pc.converted], minlength=k_var),
            "in_progress": np.bincount(pc.var[pc.in_progress], minlength=k_var),
        },
        schema={c: pl.Int64 for c in ("variant", "closed", "converted", "in_progress")},
    )
    return (
        variants.head(top)
        .drop("converted")
        .join(per, on="variant", how="left", maintain_order="left")
        .select(
            "variant",
            "activities",
            pl.col("count").alias("journeys"),
            (pl.col("count") / max(cases.height, 1)).alias("share"),
            "closed",
            "converted",
            "in_progress",
            pl.when(pl.col("closed") > 0)
            .then(pl.col("converted") / pl.col("closed"))
            .alias("conversion_rate"),
            "fits_path",
            "signature",
        )
    )
