"""The error tree: how an error renders (once, short) and becomes a problem body."""

from __future__ import annotations

from journeyminer.miner.errors import (
    MappingError,
    MissingColumnError,
    SourceError,
    TimestampError,
    shorten,
)


def test_shorten_cuts_long_values_and_says_how_much_is_left() -> None:
    assert shorten("abc") == "abc"
    assert shorten("x" * 250) == "x" * 200 + "… (50 more)"


def test_an_error_says_expected_and_found_once() -> None:
    error = TimestampError(
        "cannot read 'soon' as a timestamp",
        file="web.csv",
        row=3,
        column="ts",
        expected="ISO-8601",
        found="'soon'",
    )
    assert (
        str(error)
        == "web.csv, row 3, column 'ts': cannot read 'soon' as a timestamp (expected ISO-8601)"
    )


def test_a_column_named_in_expected_is_not_named_again() -> None:
    error = MissingColumnError(
        "no case column", file="a.csv", column="case_id", expected="a column named 'case_id'"
    )
    assert str(error) == "a.csv: no case column (expected a column named 'case_id')"


def test_a_megabyte_value_renders_short_in_text_and_problem() -> None:
    huge = "x" * 1_000_000
    error = SourceError(f"bad {huge}", file="a.csv", column=huge, expected="y", found=huge)
    assert len(str(error)) < 1_500
    assert "… (999800 more)" in str(error)
    body = error.problem()
    assert len(body["found"]) < 250 and len(body["column"]) < 250


def test_a_mapping_error_names_its_field_not_a_column() -> None:
    error = MappingError("unknown preset 'webb'", column="preset", expected="one of web, crm")
    assert str(error) == "field 'preset': unknown preset 'webb' (expected one of web, crm)"
