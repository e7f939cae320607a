"""A log compared with a designed map, as a result: per journey and aggregated (`Comparison`),
with its fitness and log totals. `to_map.compare_to_map` computes it; the semantics are there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from ..files import atomic_write_parquet
from ..log import CASE
from .deviation_rows import DEVIATION_SCHEMA
from .effort import Effort
from .funnel import SegmentSplit
from .satisfaction import Satisfaction

INLINE_CASES = 10_000


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


@dataclass(frozen=True)
class Totals:
    """The log's own headline counts (every journey, not a funnel row): the one source the page,
    the CLI and the API read "N journeys, M still in progress, X% conversion" from."""

    journeys: int
    closed: int  # converted or dropped
    in_progress: int  # right-censored: neither converted nor dropped yet
    converted: int
    dropped: int
    conversion_rate: float | None  # converted / closed

    @classmethod
    def of(cls, cases: pl.DataFrame) -> Totals:
        """Sum the per-journey frame's verdicts."""
        in_progress = int(cases.get_column("in_progress").sum())
        converted = int(cases.get_column("converted").sum())  # a converted journey is closed
        closed = cases.height - in_progress
        return cls(
            journeys=cases.height,
            closed=closed,
            in_progress=in_progress,
            converted=converted,
            dropped=int(cases.get_column("dropped").sum()),
            conversion_rate=converted / closed if closed else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"journeys", "closed", "in_progress", "converted", "dropped", ...}."""
        return dict(self.__dict__)


class BuiltOnce:
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
    priorities: pl.DataFrame  # rank, kind, type, ..., title, aspects, journeys, impact, ...
    by_segment: SegmentSplit | None
    _deviations: BuiltOnce = field(repr=False, compare=False)
    # Deviations whose journeys convert better than the rest (`priorities`' schema, by gain).
    better_than_designed: pl.DataFrame = field(default_factory=pl.DataFrame)
    # Deviations every journey showed only after converting (a late delivery): not ranked.
    after_goal: pl.DataFrame = field(default_factory=pl.DataFrame)
    value_attribute: str | None = None  # the case attribute value at risk is counted in
    mean_value: float | None = None  # its mean over converted journeys (fills missing values)

    @property
    def totals(self) -> Totals:
        """Journeys, closed, in progress, converted and dropped over the whole (filtered) log."""
        return Totals.of(self.cases)

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
        None when no path was given. The key "hidden_journeys" is added by `miner.compare.hidden`.
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
            "totals": self.totals.to_dict(),
            # What value at risk and impact count in: the attribute's own unit (null: no
            # value in the log, so impact counts conversions instead).
            "value": {
                "attribute": self.value_attribute if self.mean_value is not None else None,
                "mean_converted": self.mean_value,
                "impact_unit": self.value_attribute
                if self.mean_value is not None
                else "conversions",
            },
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
            "priorities": self.priorities.drop("journey_set").to_dicts(),
            "better_than_designed": self.better_than_designed.drop("journey_set").to_dicts(),
            "after_goal": self.after_goal.drop("journey_set").to_dicts(),
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
