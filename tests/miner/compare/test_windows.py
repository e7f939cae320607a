"""Time frames and rules measured per journey (`miner/compare/windows.py`): durations,
breaches, overdue frames, phase frames, rule counts and the deviation rows they become."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.kernels import replay as k
from journeyminer.miner.compare.funnel import time_frames_summary
from journeyminer.miner.compare.to_map import compare_to_map
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import DesignedMap, Phase, Rule, TimeFrame
from tests.miner.compare.conftest import HOUR, MINUTE, inner, journeys
from tests.naive_replay import UNKNOWN, designed_maps
from tests.strategies import event_frames, shop_map

S = 1_000_000  # µs


def _frames(log: EventLog, designed: DesignedMap, as_of_us: int | None = None) -> pl.DataFrame:
    return inner(log, designed, as_of_us=as_of_us).windows.frames


def test_a_late_step_breaches_its_time_frame_at_the_later_event() -> None:
    log = journeys(
        [("land", 0), ("prod", MINUTE), ("cart", 2 * MINUTE), ("pay", 2 * MINUTE + 2 * HOUR)],
        [("land", 0), ("cart", MINUTE), ("pay", 31 * MINUTE)],
    )
    frames = _frames(log, shop_map())
    assert frames.rows() == [
        (0, "cart -> pay", True, 7200.0, True, False),
        (1, "cart -> pay", True, 1800.0, False, False),
    ]
    breach = compare_to_map(log, shop_map()).deviations.filter(
        pl.col("type") == "time_frame_breach"
    )
    assert breach.rows(named=True) == [
        {
            "case_id": "j0",
            "type": "time_frame_breach",
            "position": 3,
            "touchpoint": None,
            "from": "cart",
            "to": "pay",
            "phase": None,
            "detail": "took 2.0h (max 1h)",
        }
    ]


def test_a_frame_whose_end_never_came_is_overdue_once_its_max_has_passed() -> None:
    log = journeys([("land", 0), ("cart", MINUTE)], [("land", 0), ("cart", 2 * HOUR)])
    as_of = int(log.encoded.ts.max())  # 2h in: j0's cart waits 2h - 1m, j1's none
    frames = _frames(log, shop_map(), as_of_us=as_of)
    assert frames.rows() == [
        (0, "cart -> pay", False, None, False, True),
        (1, "cart -> pay", False, None, False, False),
    ]
    # Overdue is no breach: no deviation row, no time-frame bit.
    windows = inner(log, shop_map(), as_of_us=as_of).windows
    assert windows.records.height == 0 and windows.bits.tolist() == [0, 0]


def test_a_step_exactly_at_the_limit_does_not_breach() -> None:
    log = journeys([("cart", 0), ("pay", HOUR)], [("cart", 0), ("pay", HOUR + 1)])
    assert _frames(log, shop_map()).get_column("breached").to_list() == [False, True]


def test_a_phase_frame_runs_from_the_first_to_the_last_event_in_the_phase() -> None:
    designed = shop_map(
        phases=(
            Phase("aware", "Aware"),
            Phase("consider", "Consider", max=timedelta(minutes=30)),
            Phase("buy", "Buy"),
        ),
        time_frames=(),
        rules=(),
    )
    log = journeys(
        [
            ("land", 0),
            ("prod", MINUTE),
            ("rev", 20 * MINUTE),
            ("prod", 45 * MINUTE),
            ("cart", HOUR),
        ],
        [("land", 0), ("prod", MINUTE), ("cart", 2 * MINUTE)],  # one event in the phase: 0s
        [("land", 0)],  # never in the phase: not applicable
    )
    windows = inner(log, designed).windows
    assert windows.frames.rows() == [
        (0, "phase consider", True, 44 * 60.0, True, False),
        (1, "phase consider", True, 0.0, False, False),
    ]
    assert windows.frame_specs.row(0) == ("phase consider", None, None, "consider", 1800.0)
    row = compare_to_map(log, designed).deviations.filter(pl.col("type") == "time_frame_breach")
    assert row.select("case_id", "position", "phase", "detail").rows() == [
        ("j0", 3, "consider", "took 44.0m (max 30m)")
    ]


def test_a_short_frame_reports_its_duration_in_seconds() -> None:
    designed = shop_map(time_frames=(TimeFrame("cart", "pay", timedelta(seconds=30)),))
    log = journeys([("cart", 0), ("pay", 45 * S)])
    details = compare_to_map(log, designed).deviations.get_column("detail").drop_nulls()
    assert details.to_list() == ["took 45.0s (max 30s)"]


def test_a_frame_of_touchpoints_the_log_never_shows_is_listed_and_applies_nowhere() -> None:
    designed = shop_map(time_frames=(TimeFrame("rev", "order", timedelta(days=2)),))
    log = journeys(["land", "prod", "cart"])
    windows = inner(log, designed).windows
    assert windows.frame_specs.rows() == [("rev -> order", "rev", "order", None, 172800.0)]
    assert windows.frames.height == 0
    summary = windows.frame_summary().row(0, named=True)
    assert (summary["applicable"], summary["measured"], summary["breach_rate"]) == (0, 0, None)


def test_rules_count_breaches_per_journey_and_record_the_first_breaching_event() -> None:
    designed = shop_map(
        time_frames=(),
        rules=(
            Rule("within", after="cart", then="pay", max=timedelta(minutes=5), name="pay soon"),
            Rule("not_while_open", event="ad", opened_by="cart", closed_by="order"),
        ),
    )
    log = journeys(
        # carts at 0, 1m (both late: pay at 10m) and at 12m (paid at 13m: in time)
        [
            ("cart", 0),
            ("cart", MINUTE),
            ("pay", 10 * MINUTE),
            ("cart", 12 * MINUTE),
            ("pay", 13 * MINUTE),
        ],
        [("cart", 0), ("ad", MINUTE), ("order", 2 * MINUTE), ("ad", 3 * MINUTE)],  # 1 ad while open
        [("land", 0), ("ad", MINUTE)],  # no cart: neither rule applies
    )
    windows = inner(log, designed).windows
    assert windows.rules.sort("_case", "rule").rows() == [
        (0, "no `ad` while a `cart` is open until `order`", "not_while_open", 0),
        (0, "pay soon", "within", 2),
        (1, "no `ad` while a `cart` is open until `order`", "not_while_open", 1),
        (1, "pay soon", "within", 1),  # its cart never paid: late once as_of passed 5m
    ]
    rows = compare_to_map(log, designed).deviations.filter(pl.col("type") == "rule_breach")
    assert rows.drop("type", "phase").rows() == [
        ("j0", 0, "cart", "cart", "pay", "pay soon (2 times)"),
        ("j1", 0, "cart", "cart", "pay", "pay soon"),
        ("j1", 1, "ad", "cart", "order", "no `ad` while a `cart` is open until `order`"),
    ]
    assert ((windows.bits >> k.RULE) & 1).tolist() == [1, 1, 0]


@given(designed_maps(), st.data())
def test_window_bits_mark_exactly_the_journeys_with_a_breach_record(
    designed: DesignedMap, data: st.DataObject
) -> None:
    acts = tuple(t.id for t in designed.touchpoints) + UNKNOWN
    log = EventLog(data.draw(event_frames(max_cases=8, max_events=7, activities=acts)))
    windows = inner(log, designed).windows
    for typ in (k.TIME_FRAME, k.RULE):
        marked = np.flatnonzero((windows.bits >> typ) & 1).tolist()
        with_rows = windows.records.filter(pl.col("type") == typ).get_column("unit").unique()
        assert marked == sorted(with_rows.to_list()), typ
    labels = windows.frame_specs.get_column("frame")
    if labels.n_unique() == labels.len():  # see the xfail below for repeated labels
        assert windows.frame_summary().equals(
            time_frames_summary(windows.frames, windows.frame_specs, [])
        )
    breached = windows.frames.filter("breached").height
    assert breached == windows.records.filter(pl.col("type") == k.TIME_FRAME).height


def test_two_time_frames_between_the_same_touchpoints_are_counted_apart_per_segment() -> None:
    designed = shop_map(
        time_frames=(
            TimeFrame("cart", "pay", timedelta(hours=1)),
            TimeFrame("cart", "pay", timedelta(days=1)),
        )
    )
    log = journeys([("cart", 0), ("pay", 2 * HOUR)], [("cart", 0), ("pay", MINUTE)])
    log = EventLog(log.frame.with_columns(device=pl.lit("mobile")))
    result = compare_to_map(log, designed, segment="device")
    assert result.time_frames.select("applicable", "breached").rows() == [(2, 1), (2, 0)]
    assert result.by_segment is not None
    split = result.by_segment.time_frames.select("applicable", "breached")
    assert split.rows() == [(2, 1), (2, 0)]
    # each frame named apart, by its limit
    assert result.time_frames.get_column("frame").to_list() == [
        "cart -> pay (1h)",
        "cart -> pay (1d)",
    ]
