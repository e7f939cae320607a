"""HTTP fixtures: the real app in-process on a temp workspace, API keys, `assert_problem`."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # starlette asks for httpx2; httpx (the dev extra) still works for the TestClient.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from journeyminer.api.app import create_app
from journeyminer.api.jobs import JobContext
from journeyminer.api.settings import Settings
from journeyminer.api.store import Store

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "omnichannel"
API = "/api/v1"
_HERE = str(Path(__file__).parent)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The HTTP tests tolerate starlette's httpx -> httpx2 deprecation notice."""
    for item in items:
        if str(item.path).startswith(_HERE):
            item.add_marker(
                pytest.mark.filterwarnings(
                    "ignore::starlette.exceptions.StarletteDeprecationWarning"
                )
            )


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem+json answer with `status`, no traceback, no internal path."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    for key in ("type", "title", "status", "detail"):
        assert key in body, f"problem lacks {key!r}: {body}"
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    text = response.text
    assert "Traceback" not in text and 'File "' not in text
    assert "/tmp/" not in text and "/work/" not in text and "site-packages" not in text
    assert response.headers.get("x-request-id")
    return body


def assert_timings(timings: dict[str, Any], waited_s: float) -> None:
    """A finished job's timings: created <= started <= finished, the durations between them,
    and a run no longer than the client waited for it."""
    created, started, finished = (
        datetime.fromisoformat(timings[k]) for k in ("created_at", "started_at", "finished_at")
    )
    assert created <= started <= finished
    assert timings["queued_s"] == (started - created).total_seconds()
    assert timings["run_s"] == (finished - started).total_seconds()
    assert 0 < timings["run_s"] <= waited_s


@dataclass
class Api:
    """A running app with a client authenticated as tenant `acme`, and a key of `globex`."""

    app: FastAPI
    client: TestClient
    settings: Settings
    token: str
    other_token: str
    key_id: str

    @property
    def store(self) -> Store:
        """The app's store."""
        store: Store = self.app.state.store
        return store

    def as_other(self) -> dict[str, str]:
        """Headers authenticating as the other tenant."""
        return {"Authorization": f"Bearer {self.other_token}"}

    def wait(self, url: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll a job or analysis until it is finished; its last state."""
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = self.client.get(url).json()
            if body["status"] in ("done", "failed", "cancelled"):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"job still {body['status']} after {timeout}s: {body}")
            time.sleep(0.02)

    def upload(
        self,
        names: tuple[str, ...] = ("web", "call_center", "crm"),
        *,
        identities: bool = True,
        data: dict[str, Any] | None = None,
        folder: Path = SAMPLE,
    ) -> httpx.Response:
        """POST /logs with sample sources (presets from the file names)."""
        files: list[tuple[str, tuple[str, bytes, str]]] = [
            ("files", (f"{n}.csv", (folder / f"{n}.csv").read_bytes(), "text/csv")) for n in names
        ]
        if identities:
            files.append(
                (
                    "identities",
                    ("identities.csv", (SAMPLE / "identities.csv").read_bytes(), "text/csv"),
                )
            )
        form = {"timezone": "Europe/Amsterdam", **(data or {})}
        return self.client.post(f"{API}/logs", files=files, data=form)

    def ingest(self, *names: str, **kwargs: Any) -> str:
        """Upload, wait for the ingest, return the ready log's id."""
        response = self.upload(names or ("web", "call_center", "crm"), **kwargs)
        assert response.status_code == 202, response.text
        job = self.wait(response.json()["status_url"])
        assert job["status"] == "done", job
        return str(job["log"])

    def block_worker(self) -> threading.Event:
        """Occupy one job worker until the returned event is set; returns once the worker
        has taken the job (so the queue behind it is empty again)."""
        release, taken = threading.Event(), threading.Event()

        def hold(ctx: JobContext) -> None:
            taken.set()
            release.wait(30)

        tenant = self.store.get_tenant_by_name("acme")
        self.app.state.runner.submit(tenant.id, "hold", {}, hold)
        assert taken.wait(30), "no job worker took the blocking job"
        return release


MakeApi = Callable[..., Api]


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[MakeApi]:
    """Start apps on fresh workspaces with settings overrides; closed at teardown."""
    with ExitStack() as stack:
        count = 0

        def make(raise_server_exceptions: bool = True, **overrides: Any) -> Api:
            nonlocal count
            count += 1
            settings = Settings(workspace=tmp_path / f"ws{count}", **overrides)
            with Store.open(settings) as store:
                key_id, token = store.create_api_key(store.create_tenant("acme"))
                _, other = store.create_api_key(store.create_tenant("globex"))
            app = create_app(settings)
            client = TestClient(
                app,
                headers={"Authorization": f"Bearer {token}"},
                raise_server_exceptions=raise_server_exceptions,
            )
            stack.enter_context(client)
            return Api(app, client, settings, token, other, key_id)

        yield make


@pytest.fixture
def api(make_api: MakeApi) -> Api:
    """The app with default settings and two job workers."""
    return make_api()
