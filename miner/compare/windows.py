"""Time frames and rules of every journey, measured from its timestamps by kernels.

Breaches become deviation records in the extended codes of `miner.compare.deviations.MapCodes`;
the meaning of a breach is in `miner.compare.comparison`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from ...kernels import cases as kj
from ...kernels import replay as k
from ..durations import format_duration
from ..log import EncodedLog
from .deviations import RECORD_SCHEMA, US, MapCodes

WINDOW_SCHEMA = {
    "_case": pl.Int64,
    "frame": pl.String,
    "measured": pl.Boolean,
    "duration_s": pl.Float64,
    "breached": pl.Boolean,
    "overdue": pl.Boolean,
}
RULE_SCHEMA = {"_case": pl.Int64, "rule": pl.String, "kind": pl.String, "breaches": pl.Int64}


@dataclass(frozen=True, eq=False)
class FrameRows:
    """One time frame measured in the cases where it applies (its `from` happened): [m] each."""

    label: str
    case: np.ndarray  # int64 case index, ascending
    measured: np.ndarray  # bool: its `to` came
    duration_s: np.ndarray  # float64 seconds from `from` to `to`, NaN when not measured
    breached: np.ndarray  # bool
    overdue: np.ndarray  # bool: not measured, `max` had passed by as_of (and still open)


@dataclass(frozen=True, eq=False)
class Windows:
    """Time frames and rules measured per case."""

    frame_rows: list[FrameRows]  # one per row of frame_specs
    rules: pl.DataFrame  # RULE_SCHEMA: one row per (case, rule) where the rule applies
    records: pl.DataFrame  # RECORD_SCHEMA, unit = case index: breaches as deviations
    bits: np.ndarray  # int64[n_cases]: TIME_FRAME and RULE bits
    frame_specs: pl.DataFrame  # frame, from, to, phase, max_s: the map's frames in order
    rule_specs: pl.DataFrame  # rule, kind, max_s: the map's rules in order
    # Rows of `records` per time frame then per rule, and of `rules` per rule, in that order
    # (each block by case): how `gather_windows` lays partitions' rows out as one log's.
    record_blocks: tuple[int, ...] = ()
    rule_blocks: tuple[int, ...] = ()

    def still_open(self, in_progress: np.ndarray) -> Windows:
        """These windows with `overdue` kept only for journeys still in progress (bool[n_cases]):
        a journey that dropped off is no longer waiting for its `to`, it left."""
        rows = [replace(f, overdue=f.overdue & in_progress[f.case]) for f in self.frame_rows]
        return replace(self, frame_rows=rows)

    @property
    def frames(self) -> pl.DataFrame:
        """WINDOW_SCHEMA: one row per (case, frame) where the frame applies, frame by frame."""
        parts = [
            pl.DataFrame(
                {
                    "_case": f.case,
                    "frame": _repeat(f.label, f.case.size),
                    "measured": f.measured,
                    "duration_s": f.duration_s,
                    "breached": f.breached,
                    "overdue": f.overdue,
                },
                schema=WINDOW_SCHEMA,
            ).with_columns(pl.col("duration_s").fill_nan(None))
            for f in self.frame_rows
        ]
        return pl.concat([pl.DataFrame(schema=WINDOW_SCHEMA), *parts])

    def frame_summary(self) -> pl.DataFrame:
        """`funnel.time_frames_summary(self.frames, self.frame_specs, [])`, from the arrays:
        counts by numpy; median and p90 by the same polars group-by, keyed by frame number."""
        rows = self.frame_rows
        durations = pl.DataFrame(
            {
                "_frame": np.repeat(np.arange(len(rows)), [f.case.size for f in rows]),
                "duration_s": np.concatenate([np.zeros(0)] + [f.duration_s for f in rows]),
            },
            schema={"_frame": pl.Int64, "duration_s": pl.Float64},
        ).with_columns(pl.col("duration_s").fill_nan(None))
        spread = durations.group_by("_frame").agg(
            pl.col("duration_s").median().alias("median_s"),
            pl.col("duration_s").quantile(0.9, "linear").alias("p90_s"),
        )
        counts = pl.DataFrame(
            {
                "_frame": np.arange(len(rows)),
                "applicable": [f.case.size for f in rows],
                "measured": [int(f.measured.sum()) for f in rows],
                "breached": [int(f.breached.sum()) for f in rows],
                "overdue": [int(f.overdue.sum()) for f in rows],
            },
            schema={"_frame": pl.Int64} | {c: pl.Int64 for c in _FRAME_COUNTS},
        )
        stats = counts.join(spread, on="_frame", how="left", maintain_order="left")
        out = pl.concat([self.frame_specs, stats.drop("_frame")], how="horizontal")
        rate = pl.when(pl.col("measured") > 0).then(pl.col("breached") / pl.col("measured"))
        return out.with_columns(rate.alias("breach_rate"))


_FRAME_COUNTS = ("applicable", "measured", "breached", "overdue")


def measure_windows(enc: EncodedLog, codes: MapCodes, as_of_us: int) -> Windows:
    """Time frames (touchpoint and phase) and rules of every case, from its timestamps."""
    designed = codes.designed
    bits = np.zeros(enc.n_cases, dtype=np.int64)
    frames: list[FrameRows] = []
    records = [pl.DataFrame(schema=RECORD_SCHEMA)]
    tfs = designed.time_frames
    spans = kj.frame_spans(
        enc.offsets,
        enc.act,
        np.array([codes.log_code(t.from_touchpoint) for t in tfs], dtype=np.int32),
        np.array([codes.log_code(t.to_touchpoint) for t in tfs], dtype=np.int32),
    )
    specs = [
        (
            f"{t.from_touchpoint} -> {t.to_touchpoint}",
            *spans[j],
            t.max,
            codes.ext_code(t.from_touchpoint),
            codes.ext_code(t.to_touchpoint),
            -1,
        )
        for j, t in enumerate(tfs)
    ]
    specs = _distinct_labels(specs)
    timed = [j for j, p in enumerate(designed.phases) if p.max is not None]
    if timed:  # spans of the phases with a time frame only, numbered in map order
        local = np.full(len(designed.phases) + 1, -1, dtype=np.int32)
        local[timed] = np.arange(len(timed), dtype=np.int32)
        p_first, p_last = kj.phase_spans(enc.offsets, local[codes.phase][enc.act], len(timed))
        for i, j in enumerate(timed):
            limit = designed.phases[j].max
            assert limit is not None  # `timed` holds these phases only
            idx = np.flatnonzero(p_first[:, i] >= 0)
            label = f"phase {designed.phases[j].id}"
            specs.append((label, idx, p_first[idx, i], p_last[idx, i], limit, -1, -1, j))
    for label, idx, s, e, limit, a, b, phase in specs:
        max_us = limit // timedelta(microseconds=1)
        measured = e >= 0
        dur = np.where(measured, enc.ts[np.maximum(e, 0)] - enc.ts[s], 0)
        breached = measured & (dur > max_us)
        frames.append(
            FrameRows(
                label=label,
                case=idx.copy(),  # not a view that keeps the kernel's whole buffer alive
                measured=measured,
                duration_s=np.where(measured, dur / US, np.nan),
                breached=breached,
                overdue=~measured & (as_of_us - enc.ts[s] > max_us),
            )
        )
        hit = idx[breached]
        bits[hit] |= 1 << k.TIME_FRAME
        unit, scale = _unit(limit)
        took = pl.Series(dur[breached] / scale).round(1).cast(pl.String)
        detail = "took " + took + f"{unit} (max {format_duration(limit)})"
        records.append(
            _records(hit, e[breached] - enc.offsets[hit], k.TIME_FRAME, -1, a, b, phase, detail)
        )
    rules = [pl.DataFrame(schema=RULE_SCHEMA)]
    if designed.rules:
        within = [r.kind == "within" for r in designed.rules]
        parts = [
            (r.after, r.then, None) if w else (r.event, r.opened_by, r.closed_by)
            for r, w in zip(designed.rules, within, strict=True)
        ]
        a_code, b_code, c_code = (
            np.array([codes.log_code(p[i]) for p in parts], dtype=np.int32) for i in range(3)
        )
        applicable, count, first = kj.rule_breaches(
            enc.offsets,
            enc.act,
            enc.ts,
            np.array([kj.WITHIN if w else kj.NOT_WHILE_OPEN for w in within], dtype=np.int8),
            a_code,
            b_code,
            c_code,
            np.array(
                [(r.max or timedelta(0)) // timedelta(microseconds=1) for r in designed.rules],
                dtype=np.int64,
            ),
            as_of_us,
        )
        for j, rule in enumerate(designed.rules):
            idx = np.flatnonzero(applicable[:, j])
            label = rule.name or rule.describe()
            rules.append(
                pl.DataFrame(
                    {
                        "_case": idx,
                        "rule": _repeat(label, idx.size),
                        "kind": _repeat(rule.kind, idx.size),
                        "breaches": count[idx, j],
                    },
                    schema=RULE_SCHEMA,
                )
            )
            hit = np.flatnonzero(count[:, j] > 0)
            bits[hit] |= 1 << k.RULE
            times = pl.Series(count[hit, j])
            detail = pl.select(
                pl.when(times > 1)
                .then(pl.format("{} ({} times)", pl.lit(label), times))
                .otherwise(pl.lit(label))
            ).to_series()
            one, two, three = parts[j]
            event, frm, to = (one, one, two) if within[j] else (one, two, three)
            records.append(
                _records(
                    hit,
                    first[hit, j] - enc.offsets[hit],
                    k.RULE,
                    codes.ext_code(event),
                    codes.ext_code(frm),
                    codes.ext_code(to),
                    -1,
                    detail,
                )
            )
    frame_specs = pl.DataFrame(
        {
            "frame": [s[0] for s in specs],
            "from": [codes.names[s[5]] if s[5] >= 0 else None for s in specs],
            "to": [codes.names[s[6]] if s[6] >= 0 else None for s in specs],
            "phase": [designed.phases[s[7]].id if s[7] >= 0 else None for s in specs],
            "max_s": [s[4].total_seconds() for s in specs],
        },
        schema={"frame": pl.String, "from": pl.String, "to": pl.String}
        | {"phase": pl.String, "max_s": pl.Float64},
    )
    rule_specs = pl.DataFrame(
        {
            "rule": [r.name or r.describe() for r in designed.rules],
            "kind": [r.kind for r in designed.rules],
            "max_s": [r.max.total_seconds() if r.max else None for r in designed.rules],
        },
        schema={"rule": pl.String, "kind": pl.String, "max_s": pl.Float64},
    )
    return Windows(
        frame_rows=frames,
        rules=pl.concat(rules),
        records=pl.concat(records),
        bits=bits,
        frame_specs=frame_specs,
        rule_specs=rule_specs,
        record_blocks=tuple(r.height for r in records[1:]),
        rule_blocks=tuple(r.height for r in rules[1:]),
    )


def gather_windows(parts: list[Windows], at: list[np.ndarray], n_cases: int) -> Windows:
    """The windows of a log's partitions (`measure_windows` of each, one `as_of`) as those of
    the whole log: `at[p]` (int64[n_cases of p]) is where partition p's cases lie among the
    log's `n_cases`. Rows come out as `measure_windows` lays them out for the whole log."""
    frames = []
    for j, first in enumerate(parts[0].frame_rows):
        rows = [p.frame_rows[j] for p in parts]
        case = np.concatenate([a[f.case] for a, f in zip(at, rows, strict=True)])
        order = np.argsort(case, kind="stable")

        def joined(values: list[np.ndarray], order: np.ndarray = order) -> np.ndarray:
            return np.concatenate(values)[order]

        frames.append(
            FrameRows(
                label=first.label,
                case=case[order],
                measured=joined([f.measured for f in rows]),
                duration_s=joined([f.duration_s for f in rows]),
                breached=joined([f.breached for f in rows]),
                overdue=joined([f.overdue for f in rows]),
            )
        )
    bits = np.zeros(n_cases, dtype=np.int64)
    for a, p in zip(at, parts, strict=True):
        bits[a] = p.bits
    record_blocks = tuple(int(n) for n in np.sum([p.record_blocks for p in parts], axis=0))
    rule_blocks = tuple(int(n) for n in np.sum([p.rule_blocks for p in parts], axis=0))
    return replace(
        parts[0],
        frame_rows=frames,
        rules=_by_block([p.rules for p in parts], [p.rule_blocks for p in parts], at, "_case"),
        records=_by_block([p.records for p in parts], [p.record_blocks for p in parts], at, "unit"),
        bits=bits,
        record_blocks=record_blocks if parts[0].record_blocks else (),
        rule_blocks=rule_blocks if parts[0].rule_blocks else (),
    )


def _by_block(
    frames: list[pl.DataFrame], blocks: list[tuple[int, ...]], at: list[np.ndarray], case: str
) -> pl.DataFrame:
    # Partitions' rows with their cases renumbered, block by block, each block by case (a case
    # has at most one row per block).
    renumbered = [
        f.with_columns(
            pl.Series(case, a[f.get_column(case).to_numpy()], dtype=pl.Int64),
            pl.Series("_block", np.repeat(np.arange(len(b), dtype=np.int64), b)),
        )
        for f, b, a in zip(frames, blocks, at, strict=True)
    ]
    return pl.concat(renumbered).sort("_block", case, maintain_order=True).drop("_block")


def _records(
    case: np.ndarray,
    position: np.ndarray,
    typ: int,
    touchpoint: int,
    frm: int,
    to: int,
    phase: int,
    detail: pl.Series,
) -> pl.DataFrame:
    n = case.size
    return pl.DataFrame(
        {
            "unit": case,
            "position": position,
            "type": np.full(n, typ),
            "touchpoint": np.full(n, touchpoint),
            "from": np.full(n, frm),
            "to": np.full(n, to),
            "phase": np.full(n, phase),
            "detail": detail,
        },
        schema=RECORD_SCHEMA,
    )


def _repeat(value: str, n: int) -> pl.Series:
    # A string column of n copies of `value`.
    return pl.Series([value], dtype=pl.String).gather(np.zeros(n, dtype=np.int64))


def _unit(limit: timedelta) -> tuple[str, float]:
    # The unit a person reads a duration in, picked from the frame's own size.
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if limit >= timedelta(seconds=size):
            return unit, size * US
    return "s", US


def _distinct_labels(specs: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Time frames between the same two touchpoints told apart by their limit ("a -> b (1h)"),
    and by a number when even that is the same: every summary groups frames by label."""
    count = Counter(s[0] for s in specs)
    out, seen = [], Counter[str]()
    for s in specs:
        label = s[0] if count[s[0]] == 1 else f"{s[0]} ({format_duration(s[4])})"
        seen[label] += 1
        if seen[label] > 1:
            label = f"{label} #{seen[label]}"
        out.append((label, *s[1:]))
    return out
