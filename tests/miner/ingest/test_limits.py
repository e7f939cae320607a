"""Source limits (`miner/ingest/limits.py`): a value, a header, columns, distinct activities;
each refusal names the limit, the file, and the row and column where there is one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from journeyminer.miner.errors import SourceLimitError
from journeyminer.miner.ingest.limits import SourceLimits
from journeyminer.miner.ingest.readers import check_columns, read_source
from journeyminer.miner.ingest.sources import SourceMapping
from journeyminer.miner.ingest.stream import write_source


def _csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["case_id,activity,timestamp", *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(n: int, activities: int = 3) -> list[tuple[str, str, str]]:
    return [
        (f"c{i % 50}", f"a{i % activities}", f"2024-01-01T00:{i % 60:02d}:00") for i in range(n)
    ]


def test_a_long_activity_in_a_streamed_source_names_the_limit_row_and_column(
    tmp_path: Path,
) -> None:
    rows = _rows(200_000)
    rows[150_000] = ("c1", "x" * 1_000_000, "2024-01-01T00:00:00")
    src = _csv(tmp_path / "big.csv", rows)
    with pytest.raises(SourceLimitError) as info:
        write_source(src, None, tmp_path / "out.parquet", row_column="row")
    err = info.value
    assert err.extra["limit"] == "max_value_bytes" and err.extra["max"] == 2_048
    assert (err.file, err.row, err.column) == ("big.csv", 150_001, "activity")
    assert "max_value_bytes" in str(err) and err.problem()["status"] == 422
    assert not (tmp_path / "out.parquet").exists()


def test_a_long_case_id_read_whole_is_refused_with_its_row(tmp_path: Path) -> None:
    rows = _rows(10)
    rows[3] = ("c" * 300, "a", "2024-01-01T00:00:00")
    src = _csv(tmp_path / "s.csv", rows)
    with pytest.raises(SourceLimitError) as info:
        read_source(src, limits=SourceLimits(max_value_bytes=100))
    assert (info.value.row, info.value.column) == (4, "case_id")


def test_a_value_at_the_limit_is_accepted(tmp_path: Path) -> None:
    rows = _rows(10)
    rows[0] = ("c1", "é" * 50, "2024-01-01T00:00:00")  # 100 bytes of UTF-8
    frame = read_source(_csv(tmp_path / "s.csv", rows), limits=SourceLimits(max_value_bytes=100))
    assert frame.height == 10


def test_a_rename_cannot_make_an_activity_longer_than_the_limit(tmp_path: Path) -> None:
    src = _csv(tmp_path / "s.csv", _rows(10))
    mapping = SourceMapping(rename={"a1": "y" * 500})
    with pytest.raises(SourceLimitError, match="max_value_bytes"):
        read_source(src, mapping, limits=SourceLimits(max_value_bytes=100))


def test_a_kept_attribute_is_bounded_too(tmp_path: Path) -> None:
    src = tmp_path / "s.csv"
    src.write_text(
        "case_id,activity,timestamp,note\nc1,a,2024-01-01,ok\nc1,b,2024-01-02," + "n" * 300 + "\n"
    )
    with pytest.raises(SourceLimitError) as info:
        read_source(src, SourceMapping(keep=("note",)), limits=SourceLimits(max_value_bytes=100))
    assert (info.value.row, info.value.column) == (2, "note")


def test_a_header_with_too_many_columns_is_refused_from_its_header_alone(tmp_path: Path) -> None:
    src = tmp_path / "wide.csv"
    extra = ",".join(f"x{i}" for i in range(2_000))
    src.write_text(f"case_id,activity,timestamp,{extra}\n")
    with pytest.raises(SourceLimitError) as info:
        check_columns(src)
    assert info.value.extra == {"limit": "max_columns", "max": 1_000}


def test_a_header_line_longer_than_the_head_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "long.csv"
    src.write_text("case_id,activity,timestamp," + "h" * 100_000 + "\nc,a,2024-01-01,x\n")
    with pytest.raises(SourceLimitError, match="max_header_bytes"):
        check_columns(src)
    with pytest.raises(SourceLimitError, match="max_header_bytes"):
        read_source(src)


def test_a_parquet_source_with_too_many_columns_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "wide.parquet"
    data = {"case_id": ["c"], "activity": ["a"], "timestamp": ["2024-01-01"]}
    data |= {f"x{i}": [1] for i in range(20)}
    pl.DataFrame(data).write_parquet(src)
    with pytest.raises(SourceLimitError, match="max_columns"):
        write_source(
            src, None, tmp_path / "o.parquet", row_column="r", limits=SourceLimits(max_columns=10)
        )


def test_too_many_distinct_activities_in_one_file_are_refused(tmp_path: Path) -> None:
    src = _csv(tmp_path / "s.csv", _rows(100, activities=40))
    limits = SourceLimits(max_activities=30)
    with pytest.raises(SourceLimitError) as info:
        write_source(src, None, tmp_path / "o.parquet", row_column="r", limits=limits)
    assert info.value.extra["limit"] == "max_activities"
    assert "40 distinct activities" in str(info.value)
    assert not (tmp_path / "o.parquet").exists()
    rows, _ = write_source(src, None, tmp_path / "o.parquet", row_column="r")
    assert rows == 100
