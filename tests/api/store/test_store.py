"""The workspace store: tenants and keys, logs and parts, maps, jobs, results, migrations."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import polars as pl
import pytest

from journeyminer.api.settings import Settings
from journeyminer.api.store import ResultKey, Store, Tenant, db, params_hash
from journeyminer.miner.errors import InputError, InternalError, NotFoundError, SourceError
from journeyminer.miner.log import EventLog


def make_log(rows: list[tuple[str, str, str]], channel: str | None = "web") -> EventLog:
    """A log from (case, activity, ISO timestamp) rows."""
    frame = pl.DataFrame(
        {
            "case": [r[0] for r in rows],
            "act": [r[1] for r in rows],
            "ts": [r[2] for r in rows],
            "ch": [channel] * len(rows),
        }
    )
    return EventLog.from_frame(frame, case="case", activity="act", timestamp="ts", channel="ch")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


DAY1 = [
    ("c1", "visit", "2024-01-01T10:00:00Z"),
    ("c1", "buy", "2024-01-01T10:05:00Z"),
    ("c2", "visit", "2024-01-01T11:00:00Z"),
]
DAY2 = [
    ("c2", "call", "2024-01-02T09:00:00Z"),
    ("c3", "visit", "2024-01-02T12:00:00Z"),
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(workspace=tmp_path / "ws", orphan_grace_s=0)


@pytest.fixture
def store(settings: Settings):
    with Store.open(settings) as s:
        yield s


@pytest.fixture
def acme(store: Store) -> Tenant:
    return store.create_tenant("acme")


@pytest.fixture
def other(store: Store) -> Tenant:
    return store.create_tenant("globex")


# -- settings ---------------------------------------------------------------------------


def test_settings_read_journeyminer_environment_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JOURNEYMINER_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("JOURNEYMINER_MAX_UPLOAD_BYTES", "1000")
    monkeypatch.setenv("JOURNEYMINER_PORT", "9000")
    settings = Settings()
    assert settings.workspace == tmp_path
    assert settings.max_upload_bytes == 1000 and settings.port == 9000
    assert settings.db_path == tmp_path / "journeyminer.sqlite3"


def test_settings_defaults_are_a_local_workspace_and_two_gib_uploads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("WORKSPACE", "MAX_UPLOAD_BYTES", "PORT"):
        monkeypatch.delenv(f"JOURNEYMINER_{name}", raising=False)
    settings = Settings()
    assert settings.workspace == Path("workspace")
    assert settings.max_upload_bytes == 2 * 1024**3


# -- opening and schema -----------------------------------------------------------------


def test_open_creates_a_wal_database_at_the_latest_schema(store: Store) -> None:
    con = sqlite3.connect(store.settings.db_path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.schema_version(con) == db.SCHEMA_VERSION
    con.close()
    assert store.check() == []


def test_open_migrates_a_version_1_database_forward_keeping_its_rows(
    settings: Settings,
) -> None:
    settings.workspace.mkdir(parents=True)
    con = sqlite3.connect(settings.db_path, isolation_level=None)
    assert db.migrate(con, target=1) == 1
    con.execute("INSERT INTO tenants VALUES ('ten_a', 'acme', '2024-01-01T00:00:00+00:00')")
    con.execute(
        "INSERT INTO maps VALUES ('map_a', 'ten_a', 'shop', 3, 'toml', 'x = 1',"
        " '2024-01-01T00:00:00+00:00', '2024-01-02T00:00:00+00:00')"
    )
    con.close()
    with Store.open(settings) as store:
        assert db.schema_version(store._db.get()) == db.SCHEMA_VERSION
        shop = store.get_map("ten_a", "map_a")
        assert (shop.version, shop.text) == (3, "x = 1")
        assert store.put_map("ten_a", "map_a", "x = 2").version == 4
        assert store.get_map("ten_a", "map_a", version=3).text == "x = 1"


def test_open_refuses_a_database_newer_than_the_code(settings: Settings) -> None:
    with Store.open(settings):
        pass
    con = sqlite3.connect(settings.db_path, isolation_level=None)
    con.execute("UPDATE schema_version SET version = 99")
    con.close()
    with pytest.raises(Exception, match="newer than this journeyminer supports"):
        Store.open(settings)


def test_a_failed_migration_leaves_the_previous_version(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.workspace.mkdir(parents=True)
    con = sqlite3.connect(settings.db_path, isolation_level=None)
    db.migrate(con, target=1)
    monkeypatch.setattr(db, "MIGRATIONS", (db.MIGRATIONS[0], "CREATE TABLE x (a);\nBROKEN SQL;"))
    monkeypatch.setattr(db, "SCHEMA_VERSION", 2)
    with pytest.raises(sqlite3.OperationalError):
        db.migrate(con)
    assert db.schema_version(con) == 1
    assert con.execute("SELECT name FROM sqlite_master WHERE name = 'x'").fetchone() is None
    con.close()


# -- tenants and API keys ---------------------------------------------------------------


def test_tenants_are_found_by_name_and_names_are_unique(store: Store, acme: Tenant) -> None:
    assert store.get_tenant_by_name("acme") == acme
    assert store.ensure_tenant("acme") == acme
    assert store.ensure_tenant("initech").name == "initech"
    with pytest.raises(InputError) as info:
        store.create_tenant("acme")
    assert info.value.status == 409
    with pytest.raises(NotFoundError):
        store.get_tenant_by_name("nobody")


def test_an_api_key_authenticates_its_tenant_until_revoked(store: Store, acme: Tenant) -> None:
    key_id, token = store.create_api_key(acme, label="nightly")
    assert token.startswith(key_id + ".")
    assert store.authenticate(token) == acme
    assert store.authenticate(token + "x") is None
    assert store.authenticate(key_id + ".wrong") is None
    assert store.authenticate("garbage") is None
    assert store.authenticate("") is None
    revoked = store.revoke_api_key(key_id)
    assert revoked.revoked_at is not None
    assert store.authenticate(token) is None
    assert store.revoke_api_key(key_id).revoked_at == revoked.revoked_at  # idempotent
    assert [k.id for k in store.list_api_keys(acme)] == [key_id]


def test_another_tenant_cannot_revoke_a_key(store: Store, acme: Tenant, other: Tenant) -> None:
    key_id, token = store.create_api_key(acme)
    with pytest.raises(NotFoundError):
        store.revoke_api_key(key_id, tenant=other)
    assert store.authenticate(token) == acme
    with pytest.raises(NotFoundError):
        store.revoke_api_key("key_missing")


def test_no_api_token_is_stored_in_plain_anywhere(store: Store, acme: Tenant) -> None:
    tokens = [store.create_api_key(acme)[1] for _ in range(3)]
    assert all(store.authenticate(t) == acme for t in tokens)
    files = [p for p in store.root.iterdir() if p.name.startswith("journeyminer.sqlite3")]
    data = b"".join(p.read_bytes() for p in files)
    for token in tokens:
        secret = token.partition(".")[2]
        assert secret.encode() not in data
        assert token.encode() not in data
        assert hashlib.sha256(secret.encode()).hexdigest().encode() not in data  # salted


# -- logs -------------------------------------------------------------------------------


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


# -- maps -------------------------------------------------------------------------------


def test_put_map_bumps_the_version_and_keeps_every_text(store: Store, acme: Tenant) -> None:
    created = store.create_map(acme, "shop", 'name = "v1"', "toml")
    assert created.id.startswith("map_") and created.version == 1
    second = store.put_map(acme, created.id, '{"name": "v2"}', "json")
    assert (second.version, second.format, second.text) == (2, "json", '{"name": "v2"}')
    old = store.get_map(acme, created.id, version=1)
    assert (old.version, old.latest_version, old.text, old.format) == (1, 2, 'name = "v1"', "toml")
    assert store.get_map(acme, created.id).text == '{"name": "v2"}'
    assert store.get_map_by_name(acme, "shop").version == 2
    assert [m.name for m in store.list_maps(acme)] == ["shop"]
    with pytest.raises(NotFoundError):
        store.get_map(acme, created.id, version=3)
    with pytest.raises(InputError):
        store.create_map(acme, "shop", "", "toml")


def test_delete_map_removes_its_versions_and_results(store: Store, acme: Tenant) -> None:
    shop = store.create_map(acme, "shop", "a", "toml")
    store.put_map(acme, shop.id, "b")
    log = store.create_log(acme, "web", make_log(DAY1))
    key = ResultKey("compare", log.id, 1, "p", map_id=shop.id, map_version=2)
    result = store.put_result(acme, key, {"result.json": "{}"})
    store.delete_map(acme, shop.id)
    with pytest.raises(NotFoundError):
        store.get_map(acme, shop.id)
    assert store.get_result(acme, key) is None
    assert not result.files["result.json"].exists()
    rows = store._db.get().execute("SELECT COUNT(*) FROM map_versions").fetchone()[0]
    assert rows == 0


def test_no_result_is_stored_for_a_map_deleted_while_its_analysis_ran(
    store: Store, acme: Tenant
) -> None:
    shop = store.create_map(acme, "shop", "a", "toml")
    log = store.create_log(acme, "web", make_log(DAY1))
    store.delete_map(acme, shop.id)
    key = ResultKey("compare", log.id, 1, "p", map_id=shop.id, map_version=1)
    with pytest.raises(NotFoundError, match="map"):
        store.put_result(acme, key, {"result.json": "{}"})
    assert store.get_result(acme, key) is None
    assert not any((store.root / "results").iterdir())


def test_other_tenants_maps_are_not_found(store: Store, acme: Tenant, other: Tenant) -> None:
    shop = store.create_map(acme, "shop", "a", "toml")
    for call in (
        lambda: store.get_map(other, shop.id),
        lambda: store.get_map(other, shop.id, version=1),
        lambda: store.put_map(other, shop.id, "b"),
        lambda: store.delete_map(other, shop.id),
        lambda: store.get_map_by_name(other, "shop"),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert store.list_maps(other) == []
    assert store.get_map(acme, shop.id).version == 1


# -- jobs -------------------------------------------------------------------------------


def test_a_job_runs_from_queued_to_done_with_progress(store: Store, acme: Tenant) -> None:
    job = store.create_job(acme, "discover", {"log": "log_x"})
    assert (job.status, job.progress, job.params) == ("queued", 0.0, {"log": "log_x"})
    assert job.id.startswith("job_")
    assert store.start_job(acme, job.id).status == "running"
    assert store.update_progress(acme, job.id, 0.5, "variants") is True
    half = store.get_job(acme, job.id)
    assert (half.progress, half.stage) == (0.5, "variants")
    done = store.finish_job(acme, job.id, result_id="res_x")
    assert (done.status, done.progress, done.result_id) == ("done", 1.0, "res_x")
    assert done.finished and done.finished_at is not None
    assert store.update_progress(acme, job.id, 0.9) is False
    with pytest.raises(ValueError):
        store.update_progress(acme, job.id, 1.5)
    assert [j.id for j in store.list_jobs(acme, status="done")] == [job.id]


def test_a_cancelled_job_stays_cancelled(store: Store, acme: Tenant) -> None:
    job = store.create_job(acme, "compare")
    store.start_job(acme, job.id)
    assert store.cancel_job(acme, job.id).status == "cancelled"
    assert store.update_progress(acme, job.id, 0.7) is False
    assert store.finish_job(acme, job.id).status == "cancelled"
    assert store.fail_job(acme, job.id, {"detail": "x"}).status == "cancelled"
    queued = store.create_job(acme, "compare")
    store.cancel_job(acme, queued.id)
    assert store.start_job(acme, queued.id).status == "cancelled"


def test_a_failed_job_keeps_its_problem(store: Store, acme: Tenant) -> None:
    job = store.create_job(acme, "ingest")
    store.start_job(acme, job.id)
    failed = store.fail_job(acme, job.id, {"title": "Invalid input", "status": 422})
    assert failed.status == "failed" and failed.error == {"title": "Invalid input", "status": 422}


def test_interrupted_jobs_are_failed_with_the_reason(
    store: Store, acme: Tenant, other: Tenant
) -> None:
    running = store.create_job(acme, "discover")
    store.start_job(acme, running.id)
    queued = store.create_job(other, "discover")
    done = store.create_job(acme, "discover")
    store.start_job(acme, done.id)
    store.finish_job(acme, done.id)
    assert {j.id for j in store.unfinished_jobs()} == {running.id, queued.id}
    assert store.mark_interrupted_jobs_failed("restart", stale_after_s=3600) == []
    ids = store.mark_interrupted_jobs_failed("the server restarted", statuses=("running",))
    assert ids == [running.id]
    failed = store.get_job(acme, running.id)
    assert failed.status == "failed" and failed.error is not None
    assert failed.error["detail"] == "the server restarted"
    assert store.get_job(other, queued.id).status == "queued"
    assert store.mark_interrupted_jobs_failed("again") == [queued.id]
    assert store.get_job(acme, done.id).status == "done"


def test_other_tenants_jobs_are_not_found(store: Store, acme: Tenant, other: Tenant) -> None:
    job = store.create_job(acme, "discover")
    for call in (
        lambda: store.get_job(other, job.id),
        lambda: store.start_job(other, job.id),
        lambda: store.update_progress(other, job.id, 0.1),
        lambda: store.finish_job(other, job.id),
        lambda: store.fail_job(other, job.id, {}),
        lambda: store.cancel_job(other, job.id),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert store.list_jobs(other) == []
    assert store.get_job(acme, job.id).status == "queued"


# -- results ----------------------------------------------------------------------------


def test_results_are_cached_by_log_version_map_version_and_params(
    store: Store, acme: Tenant, other: Tenant
) -> None:
    log = store.create_log(acme, "web", make_log(DAY1))
    key = ResultKey("discover", log.id, 1, params_hash({"min": 1, "segment": None}))
    assert key.params_hash == params_hash({"segment": None, "min": 1})
    assert store.get_result(acme, key) is None
    frame = pl.DataFrame({"a": [1, 2]})
    result = store.put_result(acme, key, {"result.json": '{"ok": 1}', "edges.parquet": frame})
    assert result.id.startswith("res_")
    assert store.get_result(acme, key) == result
    assert result.files["result.json"].read_text() == '{"ok": 1}'
    assert pl.read_parquet(result.files["edges.parquet"]).equals(frame)
    assert result.to_dict()["files"] == ["edges.parquet", "result.json"]
    assert store.get_result(acme, ResultKey("discover", log.id, 2, key.params_hash)) is None
    again = store.put_result(acme, key, {"result.json": "{}"})
    assert again == result
    assert len(list((store.root / "results").iterdir())) == 1
    assert store.get_result(other, key) is None
    with pytest.raises(NotFoundError):
        store.get_result_by_id(other, result.id)
    with pytest.raises(ValueError):
        store.put_result(acme, key, {"../escape": "x"})


# -- crash leftovers and threads --------------------------------------------------------


def test_open_sweeps_temp_files_trash_and_unreferenced_parts(settings: Settings) -> None:
    with Store.open(settings) as store:
        acme = store.create_tenant("acme")
        log = store.create_log(acme, "web", make_log(DAY1))
    folder = settings.workspace / "logs" / log.id
    (folder / ".part-x.parquet.abc.tmp").write_bytes(b"half")
    (folder / "part-orphan.parquet").write_bytes(b"never committed")
    (settings.workspace / "logs" / "log_gone").mkdir()
    (settings.workspace / "logs" / "log_gone" / "part-1.parquet").write_bytes(b"x")
    (settings.workspace / "trash" / "old").mkdir()
    young = Settings(workspace=settings.workspace, orphan_grace_s=3600)
    with Store.open(young):
        assert (folder / "part-orphan.parquet").exists()  # may be about to be committed
    with Store.open(settings) as store:
        assert sorted(p.name for p in folder.iterdir()) == [
            p.path.name for p in store.list_log_parts(acme, log.id)
        ]
        assert not (settings.workspace / "logs" / "log_gone").exists()
        assert list((settings.workspace / "trash").iterdir()) == []
        assert store.read_log(acme, log.id).n_events == 3


def test_the_store_serves_many_threads_at_once(store: Store, acme: Tenant) -> None:
    log = store.create_log(acme, "web", make_log(DAY1))
    _, token = store.create_api_key(acme)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(10):
                assert store.authenticate(token) == acme
                job = store.create_job(acme, "discover")
                store.start_job(acme, job.id)
                store.update_progress(acme, job.id, j / 10)
                assert store.get_log(acme, log.id).events == 3
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.list_jobs(acme, limit=1000)) == 60


def test_a_closed_store_refuses_work(settings: Settings) -> None:
    store = Store.open(settings)
    store.close()
    with pytest.raises(InternalError, match="closed"):
        store.list_tenants()


# -- logs stored before stitching (api/store/stitching.py) -------------------------------------


def _raw(rows: list[tuple[str, str, str]], label: str) -> pl.DataFrame:
    """A part as the front doors store it: canonical events before stitching, with provenance."""
    return make_log(rows).frame.with_columns(
        pl.lit(label).alias("source_file"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("source_row"),
    )


STITCH = {"stitch": {"format": 1, "order": None}, "gap": "30d", "goals": [], "identities": None}


def test_append_log_parts_stitches_and_commits_parts_settings_and_counts_at_once(
    settings: Settings,
) -> None:
    from journeyminer.api.store.stitching import load_journeys, stitch_snapshot

    with Store.open(settings) as store:
        acme = store.create_tenant("acme")
        log = store.create_log(acme, "web", mapping=STITCH)
        parts = [(_raw(DAY1, "day1.csv"), sha("1")), (_raw(DAY2, "day2.csv"), sha("2"))]
        assert (
            store.append_log_parts(acme, log.id, parts, mapping=STITCH, stitch=stitch_snapshot) == 1
        )
        info = store.get_log(acme, log.id)
        assert (info.version, info.parts, info.events, info.cases, info.customers) == (
            1,
            2,
            5,
            3,
            3,
        )
        # c2's events of both days are one journey; nothing is stitched twice.
        journeys = load_journeys(store, acme, log.id)
        assert journeys.report is not None and journeys.report["journeys"] == 3
        assert sorted(set(journeys.log.frame["case_id"])) == ["c1#1", "c2#1", "c3#1"]
        assert "source_file" not in journeys.log.frame.columns
        # Same batches, same settings: no change. A new identity table: a new version.
        assert store.append_log_parts(acme, log.id, parts, mapping=STITCH) is None
        table = pl.DataFrame({"source_id": ["c3"], "customer_id": ["c2"]})
        with_ids = {**STITCH, "identities": {"file": "ids.csv", "sha256": sha("ids")}}
        version = store.append_log_parts(
            acme, log.id, [], mapping=with_ids, identities=table, stitch=stitch_snapshot
        )
        assert version == 2
        info = store.get_log(acme, log.id)
        assert (info.parts, info.cases, info.customers) == (2, 2, 2)
        snap = store.log_snapshot(acme, log.id)
        assert snap.identities is not None and snap.merged is not None
        # The raw union stays readable, and is not cached in the stitched log's slot.
        assert store.read_log(acme, log.id).n_cases == 3
        assert store.log_snapshot(acme, log.id).merged == snap.merged
        replaced = pl.DataFrame({"source_id": ["c1"], "customer_id": ["c2"]})
        store.append_log_parts(acme, log.id, [], identities=replaced, stitch=stitch_snapshot)
        assert len(list((store.root / "logs" / log.id).glob("identities-*.parquet"))) == 1
    with Store.open(settings) as store:  # the sweep keeps the identity table and the cache
        assert store.check() == []
        assert load_journeys(store, acme, log.id).log.n_cases == 2


def test_a_stitched_read_of_a_stale_cache_stitches_again_and_fixes_the_counts(
    store: Store, acme: Tenant
) -> None:
    from journeyminer.api.store.stitching import read_journeys

    log = store.create_log(acme, "web", mapping=STITCH)
    assert store.append_log_part(acme, log.id, EventLog(_raw(DAY1, "d1.csv")), sha("1"))
    assert store.append_log_part(acme, log.id, EventLog(_raw(DAY2, "d2.csv")), sha("2"))
    assert store.log_snapshot(acme, log.id).merged is None  # raw appends: no stitched cache
    assert read_journeys(store, acme, log.id).n_cases == 3
    info = store.get_log(acme, log.id)
    assert (info.version, info.cases, info.customers) == (2, 3, 3)
    assert store.log_snapshot(acme, log.id).merged is not None


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
