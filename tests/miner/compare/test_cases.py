"""The per-journey side of a comparison (`miner/compare/cases.py`): verdicts, the cases frame,
channels, first values per journey, through counts and the leak table."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.compare.cases import (
    cases_frame,
    first_per_case,
    leak_table,
    through_counts,
)
from journeyminer.miner.compare.funnel import leak_points
from journeyminer.miner.compare.to_map import compare_to_map
from journeyminer.miner.errors import InputError
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import DesignedMap
from tests.miner.compare.conftest import HOUR, MINUTE, inner, journeys
from tests.naive_replay import UNKNOWN, designed_maps
from tests.strategies import BASE_US, event_frames, log_from_rows, shop_map


def _generated(designed: DesignedMap, data: st.DataObject) -> EventLog:
    acts = tuple(t.id for t in designed.touchpoints) + UNKNOWN
    return EventLog(data.draw(event_frames(max_cases=8, max_events=7, activities=acts)))


def test_a_journey_idle_for_exactly_the_timeout_is_still_in_progress() -> None:
    # The shop map's longest time frame is 1h: its timeout. j0 ends 1h before as_of.
    log = journeys([("land", 0)], [("land", 0), ("order", 0)], [("land", 0), ("prod", HOUR)])
    for as_of, in_progress in ((HOUR, [True, False, True]), (HOUR + 1, [False, False, True])):
        pc = inner(log, shop_map(), as_of_us=BASE_US + as_of).per_case
        assert pc.in_progress.tolist() == in_progress
        assert pc.converted.tolist() == [False, True, False]
        assert pc.dropped.tolist() == [not in_progress[0], False, False]


@given(designed_maps(), st.data())
def test_every_journey_is_converted_in_progress_or_dropped_and_only_one(
    designed: DesignedMap, data: st.DataObject
) -> None:
    pc = inner(_generated(designed, data), designed).per_case
    assert (pc.converted.astype(int) + pc.in_progress + pc.dropped).tolist() == [1] * pc.var.size
    assert ((pc.goal >= 0) == pc.converted).all()


def test_the_cases_frame_reads_goal_phases_and_leak_of_each_journey() -> None:
    log = journeys(
        ["land", "prod", "cart", "pay", "order", "prod"],  # converted at position 4
        ["ad", "land", "prod", "zz"],  # dropped after an unknown touchpoint
        channels=("web", "call_center", "call_center"),
    )
    steps = inner(log, shop_map(), as_of_us=BASE_US + 400 * HOUR)
    frame = cases_frame(
        steps.enc.channels, steps.codes, steps.replayed, steps.per_case, pl.Series(["j0", "j1"])
    )
    won, lost = frame.iter_rows(named=True)
    assert (won["converted"], won["goal_position"], won["switches_before_goal"]) == (True, 4, 2)
    assert (won["furthest_phase"], won["last_phase"], won["leak_touchpoint"]) == (
        "buy",
        "consider",
        None,
    )
    assert won["channels"] == ["call_center", "web"] and won["channel_switches"] == 3
    assert (lost["dropped"], lost["goal_position"], lost["switches_before_goal"]) == (
        True,
        None,
        None,
    )
    # Its leak point: the last touchpoint (unknown), in the phase of its last mapped one.
    assert (lost["leak_touchpoint"], lost["leak_phase"], lost["last_phase"]) == (
        "zz",
        "consider",
        "consider",
    )
    assert (lost["duration_s"], lost["n_events"]) == (180.0, 4)


def test_journeys_name_their_channels_beyond_the_first_64() -> None:
    # 70 channels: the sets need a second bit mask per journey.
    names = [f"ch{i:02d}" for i in range(70)]
    rows = [("j0", "land", BASE_US + i, ch) for i, ch in enumerate(names)]
    rows += [("j1", "land", BASE_US, "ch69"), ("j1", "prod", BASE_US + 1, "ch03")]
    rows += [("j2", "land", BASE_US, None)]
    cases = compare_to_map(log_from_rows(rows), shop_map()).cases  # type: ignore[arg-type]
    assert cases.get_column("channels").to_list() == [names, ["ch03", "ch69"], []]
    assert cases.get_column("channel_switches").to_list() == [69, 1, 0]


def test_first_per_case_takes_each_journeys_first_value_that_is_set() -> None:
    log = journeys(["land", "prod", "cart"], ["land", "prod"], ["land"])
    frame = log.frame.with_columns(
        order_value=pl.Series([None, 12.5, 30.0, None, None, 7.0]),
        device=pl.Series(["mobile", "desktop", None, None, "tablet", None]),
    )
    enc = EventLog(frame).encoded
    assert first_per_case(frame, enc, "order_value", pl.Float64).to_list() == [12.5, None, 7.0]
    assert first_per_case(frame, enc, "device", pl.String).to_list() == ["mobile", "tablet", None]
    assert first_per_case(frame, enc, "missing", pl.String).to_list() == [None, None, None]
    assert first_per_case(frame, enc, None, pl.Float64).dtype == pl.Float64


def test_a_value_attribute_that_is_not_numeric_is_an_input_error_naming_it() -> None:
    log = journeys(["land"])
    frame = log.frame.with_columns(order_value=pl.lit("12 EUR"))
    with pytest.raises(InputError, match="'order_value' is not numeric") as info:
        first_per_case(frame, EventLog(frame).encoded, "order_value", pl.Float64)
    assert (info.value.column, info.value.found) == ("order_value", "String")


@given(designed_maps(), st.data())
def test_through_counts_are_closed_journeys_showing_each_touchpoint(
    designed: DesignedMap, data: st.DataObject
) -> None:
    log = _generated(designed, data)
    steps = inner(log, designed)
    got = through_counts(steps.codes, steps.replayed, steps.per_case)
    closed = pl.DataFrame(
        {
            "case_id": steps.enc.case_names,
            "closed": ~steps.per_case.in_progress,
            "converted": steps.per_case.converted,
        }
    ).filter("closed")
    want = (
        log.frame.select("case_id", pl.col("activity").alias("touchpoint"))
        .unique()
        .join(closed, on="case_id")
        .group_by("touchpoint")
        .agg(
            pl.len().cast(pl.Int64).alias("through"),
            pl.col("converted").sum().cast(pl.Int64).alias("conv"),
        )
    )
    assert got.sort("touchpoint").equals(want.sort("touchpoint"))


@given(designed_maps(), st.data())
def test_the_leak_table_equals_leak_points_of_the_cases_frame(
    designed: DesignedMap, data: st.DataObject
) -> None:
    log = _generated(designed, data)
    frame = log.frame.with_columns(
        value=pl.Series(
            data.draw(
                st.lists(
                    st.none() | st.floats(0, 100), min_size=log.n_events, max_size=log.n_events
                )
            ),
            dtype=pl.Float64,
        )
    )
    log = EventLog(frame, is_sorted=True)
    steps = inner(log, designed)
    case_ids = steps.enc.case_names
    values = first_per_case(frame, steps.enc, "value", pl.Float64)
    mean = values.filter(pl.Series(steps.per_case.converted)).mean()
    mean_value = float(mean) if mean is not None else None  # type: ignore[arg-type]
    got = leak_table(steps.codes, steps.replayed, steps.per_case, values, case_ids, mean_value, 2)
    cases = cases_frame(steps.enc.channels, steps.codes, steps.replayed, steps.per_case, case_ids)
    want = leak_points(
        cases.with_columns(values.alias("value")),
        steps.replayed.variant_acts,
        mean_value,
        [],
        examples=2,
    )
    assert got.equals(want)
    assert got.get_column("journeys").sum() == int(steps.per_case.dropped.sum())


def test_a_leak_is_the_last_touchpoint_even_unknown_in_the_phase_of_the_last_mapped_one() -> None:
    log = journeys(
        ["land", "zz"],
        ["land", "prod", "zz"],
        ["land", "prod"],
        [("land", 0), ("cart", MINUTE), ("pay", 2 * MINUTE), ("order", 50 * HOUR)],
    )
    leaks = compare_to_map(log, shop_map()).leaks  # the last journey's order closes the rest
    assert sorted(leaks.select("touchpoint", "phase", "journeys").rows()) == [
        ("prod", "consider", 1),
        ("zz", "aware", 1),
        ("zz", "consider", 1),
    ]
