"""Response headers and workspace files: nosniff, Cache-Control, owner-only modes (issue 14)."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from journeyminer.api.settings import Settings
from journeyminer.api.store import Store

from .conftest import API, SAMPLE, Api

PLAIN = {"Accept-Encoding": "identity"}


def _private(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff", response.request.url
    assert response.headers["cache-control"] == "private, no-store", response.request.url


@pytest.mark.parametrize("hot_reads", [True, False])
def test_every_api_answer_says_nosniff_and_private_no_store(api: Api, hot_reads: bool) -> None:
    api.app.state.hot_reads = hot_reads
    log_id = api.ingest("web", identities=False)
    queued = api.client.post(f"{API}/analyses", json={"log": log_id, "kind": "discover"})
    done = api.wait(queued.json()["status_url"])
    analysis = f"{API}/analyses/{done['id']}"
    result = api.client.get(f"{analysis}/result", headers=PLAIN)
    answers = {
        "log": api.client.get(f"{API}/logs/{log_id}"),
        "logs": api.client.get(f"{API}/logs"),
        "analysis": api.client.get(analysis),
        "result": result,
        "result 304": api.client.get(
            f"{analysis}/result", headers={**PLAIN, "If-None-Match": result.headers["etag"]}
        ),
        "parquet": api.client.get(f"{analysis}/result.parquet", params={"table": "variants"}),
        "svg": api.client.get(f"{analysis}/dfg.svg"),
        "problem 404": api.client.get(f"{API}/logs/log_nope"),
        "problem 401": api.client.get(f"{API}/logs", headers={"Authorization": "Bearer x"}),
        "health": api.client.get("/healthz"),
    }
    assert answers["result 304"].status_code == 304  # the ETag still answers 304
    assert answers["parquet"].headers["content-type"] == "application/vnd.apache.parquet"
    assert answers["svg"].headers["content-type"].startswith("image/svg+xml")
    assert "sandbox" in answers["svg"].headers["content-security-policy"]
    for response in answers.values():
        _private(response)


def test_the_page_and_its_assets_keep_their_own_cache_control(api: Api) -> None:
    for url, cache in [("/", "no-cache"), ("/static/app.js", "no-cache")]:
        response = api.client.get(url)
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == cache


def _modes(root: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in [root, *root.rglob("*")]:
        mode = oct(stat.S_IMODE(path.stat().st_mode))
        found.setdefault(mode, set()).add(path.relative_to(root).as_posix() + "/" * path.is_dir())
    return found


def test_the_workspace_files_are_owner_only(api: Api) -> None:
    log_id = api.ingest("web", "crm", identities=False)
    appended = api.client.post(
        f"{API}/logs/{log_id}/events",
        files=[("files", ("call_center.csv", (SAMPLE / "call_center.csv").read_bytes()))],
    )
    assert api.wait(appended.json()["status_url"])["status"] == "done"
    queued = api.client.post(f"{API}/analyses", json={"log": log_id, "kind": "discover"})
    assert api.wait(queued.json()["status_url"])["status"] == "done"
    release = api.block_worker(), api.block_worker()  # an upload waits in uploads/
    try:
        assert api.upload(("web",), identities=False).status_code == 202
        modes = _modes(api.settings.workspace)
    finally:
        for event in release:
            event.set()
    root = api.settings.workspace
    assert modes.keys() == {"0o700", "0o600"}, modes
    assert all(p.endswith("/") for p in modes["0o700"]), modes
    files = modes["0o600"]
    assert {"journeyminer.sqlite3", "journeyminer.sqlite3-wal"} <= files
    assert any(f.startswith("uploads/") for f in files), files
    assert any(f.startswith("results/") for f in files) and any("part-" in f for f in files)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_an_older_workspace_is_made_owner_only_when_opened(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path / "ws")
    Store.open(settings).close()
    settings.workspace.chmod(0o755)
    settings.db_path.chmod(0o644)
    Store.open(settings).close()
    assert stat.S_IMODE(settings.workspace.stat().st_mode) == 0o700
    assert stat.S_IMODE(settings.db_path.stat().st_mode) == 0o600
