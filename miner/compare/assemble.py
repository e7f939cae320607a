"""A comparison finished from its per-journey inputs: what `compare_to_map` (the whole log) and
`miner.engine.comparison.compare_parts` (a log's partitions) share once every journey has its
facts, its variant's replay and its windows, in log order.

Everything from here on is a function of those arrays and frames, so the two entry points give
the same `Comparison`, bit for bit, when they hand over the same inputs.
"""

from __future__ import annotations

from concurrent.futures import Executor
from datetime import datetime, timedelta
from functools import partial

import numpy as np
import polars as pl

from ..maps.designed import DesignedMap
from .cases import CaseFacts, PerCase, cases_frame, leak_table
from .comparison import BuiltOnce, Comparison, Fitness
from .deviation_rows import deviation_tables, journey_deviations
from .deviations import MapCodes, Replayed
from .effort import effort_counts
from .funnel import funnel_counts, rules_summary, segment_split
from .priorities import rank_priorities
from .satisfaction import Satisfaction
from .windows import Windows


def assemble_comparison(
    codes: MapCodes,
    channels: tuple[str, ...],
    replayed: Replayed,
    windows: Windows,
    facts: CaseFacts,
    case_ids: pl.Series,
    values: pl.Series,
    segments: pl.Series,
    satisfaction: Satisfaction | None,
    *,
    side: Executor,
    end: datetime | None,
    timeout: timedelta,
    segment: str | None,
    value_attribute: str | None,
    top_paths: int,
    examples: int,
) -> Comparison:
    """The `Comparison` of journeys given per journey, in log order: their facts, variants
    (`replayed.var`), windows (measured at `end`), ids, first values (`values`, Float64) and
    segments (String); `channels` names the channel codes. `side` runs a second lane: the
    deviation tables, effort and leaks there while this lane builds the per-journey frame."""
    designed = codes.designed
    pc = PerCase.judge(facts, replayed, windows.bits)
    # Overdue counts journeys still waiting: right-censoring decides which those are.
    windows = windows.still_open(pc.in_progress)
    framing = side.submit(windows.frame_summary)
    grouping = side.submit(deviation_tables, replayed, windows, pc, codes, case_ids, examples)
    efforts = side.submit(
        effort_counts, pc.converted, pc.in_progress, pc.goal, pc.n_events, pc.before, pc.switches
    )
    mean_value = values.filter(pl.Series(pc.converted)).mean()
    mean_value = float(mean_value) if mean_value is not None else None  # type: ignore[arg-type]
    leaking = side.submit(leak_table, codes, replayed, pc, values, case_ids, mean_value, examples)
    cases = cases_frame(channels, codes, replayed, pc, case_ids).with_columns(
        segments.alias("segment"), values.alias("value")
    )
    phases = [p.id for p in designed.phases]
    leaks = leaking.result()
    split = None
    if segment is not None:
        frames = windows.frames
        in_frames = cases.get_column("segment").gather(frames.get_column("_case"))
        split = segment_split(
            segment,
            cases,
            frames.with_columns(in_frames),
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
        blank_spots=_blank_spots(designed, codes, replayed),
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
        satisfaction=satisfaction,
        priorities=ranked.costs,
        by_segment=split,
        _deviations=BuiltOnce(partial(journey_deviations, codes, replayed, pc, windows, cases)),
        better_than_designed=ranked.better_than_designed,
        after_goal=ranked.after_goal,
        value_attribute=value_attribute,
        mean_value=mean_value,
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


def _blank_spots(designed: DesignedMap, codes: MapCodes, rp: Replayed) -> pl.DataFrame:
    """Observable touchpoints the log never shows, and designed flows it never walks."""
    acts, list_offsets = rp.sequences
    inner = np.ones(acts.size, dtype=bool)  # False where a variant starts
    inner[list_offsets[:-1][np.diff(list_offsets) > 0]] = False
    width = max(codes.n_act, 1)
    pairs = acts[:-1][inner[1:]].astype(np.int64) * width + acts[1:][inner[1:]]
    seen = set(np.flatnonzero(np.bincount(pairs, minlength=1)).tolist())
    rank = {t.id: i for i, t in enumerate(designed.touchpoints)}
    # The activities the journeys show (the dictionary may hold more: a filtered partition's
    # is the whole log's).
    shown = {codes.names[c] for c in np.unique(acts).tolist() if c < codes.n_act}
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
