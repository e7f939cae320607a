"""The EventLog: canonical form, stable sort, encoded view."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.errors import EmptySourceError, MissingColumnError, SourceError
from journeyminer.miner.log import TS_DTYPE, EventLog, encode


def test_canonical_columns_and_types(tiny_log: EventLog) -> None:
    assert tiny_log.frame.columns[:4] == ["case_id", "activity", "timestamp", "channel"]
    assert tiny_log.frame.schema["timestamp"] == TS_DTYPE
    assert tiny_log.n_events == 6
    assert tiny_log.n_cases == 3


def test_offsets_across_dst_switch_are_converted_to_utc(tiny_log: EventLog) -> None:
    c1 = tiny_log.frame.filter(pl.col("case_id") == "c1").get_column("timestamp").to_list()
    assert c1[0] == datetime(2024, 3, 31, 0, 59, tzinfo=UTC)
    assert c1[1] == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)


def test_equal_timestamps_keep_input_order() -> None:
    frame = pl.DataFrame(
        {"c": ["a"] * 4, "x": ["d", "c", "b", "a"], "t": ["2024-01-01 00:00:00"] * 4}
    )
    log = EventLog.from_frame(frame, case="c", activity="x", timestamp="t")
    assert log.frame.get_column("activity").to_list() == ["d", "c", "b", "a"]


def test_sorted_by_case_then_time_stably() -> None:
    frame = pl.DataFrame(
        {
            "c": ["b", "a", "b", "a", "a"],
            "x": ["1", "2", "3", "4", "5"],
            "t": [3, 2, 1, 2, 1],
        }
    )
    log = EventLog.from_frame(frame, case="c", activity="x", timestamp="t")
    assert log.frame.get_column("case_id").to_list() == ["a", "a", "a", "b", "b"]
    assert log.frame.get_column("activity").to_list() == ["5", "2", "4", "3", "1"]


def test_encoded_view_codes_into_sorted_names(tiny_log: EventLog) -> None:
    enc = tiny_log.encoded
    assert enc.activities == tuple(sorted(set(tiny_log.frame.get_column("activity"))))
    assert enc.offsets.dtype == np.int64 and enc.act.dtype == np.int32
    assert enc.ts.dtype == np.int64 and enc.channel.dtype == np.int8
    assert list(enc.offsets) == [0, 3, 5, 6]
    names = [enc.activities[c] for c in enc.act]
    assert names == tiny_log.frame.get_column("activity").to_list()
    assert list(enc.case_ids) == ["c1", "c2", "c3"]
    assert (enc.channel == -1).all()


def test_encoded_view_is_built_once(tiny_log: EventLog) -> None:
    assert tiny_log.encoded is tiny_log.encoded


def test_empty_log_encodes_to_empty_arrays() -> None:
    frame = pl.DataFrame(
        schema={
            "case_id": pl.String,
            "activity": pl.String,
            "timestamp": TS_DTYPE,
            "channel": pl.String,
        }
    )
    enc = encode(frame)
    assert enc.n_cases == 0 and enc.n_events == 0 and list(enc.offsets) == [0]


def test_parquet_round_trip_keeps_everything(tmp_path, tiny_log: EventLog) -> None:
    path = tiny_log.write_parquet(tmp_path / "log.parquet")
    back = EventLog.read_parquet(path)
    assert back.frame.equals(tiny_log.frame)
    assert not list(tmp_path.glob("*.tmp"))


def test_channels_are_coded_and_missing_is_minus_one() -> None:
    frame = pl.DataFrame(
        {"c": ["a", "a", "a"], "x": ["p", "q", "r"], "t": [1, 2, 3], "ch": ["web", None, "crm"]}
    )
    log = EventLog.from_frame(frame, case="c", activity="x", timestamp="t", channel="ch")
    assert log.channels == ("crm", "web")
    assert list(log.encoded.channel) == [1, -1, 0]


def test_missing_column_names_the_column_and_what_the_file_has() -> None:
    frame = pl.DataFrame({"c": ["a"], "x": ["p"], "t": ["2024-01-01"]})
    with pytest.raises(MissingColumnError) as info:
        EventLog.from_frame(frame, case="case", activity="x", timestamp="t", file="log.csv")
    text = str(info.value)
    assert "'case'" in text and "log.csv" in text and "c, x, t" in text


def test_empty_frame_is_an_error() -> None:
    frame = pl.DataFrame(
        {"c": [], "x": [], "t": []}, schema={"c": pl.String, "x": pl.String, "t": pl.String}
    )
    with pytest.raises(EmptySourceError, match="no events"):
        EventLog.from_frame(frame, case="c", activity="x", timestamp="t", file="e.csv")


def test_non_canonical_frame_is_refused() -> None:
    with pytest.raises(MissingColumnError, match="missing"):
        EventLog(pl.DataFrame({"case_id": ["a"]}))
    bad = pl.DataFrame({"case_id": ["a"], "activity": ["x"], "timestamp": [1], "channel": [None]})
    with pytest.raises(SourceError, match="Datetime"):
        EventLog(bad)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "ç", "d d"]),
            st.sampled_from(["x", "y", "ž"]),
            st.integers(0, 5),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_encoded_view_matches_a_python_reading(rows: list[tuple[str, str, int]]) -> None:
    frame = pl.DataFrame(rows, schema=["c", "x", "t"], orient="row")
    log = EventLog.from_frame(
        frame, case="c", activity="x", timestamp="t", timestamp_format="epoch_s"
    )
    indexed = sorted(enumerate(rows), key=lambda r: (r[1][0], r[1][2], r[0]))
    expected = [r for _, r in indexed]
    enc = log.encoded
    got = [
        (enc.case_ids[i], enc.activities[enc.act[j]], int(enc.ts[j] // 1_000_000))
        for i in range(enc.n_cases)
        for j in range(enc.offsets[i], enc.offsets[i + 1])
    ]
    assert got == expected
