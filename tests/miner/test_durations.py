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
