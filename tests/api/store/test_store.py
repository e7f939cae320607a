"""The store as a whole (`api/store/__init__.py`): settings, opening, the sweep of crash
leftovers, many threads at once, closing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from journeyminer.api.settings import Settings
from journeyminer.api.store import Store, Tenant
from journeyminer.miner.errors import InternalError
from tests.api.store.conftest import DAY1, make_log


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
