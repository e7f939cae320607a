"""The Parquet files of a stored log (`api/store/log_files.py`): fresh names, parts and tables
written where rows can find them, counts over parts, the schema check of an append."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from journeyminer.api.store.log_files import (
    CUSTOMER,
    check_part_schema,
    fresh_rel,
    part_stats,
    sha256_file,
    summary_stats,
    write_merged,
    write_part,
    write_table,
)
from journeyminer.miner.errors import SourceError
from journeyminer.miner.ingest.stitch_ranges import LogSummary
from tests.api.store.conftest import DAY1, DAY2, make_log


def test_fresh_names_are_new_files_in_the_logs_folder(tmp_path: Path) -> None:
    names = {fresh_rel("log_a", "part") for _ in range(50)}
    assert len(names) == 50
    assert all(re.fullmatch(r"logs/log_a/part-[0-9a-f]{16}\.parquet", n) for n in names)
    assert re.fullmatch(r"logs/log_a/merged-[0-9a-f]{16}\.parquet", fresh_rel("log_a", "merged"))


def test_parts_merges_and_tables_read_back_from_the_names_returned(tmp_path: Path) -> None:
    log = make_log(DAY1)
    part = write_part(tmp_path, "log_a", log.frame)
    merged = write_merged(tmp_path, "log_a", log)
    table = pl.DataFrame({"source_id": ["c1"], CUSTOMER: ["k1"]})
    ids = write_table(tmp_path, "log_a", "identities_path", table)
    assert re.fullmatch(r"logs/log_a/part-\w+\.parquet", part)
    assert re.fullmatch(r"logs/log_a/merged-\w+\.parquet", merged)
    assert re.fullmatch(r"logs/log_a/identities-\w+\.parquet", ids)
    assert pl.read_parquet(tmp_path / part).equals(log.frame)
    assert pl.read_parquet(tmp_path / merged).equals(log.frame)
    assert pl.read_parquet(tmp_path / ids).equals(table)
    customers = write_table(tmp_path, "log_a", "customers_path", table)
    assert Path(customers).name.startswith("customers-")


def test_part_stats_count_over_every_part_once(tmp_path: Path) -> None:
    one = write_part(tmp_path, "log_a", make_log(DAY1).frame)
    two = write_part(tmp_path, "log_a", make_log(DAY2, channel=None).frame)
    stats = part_stats(tmp_path, [one, two])
    assert stats == {
        "events": 5,
        "cases": 3,  # c2 is in both parts
        "customers": None,  # no part has a customer column
        "start": "2024-01-01T10:00:00+00:00",
        "end": "2024-01-02T12:00:00+00:00",
        "activities": ["buy", "call", "visit"],
        "channels": ["web"],
    }


def test_part_stats_count_customers_when_any_part_names_them(tmp_path: Path) -> None:
    with_ids = make_log(DAY1).frame.with_columns(pl.Series(CUSTOMER, ["k1", "k1", None]))
    one = write_part(tmp_path, "log_a", with_ids)
    two = write_part(tmp_path, "log_a", make_log(DAY2).frame)
    assert part_stats(tmp_path, [one, two])["customers"] == 1


def test_summary_stats_give_the_same_fields_as_part_stats() -> None:
    summary = LogSummary(
        events=4,
        cases=2,
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=None,
        activities=("a", "b"),
        channels=("web",),
    )
    assert summary_stats(summary, 7) == {
        "events": 4,
        "cases": 2,
        "customers": 7,
        "start": "2024-01-01T00:00:00+00:00",
        "end": None,
        "activities": ["a", "b"],
        "channels": ["web"],
    }


def test_an_append_must_type_shared_columns_like_the_parts_before_it(tmp_path: Path) -> None:
    part = write_part(tmp_path, "log_a", make_log(DAY1).frame.with_columns(value=pl.lit(1)))
    check_part_schema(tmp_path, [part], {"value": pl.Int32, "new": pl.String})
    with pytest.raises(SourceError, match="column 'value' has another type") as info:
        check_part_schema(tmp_path, [part], {"value": pl.String})
    assert (info.value.column, info.value.expected, info.value.found) == (
        "value",
        "Int32",
        "String",
    )
    check_part_schema(tmp_path, [], {"value": pl.String})  # a first part sets the types


def test_sha256_file_hashes_files_larger_than_one_block(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000  # 1.2 MiB: two reads
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()
