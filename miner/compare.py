"""Comparison of the real journeys with a designed map: deviations, fitness, leaks, time frames.

Each *variant* is replayed once (`miner.deviations`, `kernels.replay`) over the map's
transition matrix; its cases inherit the verdict through a gather. Timestamps give the
case-level parts (`miner.windows`): time frames, rules, drop-off vs in progress. Semantics:

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
  `time_frames` when `max` had passed by `as_of`. Phase frame: first to last event in the
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

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..kernels import replay as k
from .designed import DesignedMap
from .deviations import (
    FIT_BREAKERS,
    FIT_MASK,
    TYPES,
    MapCodes,
    Replayed,
    gather_or_null,
    list_series,
    rep_events,
    replay_log,
    small_unique,
    type_lists,
)
from .errors import InputError
from .funnel import (
    Effort,
    Satisfaction,
    SegmentSplit,
    effort_before_goal,
    funnel_counts,
    leak_points,
    rank_priorities,
    rules_summary,
    satisfaction_curve,
    segment_split,
    time_frames_summary,
)
from .log import CASE, EncodedLog, EventLog, atomic_write_parquet
from .windows import Windows, measure_windows

DEFAULT_TIMEOUT = timedelta(days=30)
INLINE_CASES = 10_000
US = 1_000_000
DEVIATION_SCHEMA: dict[str, Any] = {
    CASE: pl.String,
    "type": pl.String,
    "position": pl.Int64,
    "touchpoint": pl.String,
    "from": pl.String,
    "to": pl.String,
    "phase": pl.String,
    "detail": pl.String,
}


@dataclass(frozen=True)
class Fitness:
    """Share of journeys that fit the map, and share of events that lie in fitting journeys."""

    cases: float
    events: float
    fitting_cases: int
    n_cases: int
    fitting_events: int
    n_events: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"cases", "events", "fitting_cases", "n_cases", ...}."""
        return dict(self.__dict__)


class _Once:
    """A value built on first use by `build`, then kept (thread-safe; the builder is dropped)."""

    def __init__(self, build: Callable[[], pl.DataFrame]) -> None:
        self._build: Callable[[], pl.DataFrame] | None = build
        self._value: pl.DataFrame | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:  # pickles as the built value
        return {"value": self.get()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._build, self._value, self._lock = None, state["value"], threading.Lock()

    def get(self) -> pl.DataFrame:
        with self._lock:
            if self._value is None:
                assert self._build is not None
                self._value = self._build()
                self._build = None
            return self._value


@dataclass(frozen=True)
class Comparison:
    """A log compared with a designed map: per journey, and aggregated from the journeys.

    `cases` columns: case_id, variant (ids of `discover_variants`), fits, converted,
    in_progress, dropped, signature, deviation_types, start, end, duration_s, n_events,
    channels, channel_switches, goal_position and switches_before_goal (events and channel
    switches before the first goal event; null unless converted), furthest_phase, last_phase
    (of the last mapped touchpoint), leak_touchpoint and leak_phase (dropped journeys only),
    segment (first non-null value of the segment attribute), value (first non-null value).
    `deviations` (one row per deviation of each journey) is built on first access.
    """

    map_name: str
    map_version: str
    as_of: datetime | None  # the right-censoring point (None for an empty log)
    timeout: timedelta  # idle time after which a journey without the goal has dropped off
    segment: str | None
    cases: pl.DataFrame  # one row per journey (columns above)
    variants: pl.DataFrame  # variant, activities, count, fits_path, converted, signature, types
    fitness: Fitness
    deviation_summary: pl.DataFrame  # type, journeys, share, occurrences
    blank_spots: pl.DataFrame  # kind ("touchpoint" | "flow"), touchpoint, from, to, phase
    funnel: pl.DataFrame  # phase, reached, converted, closed, dropped, in_progress, rates
    leaks: pl.DataFrame  # touchpoint, phase, journeys, shares, pass_conversion, value_at_risk
    time_frames: pl.DataFrame  # frame, from, to, phase, max_s, applicable, ..., breach_rate
    rules: pl.DataFrame  # rule, kind, max_s, applicable, breached, occurrences, breach_rate
    paths: pl.DataFrame  # the top variants with their conversion
    effort: Effort
    satisfaction: Satisfaction | None
    priorities: pl.DataFrame  # rank, kind, type, ..., title, journeys, gap, impact, examples
    by_segment: SegmentSplit | None
    _deviations: _Once = field(repr=False, compare=False)

    @property
    def deviations(self) -> pl.DataFrame:
        """case_id, type, position, touchpoint, from, to, phase, detail: every journey's
        deviations in order (its variant's, then time frames, rules, drop-off); built once."""
        return self._deviations.get()

    @property
    def frame(self) -> pl.DataFrame:
        """The per-journey frame."""
        return self.cases

    def write_cases(self, path: str | Path) -> Path:
        """Write every journey's case_id, fits and deviations (list of structs) to Parquet."""
        return atomic_write_parquet(self.case_deviations(), path)

    def to_dict(
        self, *, cases_path: str | Path | None = None, inline_cases: int = INLINE_CASES
    ) -> dict[str, Any]:
        """JSON-ready result for `journeyminer compare --json`.

        "cases" maps case_id -> {"fits", "deviations"} for at most `inline_cases` journeys;
        above that it is the path of the Parquet file `write_cases` wrote to `cases_path`, or
        None when no path was given. The key "hidden_journeys" is added by `miner.hidden`.
        """
        cases: dict[str, Any] | str | None = None
        if self.cases.height <= inline_cases:
            cases = {}
            for case_id, fits, devs in self.case_deviations().iter_rows():
                shown = [{key: v for key, v in d.items() if v is not None} for d in devs]
                cases[case_id] = {"fits": fits, "deviations": shown}
        elif cases_path is not None:
            cases = str(self.write_cases(cases_path))
        return {
            "map": {"name": self.map_name, "version": self.map_version},
            "as_of": self.as_of.isoformat() if self.as_of is not None else None,
            "timeout_s": self.timeout.total_seconds(),
            "segment": self.segment,
            "fitness": self.fitness.to_dict(),
            "cases": cases,
            "deviations": self.deviation_summary.to_dicts(),
            "blank_spots": self.blank_spots.to_dicts(),
            "funnel": self.funnel.to_dicts(),
            "leaks": self.leaks.to_dicts(),
            "time_frames": self.time_frames.to_dicts(),
            "rules": self.rules.to_dicts(),
            "paths": self.paths.to_dicts(),
            "effort": self.effort.to_dict(),
            "satisfaction": self.satisfaction.to_dict() if self.satisfaction else None,
            "priorities": self.priorities.to_dicts(),
            "by_segment": self.by_segment.to_dict() if self.by_segment else None,
        }

    def case_deviations(self) -> pl.DataFrame:
        """One row per journey: case_id, fits, deviations (a list of structs, in order)."""
        fields = [c for c in DEVIATION_SCHEMA if c != CASE]
        per_case = self.deviations.group_by(CASE, maintain_order=True).agg(
            pl.struct(*fields).alias("deviations")
        )
        empty = pl.lit([], dtype=per_case.schema["deviations"])
        return (
            self.cases.select(CASE, "fits")
            .join(per_case, on=CASE, how="left", maintain_order="left")
            .with_columns(pl.col("deviations").fill_null(empty))
        )


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
    enc = log.encoded
    end = _as_of(log, as_of)
    timeout = timeout if timeout is not None else default_timeout(designed)
    as_of_us = _epoch_us(end) if end is not None else 0
    codes = MapCodes(designed, enc.activities)
    replayed = replay_log(enc, codes)
    windows = measure_windows(enc, codes, as_of_us)
    pc = _PerCase.of(enc, replayed, windows, as_of_us, timeout // timedelta(microseconds=1))
    cases = _cases(log, codes, replayed, pc)
    cases = cases.with_columns(
        _first_per_case(frame, enc, segment, pl.String).alias("segment"),
        _first_per_case(frame, enc, value_attribute, pl.Float64).alias("value"),
    )
    mean_value = cases.get_column("value").filter(cases.get_column("converted")).mean()
    mean_value = float(mean_value) if mean_value is not None else None  # type: ignore[arg-type]
    phases = [p.id for p in designed.phases]
    leaks = leak_points(
        cases,
        replayed.variant_acts,
        mean_value,
        [],
        examples=examples,
        through=_through(codes, replayed, pc),
    )
    split = None
    if segment is not None:
        win = windows.frames.with_columns(
            cases.get_column("segment").gather(windows.frames.get_column("_case"))
        )
        split = segment_split(
            segment, cases, win, windows.frame_specs, replayed.variant_acts, phases, mean_value
        )
    rows = _DeviationRows.of(replayed, windows, pc)
    closed = ~pc.in_progress
    return Comparison(
        map_name=designed.name,
        map_version=designed.version,
        as_of=end,
        timeout=timeout,
        segment=segment,
        cases=cases,
        variants=replayed.variants,
        fitness=_fitness(cases),
        deviation_summary=rows.summary(enc.n_cases),
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
        time_frames=time_frames_summary(windows.frames, windows.frame_specs, []),
        rules=rules_summary(windows.rules, windows.rule_specs),
        paths=_paths(cases, replayed, pc, top_paths),
        effort=effort_before_goal(cases),
        satisfaction=satisfaction_curve(frame, designed, score_attribute),
        priorities=rank_priorities(
            rows.grouped(codes, cases.get_column(CASE), examples),
            leaks,
            mean_value,
            int(closed.sum()),
            int((pc.converted & closed).sum()),
        ),
        by_segment=split,
        _deviations=_Once(partial(_deviations, enc, codes, replayed, windows, cases)),
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


# -- per journey ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _PerCase:
    """The per-journey verdicts as numpy arrays, each [n_cases]."""

    var: np.ndarray  # int64 variant id
    goal: np.ndarray  # int64 position of the first goal event, -1
    converted: np.ndarray  # bool
    in_progress: np.ndarray  # bool
    dropped: np.ndarray  # bool
    masks: np.ndarray  # int64 bit (1 << type) per deviation type

    @classmethod
    def of(
        cls, enc: EncodedLog, rp: Replayed, win: Windows, as_of_us: int, timeout_us: int
    ) -> _PerCase:
        var = rp.var
        end_us = enc.ts[enc.offsets[1:] - 1]
        goal = rp.goal_pos[var]
        converted = goal >= 0
        in_progress = ~converted & (as_of_us - end_us <= timeout_us)
        dropped = ~converted & ~in_progress
        masks = rp.flags[var] | win.bits | np.where(dropped, 1 << k.DROP_OFF, 0)
        return cls(var, goal, converted, in_progress, dropped, masks)


def _cases(log: EventLog, codes: MapCodes, rp: Replayed, pc: _PerCase) -> pl.DataFrame:
    enc = log.encoded
    var = pc.var
    first, last = enc.offsets[:-1], enc.offsets[1:] - 1
    start_us, end_us = enc.ts[first], enc.ts[last]
    goal, converted, masks = pc.goal, pc.converted, pc.masks
    fits = (masks & FIT_MASK) == 0
    low, high, switches, before = k.case_channels(enc.offsets, enc.channel, goal)
    last_phase = codes.decode_phase(rp.last_phase[var])
    no = pl.Series(~pc.dropped)
    return pl.DataFrame(
        {
            CASE: log.frame.get_column(CASE).gather(first),
            "variant": var,
            "fits": fits,
            "converted": converted,
            "in_progress": pc.in_progress,
            "dropped": pc.dropped,
            "signature": rp.variants.get_column("signature").gather(var),
            "deviation_types": type_lists(masks),
            "start": pl.Series(start_us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "end": pl.Series(end_us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "duration_s": (end_us - start_us) / US,
            "n_events": last - first + 1,
            "channels": _channel_lists(enc, low, high),
            "channel_switches": switches,
            "goal_position": pl.Series(goal).set(pl.Series(~converted), None),
            "switches_before_goal": pl.Series(before).set(pl.Series(~converted), None),
            "furthest_phase": codes.decode_phase(rp.max_phase[var]),
            "last_phase": last_phase,
            "leak_touchpoint": codes.decode(enc.act[last]).set(no, None),
            "leak_phase": last_phase.set(no, None),
        },
        schema_overrides={"variant": pl.Int64, "n_events": pl.Int64},
    )


def _channel_lists(enc: EncodedLog, low: np.ndarray, high: np.ndarray) -> pl.Series:
    # Sorted channel names per case; built once per distinct channel set, then gathered.
    if high.any():  # more than 64 channels: rare, and a 2-d unique is slower
        sets, inverse = np.unique(np.stack([low, high], axis=1), axis=0, return_inverse=True)
    else:
        distinct, inverse = small_unique(low)
        sets = np.stack([distinct, np.zeros_like(distinct)], axis=1)
    names = enc.channels
    lists = [
        [names[i] for i in range(len(names)) if int(sets[s, i // 64]) >> (i % 64) & 1]
        for s in range(sets.shape[0])
    ]
    return pl.Series(lists, dtype=pl.List(pl.String)).gather(inverse.ravel())


def _through(codes: MapCodes, rp: Replayed, pc: _PerCase) -> pl.DataFrame:
    """Per activity: closed journeys that show it (through) and the converted among them."""
    k_var = rp.rep.size
    closed = ~pc.in_progress
    n = np.bincount(pc.var[closed], minlength=k_var)[rp.variant_act_codes[0]]
    conv = np.bincount(pc.var[pc.converted & closed], minlength=k_var)[rp.variant_act_codes[0]]
    act = rp.variant_act_codes[1]
    through = np.bincount(act, weights=n, minlength=codes.n_act).astype(np.int64)
    shown = np.flatnonzero(through > 0)
    return pl.DataFrame(
        {
            "touchpoint": codes.decode(shown),
            "through": through[shown],
            "conv": np.bincount(act, weights=conv, minlength=codes.n_act).astype(np.int64)[shown],
        },
        schema={"touchpoint": pl.String, "through": pl.Int64, "conv": pl.Int64},
    )


def _first_per_case(
    frame: pl.DataFrame, enc: EncodedLog, column: str | None, dtype: type[pl.DataType]
) -> pl.Series:
    """The first non-null value of `column` in each case; all null without the column."""
    n = enc.n_cases
    if column is None or column not in frame.columns:
        return pl.Series([None] * n, dtype=dtype)
    values = frame.get_column(column)
    if dtype == pl.Float64 and not values.dtype.is_numeric():
        raise InputError(
            f"the value attribute {column!r} is not numeric",
            column=column,
            expected="a numeric column such as order_value",
            found=str(values.dtype),
        )
    present = values.is_not_null().arg_true().to_numpy().astype(np.int64)
    case = np.searchsorted(enc.offsets, present, side="right") - 1
    first = np.full(n, -1, dtype=np.int64)
    new = np.ones(case.size, dtype=bool)  # `case` ascends: keep where it changes
    new[1:] = case[1:] != case[:-1]
    first[case[new]] = present[new]
    return gather_or_null(values.cast(dtype), first)


def _deviations(
    enc: EncodedLog, codes: MapCodes, rp: Replayed, win: Windows, cases: pl.DataFrame
) -> pl.DataFrame:
    """Every journey's deviations: its variant's records, then time frames, rules, drop-off."""
    rec = rp.records
    n_rec = np.bincount(rec.get_column("unit").to_numpy(), minlength=rp.rep.size)
    rec_start = np.cumsum(n_rec) - n_rec
    count = n_rec[rp.var]
    row_start = np.cumsum(count) - count
    rows = np.repeat(rec_start[rp.var] - row_start, count) + np.arange(count.sum())
    inherited = rec.select(pl.all().gather(rows)).with_columns(
        unit=pl.Series(np.repeat(np.arange(rp.var.size, dtype=np.int64), count))
    )
    dropped = np.flatnonzero(cases.get_column("dropped").to_numpy())
    n_events = cases.get_column("n_events").to_numpy()
    last_phase = rp.last_phase[rp.var]
    ends = np.cumsum(n_events) - 1
    leaks = pl.DataFrame(
        {
            "unit": dropped,
            "position": n_events[dropped] - 1,
            "type": np.full(dropped.size, k.DROP_OFF),
            "touchpoint": enc.act[ends[dropped]],
            "from": np.full(dropped.size, -1),
            "to": np.full(dropped.size, -1),
            "phase": last_phase[dropped],
            "detail": pl.Series([None] * dropped.size, dtype=pl.String),
        },
        schema=rec.schema,
    )
    every = pl.concat([inherited, win.records, leaks]).sort(
        "unit", "position", "type", maintain_order=True
    )
    unit = every.get_column("unit").to_numpy()
    return pl.DataFrame(
        {
            CASE: cases.get_column(CASE).gather(unit),
            "type": pl.Series(TYPES, dtype=pl.String).gather(every.get_column("type")),
            "position": every.get_column("position"),
            "touchpoint": codes.decode(every.get_column("touchpoint")),
            "from": codes.decode(every.get_column("from")),
            "to": codes.decode(every.get_column("to")),
            "phase": codes.decode_phase(every.get_column("phase")),
            "detail": every.get_column("detail"),
        },
        schema=DEVIATION_SCHEMA,
    )


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


_CODE_COLUMNS = ("type", "touchpoint", "from", "to", "phase")


@dataclass(frozen=True, eq=False)
class _DeviationRows:
    """The rows of `Comparison.deviations` except drop-offs, without repeating them per journey.

    A variant's records stand once for all its journeys (group = variant id); time-frame and
    rule records for their journey alone (group = n_variants + case index). Arrays [r] in extended
    codes, ordered as the rows first appear in the per-journey frame: by (first journey of the
    group, position, type, variant records before case records, record order).
    """

    codes: dict[str, np.ndarray]  # type, touchpoint, from, to, phase
    group: np.ndarray  # int64
    size: np.ndarray  # int64 journeys in the group
    closed: np.ndarray  # int64 closed journeys in the group
    converted: np.ndarray  # int64 converted (closed) journeys in the group
    var: np.ndarray  # int64[n_cases]: variant of each case
    variant_size: np.ndarray  # int64[n_variants]: journeys per variant
    n_variants: int
    n_dropped: int

    @classmethod
    def of(cls, rp: Replayed, win: Windows, pc: _PerCase) -> _DeviationRows:
        k_var = rp.rep.size
        closed = ~pc.in_progress
        size = np.bincount(pc.var, minlength=k_var)
        n_closed = np.bincount(pc.var[closed], minlength=k_var)
        n_conv = np.bincount(pc.var[pc.converted & closed], minlength=k_var)
        names = (*_CODE_COLUMNS, "position", "unit")
        v = {c: _int64(rp.records.get_column(c)) for c in names}
        w = {c: _int64(win.records.get_column(c)) for c in names}
        vu, wu = v["unit"], w["unit"]
        first = np.concatenate([rp.rep[vu], wu])
        position = np.concatenate([v["position"], w["position"]])
        typ = np.concatenate([v["type"], w["type"]])
        src = np.concatenate([np.zeros(vu.size, np.int64), np.ones(wu.size, np.int64)])
        span = int(position.max()) + 1 if position.size else 1
        if (pc.var.size + 1) * span * k.N_TYPES * 2 < 1 << 62:  # one packed key, stable sort
            packed = ((first * span + position) * k.N_TYPES + typ) * 2 + src
            order = np.argsort(packed, kind="stable")
        else:
            idx = np.concatenate([np.arange(vu.size), np.arange(wu.size)])
            order = np.lexsort((idx, src, typ, position, first))
        return cls(
            codes={c: np.concatenate([v[c], w[c]])[order] for c in _CODE_COLUMNS},
            group=np.concatenate([vu, k_var + wu])[order],
            size=np.concatenate([size[vu], np.ones(wu.size, np.int64)])[order],
            closed=np.concatenate([n_closed[vu], closed[wu].astype(np.int64)])[order],
            converted=np.concatenate([n_conv[vu], (pc.converted & closed)[wu].astype(np.int64)])[
                order
            ],
            var=pc.var,
            variant_size=size,
            n_variants=k_var,
            n_dropped=int(pc.dropped.sum()),
        )

    def summary(self, n_cases: int) -> pl.DataFrame:
        """Per deviation type: journeys with it, their share, and occurrences (rows)."""
        typ = self.codes["type"]
        variant = self.group < self.n_variants
        seen = np.zeros((self.n_variants, k.N_TYPES), dtype=bool)  # (variant, type) pairs
        seen[self.group[variant], typ[variant]] = True
        journeys = (seen * self.variant_size[:, None]).sum(axis=0, dtype=np.int64)
        case_pairs = np.unique(self.group[~variant] * k.N_TYPES + typ[~variant])  # one per case
        journeys += np.bincount(case_pairs % k.N_TYPES, minlength=k.N_TYPES)
        occurrences = np.bincount(typ, weights=self.size, minlength=k.N_TYPES)
        journeys[k.DROP_OFF] += self.n_dropped
        occurrences[k.DROP_OFF] += self.n_dropped
        got = pl.DataFrame(
            {
                "type": list(TYPES),
                "journeys": journeys,
                "occurrences": occurrences.astype(np.int64),
            },
            schema={"type": pl.String, "journeys": pl.Int64, "occurrences": pl.Int64},
        )
        return got.select(
            "type",
            pl.col("journeys").alias("count"),
            (pl.col("journeys") / max(n_cases, 1)).alias("share"),
            "occurrences",
            pl.col("type").is_in(FIT_BREAKERS).alias("breaks_fit"),
        )

    def _key_ids(self, codes: MapCodes) -> tuple[np.ndarray, np.ndarray, int]:
        """Rows ordered by key (in order of first appearance), then by row: (key id of each,
        row indexes, number of keys)."""
        width = len(codes.names) + 1
        n_phase = len(codes.designed.phases) + 1
        if k.N_TYPES * width**3 * n_phase < 1 << 62:
            c = self.codes
            packed = c["type"] * width + c["touchpoint"] + 1
            for name, span in (("from", width), ("to", width), ("phase", n_phase)):
                packed = packed * span + c[name] + 1
            rows = np.argsort(packed, kind="stable")
            ordered = packed[rows]
            new = np.ones(rows.size, dtype=bool)
            new[1:] = ordered[1:] != ordered[:-1]
            run = np.cumsum(new) - 1  # id of each distinct key in key order
            rank = np.empty(int(new.sum()), dtype=np.int64)  # key order -> first-appearance
            rank[np.argsort(rows[new], kind="stable")] = np.arange(rank.size)
            gid = rank[run]
            by = np.argsort(gid, kind="stable")  # keys in order of first appearance
            return gid[by], rows[by], rank.size
        keys = pl.DataFrame({c: self.codes[c] for c in _CODE_COLUMNS})
        per = keys.with_row_index("_row").group_by(_CODE_COLUMNS, maintain_order=True).agg("_row")
        lengths = per.get_column("_row").list.len().to_numpy().astype(np.int64)
        rows = per.get_column("_row").explode().to_numpy().astype(np.int64)
        gid = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
        return gid, rows, lengths.size

    def grouped(self, codes: MapCodes, case_ids: pl.Series, examples: int) -> pl.DataFrame:
        """Per (type, touchpoint, from, to, phase) in order of first appearance: journeys,
        closed, converted and the first `examples` journeys' case ids, as `priorities` has."""
        r = self.group.size
        gid, rows, n_keys = self._key_ids(codes)
        group = self.group[rows]
        new = np.ones(r, dtype=bool)  # a group's rows of one key are adjacent: count it once
        new[1:] = (gid[1:] != gid[:-1]) | (group[1:] != group[:-1])
        lengths = np.bincount(gid, minlength=n_keys)

        def per_key(values: np.ndarray) -> np.ndarray:
            return np.bincount(gid, weights=values, minlength=n_keys).astype(np.int64)

        # Example journeys: the first `examples` of each group are enough, a row counting its
        # group's journeys once more (as the per-journey rows do); the smallest per key.
        e = max(examples, 0)
        first = k.first_cases(self.var, self.n_variants, e)
        smallest = k.smallest_cases(gid, group, first, self.n_variants, n_keys)
        kept = smallest >= 0
        offsets = np.zeros(n_keys + 1, dtype=np.int64)
        np.cumsum(kept.sum(axis=1), out=offsets[1:])
        cand = smallest[kept]
        head = rows[np.cumsum(lengths) - lengths] if n_keys else rows[:0]
        key = {c: self.codes[c][head] for c in _CODE_COLUMNS}
        return pl.DataFrame(
            {
                "type": pl.Series(TYPES, dtype=pl.String).gather(key["type"]),
                "touchpoint": codes.decode(key["touchpoint"]),
                "from": codes.decode(key["from"]),
                "to": codes.decode(key["to"]),
                "phase": codes.decode_phase(key["phase"]),
                "journeys": per_key(self.size[rows] * new),
                "closed": per_key(self.closed[rows]),
                "converted": per_key(self.converted[rows]),
                "examples": list_series(offsets, case_ids.gather(cand)),
            },
            schema={c: pl.String for c in _CODE_COLUMNS}
            | {c: pl.Int64 for c in ("journeys", "closed", "converted")}
            | {"examples": pl.List(pl.String)},
        )


def _int64(column: pl.Series) -> np.ndarray:
    return np.asarray(column.to_numpy(), dtype=np.int64)


def _blank_spots(
    designed: DesignedMap, enc: EncodedLog, codes: MapCodes, rp: Replayed
) -> pl.DataFrame:
    """Observable touchpoints the log never shows, and designed flows it never walks."""
    flat, list_offsets = rep_events(enc, rp.rep)
    inner = np.ones(flat.size, dtype=bool)
    inner[list_offsets[:-1][np.diff(list_offsets) > 0]] = False
    width = max(codes.n_act, 1)
    pairs = enc.act[flat[:-1]][inner[1:]].astype(np.int64) * width + enc.act[flat[1:]][inner[1:]]
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


def _paths(cases: pl.DataFrame, rp: Replayed, pc: _PerCase, top: int) -> pl.DataFrame:
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
