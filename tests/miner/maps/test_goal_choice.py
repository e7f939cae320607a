"""A draft's goals: the user's, or a guess from how journeys end that says why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from journeyminer.miner.errors import InputError
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.goal_choice import choose_goals

from ...strategies import log_from_rows


def _log(paths: list[tuple[list[str], int]]) -> EventLog:
    rows = []
    n = 0
    for path, times in paths:
        for _ in range(times):
            rows += [
                (f"c{n}", a, datetime(2024, 1, 1, i, tzinfo=UTC), None) for i, a in enumerate(path)
            ]
            n += 1
    return log_from_rows(rows)


FINES = _log(
    [
        (
            ["Create Fine", "Send Fine", "Insert Fine Notification", "Send for Credit Collection"],
            45,
        ),
        (["Create Fine", "Payment"], 30),
        (["Create Fine", "Send Fine", "Payment"], 10),
        (["Create Fine", "Send Fine"], 15),
    ]
)


def test_a_fines_log_takes_payment_as_goal_not_credit_collection() -> None:
    choice = choose_goals(FINES)
    assert choice.goals == ("Payment",) and choice.chosen_by == "draft"
    assert choice.reason == (
        "its name reads as success, and it is the most frequent such last touchpoint:"
        " it ends 40% of the journeys (40)"
    )
    assert choice.to_dict()["alternatives"] == [
        {"activity": "Send for Credit Collection", "journeys": 45, "share": 0.45},
        {"activity": "Payment", "journeys": 40, "share": 0.4},
        {"activity": "Send Fine", "journeys": 15, "share": 0.15},
    ]


def test_without_a_success_name_the_most_frequent_end_that_is_no_failure_wins() -> None:
    log = _log([(["a", "cancelled"], 5), (["a", "b"], 3), (["a", "c"], 2)])
    choice = choose_goals(log)
    assert choice.goals == ("b",)
    assert choice.reason.startswith("the most frequent last touchpoint whose name does not read")


def test_the_users_goals_win_and_are_checked() -> None:
    choice = choose_goals(FINES, ["Send Fine", "Payment"])
    assert choice.goals == ("Send Fine", "Payment") and choice.chosen_by == "user"
    with pytest.raises(InputError) as info:
        choose_goals(FINES, ["Paymnet"])
    assert str(info.value).startswith(
        "column 'goal': goal 'Paymnet' is not a touchpoint of the log; did you mean 'Payment'?"
    )
