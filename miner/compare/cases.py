"""The per-journey side of a comparison: verdicts as arrays, the `cases` frame, leak points.

Each journey inherits its variant's replay (`miner.compare.deviations`) through a gather, adds its own
time frames and rules (`miner.compare.windows`) and what needs its timestamps or events: conversion,
right-censoring, drop-off, channels, its first value of an attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from ...kernels import cases as kj
from ...kernels import replay as k
from ..errors import InputError
from ..log import CASE, EncodedLog
from .deviations import (
    FIT_MASK,
    MapCodes,
    Replayed,
    bit_lists,
    gather_or_null,
    small_unique,
    type_lists,
)
from .funnel import leak_points_of
from .windows import Windows

US = 1_000_000


@dataclass(frozen=True, eq=False)
class CaseFacts:
    """What each journey's own events say, before any replay: arrays [n_cases].

    Nothing here depends on other journeys, so the facts of a log's partitions concatenate into
    the whole log's (`gather`): the partitioned comparison computes them per partition.
    """

    start_us: np.ndarray  # int64 first timestamp
    end_us: np.ndarray  # int64 last timestamp
    last_act: np.ndarray  # int64 activity code of the last event
    n_events: np.ndarray  # int64
    goal: np.ndarray  # int64 position of the first goal event, -1
    in_progress: np.ndarray  # bool: not converted, last event within the timeout of as_of
    channels: tuple[np.ndarray, np.ndarray]  # uint64 bit sets of channels 0..63, 64..127
    switches: np.ndarray  # int64 channel switches
    before: np.ndarray  # int64 channel switches before the first goal event (all: none)

    @classmethod
    def of(
        cls, enc: EncodedLog, goal_mask: np.ndarray, as_of_us: int, timeout_us: int
    ) -> CaseFacts:
        """The facts of every case of `enc`; `goal_mask` bool[n_act] marks the goal activities."""
        first, last = enc.offsets[:-1], enc.offsets[1:] - 1
        end_us = enc.ts[last]
        # The first goal event of each case: the replay's goal position of its variant.
        hits = np.flatnonzero(goal_mask[enc.act]).astype(np.int64)
        at = kj.first_in_cases(enc.offsets, hits)
        goal = np.where(at >= 0, at - first, -1)
        in_progress = (goal < 0) & (as_of_us - end_us <= timeout_us)
        low, high, switches, before = kj.case_channels(enc.offsets, enc.channel, goal)
        return cls(
            start_us=enc.ts[first],
            end_us=end_us,
            last_act=enc.act[last].astype(np.int64),
            n_events=np.diff(enc.offsets),
            goal=goal,
            in_progress=in_progress,
            channels=(low, high),
            switches=switches,
            before=before,
        )

    @classmethod
    def gather(cls, parts: list[CaseFacts], order: np.ndarray) -> CaseFacts:
        """The facts of `parts` end to end, then taken at `order` (into the concatenation)."""

        def joined(get: Callable[[CaseFacts], np.ndarray]) -> np.ndarray:
            return np.concatenate([get(p) for p in parts])[order]

        return cls(
            start_us=joined(lambda p: p.start_us),
            end_us=joined(lambda p: p.end_us),
            last_act=joined(lambda p: p.last_act),
            n_events=joined(lambda p: p.n_events),
            goal=joined(lambda p: p.goal),
            in_progress=joined(lambda p: p.in_progress),
            channels=(joined(lambda p: p.channels[0]), joined(lambda p: p.channels[1])),
            switches=joined(lambda p: p.switches),
            before=joined(lambda p: p.before),
        )


@dataclass(frozen=True, eq=False)
class PerCase:
    """The per-journey verdicts as numpy arrays, each [n_cases]."""

    var: np.ndarray  # int64 variant id
    goal: np.ndarray  # int64 position of the first goal event, -1
    converted: np.ndarray  # bool
    in_progress: np.ndarray  # bool
    dropped: np.ndarray  # bool
    masks: np.ndarray  # int64 bit (1 << type) per deviation type
    n_events: np.ndarray  # int64
    channels: tuple[np.ndarray, np.ndarray]  # uint64 bit sets of channels 0..63, 64..127
    switches: np.ndarray  # int64 channel switches
    before: np.ndarray  # int64 channel switches before the first goal event (all: none)
    start_us: np.ndarray  # int64 first timestamp
    end_us: np.ndarray  # int64 last timestamp
    last_act: np.ndarray  # int64 activity code of the last event

    @classmethod
    def of(
        cls,
        enc: EncodedLog,
        codes: MapCodes,
        rp: Replayed,
        win: Windows,
        as_of_us: int,
        timeout_us: int,
    ) -> PerCase:
        """Verdicts from the variants' replay, the windows and the cases' own events."""
        return cls.judge(CaseFacts.of(enc, codes.goal, as_of_us, timeout_us), rp, win.bits)

    @classmethod
    def judge(cls, facts: CaseFacts, rp: Replayed, bits: np.ndarray) -> PerCase:
        """Verdicts from the cases' facts, their variants' replay (`rp.var`) and the time-frame
        and rule bits of the windows."""
        var = rp.var
        converted = facts.goal >= 0
        dropped = ~converted & ~facts.in_progress
        masks = rp.flags[var] | bits | np.where(dropped, 1 << k.DROP_OFF, 0)
        return cls(
            var=var,
            goal=facts.goal,
            converted=converted,
            in_progress=facts.in_progress,
            dropped=dropped,
            masks=masks,
            n_events=facts.n_events,
            channels=facts.channels,
            switches=facts.switches,
            before=facts.before,
            start_us=facts.start_us,
            end_us=facts.end_us,
            last_act=facts.last_act,
        )


def cases_frame(
    channels: tuple[str, ...], codes: MapCodes, rp: Replayed, pc: PerCase, case_ids: pl.Series
) -> pl.DataFrame:
    """The per-journey frame (`Comparison.cases` without segment and value); `channels` names
    the channel codes."""
    var = pc.var
    start_us, end_us = pc.start_us, pc.end_us
    goal, converted, masks = pc.goal, pc.converted, pc.masks
    fits = (masks & FIT_MASK) == 0
    last_phase = rp.last_phase[var]
    dropped = pc.dropped
    return pl.DataFrame(
        {
            CASE: case_ids,
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
            "n_events": pc.n_events,
            "channels": _channel_lists(channels, *pc.channels),
            "channel_switches": pc.switches,
            "goal_position": pl.Series(goal).set(pl.Series(~converted), None),
            "switches_before_goal": pl.Series(pc.before).set(pl.Series(~converted), None),
            "furthest_phase": codes.decode_phase(rp.max_phase[var]),
            "last_phase": codes.decode_phase(last_phase),
            "leak_touchpoint": codes.decode(np.where(dropped, pc.last_act, -1)),
            "leak_phase": codes.decode_phase(np.where(dropped, last_phase, -1)),
        },
        schema_overrides={"variant": pl.Int64, "n_events": pl.Int64},
    )


def _channel_lists(names: tuple[str, ...], low: np.ndarray, high: np.ndarray) -> pl.Series:
    # Channel names per case (codes index the sorted names); built once per distinct set.
    if not high.any():  # at most 64 channels: one bit mask per case
        return bit_lists(low, names)
    sets, inverse = np.unique(np.stack([low, high], axis=1), axis=0, return_inverse=True)
    lists = [
        [names[i] for i in range(len(names)) if int(sets[s, i // 64]) >> (i % 64) & 1]
        for s in range(sets.shape[0])
    ]
    return pl.Series(lists, dtype=pl.List(pl.String)).gather(inverse.ravel())


def through_counts(codes: MapCodes, rp: Replayed, pc: PerCase) -> pl.DataFrame:
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


def leak_table(
    codes: MapCodes,
    rp: Replayed,
    pc: PerCase,
    values: pl.Series,
    case_ids: pl.Series,
    mean_value: float | None,
    examples: int,
) -> pl.DataFrame:
    """Leak points (`funnel.leak_points`) from the codes of the dropped journeys' last
    touchpoint and phase, named once per distinct pair."""
    dropped = np.flatnonzero(pc.dropped)  # a dropped journey is closed
    width = len(codes.designed.phases) + 1
    touchpoint = pc.last_act[dropped]
    key = touchpoint * width + rp.last_phase[pc.var[dropped]] + 1
    distinct = small_unique(key)[0]
    names = pl.DataFrame(
        {
            "_key": distinct,
            "touchpoint": codes.decode(distinct // width),
            "phase": codes.decode_phase(distinct % width - 1),
        }
    )
    return leak_points_of(
        dropped,
        key,
        names,
        values.gather(dropped),
        case_ids,
        mean_value,
        int((~pc.in_progress).sum()),
        through_counts(codes, rp, pc),
        examples=examples,
    )


def first_per_case(
    frame: pl.DataFrame, enc: EncodedLog, column: str | None, dtype: type[pl.DataType]
) -> pl.Series:
    """The first non-null value of `column` in each case; all null without the column."""
    n = enc.n_cases
    if column is None or column not in frame.columns:
        return pl.repeat(None, n, dtype=dtype, eager=True)
    values = frame.get_column(column)
    if dtype == pl.Float64 and not values.dtype.is_numeric():
        raise InputError(
            f"the value attribute {column!r} is not numeric",
            column=column,
            expected="a numeric column such as order_value",
            found=str(values.dtype),
        )
    present = values.is_not_null().arg_true().to_numpy().astype(np.int64)
    return gather_or_null(values.cast(dtype), kj.first_in_cases(enc.offsets, present))
