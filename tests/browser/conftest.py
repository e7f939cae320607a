"""Browser fixtures: the real app under uvicorn on a free loopback port, Debian's Chromium.

Playwright's own browser download does not work here, so the launch points at
/usr/bin/chromium (tests run as root: --no-sandbox). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from journeyminer.api.app import create_app
from journeyminer.api.settings import Settings
from journeyminer.api.store import Store

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "datasets" / "omnichannel"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
_HERE = str(Path(__file__).parent)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here drives a browser: mark it, and skip it where no Chromium is installed."""
    for item in items:
        if str(item.path).startswith(_HERE):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium, offline and quiet."""
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def base_url() -> str | None:
    """No base URL: tests use the server's. Overrides pytest-playwright's fallback fixture, whose
    instance-method form pytest 9 reports as a PytestRemovedIn10Warning (an error here)."""
    return None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A laptop-sized window (1280x800) unless a test sets its own."""
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@dataclass(frozen=True)
class Server:
    """The app served on `url` with a valid API key `token`."""

    url: str
    token: str
    settings: Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real app under uvicorn in a thread, on a fresh workspace with one tenant's key."""
    settings = Settings(workspace=tmp_path_factory.mktemp("browser") / "ws")
    with Store.open(settings) as store:
        _, token = store.create_api_key(store.create_tenant("acme"))
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="uvicorn", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    assert httpx.get(f"{url}/healthz").status_code == 200
    try:
        yield Server(url, token, settings)
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """The (git-ignored) folder for screenshots, emptied once per run."""
    shutil.rmtree(ARTIFACTS / "browser", ignore_errors=True)
    (ARTIFACTS / "browser").mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / "browser"
