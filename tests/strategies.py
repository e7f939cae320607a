"""Hypothesis strategies and a seeded generator for event logs, for any test to reuse.

`event_frames()` draws small canonical frames (unsorted, in "input order") with the cases
that break naive code: equal timestamps, single-event cases, unicode names, missing channels.
`synthetic_frame()` builds a large seeded log with numpy, for parity and speed tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from hypothesis import strategies as st

from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import DesignedMap, Phase, Rule, TimeFrame, Touchpoint

ACTIVITIES = (
    "visit_home",
    "search",
    "add_to_cart",
    "Checkout",
    "checkout",
    "call: wachtrij",
    "café ☕",
    "注文",
    "Ärger",
    "a",
    "ab",
    "🚀 launch",
)
CHANNELS = ("web", "call_center", "crm", None)
CASE_PREFIXES = ("c", "C", "ü-", "案件", "10")
BASE_US = 1_700_000_000_000_000  # 2023-11-14, in µs since the epoch

# Gaps between a case's events: equal timestamps are common on purpose.
GAPS_US = st.one_of(
    st.just(0),
    st.integers(1, 999_999),
    st.integers(1, 86_400).map(lambda s: s * 1_000_000),
    st.integers(0, 40 * 86_400 * 1_000_000),
)


@st.composite
def event_frames(
    draw: st.DrawFn,
    *,
    min_cases: int = 1,
    max_cases: int = 12,
    max_events: int = 8,
    activities: tuple[str, ...] = ACTIVITIES,
) -> pl.DataFrame:
    """A canonical frame (case_id, activity, timestamp, channel) in shuffled input order."""
    acts = draw(st.lists(st.sampled_from(activities), min_size=1, max_size=6, unique=True))
    n_cases = draw(st.integers(min_cases, max_cases))
    rows: list[tuple[str, str, int, str | None]] = []
    for c in range(n_cases):
        case_id = f"{draw(st.sampled_from(CASE_PREFIXES))}{c}"
        t = BASE_US + draw(st.integers(0, 10**12))
        for _ in range(draw(st.integers(1, max_events))):
            t += draw(GAPS_US)
            rows.append((case_id, draw(st.sampled_from(acts)), t, draw(st.sampled_from(CHANNELS))))
    order = draw(st.permutations(range(len(rows))))
    rows = [rows[i] for i in order]
    return frame_from_rows(rows)


@st.composite
def interval_frames(draw: st.DrawFn, *, max_cases: int = 10, max_events: int = 8) -> pl.DataFrame:
    """A canonical interval frame (with `start_timestamp`) in shuffled input order: whole
    seconds, so zero-length, overlapping and nested events and equal times are common."""
    acts = draw(st.lists(st.sampled_from(ACTIVITIES), min_size=1, max_size=5, unique=True))
    rows: list[tuple[str, str, int, str | None, int]] = []
    for c in range(draw(st.integers(1, max_cases))):
        case_id = f"{draw(st.sampled_from(CASE_PREFIXES))}{c}"
        t = BASE_US + draw(st.integers(0, 10**6)) * 1_000_000
        for _ in range(draw(st.integers(1, max_events))):
            t += draw(st.sampled_from((0, 0, 1, 5, 60, 3_600))) * 1_000_000
            service = draw(st.sampled_from((0, 0, 1, 4, 30, 7_200))) * 1_000_000
            act = draw(st.sampled_from(acts))
            rows.append((case_id, act, t, draw(st.sampled_from(CHANNELS)), t - service))
    order = draw(st.permutations(range(len(rows))))
    rows = [rows[i] for i in order]
    return frame_from_rows([r[:4] for r in rows]).with_columns(
        pl.Series("start_timestamp", [r[4] for r in rows]).cast(pl.Datetime("us", "UTC"))
    )


def event_logs(**kwargs: int) -> st.SearchStrategy[EventLog]:
    """EventLogs built from `event_frames(**kwargs)`."""
    return event_frames(**kwargs).map(EventLog)  # type: ignore[arg-type]


def frame_from_rows(rows: list[tuple[str, str, int, str | None]]) -> pl.DataFrame:
    """A canonical frame from (case_id, activity, timestamp µs, channel) tuples, in that order."""
    return pl.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "activity": [r[1] for r in rows],
            "timestamp": [r[2] for r in rows],
            "channel": [r[3] for r in rows],
        },
        schema={
            "case_id": pl.String,
            "activity": pl.String,
            "timestamp": pl.Int64,
            "channel": pl.String,
        },
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))


def log_from_rows(rows: list[tuple[str, str, int | datetime, str | None]]) -> EventLog:
    """An EventLog from rows in input order; timestamps as µs or aware datetimes."""
    as_us = [
        (c, a, int(t.astimezone(UTC).timestamp() * 1_000_000) if isinstance(t, datetime) else t, ch)
        for c, a, t, ch in rows
    ]
    return EventLog(frame_from_rows(as_us))


def synthetic_frame(
    n_events: int, *, seed: int = 0, n_activities: int = 30, mean_length: float = 10.0
) -> pl.DataFrame:
    """A seeded canonical frame of about `n_events` events: Markov-chain journeys, bursty times.

    Cases are contiguous and time-ordered; some events share a timestamp, some lack a channel.
    """
    rng = np.random.default_rng(seed)
    lengths = np.maximum(1, rng.geometric(1.0 / mean_length, size=int(n_events / mean_length)))
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n_events) + 1]
    n_cases = lengths.size
    n = int(lengths.sum())
    # A sparse-ish transition matrix so that journeys repeat and variants are shared.
    weights = rng.random((n_activities, n_activities)) ** 8
    cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    case_of = np.repeat(np.arange(n_cases), lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    pos = np.arange(n) - starts[case_of]
    act = np.empty(n, dtype=np.int64)
    act[starts] = rng.integers(0, min(3, n_activities), size=n_cases)
    for p in range(1, int(lengths.max())):
        idx = np.flatnonzero(pos == p)
        u = rng.random(idx.size)
        prev = act[idx - 1]
        act[idx] = np.minimum((cum[prev] < u[:, None]).sum(axis=1), n_activities - 1)
    gaps = np.where(
        rng.random(n) < 0.05, 0, np.round(rng.exponential(3_600e6, size=n)).astype(np.int64)
    )
    gaps[starts] = rng.integers(0, 365 * 86_400 * 10**6, size=n_cases)
    ts = BASE_US + np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[starts] - gaps[starts], lengths)
    names = np.array([f"touchpoint {i:02d}" for i in range(n_activities)], dtype=object)
    channels = np.array(["web", "call_center", "crm", None], dtype=object)
    return pl.DataFrame(
        {
            "case_id": pl.Series([f"j{i:07d}" for i in range(n_cases)]).gather(case_of),
            "activity": pl.Series(names[act], dtype=pl.String),
            "timestamp": pl.Series(ts).cast(pl.Datetime("us", "UTC")),
            "channel": pl.Series(channels[rng.integers(0, 4, size=n)].tolist(), dtype=pl.String),
        }
    )


# Small logs with a name, for the edge cases every kernel test walks through.
NAMED_ROWS: dict[str, list[tuple[str, str, int, str | None]]] = {
    "empty": [],
    "one_event": [("c1", "visit", BASE_US, "web")],
    "one_case": [
        ("c1", "visit", BASE_US, "web"),
        ("c1", "search", BASE_US + 1_500_000, "web"),
        ("c1", "visit", BASE_US + 4_000_000, None),
        ("c1", "call", BASE_US + 9_000_001, "call_center"),
        ("c1", "visit", BASE_US + 9_000_002, "web"),
    ],
    "equal_timestamps": [
        ("c2", "b", BASE_US, "crm"),
        ("c1", "a", BASE_US, "web"),
        ("c1", "b", BASE_US, "crm"),
        ("c2", "a", BASE_US, "web"),
        ("c1", "c", BASE_US, None),
        ("c2", "c", BASE_US + 1, "web"),
        ("c1", "a", BASE_US, "web"),
    ],
    "unicode": [
        ("案件-1", "café ☕", BASE_US, "web"),
        ("案件-1", "注文", BASE_US + 60_000_000, "call_center"),
        ("ü-2", "注文", BASE_US + 5, None),
        ("ü-2", "🚀 launch", BASE_US + 5, "crm"),
        ("ü-2", "Ärger", BASE_US + 86_400_000_000, "crm"),
        ("ü-3", "café ☕", BASE_US, "web"),
    ],
    "single_event_cases": [
        ("c1", "a", BASE_US, "web"),
        ("c2", "a", BASE_US + 10, "web"),
        ("c3", "b", BASE_US + 20, None),
    ],
}


# The contract of `Comparison.cases` (miner/compare/comparison.py): the columns and dtypes that hidden
# journeys, drift and the overlay rely on.
COMPARISON_CASES: dict[str, Any] = {
    "case_id": pl.String,
    "variant": pl.Int64,
    "fits": pl.Boolean,
    "converted": pl.Boolean,
    "in_progress": pl.Boolean,
    "signature": pl.List(pl.String),
    "deviation_types": pl.List(pl.String),
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "duration_s": pl.Float64,
    "n_events": pl.Int64,
    "channels": pl.List(pl.String),
    "channel_switches": pl.Int64,
    "leak_touchpoint": pl.String,
    "leak_phase": pl.String,
    "segment": pl.String,
    "value": pl.Float64,
}


def shop_map(**changes: object) -> DesignedMap:
    """tv (unobservable) -> ad/land -> prod <-> rev -> cart -> pay -> order, three phases;
    cart -> pay within 1h; no ad while a cart is open until the order."""
    parts: dict[str, object] = {
        "name": "shop",
        "phases": (Phase("aware", "Aware"), Phase("consider", "Consider"), Phase("buy", "Buy")),
        "touchpoints": (
            Touchpoint("tv", "aware", observable=False),
            Touchpoint("ad", "aware"),
            Touchpoint("land", "aware"),
            Touchpoint("prod", "consider"),
            Touchpoint("rev", "consider"),
            Touchpoint("cart", "buy"),
            Touchpoint("pay", "buy"),
            Touchpoint("order", "buy"),
        ),
        "start": ("tv", "land"),
        "goal": ("order",),
        "flows": (
            ("tv", "ad"),
            ("ad", "land"),
            ("land", "prod"),
            ("prod", "rev"),
            ("rev", "prod"),
            ("prod", "cart"),
            ("rev", "cart"),
            ("cart", "pay"),
            ("pay", "order"),
        ),
        "time_frames": (TimeFrame("cart", "pay", timedelta(hours=1)),),
        "rules": (Rule("not_while_open", event="ad", opened_by="cart", closed_by="order"),),
    }
    parts.update(changes)
    return DesignedMap(**parts)
