"""`journeyminer serve` as a real process on a free loopback port, talked to over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import API

CLI = [sys.executable, "-c", "from journeyminer.api.cli.main import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow  # a real server process
def test_serve_answers_http_on_loopback_with_keys_from_the_cli(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    env = {**os.environ, "JOURNEYMINER_WORKSPACE": str(workspace)}
    made = subprocess.run(
        [*CLI, "keys", "create", "--tenant", "acme", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = json.loads(made.stdout)["token"]
    port = free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        assert httpx.get(f"{base}/readyz").json()["status"] == "ok"
        auth = {"Authorization": f"Bearer {token}", "X-Request-ID": "serve-test-1"}
        listed = httpx.get(f"{base}{API}/logs", headers=auth)
        assert listed.status_code == 200 and listed.json() == {"logs": []}
        denied = httpx.get(f"{base}{API}/logs")
        assert denied.status_code == 401
        assert denied.headers["content-type"].startswith("application/problem+json")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, stderr = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            _, stderr = server.communicate()
    assert server.returncode == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    requests = [r for r in lines if r.get("message") == "request"]
    assert any(r["request_id"] == "serve-test-1" and r["status"] == 200 for r in requests)
    assert "Traceback" not in stderr
