"""Logs and their parts (`api/store/logs.py`): create, append (once per batch, also at
once from many threads), read and its merge cache, status, delete, tenancy."""

from __future__ import annotations

import threading

import polars as pl
import pytest

from journeyminer.api.store import ResultKey, Store, Tenant, params_hash
from journeyminer.api.store.log_files import PartFile, write_part
from journeyminer.api.store.logs import restitches
from journeyminer.miner.errors import EmptySourceError, InputError, NotFoundError, SourceError
from journeyminer.miner.log import EventLog
from tests.api.store.conftest import DAY1, DAY2, make_log, sha


def test_create_log_stores_one_part_and_its_summary(store: Store, acme: Tenant) -> None:
    info = store.create_log(acme, "web", make_log(DAY1), mapping={"preset": "web"})
    assert info.id.startswith("log_") and info.status == "ready"
    assert (info.version, info.parts, info.events, info.cases, info.journeys) == (1, 1, 3, 2, 2)
    assert info.activities == ("buy", "visit") and info.channels == ("web",)
    assert info.start is not None and info.start.isoformat() == "2024-01-01T10:00:00+00:00"
    assert info.mapping == {"preset": "web"}
    assert store.read_log(acme, info.id).frame.equals(make_log(DAY1).frame)
    assert store.get_log_by_name(acme, "web") == info
    assert [log.id for log in store.list_logs(acme)] == [info.id]


def test_log_names_are_unique_per_tenant(store: Store, acme: Tenant, other: Tenant) -> None:
    store.create_log(acme, "web", make_log(DAY1))
    with pytest.raises(InputError) as info:
        store.create_log(acme, "web", make_log(DAY2))
    assert info.value.status == 409
    store.create_log(other, "web", make_log(DAY2))
    assert store.check() == []
    assert len(list((store.root / "logs").rglob("*.parquet"))) == 2


def test_append_adds_a_part_and_bumps_the_version(store: Store, acme: Tenant) -> None:
    log = store.create_log(acme, "web", make_log(DAY1), batch_sha256=sha("day1"))
    assert store.append_log_part(acme, log.id, make_log(DAY2), sha("day2")) is True
    info = store.get_log(acme, log.id)
    assert (info.version, info.parts, info.events, info.cases) == (2, 2, 5, 3)
    assert info.activities == ("buy", "call", "visit")
    assert info.end is not None and info.end.isoformat() == "2024-01-02T12:00:00+00:00"
    merged = store.read_log(acme, log.id)
    assert merged.frame.equals(make_log(DAY1 + DAY2).frame)
    assert [p.part for p in store.list_log_parts(acme, log.id)] == [1, 2]


def test_appending_the_same_batch_twice_adds_nothing(store: Store, acme: Tenant) -> None:
    log = store.create_log(acme, "web", make_log(DAY1), batch_sha256=sha("day1"))
    assert store.append_log_part(acme, log.id, make_log(DAY2), sha("day2")) is True
    assert store.append_log_part(acme, log.id, make_log(DAY2), sha("day2")) is False
    assert store.append_log_part(acme, log.id, make_log(DAY1), sha("day1")) is False
    info = store.get_log(acme, log.id)
    assert (info.version, info.parts, info.events) == (2, 2, 5)
    assert len(list((store.root / "logs" / log.id).glob("part-*.parquet"))) == 2


def test_concurrent_appends_of_one_batch_add_it_once(store: Store, acme: Tenant) -> None:
    log = store.create_log(acme, "web", make_log(DAY1))
    outcomes: list[bool] = []
    threads = [
        threading.Thread(
            target=lambda: outcomes.append(
                store.append_log_part(acme, log.id, make_log(DAY2), sha("day2"))
            )
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [False, False, False, True]
    assert store.get_log(acme, log.id).parts == 2
    assert store.check() == []


def test_concurrent_appends_of_different_batches_all_count(store: Store, acme: Tenant) -> None:
    log = store.create_log(acme, "web", make_log(DAY1))
    batches = [[(f"d{i}", "visit", f"2024-02-{i + 1:02d}T00:00:00Z")] for i in range(6)]
    threads = [
        threading.Thread(
            target=store.append_log_part, args=(acme, log.id, make_log(b), sha(str(i)))
        )
        for i, b in enumerate(batches)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    info = store.get_log(acme, log.id)
    assert (info.version, info.parts, info.events, info.cases) == (7, 7, 9, 8)
    assert store.read_log(acme, log.id).n_events == 9


def test_read_log_caches_the_merge_per_version(store: Store, acme: Tenant) -> None:
    log = store.create_log(acme, "web", make_log(DAY1))
    store.append_log_part(acme, log.id, make_log(DAY2), sha("day2"))
    first = store.read_log(acme, log.id)
    merged = list((store.root / "logs" / log.id).glob("merged-*.parquet"))
    assert len(merged) == 1
    assert store.read_log(acme, log.id).frame.equals(first.frame)
    store.append_log_part(
        acme, log.id, make_log([("c9", "visit", "2024-03-01T00:00:00Z")]), sha("3")
    )
    assert store.read_log(acme, log.id).n_events == 6
    after = list((store.root / "logs" / log.id).glob("merged-*.parquet"))
    assert len(after) == 1 and after != merged
    assert store.check() == []


def test_equal_timestamps_across_parts_keep_append_order(store: Store, acme: Tenant) -> None:
    log = store.create_log(acme, "web", make_log([("c1", "a", "2024-01-01T00:00:00Z")]))
    store.append_log_part(acme, log.id, make_log([("c1", "b", "2024-01-01T00:00:00Z")]), sha("b"))
    assert store.read_log(acme, log.id).frame["activity"].to_list() == ["a", "b"]


def test_an_append_with_a_clashing_column_type_is_refused_and_stores_nothing(
    store: Store, acme: Tenant
) -> None:
    base = make_log(DAY1)
    log = store.create_log(acme, "web", EventLog(base.frame.with_columns(value=pl.lit(1))))
    clash = EventLog(make_log(DAY2).frame.with_columns(value=pl.lit("x")))
    with pytest.raises(SourceError) as info:
        store.append_log_part(acme, log.id, clash, sha("clash"))
    assert info.value.column == "value"
    assert store.get_log(acme, log.id).parts == 1
    assert len(list((store.root / "logs" / log.id).iterdir())) == 1


def test_a_pending_log_has_no_events_until_its_first_append(store: Store, acme: Tenant) -> None:
    log = store.create_log(acme, "upload")
    assert (log.status, log.version, log.parts) == ("pending", 0, 0)
    with pytest.raises(InputError, match="no events yet"):
        store.read_log(acme, log.id)
    failed = store.set_log_status(acme, log.id, "failed", error={"detail": "bad csv"})
    assert failed.error == {"detail": "bad csv"}
    assert store.append_log_part(acme, log.id, make_log(DAY1), sha("1"))
    ready = store.get_log(acme, log.id)
    assert (ready.status, ready.error, ready.version) == ("ready", None, 1)


def test_delete_log_removes_rows_files_and_results(store: Store, acme: Tenant) -> None:
    log = store.create_log(acme, "web", make_log(DAY1))
    store.append_log_part(acme, log.id, make_log(DAY2), sha("2"))
    store.read_log(acme, log.id)
    key = ResultKey("discover", log.id, 2, params_hash({}))
    result = store.put_result(acme, key, {"result.json": "{}"})
    store.delete_log(acme, log.id)
    with pytest.raises(NotFoundError):
        store.get_log(acme, log.id)
    with pytest.raises(NotFoundError):
        store.get_result_by_id(acme, result.id)
    assert not (store.root / "logs" / log.id).exists()
    assert not result.files["result.json"].exists()
    assert list((store.root / "trash").iterdir()) == []
    with pytest.raises(NotFoundError):
        store.delete_log(acme, log.id)


def test_other_tenants_logs_are_not_found(store: Store, acme: Tenant, other: Tenant) -> None:
    log = store.create_log(acme, "web", make_log(DAY1))
    calls = [
        lambda: store.get_log(other, log.id),
        lambda: store.read_log(other, log.id),
        lambda: store.list_log_parts(other, log.id),
        lambda: store.append_log_part(other, log.id, make_log(DAY2), sha("2")),
        lambda: store.set_log_status(other, log.id, "failed"),
        lambda: store.delete_log(other, log.id),
        lambda: store.get_log_by_name(other, "web"),
        lambda: store.put_result(other, ResultKey("discover", log.id, 1, "h"), {"a": "b"}),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as theirs:
            call()
        assert theirs.value.status == 404
    with pytest.raises(NotFoundError) as missing:
        store.get_log(acme, "log_missing")
    assert type(missing.value) is NotFoundError
    assert store.list_logs(other) == []
    assert store.get_log(acme, log.id).parts == 1


def test_a_bad_batch_hash_is_refused(store: Store, acme: Tenant) -> None:
    log = store.create_log(acme, "web", make_log(DAY1))
    with pytest.raises(InputError, match="sha256"):
        store.append_log_part(acme, log.id, make_log(DAY2), "not-a-hash")


def test_a_log_needs_a_name_and_events(store: Store, acme: Tenant) -> None:
    with pytest.raises(InputError, match="a name must not be empty"):
        store.create_log(acme, " ", make_log(DAY1))
    with pytest.raises(EmptySourceError, match="log 'none' holds no events"):
        store.create_log(acme, "none", EventLog(make_log(DAY1).frame.head(0)))
    assert store.list_logs(acme) == []
    assert list((store.root / "logs").iterdir()) == []


def test_logs_list_newest_first(store: Store, acme: Tenant) -> None:
    first = store.create_log(acme, "a", make_log(DAY1))
    second = store.create_log(acme, "b", make_log(DAY2))
    assert [log.id for log in store.list_logs(acme)] == [second.id, first.id]


def test_new_settings_alone_make_a_new_version_and_the_same_ones_do_not(
    store: Store, acme: Tenant
) -> None:
    log = store.create_log(acme, "web", make_log(DAY1), mapping={"preset": "web"})
    assert store.append_log_parts(acme, log.id, [], mapping={"preset": "web"}) is None
    assert store.append_log_parts(acme, log.id, [], mapping={"preset": "crm"}) == 2
    info = store.get_log(acme, log.id)
    assert (info.version, info.parts, info.mapping) == (2, 1, {"preset": "crm"})


def test_an_empty_batch_adds_no_part(store: Store, acme: Tenant) -> None:
    log = store.create_log(acme, "web", make_log(DAY1))
    empty = EventLog(make_log(DAY2).frame.head(0))
    assert store.append_log_parts(acme, log.id, [(empty, sha("empty"))]) is None
    assert store.get_log(acme, log.id).parts == 1


def test_a_part_file_written_beforehand_is_adopted_or_removed_when_known(
    store: Store, acme: Tenant
) -> None:
    log = store.create_log(acme, "web", make_log(DAY1), batch_sha256=sha("1"))

    def part_file(rows: list[tuple[str, str, str]]) -> PartFile:
        frame = make_log(rows).frame
        return PartFile(write_part(store.root, log.id, frame), frame.height, frame.schema)

    new = part_file(DAY2)
    assert store.append_log_parts(acme, log.id, [(new, sha("2"))]) == 2
    assert store.list_log_parts(acme, log.id)[-1].path == store.root / new.rel
    again = part_file(DAY2)
    assert store.append_log_parts(acme, log.id, [(again, sha("2"))]) is None
    assert not (store.root / again.rel).exists()  # handed in, left out, removed
    assert store.read_log(acme, log.id).n_events == 5
    assert store.check() == []


def test_only_metadata_with_a_stitch_table_marks_a_log_stored_before_stitching() -> None:
    assert restitches({"stitch": {"format": 1}})
    assert not restitches({"stitch": None}) and not restitches({"preset": "web"})
    assert not restitches(None) and not restitches(["stitch"])


def test_recovery_fails_the_logs_a_crash_left_pending_so_they_can_be_appended_or_deleted(
    store: Store, acme: Tenant
) -> None:
    from journeyminer.api.jobs import recover_workspace

    cut_short = store.create_log(acme, "cut-short")  # its ingest never committed a part
    other = store.create_log(acme, "other")
    ready = store.create_log(acme, "web", make_log(DAY1))
    assert cut_short.status == "pending"
    recover_workspace(store)
    failed = store.get_log(acme, cut_short.id)
    assert failed.status == "failed" and failed.error is not None
    assert "interrupted by a restart" in failed.error["detail"]
    assert store.get_log(acme, ready.id).status == "ready"
    assert store.append_log_part(acme, cut_short.id, make_log(DAY1), sha("again"))
    assert store.get_log(acme, cut_short.id).status == "ready"
    store.delete_log(acme, other.id)  # or deleted
    with pytest.raises(NotFoundError):
        store.get_log(acme, other.id)
