"""Durations as people write them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.durations import format_duration, parse_duration
from journeyminer.miner.errors import InputError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("36h", 129600),
        ("3d", 259200),
        ("2w", 1209600),
        ("1d12h", 129600),
        (45, 45),
    ],
)
def test_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["", "3 days", "d", "3x", "-1d", "1d garbage"])
def test_bad_durations_say_what_is_expected(bad: str) -> None:
    with pytest.raises(InputError, match="expected a duration like 90s"):
        parse_duration(bad)


@given(st.integers(0, 10**8))
def test_format_round_trips(seconds: int) -> None:
    delta = timedelta(seconds=seconds)
    assert parse_duration(format_duration(delta)) == delta


@pytest.mark.parametrize(
    "text",
    ["99999999999999999d", "9" * 400 + "s", "36501d", 1e300, float("inf"), float("nan")],
)
def test_a_duration_past_100_years_or_not_finite_is_bad_input_naming_what(
    text: str | float,
) -> None:
    # 99999999999999999d was an OverflowError: HTTP 500 and CLI exit code 3 (issue 14).
    with pytest.raises(InputError, match=r"^gap .*(too long|not a number)") as info:
        parse_duration(text, what="gap")
    assert info.value.expected == "a duration of at most 36500d (100 years)"


def test_the_longest_duration_is_100_years() -> None:
    assert parse_duration("36500d") == timedelta(days=36_500)
