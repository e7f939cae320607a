"""Timestamps in every shape real exports use, all to Datetime[us, UTC]."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner._typing import Ambiguous
from journeyminer.miner.errors import TimestampError
from journeyminer.miner.ingest.timestamps import parse_timestamps
from journeyminer.miner.ingest.zones import close_timezones, count_ambiguous, timezone_problem


def parsed(values: list, **kw) -> list[datetime | None]:
    return parse_timestamps(pl.Series("t", values), **kw).to_list()


def test_iso_with_offsets_that_change_at_daylight_saving() -> None:
    got = parsed(
        ["2024-03-31T01:30:00+01:00", "2024-03-31T03:30:00+02:00", "2024-10-27T02:30:00+01:00"]
    )
    assert got == [
        datetime(2024, 3, 31, 0, 30, tzinfo=UTC),
        datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
        datetime(2024, 10, 27, 1, 30, tzinfo=UTC),
    ]


def test_zulu_and_fractions() -> None:
    assert parsed(["2024-03-31T10:15:02.123Z"]) == [
        datetime(2024, 3, 31, 10, 15, 2, 123000, tzinfo=UTC)
    ]


def test_naive_times_take_the_configured_zone_with_dst() -> None:
    got = parsed(["31/03/2024 01:30:00", "31/03/2024 03:30:00"], timezone="Europe/Amsterdam")
    assert got == [
        datetime(2024, 3, 31, 0, 30, tzinfo=UTC),
        datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
    ]


def test_naive_default_zone_is_utc() -> None:
    assert parsed(["2024-01-02 03:04:05"]) == [datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("value", "unit"),
    [(1_700_000_000, "s"), (1_700_000_000_000, "ms"), (1_700_000_000_000_000, "us")],
)
def test_epoch_units_are_recognised_by_magnitude(value: int, unit: str) -> None:
    assert parsed([value]) == [datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)]
    assert parsed([str(value)]) == [datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)]
    assert parsed([value], fmt=f"epoch_{unit}") == [datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)]


def test_user_format_string() -> None:
    got = parsed(["2024/03/05 10:11:12.345"], fmt="%Y/%m/%d %H:%M:%S%.3f")
    assert got == [datetime(2024, 3, 5, 10, 11, 12, 345000, tzinfo=UTC)]


def test_mixed_aware_and_naive_rows_both_parse() -> None:
    got = parsed(["2024-01-01T10:00:00+02:00", "2024-01-01 10:00:00"])
    assert got == [datetime(2024, 1, 1, 8, tzinfo=UTC), datetime(2024, 1, 1, 10, tzinfo=UTC)]


def test_native_datetimes_pass_through_in_utc() -> None:
    naive = pl.Series("t", [datetime(2024, 1, 1, 12)])
    assert parse_timestamps(naive, timezone="Europe/Amsterdam").to_list() == [
        datetime(2024, 1, 1, 11, tzinfo=UTC)
    ]


def test_first_bad_row_is_named() -> None:
    with pytest.raises(TimestampError) as info:
        parse_timestamps(
            pl.Series("when", ["2024-01-01 10:00:00", "2024-01-01 11:00:00", "yesterday"]),
            file="calls.csv",
            column="when",
        )
    err = info.value
    assert err.row == 3 and err.column == "when" and err.file == "calls.csv"
    assert "yesterday" in str(err) and "calls.csv" in str(err)


def test_nothing_parseable_names_row_and_hint() -> None:
    with pytest.raises(TimestampError, match=r"row 1.*expected ISO-8601"):
        parse_timestamps(pl.Series("t", ["soon", "later"]), file="x.csv", column="t")


def test_wrong_user_format_reports_the_format() -> None:
    with pytest.raises(TimestampError, match="%d-%m-%Y"):
        parse_timestamps(pl.Series("t", ["2024-01-01"]), fmt="%d-%m-%Y", column="t")


def test_empty_strings_are_missing_not_errors() -> None:
    assert parsed(["2024-01-01 00:00:00", ""])[1] is None


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)))
def test_iso_round_trip(moment: datetime) -> None:
    moment = moment.replace(tzinfo=UTC)
    text = moment.isoformat()
    assert parsed([text]) == [moment]


def test_epoch_nanoseconds_keep_every_microsecond() -> None:
    ns = 1_711_880_102_123_456_789
    for value in (ns, str(ns)):
        (got,) = parse_timestamps(pl.Series("t", [value]), fmt="epoch_ns").to_list()
        assert got == datetime(2024, 3, 31, 10, 15, 2, 123456, tzinfo=UTC)


def test_a_detected_layout_parses_inside_a_lazy_scan_like_on_a_series() -> None:
    from journeyminer.miner.ingest.timestamps import detect_text_format, text_to_utc

    values = pl.Series("t", ["31/03/2024 01:30:00", "31/03/2024 03:30:00"])
    fmt = detect_text_format(values)
    assert fmt == "%d/%m/%Y %H:%M:%S%.f"
    lazy = values.to_frame().lazy().select(text_to_utc("t", fmt, "Europe/Amsterdam"))
    assert (
        lazy.collect().to_series().to_list()
        == parse_timestamps(values, timezone="Europe/Amsterdam").to_list()
    )
    assert (
        detect_text_format(pl.Series("t", ["2024-01-01T10:00:00+02:00", "2024-01-01 10:00"]))
        is None
    )


# -- time zones and daylight saving (Europe/Amsterdam: 2017-03-26 02:00 -> 03:00, 2017-10-29
# 03:00 -> 02:00) ------------------------------------------------------------------------
AMS = "Europe/Amsterdam"


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "fragment"),
    [
        ("Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("UTC+99", "unknown time zone 'UTC+99'; did you mean UTC?"),
        ("europe/amsterdm", "unknown time zone 'europe/amsterdm'; did you mean Europe/Amsterdam"),
    ],
)
def test_an_unknown_zone_is_named_with_close_names(zone: str, fragment: str) -> None:
    assert fragment in (timezone_problem(zone) or "")
    with pytest.raises(TimestampError) as info:  # also with offsets in the times
        parse_timestamps(pl.Series(["2017-03-26T01:00:00+01:00"]), timezone=zone, column="t")
    assert fragment in str(info.value)


def test_close_timezones_fixes_case_and_spelling() -> None:
    assert close_timezones("europe/amsterdam") == ["Europe/Amsterdam"]
    assert close_timezones("Europe/Amsterdm")[0] == "Europe/Amsterdam"
    assert close_timezones("Mars/Olympus") == []


@pytest.mark.parametrize(
    "values", [["2017-03-26 02:30:00"], ["2017-03-26 01:00", "2017-03-26 02:30"]]
)
def test_a_time_in_the_spring_forward_gap_gets_its_own_message(values: list[str]) -> None:
    with pytest.raises(TimestampError) as info:
        parse_timestamps(pl.Series(values), timezone=AMS, file="calls.csv", column="start")
    text = str(info.value)
    assert text.startswith(
        f"calls.csv, row {len(values)}, column 'start': 02:30 on 2017-03-26 does not exist in"
        " Europe/Amsterdam: clocks jumped forward"
    )
    assert "cannot read" not in text


def test_a_naive_datetime_column_in_the_gap_gets_the_same_message() -> None:
    values = pl.Series([datetime(2017, 3, 26, 2, 30)])
    with pytest.raises(TimestampError, match="02:30 on 2017-03-26 does not exist in Europe/Am"):
        parse_timestamps(values, timezone=AMS)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("earliest", _utc(2017, 10, 29, 0, 30)), ("latest", _utc(2017, 10, 29, 1, 30))],
)
def test_a_fall_back_time_follows_the_ambiguous_rule(rule: Ambiguous, expected: datetime) -> None:
    out = parse_timestamps(pl.Series(["2017-10-29 02:30:00"]), timezone=AMS, ambiguous=rule)
    assert out.to_list() == [expected]


def test_ambiguous_raise_names_the_row_and_the_rule_to_pick() -> None:
    values = pl.Series(["2017-10-29 01:30:00", "2017-10-29 02:30:00"])
    with pytest.raises(TimestampError) as info:
        parse_timestamps(values, timezone=AMS, ambiguous="raise", file="c.csv", column="t")
    assert str(info.value).startswith(
        "c.csv, row 2, column 't': 02:30 on 2017-10-29 happened twice in Europe/Amsterdam:"
        " clocks went back (expected ambiguous = 'earliest' or 'latest'"
    )


def test_count_ambiguous_counts_events_in_the_repeated_hour() -> None:
    frame = pl.DataFrame(
        {"t": [_utc(2017, 10, 28, 23, 30), _utc(2017, 10, 29, 0, 30), _utc(2017, 10, 29, 1, 30)]}
    )
    assert frame.select(count_ambiguous(pl.col("t"), AMS)).item() == 2
    assert frame.select(count_ambiguous(pl.col("t"), "UTC")).item() == 0


def test_a_megabyte_value_that_is_no_timestamp_gives_a_short_message() -> None:
    with pytest.raises(TimestampError) as info:
        parse_timestamps(pl.Series(["2024-01-01", "x" * 1_000_000]), file="a.csv", column="t")
    text = str(info.value)
    assert len(text) < 400 and "… (999802 more) as a timestamp" in text
    assert text.count("xxxxxxxxxx…") == 1  # the value is not repeated as "found"
