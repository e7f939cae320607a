"""The workspace database (`api/store/db.py`): WAL, migrations forward and failed, the
refusal of a newer schema, statements split, one connection per thread."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from journeyminer.api.settings import Settings
from journeyminer.api.store import Store, Tenant, db
from journeyminer.miner.errors import InternalError


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


def test_migrating_an_up_to_date_database_changes_nothing(store: Store) -> None:
    con = store._db.get()
    tables = con.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall()
    assert db.migrate(con) == db.SCHEMA_VERSION
    assert con.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall() == tables


def test_split_sql_cuts_at_complete_statements_only() -> None:
    script = "CREATE TABLE a (x TEXT DEFAULT ';');\nINSERT INTO a VALUES\n  ('b;c');\n\n"
    assert db.split_sql(script) == [
        "CREATE TABLE a (x TEXT DEFAULT ';');",
        "INSERT INTO a VALUES\n  ('b;c');",
    ]
    with pytest.raises(InternalError, match="incomplete SQL statement"):
        db.split_sql("CREATE TABLE a (x);\nCREATE TABLE b (y")


def test_a_connection_enforces_foreign_keys_in_wal_mode(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "x.sqlite3", busy_timeout_s=2.5)
    db.migrate(con)
    assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        con.execute(
            "INSERT INTO api_keys (id, tenant_id, salt, hash, created_at)"
            " VALUES ('k', 'no-such-tenant', 's', 'h', 't')"
        )
    con.close()


def test_each_thread_gets_its_own_connection_and_closing_ends_them_all(tmp_path: Path) -> None:
    connections = db.Connections(tmp_path / "x.sqlite3", busy_timeout_s=1, synchronous="NORMAL")
    mine = connections.get()
    assert connections.get() is mine
    theirs: list[sqlite3.Connection] = []
    worker = threading.Thread(target=lambda: theirs.append(connections.get()))
    worker.start()
    worker.join()
    assert theirs[0] is not mine
    assert mine.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    connections.close()
    with pytest.raises(InternalError, match="the store is closed"):
        connections.get()
    with pytest.raises(sqlite3.ProgrammingError):
        mine.execute("SELECT 1")


def test_a_write_that_raises_is_rolled_back(store: Store, acme: Tenant) -> None:
    with pytest.raises(RuntimeError), store._db.write() as con:
        con.execute("UPDATE tenants SET name = 'renamed' WHERE id = ?", (acme.id,))
        raise RuntimeError("halfway")
    assert store.get_tenant(acme.id).name == "acme"
    assert not store._db.get().in_transaction
