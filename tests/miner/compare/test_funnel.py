"""Funnel, leak points, time-frame and rule summaries (`miner/compare/funnel.py`).

Priorities are not pinned here. The array versions that `compare_to_map` uses
(`funnel_counts`, `leak_points_of`) are held to the frame versions that the segment split
uses (`funnel_by_phase`, `leak_points`), and both to hand-checked numbers.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.compare.funnel import (
    funnel_by_phase,
    funnel_counts,
    leak_points,
    leak_points_of,
    rules_summary,
    time_frames_summary,
)
from journeyminer.miner.compare.to_map import compare_to_map
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import DesignedMap
from tests.miner.compare.conftest import journeys
from tests.naive_replay import UNKNOWN, designed_maps
from tests.strategies import event_frames, shop_map

PHASES = ["aware", "consider", "buy"]


def _funnel_frame(
    furthest: list[int], last: list[int], converted: list[bool], in_progress: list[bool]
) -> pl.DataFrame:
    """A per-journey frame with the columns the funnel reads; phases as names (-1: none)."""
    name = [None, *PHASES]
    return pl.DataFrame(
        {
            "furthest_phase": [name[p + 1] for p in furthest],
            "last_phase": [name[p + 1] for p in last],
            "converted": converted,
            "in_progress": in_progress,
            "dropped": [not c and not o for c, o in zip(converted, in_progress, strict=True)],
        },
        schema={"furthest_phase": pl.String, "last_phase": pl.String}
        | {c: pl.Boolean for c in ("converted", "in_progress", "dropped")},
    )


def _funnel_arrays(frame: pl.DataFrame) -> pl.DataFrame:
    index = {p: i for i, p in enumerate(PHASES)}
    furthest, last = (
        np.array([index.get(p, -1) for p in frame.get_column(c)], dtype=np.int64)
        for c in ("furthest_phase", "last_phase")
    )
    flags = (frame.get_column(c).to_numpy() for c in ("converted", "in_progress", "dropped"))
    return funnel_counts(PHASES, furthest, last, *flags)


# -- funnel --------------------------------------------------------------------------------
def test_the_funnel_counts_reached_closed_dropped_and_open_journeys_per_phase() -> None:
    frame = _funnel_frame(
        furthest=[2, 2, 1, 0, 1, -1],
        last=[2, 1, 1, 0, 1, -1],
        converted=[True, False, False, False, False, False],
        in_progress=[False, False, False, False, True, False],
    )
    funnel = funnel_by_phase(frame, PHASES, [])
    assert funnel.select(
        "phase", "reached", "converted", "closed", "dropped", "in_progress"
    ).rows() == [
        ("aware", 5, 1, 4, 1, 0),
        ("consider", 4, 1, 3, 2, 1),
        ("buy", 2, 1, 2, 0, 0),
    ]
    assert funnel.get_column("drop_rate").to_list() == [1 / 4, 2 / 3, 0.0]
    assert funnel.get_column("conversion_rate").to_list() == [1 / 4, 1 / 3, 1 / 2]
    assert funnel.equals(_funnel_arrays(frame))


def test_a_phase_no_closed_journey_reached_has_no_rates() -> None:
    frame = _funnel_frame(furthest=[0], last=[0], converted=[False], in_progress=[True])
    funnel = _funnel_arrays(frame)
    assert funnel.get_column("closed").to_list() == [0, 0, 0]
    assert funnel.get_column("drop_rate").to_list() == [None, None, None]
    assert funnel.equals(funnel_by_phase(frame, PHASES, []))


def test_an_empty_funnel_still_lists_every_phase_with_zeros() -> None:
    frame = _funnel_frame([], [], [], [])
    funnel = _funnel_arrays(frame)
    assert funnel.get_column("phase").to_list() == PHASES
    assert funnel.get_column("reached").to_list() == [0, 0, 0]
    assert funnel.equals(funnel_by_phase(frame, PHASES, []))


@given(
    st.lists(
        st.tuples(st.integers(-1, 2), st.integers(-1, 2), st.booleans(), st.booleans()),
        max_size=40,
    )
)
def test_funnel_counts_equal_funnel_by_phase_on_generated_journeys(
    rows: list[tuple[int, int, bool, bool]],
) -> None:
    furthest, last, converted, in_progress = (
        (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [], [])
    )
    frame = _funnel_frame(furthest, last, converted, in_progress)  # type: ignore[arg-type]
    assert _funnel_arrays(frame).equals(funnel_by_phase(frame, PHASES, []))


def test_a_funnel_split_by_segment_sums_to_the_whole_with_null_segments_last() -> None:
    frame = _funnel_frame(
        furthest=[2, 1, 0, 1, 2],
        last=[2, 1, 0, 0, 1],
        converted=[True, False, False, False, False],
        in_progress=[False, False, True, False, False],
    ).with_columns(segment=pl.Series(["b", None, "a", "b", None], dtype=pl.String))
    split = funnel_by_phase(frame, PHASES, ["segment"])
    assert split.get_column("segment").to_list() == ["a"] * 3 + ["b"] * 3 + [None] * 3
    whole = funnel_by_phase(frame, PHASES, [])
    counts = ["reached", "converted", "closed", "dropped", "in_progress"]
    summed = split.group_by("phase", maintain_order=True).agg(pl.col(counts).sum())
    assert summed.equals(whole.select("phase", *counts))


@given(designed_maps(), st.data())
def test_the_comparisons_funnel_is_funnel_by_phase_of_its_journeys(
    designed: DesignedMap, data: st.DataObject
) -> None:
    acts = tuple(t.id for t in designed.touchpoints) + UNKNOWN
    log = EventLog(data.draw(event_frames(max_cases=8, max_events=7, activities=acts)))
    result = compare_to_map(log, designed)
    phases = [p.id for p in designed.phases]
    assert result.funnel.equals(funnel_by_phase(result.cases, phases, []))


# -- leak points ---------------------------------------------------------------------------
# Closed journeys A-E and one in progress (F). A and B leak at cart (buy), E at land (aware);
# C and D convert with values 50 and 70 (mean 60). B and E carry no value: they count the mean.
LEAK_CASES = pl.DataFrame(
    {
        "case_id": ["A", "B", "C", "D", "E", "F"],
        "variant": [0, 0, 1, 1, 2, 0],
        "converted": [False, False, True, True, False, False],
        "in_progress": [False, False, False, False, False, True],
        "dropped": [True, True, False, False, True, False],
        "leak_touchpoint": ["cart", "cart", None, None, "land", None],
        "leak_phase": ["buy", "buy", None, None, "aware", None],
        "value": [100.0, None, 50.0, 70.0, None, 5.0],
    },
    schema_overrides={"variant": pl.Int64, "value": pl.Float64},
)
VARIANT_ACTS = pl.DataFrame(
    {
        "variant": [0, 0, 0, 1, 1, 1, 1, 1, 2],
        "activity": ["land", "prod", "cart", "land", "prod", "cart", "pay", "order", "land"],
    },
    schema_overrides={"variant": pl.Int64},
)


def test_leak_points_weigh_each_leak_by_the_conversion_of_those_who_passed_on() -> None:
    leaks = leak_points(LEAK_CASES, VARIANT_ACTS, 60.0, [])
    rows = {r["touchpoint"]: r for r in leaks.iter_rows(named=True)}
    cart, land = rows["cart"], rows["land"]
    # cart: 4 closed journeys show it, 2 leak there, the other 2 both convert.
    assert (cart["phase"], cart["journeys"], cart["pass_conversion"]) == ("buy", 2, 1.0)
    assert cart["value_at_risk"] == (100.0 + 60.0) * 1.0 and cart["conversions_lost"] == 2.0
    # land: 5 closed journeys show it, 1 leaks there, 2 of the other 4 convert.
    assert (land["journeys"], land["pass_conversion"], land["value_at_risk"]) == (1, 0.5, 30.0)
    assert (cart["share_of_closed"], cart["share_of_dropped"]) == (2 / 5, 2 / 3)
    assert (land["share_of_closed"], land["share_of_dropped"]) == (1 / 5, 1 / 3)
    assert leaks.get_column("touchpoint").to_list() == ["cart", "land"]  # by volume
    assert (cart["rank_volume"], cart["rank_value"]) == (1, 1)
    assert cart["examples"] == ["A", "B"] and land["examples"] == ["E"]
    assert leak_points(LEAK_CASES, VARIANT_ACTS, 60.0, [], examples=1).get_column(
        "examples"
    ).to_list() == [["A"], ["E"]]


def test_without_values_or_a_mean_the_value_at_risk_is_unknown() -> None:
    cases = LEAK_CASES.with_columns(pl.lit(None, dtype=pl.Float64).alias("value"))
    leaks = leak_points(cases, VARIANT_ACTS, None, [])
    assert leaks.get_column("value_at_risk").to_list() == [None, None]
    assert leaks.get_column("conversions_lost").to_list() == [2.0, 0.5]


def test_leak_points_of_the_dropped_journeys_alone_equal_leak_points() -> None:
    dropped = np.array([0, 1, 4], dtype=np.int64)  # A, B, E
    key = np.array([7, 7, 3], dtype=np.int64)  # any id per (touchpoint, phase)
    names = pl.DataFrame(
        {"_key": [3, 7], "touchpoint": ["land", "cart"], "phase": ["aware", "buy"]}
    )
    through = pl.DataFrame(
        {"touchpoint": ["cart", "land", "order"], "through": [4, 5, 2], "conv": [2, 2, 2]},
        schema={"touchpoint": pl.String, "through": pl.Int64, "conv": pl.Int64},
    )
    got = leak_points_of(
        dropped,
        key,
        names,
        LEAK_CASES.get_column("value").gather(dropped),
        LEAK_CASES.get_column("case_id"),
        60.0,
        5,
        through,
    )
    assert got.equals(leak_points(LEAK_CASES, VARIANT_ACTS, 60.0, []))


def test_leak_points_split_by_segment_rank_within_each_segment() -> None:
    cases = LEAK_CASES.with_columns(segment=pl.Series(["x", "y", "x", "y", "x", "x"]))
    leaks = leak_points(cases, VARIANT_ACTS, 60.0, ["segment"])
    assert leaks.select("segment", "touchpoint", "journeys", "rank_volume").rows() == [
        ("x", "cart", 1, 1),
        ("x", "land", 1, 2),
        ("y", "cart", 1, 1),
    ]
    # x: cart shown by A and C (C converts), land by A, C, E.
    x = {r["touchpoint"]: r for r in leaks.filter(pl.col("segment") == "x").iter_rows(named=True)}
    assert x["cart"]["pass_conversion"] == 1.0 and x["land"]["pass_conversion"] == 0.5
    assert x["cart"]["share_of_closed"] == 1 / 3


# -- time frames and rules -----------------------------------------------------------------
SPECS = pl.DataFrame(
    {
        "frame": ["cart -> pay", "phase buy"],
        "from": ["cart", None],
        "to": ["pay", None],
        "phase": [None, "buy"],
        "max_s": [3600.0, 86400.0],
    },
    schema={"frame": pl.String, "from": pl.String, "to": pl.String}
    | {"phase": pl.String, "max_s": pl.Float64},
)


def _windows(rows: list[tuple[int, str, bool, float | None, bool, bool, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "_case": pl.Int64,
            "frame": pl.String,
            "measured": pl.Boolean,
            "duration_s": pl.Float64,
            "breached": pl.Boolean,
            "overdue": pl.Boolean,
            "segment": pl.String,
        },
        orient="row",
    )


def test_time_frames_summary_counts_measured_breached_and_overdue_journeys() -> None:
    windows = _windows(
        [
            (0, "cart -> pay", True, 600.0, False, False, "a"),
            (1, "cart -> pay", True, 7200.0, True, False, "a"),
            (2, "cart -> pay", False, None, False, True, "b"),
            (3, "cart -> pay", True, 1800.0, False, False, "b"),
        ]
    )
    got = time_frames_summary(windows, SPECS, [])
    cart, phase = got.iter_rows(named=True)
    assert (cart["applicable"], cart["measured"], cart["breached"], cart["overdue"]) == (4, 3, 1, 1)
    assert cart["breach_rate"] == 1 / 3 and cart["median_s"] == 1800.0
    assert cart["p90_s"] == pytest.approx(1800.0 + 0.8 * (7200.0 - 1800.0))
    # A frame no journey reached is still listed, with zero counts and no rate.
    assert (phase["frame"], phase["applicable"], phase["breach_rate"]) == ("phase buy", 0, None)


def test_time_frames_summary_by_segment_lists_every_frame_for_every_segment() -> None:
    windows = _windows(
        [
            (0, "cart -> pay", True, 7200.0, True, False, "a"),
            (1, "phase buy", True, 10.0, False, False, "b"),
        ]
    )
    got = time_frames_summary(windows, SPECS, ["segment"])
    assert got.select("segment", "frame", "applicable", "breached").rows() == [
        ("a", "cart -> pay", 1, 1),
        ("a", "phase buy", 0, 0),
        ("b", "cart -> pay", 0, 0),
        ("b", "phase buy", 1, 0),
    ]


def test_time_frames_of_journeys_without_a_segment_count_in_the_null_group() -> None:
    windows = _windows([(1, "phase buy", True, 10.0, False, False, None)])
    got = time_frames_summary(windows, SPECS, ["segment"])
    assert got.select("segment", "frame", "applicable").rows() == [
        (None, "cart -> pay", 0),
        (None, "phase buy", 1),
    ]


def test_leak_points_of_journeys_without_a_segment_get_shares_and_value_at_risk() -> None:
    # B and D have no segment; B leaks at cart, D (same variant group as C) converts.
    cases = LEAK_CASES.with_columns(segment=pl.Series(["x", None, "x", None, "x", "x"]))
    leaks = leak_points(cases, VARIANT_ACTS, 60.0, ["segment"])
    none = leaks.filter(pl.col("segment").is_null()).row(0, named=True)
    assert (none["touchpoint"], none["share_of_closed"], none["pass_conversion"]) == (
        "cart",
        1 / 2,
        1.0,
    )
    assert none["value_at_risk"] == 60.0


def test_rules_summary_counts_journeys_breaching_and_occurrences_per_rule() -> None:
    specs = pl.DataFrame(
        {"rule": ["r1", "r2"], "kind": ["within", "not_while_open"], "max_s": [60.0, None]},
        schema={"rule": pl.String, "kind": pl.String, "max_s": pl.Float64},
    )
    rules = pl.DataFrame(
        {"_case": [0, 1, 2], "rule": ["r1"] * 3, "kind": ["within"] * 3, "breaches": [0, 3, 1]},
        schema={"_case": pl.Int64, "rule": pl.String, "kind": pl.String, "breaches": pl.Int64},
    )
    got = rules_summary(rules, specs)
    assert got.select("rule", "applicable", "breached", "occurrences", "breach_rate").rows() == [
        ("r1", 3, 2, 4, 2 / 3),
        ("r2", 0, 0, 0, None),
    ]


def test_the_comparison_reports_the_shop_maps_rule_and_frame_from_its_journeys() -> None:
    log = journeys(
        ["land", "prod", "cart", "ad", "ad", "pay", "order"],  # ad twice while the cart is open
        [
            ("land", 0),
            ("prod", 60_000_000),
            ("cart", 120_000_000),
            ("pay", 120_000_000 + 7_200_000_000),
        ],
        ["land", "ad"],  # no cart: the rule does not apply
    )
    result = compare_to_map(log, shop_map())
    assert result.rules.select("applicable", "breached", "occurrences").row(0) == (2, 1, 2)
    frame = result.time_frames.row(0, named=True)
    assert (frame["applicable"], frame["measured"], frame["breached"]) == (2, 2, 1)
