"""The store's rows as records (`api/store/records.py`): built from SQLite rows, paths made
absolute, JSON columns parsed, the merge cache only for its own version, JSON-ready dicts."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from journeyminer.api.store.records import (
    JobInfo,
    LogInfo,
    LogSnapshot,
    MapInfo,
    ResultInfo,
    Tenant,
    parse_time,
)
from journeyminer.miner.errors import InternalError

T1 = "2024-01-01T10:00:00.000001+00:00"
T2 = "2024-02-01T10:00:00+00:00"
ROOT = Path("/ws")


def row(**values: Any) -> sqlite3.Row:
    """A sqlite3.Row with these columns, as the store's queries return them."""
    con = sqlite3.connect(":memory:")
    con.row_factory = sqlite3.Row
    names = ", ".join(f"? AS {name}" for name in values)
    got: sqlite3.Row = con.execute(f"SELECT {names}", tuple(values.values())).fetchone()
    return got


def test_times_come_back_as_aware_datetimes_and_a_missing_required_one_is_an_error() -> None:
    assert parse_time(T1) == datetime(2024, 1, 1, 10, 0, 0, 1, tzinfo=UTC)
    assert parse_time(None) is None and parse_time("") is None
    tenant = Tenant.from_row(row(id="ten_1", name="acme", created_at=T1))
    assert tenant.to_dict() == {"id": "ten_1", "name": "acme", "created_at": T1}
    with pytest.raises(InternalError, match="required timestamp is missing"):
        Tenant.from_row(row(id="ten_1", name="acme", created_at=None))


LOG_ROW: dict[str, Any] = {
    "id": "log_1",
    "tenant_id": "ten_1",
    "name": "web",
    "status": "ready",
    "version": 3,
    "parts": 2,
    "events": 10,
    "cases": 4,
    "customers": None,
    "start": T1,
    "end": None,
    "activities": json.dumps(["buy", "visit"]),
    "channels": "[]",
    "mapping": json.dumps({"preset": "web"}),
    "error": None,
    "created_at": T1,
    "updated_at": T2,
}


def test_a_log_record_parses_its_json_columns_and_counts_journeys_as_cases() -> None:
    info = LogInfo.from_row(row(**LOG_ROW))
    assert (info.activities, info.channels, info.mapping, info.error) == (
        ("buy", "visit"),
        (),
        {"preset": "web"},
        None,
    )
    data = info.to_dict()
    assert (data["journeys"], data["cases"], data["start"], data["end"]) == (4, 4, T1, None)
    assert data["updated_at"] == T2 and "tenant_id" not in data
    json.dumps(data)  # JSON-ready as it is


SNAPSHOT_ROW: dict[str, Any] = {
    "id": "log_1",
    "version": 3,
    "status": "ready",
    "mapping": None,
    "identities_path": "logs/log_1/identities-a.parquet",
    "customers_path": None,
    "merged_path": "logs/log_1/merged-b.parquet",
    "merged_version": 3,
    "stitch_report": json.dumps({"journeys": 4}),
}


def test_a_snapshot_holds_the_merge_cache_only_when_it_is_of_the_current_version() -> None:
    parts = ["logs/log_1/part-1.parquet", "logs/log_1/part-2.parquet"]
    fresh = LogSnapshot.from_row(row(**SNAPSHOT_ROW), parts, ROOT)
    assert fresh.parts == (ROOT / parts[0], ROOT / parts[1])
    assert fresh.merged == ROOT / "logs/log_1/merged-b.parquet"
    assert fresh.stitch_report == {"journeys": 4}
    assert fresh.identities == ROOT / "logs/log_1/identities-a.parquet"
    assert fresh.customers is None
    stale = LogSnapshot.from_row(row(**{**SNAPSHOT_ROW, "merged_version": 2}), parts, ROOT)
    assert (stale.merged, stale.stitch_report) == (None, None)


MAP_ROW: dict[str, Any] = {
    "id": "map_1",
    "tenant_id": "ten_1",
    "name": "shop",
    "version": 3,
    "format": "json",
    "text": "{}",
    "created_at": T1,
    "updated_at": T2,
}


def test_an_old_map_version_keeps_its_own_text_format_and_time() -> None:
    old = row(version=1, format="toml", text='name = "v1"', created_at=T1)
    info = MapInfo.from_row(row(**MAP_ROW), old)
    assert (info.version, info.latest_version, info.format, info.text) == (
        1,
        3,
        "toml",
        'name = "v1"',
    )
    assert info.updated_at == parse_time(T1)
    latest = MapInfo.from_row(row(**MAP_ROW))
    assert (latest.version, latest.format, latest.to_dict()["updated_at"]) == (3, "json", T2)


@pytest.mark.parametrize(
    ("status", "finished"),
    [("queued", False), ("running", False), ("done", True), ("failed", True), ("cancelled", True)],
)
def test_a_job_is_finished_in_its_final_states_only(status: str, finished: bool) -> None:
    job = JobInfo.from_row(
        row(
            id="job_1",
            tenant_id="ten_1",
            kind="discover",
            status=status,
            progress=0.5,
            stage=None,
            params=json.dumps({"log": "log_1"}),
            error=json.dumps({"status": 500}) if status == "failed" else None,
            result_id=None,
            created_at=T1,
            started_at=None,
            finished_at=T2 if finished else None,
            updated_at=T2,
        )
    )
    assert job.finished is finished
    data = job.to_dict()
    assert data["params"] == {"log": "log_1"} and data["started_at"] is None
    assert data["error"] == ({"status": 500} if status == "failed" else None)


def test_a_result_record_names_its_files_but_never_their_paths() -> None:
    result = ResultInfo.from_row(
        row(
            id="res_1",
            tenant_id="ten_1",
            kind="discover",
            log_id="log_1",
            log_version=2,
            map_id="",
            map_version=0,
            params_hash="h",
            paths=json.dumps(
                {"result.json": "results/res_1/result.json", "a.parquet": "results/res_1/a.parquet"}
            ),
            created_at=T1,
        ),
        ROOT,
    )
    assert result.files["result.json"] == ROOT / "results/res_1/result.json"
    data = result.to_dict()
    assert data["files"] == ["a.parquet", "result.json"]
    assert (data["map"], data["map_version"], data["log_version"]) == (None, None, 2)
    assert "/ws" not in json.dumps(data)
