"""Effort before success (`miner/compare/effort.py`): touchpoints and channel switches before
the goal, and conversion by contacts and by switches, from arrays and from the frame."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.compare.effort import (
    CONTACTS_CAP,
    SWITCHES_CAP,
    Effort,
    effort_before_goal,
    effort_counts,
)
from journeyminer.miner.compare.to_map import compare_to_map
from tests.miner.compare.conftest import HOUR, journeys
from tests.miner.compare.conftest import MINUTE as M
from tests.strategies import shop_map

Journey = tuple[bool, bool, int, int, int, int]  # converted, in progress, goal, events, ...


def _frame(rows: list[Journey]) -> pl.DataFrame:
    """The columns of `Comparison.cases` effort reads; goal and switches before it null unless
    converted, as the comparison leaves them."""
    return pl.DataFrame(
        {
            "converted": [r[0] for r in rows],
            "in_progress": [r[1] for r in rows],
            "goal_position": [r[2] if r[0] else None for r in rows],
            "n_events": [r[3] for r in rows],
            "switches_before_goal": [r[4] if r[0] else None for r in rows],
            "channel_switches": [r[5] for r in rows],
        },
        schema={"converted": pl.Boolean, "in_progress": pl.Boolean}
        | {c: pl.Int64 for c in ("goal_position", "n_events")}
        | {c: pl.Int64 for c in ("switches_before_goal", "channel_switches")},
    )


def _arrays(rows: list[Journey]) -> Effort:
    columns = [np.array([r[i] for r in rows], dtype=bool) for i in (0, 1)]
    columns += [np.array([r[i] for r in rows], dtype=np.int64) for i in (2, 3, 4, 5)]
    return effort_counts(*columns)


def _assert_same(a: Effort, b: Effort) -> None:
    for part in ("summary", "by_contacts", "by_channel_switches"):
        assert getattr(a, part).equals(getattr(b, part)), part


# converted, in progress, goal position, events, switches before the goal, switches in all
ROWS: list[Journey] = [
    (True, False, 2, 5, 1, 3),
    (True, False, 4, 4, 0, 0),
    (True, False, 9, 12, 2, 2),
    (False, False, -1, 2, 0, 1),  # dropped after 2 events and 1 switch
    (False, False, -1, 4, 0, 0),
    (False, True, -1, 3, 0, 1),  # in progress: not in the conversion tables
]


def test_effort_summarises_touchpoints_and_switches_before_the_goal_of_converted_journeys() -> None:
    summary = {r["measure"]: r for r in _arrays(ROWS).summary.iter_rows(named=True)}
    touch = summary["touchpoints_before_goal"]
    assert (touch["journeys"], touch["mean"], touch["median"], touch["max"]) == (3, 5.0, 4.0, 9)
    assert touch["p90"] == pytest.approx(4 + 0.8 * (9 - 4))
    moves = summary["channel_switches_before_goal"]
    assert (moves["journeys"], moves["mean"], moves["median"], moves["max"]) == (3, 1.0, 1.0, 2)


def test_conversion_by_contacts_counts_closed_journeys_by_events_before_the_goal() -> None:
    # Converted journeys count their events before the goal, the others all their events.
    by_contacts = _arrays(ROWS).by_contacts
    assert by_contacts.rows() == [
        (2, False, 2, 1, 0.5),  # goal at 2, and a 2-event drop-off
        (4, False, 2, 1, 0.5),
        (9, False, 1, 1, 1.0),
    ]
    by_switches = _arrays(ROWS).by_channel_switches
    assert by_switches.select("channel_switches", "journeys", "converted").rows() == [
        (0, 2, 1),
        (1, 2, 1),
        (2, 1, 1),
    ]


def test_contacts_and_switches_beyond_the_cap_fold_into_one_or_more_row() -> None:
    rows: list[Journey] = [
        (True, False, CONTACTS_CAP + 5, 40, SWITCHES_CAP + 1, 20),
        (False, False, -1, CONTACTS_CAP, 0, SWITCHES_CAP),
        (False, False, -1, 1, 0, 0),
    ]
    effort = _arrays(rows)
    assert effort.by_contacts.rows() == [(1, False, 1, 0, 0.0), (CONTACTS_CAP, True, 2, 1, 0.5)]
    assert effort.by_channel_switches.select("channel_switches", "or_more", "journeys").rows() == [
        (0, False, 1),
        (SWITCHES_CAP, True, 2),
    ]
    _assert_same(effort, effort_before_goal(_frame(rows)))


def test_without_converted_journeys_the_summary_has_no_numbers() -> None:
    rows: list[Journey] = [(False, False, -1, 3, 0, 1)]
    effort = _arrays(rows)
    assert effort.summary.select("journeys", "mean", "max").rows() == [(0, None, None)] * 2
    _assert_same(effort, effort_before_goal(_frame(rows)))


journey_rows = st.lists(
    st.tuples(
        st.booleans(),
        st.booleans(),
        st.integers(0, 30),
        st.integers(1, 30),
        st.integers(0, 15),
        st.integers(0, 15),
    ).map(lambda r: (r[0], r[1] and not r[0], *r[2:])),  # a converted journey is closed
    min_size=1,
    max_size=30,
)


@given(journey_rows)
def test_effort_from_arrays_equals_effort_from_the_frame(rows: list[Journey]) -> None:
    _assert_same(_arrays(rows), effort_before_goal(_frame(rows)))


def test_the_comparison_counts_effort_from_its_journeys() -> None:
    log = journeys(
        # goal at position 4; its last event 3 hours in closes the others (timeout 1h)
        [
            ("land", 0),
            ("prod", M),
            ("cart", 2 * M),
            ("pay", 3 * M),
            ("order", 4 * M),
            ("prod", 3 * HOUR),
        ],
        ["land", "cart", "pay", "order"],  # goal at position 3
        ["land", "prod"],  # dropped after 2 events
        channels=("web", "call_center", "web"),
    )
    effort = compare_to_map(log, shop_map()).effort
    touch = effort.summary.row(0, named=True)
    assert (touch["measure"], touch["journeys"], touch["mean"]) == (
        "touchpoints_before_goal",
        2,
        3.5,
    )
    assert effort.by_contacts.select("contacts", "journeys", "converted").rows() == [
        (2, 1, 0),
        (3, 1, 1),
        (4, 1, 1),
    ]
