"""`journeyminer serve` killed with SIGKILL mid-upload and mid-analysis, then restarted.

Each test runs the real server as a child process on a free loopback port with its own
workspace, kills it with `kill -9` at a chosen moment, starts it again on the same
workspace, and checks over HTTP and with `Store.check()` that everything stored before the
kill is intact and that interrupted work is visible as such. Every process started here is
killed in a `finally`; every wait is bounded.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from journeyminer.api.jobs import RESTART_REASON
from journeyminer.api.settings import Settings
from journeyminer.api.store import Store

from .conftest import API, SAMPLE

pytestmark = [pytest.mark.slow, pytest.mark.crash]

CLI = [sys.executable, "-c", "from journeyminer.api.cli.main import main; main()"]
START_TIMEOUT_S = 60.0
JOB_TIMEOUT_S = 120.0
CUSTOM_MAPPING = 'case = "who"\nactivity = "what"\ntimestamp = "when"\nchannel = "via"\n'
TOUCHPOINTS = [f"step_{i:02d}" for i in range(24)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One `journeyminer serve` child on a loopback port, its stderr in a file."""

    def __init__(self, workspace: Path, logs: Path) -> None:
        self.workspace, self.logs = workspace, logs
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "JOURNEYMINER_WORKSPACE": str(self.workspace), **extra}

    def create_key(self) -> str:
        made = subprocess.run(
            [*CLI, "keys", "create", "--tenant", "t", "--json"],
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return str(json.loads(made.stdout)["token"])

    def start(self, **env: str) -> None:
        assert self.proc is None
        self.starts += 1
        with open(self.logs / f"server-{self.starts}.log", "wb") as err:
            self.proc = subprocess.Popen(
                [*CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env(**env),
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            with suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.stderr()[-3000:]}")
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)

    def kill9(self) -> None:
        """SIGKILL: no shutdown handler, no lifespan exit, nothing flushed."""
        if self.proc is not None:
            with suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            assert self.proc.returncode == -signal.SIGKILL
            self.proc = None

    def stop(self) -> None:
        """A clean stop (SIGINT), SIGKILL if it does not stop in time."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None

    def stderr(self) -> str:
        return (self.logs / f"server-{self.starts}.log").read_text(errors="replace")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    logs = tmp_path / "server-logs"
    logs.mkdir()
    running = Server(tmp_path / "ws", logs)
    try:
        yield running
    finally:
        if running.proc is not None:
            with suppress(Exception):
                running.proc.kill()
                running.proc.wait(timeout=30)


def client(server: Server, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def wait_job(http: httpx.Client, url: str, timeout: float = JOB_TIMEOUT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = http.get(url).json()
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, f"still {body['status']} after {timeout}s: {body}"
        time.sleep(0.05)


def upload_sample(http: httpx.Client, name: str | None = None) -> str:
    files = [
        ("files", (f"{n}.csv", (SAMPLE / f"{n}.csv").read_bytes(), "text/csv"))
        for n in ("web", "call_center", "crm")
    ]
    files.append(("identities", ("identities.csv", (SAMPLE / "identities.csv").read_bytes())))
    data = {"timezone": "Europe/Amsterdam", **({"name": name} if name else {})}
    made = http.post(f"{API}/logs", files=files, data=data)
    assert made.status_code == 202, made.text
    job = wait_job(http, made.json()["status_url"])
    assert job["status"] == "done", job
    return str(job["log"])


def csv_rows(start: int, count: int) -> bytes:
    """Rows `start`..`start + count` of a synthetic journey log (about 50 bytes a row)."""
    base = datetime(2024, 1, 1, tzinfo=UTC)
    lines = []
    for i in range(start, start + count):
        case, step = divmod(i, 7)
        when = (base + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"c{case:07d},{TOUCHPOINTS[(case * 5 + step * step) % 24]},{when},web\n")
    return "".join(lines).encode()


def synthetic_csv(rows: int) -> bytes:
    """A CSV of `rows` events with whole-second increasing timestamps."""
    import polars as pl

    i = pl.int_range(0, rows, eager=True)
    frame = pl.DataFrame({"i": i}).select(
        who=pl.format("c{}", (pl.col("i") // 7) % 150_000),
        what=pl.lit("step_")
        + (((pl.col("i") // 7) * 5 + (pl.col("i") % 7) ** 2) % 24).cast(pl.String).str.zfill(2),
        when=(pl.lit(1_704_067_200_000_000) + pl.col("i") * 1_000_000).cast(
            pl.Datetime("us", "UTC")
        ),
        via=pl.lit("web"),
    )
    return frame.write_csv().encode()


def file_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def store_problems(workspace: Path) -> list[str]:
    with Store.open(Settings(workspace=workspace)) as store:
        return store.check()


def test_kill_9_in_the_middle_of_an_upload_loses_nothing_stored_before(
    server: Server,
) -> None:
    token = server.create_key()
    server.start()
    with client(server, token) as http:
        log_id = upload_sample(http)
        shop = http.post(
            f"{API}/maps",
            json={"name": "shop", "format": "toml", "text": (SAMPLE / "map.toml").read_text()},
        )
        assert shop.status_code == 201, shop.text
        map_id = shop.json()["id"]
        v2 = (SAMPLE / "map.toml").read_text() + "\n# v2\n"
        assert http.put(f"{API}/maps/{map_id}", json={"text": v2}).json()["version"] == 2
        before = {
            "logs": http.get(f"{API}/logs").json(),
            "log": http.get(f"{API}/logs/{log_id}").json(),
            "variants": http.get(f"{API}/logs/{log_id}/variants").json(),
            "v1": http.get(f"{API}/maps/{map_id}?version=1").json(),
            "v2": http.get(f"{API}/maps/{map_id}").json(),
            "jobs": http.get(f"{API}/jobs").json(),
        }
    parts_before = file_hashes(server.workspace / "logs")
    assert parts_before

    # A 64 MB upload streamed slowly; the kill lands once 4 MB went out.
    sent, kill_at, total = 0, 4 << 20, 64 << 20
    streaming = threading.Event()
    boundary = "crashboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nwho,what,when,via\n"
    ).encode()
    outcome: list[BaseException | httpx.Response] = []

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield head
        row = 0
        while sent < total:
            chunk = csv_rows(row, 6000)
            row += 6000
            sent += len(chunk)
            if sent >= kill_at:
                streaming.set()
            yield chunk
            time.sleep(0.01)
        yield f"\r\n--{boundary}--\r\n".encode()

    def post() -> None:
        try:
            outcome.append(
                httpx.post(
                    f"{server.base}{API}/logs",
                    content=body(),
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": f"multipart/form-data; boundary={boundary}",
                    },
                    timeout=60,
                )
            )
        except BaseException as exc:
            outcome.append(exc)

    uploader = threading.Thread(target=post, daemon=True)
    uploader.start()
    try:
        assert streaming.wait(60), "the upload did not get going"
        # The server has the first megabytes on disk in its uploads folder.
        deadline = time.monotonic() + 10
        partial = server.workspace / "uploads"
        while not any(p.is_file() and p.stat().st_size > 0 for p in partial.rglob("*")):
            assert time.monotonic() < deadline, "nothing of the upload reached the disk"
            time.sleep(0.05)
        server.kill9()
    finally:
        uploader.join(60)
    assert not uploader.is_alive()
    assert outcome and isinstance(outcome[0], httpx.TransportError), outcome
    assert sent < total, "the upload finished before the kill"

    # Restart; with no grace, the leftover upload folder is removed at once.
    server.start(JOURNEYMINER_ORPHAN_GRACE_S="0")
    with client(server, token) as http:
        after = {
            "logs": http.get(f"{API}/logs").json(),
            "log": http.get(f"{API}/logs/{log_id}").json(),
            "variants": http.get(f"{API}/logs/{log_id}/variants").json(),
            "v1": http.get(f"{API}/maps/{map_id}?version=1").json(),
            "v2": http.get(f"{API}/maps/{map_id}").json(),
            "jobs": http.get(f"{API}/jobs").json(),
        }
        assert after == before
        assert [log["id"] for log in after["logs"]["logs"]] == [log_id]
        assert all(log["status"] == "ready" for log in after["logs"]["logs"])
        assert after["v1"]["text"] == (SAMPLE / "map.toml").read_text()
        assert after["v2"]["text"] == v2 and after["v2"]["version"] == 2
        # The server still takes uploads, and the sample reads the same once more.
        # (named: the same files unnamed would answer 409 with the stored log)
        assert upload_sample(http, name="sample again") != log_id
    server.stop()

    assert file_hashes(server.workspace / "logs").items() >= parts_before.items()
    uploads = server.workspace / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
    assert store_problems(server.workspace) == []


def test_kill_9_during_an_analysis_marks_it_failed_and_a_new_post_runs_it(
    server: Server,
) -> None:
    token = server.create_key()
    server.start()
    with client(server, token) as http:
        made = http.post(
            f"{API}/logs",
            files=[("files", ("events.csv", synthetic_csv(1_500_000), "text/csv"))],
            data={"mapping": CUSTOM_MAPPING, "name": "big", "gap": "none"},
        )
        assert made.status_code == 202, made.text
        ingest = wait_job(http, made.json()["status_url"])
        assert ingest["status"] == "done", ingest
        log_id = ingest["log"]
        facts = http.get(f"{API}/logs/{log_id}").json()

        # Kill as soon as the analysis runs; a new filter each try keeps it off the cache.
        analysis, caught = {}, False
        for attempt in range(5):
            request = {
                "log": log_id,
                "kind": "discover",
                "filters": {"min_edge_count": attempt + 1},
            }
            queued = http.post(f"{API}/analyses", json=request)
            assert queued.status_code == 202, queued.text
            analysis = queued.json()
            deadline = time.monotonic() + 30
            while True:
                state = http.get(analysis["status_url"]).json()
                if state["status"] != "queued" or time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            if state["status"] == "running":
                server.kill9()
                caught = True
                break
            wait_job(http, analysis["status_url"])
        assert caught, "every analysis finished before the kill could land"

    server.start()
    with client(server, token) as http:
        failed = http.get(analysis["status_url"]).json()
        assert failed["status"] == "failed", failed
        assert failed["error"]["detail"] == RESTART_REASON
        assert http.get(f"{API}/analyses/{analysis['id']}/result").status_code == 409
        assert http.get(f"{API}/logs/{log_id}").json() == facts

        again = http.post(f"{API}/analyses", json=request)
        assert again.status_code == 202, again.text  # nothing cached from the killed run
        done = wait_job(http, again.json()["status_url"])
        assert done["status"] == "done", done
        result = http.get(f"{API}/analyses/{done['id']}/result")
        assert result.status_code == 200
        assert result.json()["kind"] == "discover"
    server.stop()
    assert store_problems(server.workspace) == []


# -- random kills through ingest, append and analysis (issue 14) --------------------------
#: A parent that imports the server once and forks a fresh one per trial: a trial then
#: costs the kill and the restart's recovery, not 1-2 s of imports (`journeyminer serve`
#: does the same: `uvicorn.run(create_app(Settings(), gc_tuning=True))`). The child runs
#: the real app on the real workspace; SIGKILL stops it as it stops `serve`. A fork after
#: polars ran anything would hang the child (its thread pool does not survive a fork): the
#: imports must not compute with polars, which the first ingest below would catch.
LAUNCHER = r"""
import os, sys
import uvicorn
from journeyminer.api.app import configure_logging, create_app
from journeyminer.api.settings import Settings

for line in sys.stdin:
    command, *args = line.split()
    if command == "start":
        port, log = int(args[0]), args[1]
        pid = os.fork()
        if pid == 0:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            configure_logging("warning")
            app = create_app(Settings(), gc_tuning=True)
            uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
            os._exit(0)
        print(pid, flush=True)
    elif command == "reap":
        os.waitpid(int(args[0]), 0)
        print("reaped", flush=True)
"""
TRIALS = 50
KILL_WITHIN_S = 1.6  # an op's start to its kill, uniform; ops take about 0.2-2 s here


class ForkedServers:
    """Servers forked from one launcher process on one workspace; `kill9` each in turn."""

    def __init__(self, workspace: Path, logs: Path) -> None:
        self.workspace, self.logs = workspace, logs
        env = {**os.environ, "JOURNEYMINER_WORKSPACE": str(workspace)}
        self.launcher = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid: int | None = None
        self.base = ""
        self.starts = 0

    def _ask(self, line: str) -> str:
        assert self.launcher.stdin is not None and self.launcher.stdout is not None
        self.launcher.stdin.write(line + "\n")
        self.launcher.stdin.flush()
        return self.launcher.stdout.readline().strip()

    def start(self) -> None:
        assert self.pid is None
        self.starts += 1
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.pid = int(self._ask(f"start {port} {self.log_file()}"))
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            with suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"no server: {self.log_file().read_text()}"
            time.sleep(0.02)

    def kill9(self) -> None:
        if self.pid is not None:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            assert self._ask(f"reap {self.pid}") == "reaped"
            self.pid = None

    def close(self) -> None:
        with suppress(Exception):
            self.kill9()
        self.launcher.kill()
        self.launcher.wait(timeout=30)
        for pipe in (self.launcher.stdin, self.launcher.stdout):
            if pipe is not None:
                pipe.close()

    def log_file(self) -> Path:
        return self.logs / f"server-{self.starts}.log"


@dataclass
class Confirmed:
    """What a client saw finished before a kill: it must all be there after every restart."""

    logs: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (version, events)
    results: dict[str, str] = field(default_factory=dict)  # analysis id -> body sha256
    parts: dict[str, str] = field(default_factory=dict)  # part file -> sha256


@dataclass
class Tally:
    """What the trials found: kills by op, and every broken promise, by trial."""

    kills: dict[str, int] = field(default_factory=dict)
    finished_before_kill: int = 0
    recovered_ingests: int = 0
    stranded: dict[str, int] = field(default_factory=dict)  # log id -> trial first seen
    problems: list[str] = field(default_factory=list)


def _check_after_restart(
    servers: ForkedServers, http: httpx.Client, confirmed: Confirmed, tally: Tally, trial: int
) -> None:
    """No log pending, no job queued or running, SQLite intact, everything confirmed there."""
    db = sqlite3.connect(f"file:{servers.workspace / 'journeyminer.sqlite3'}?mode=ro", uri=True)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        pending = [r[0] for r in db.execute("SELECT id FROM logs WHERE status = 'pending'")]
        unfinished = db.execute(
            "SELECT id, kind, status FROM jobs WHERE status IN ('queued', 'running')"
        ).fetchall()
        failed_logs = [
            (r[0], r[1]) for r in db.execute("SELECT id, error FROM logs WHERE status = 'failed'")
        ]
    finally:
        db.close()
    if integrity != "ok":
        tally.problems.append(f"trial {trial}: integrity {integrity}")
    for log_id in pending:
        tally.stranded.setdefault(log_id, trial)
    tally.problems += [f"trial {trial}: job {tuple(j)} unfinished" for j in unfinished]
    for log_id, error in failed_logs:  # an interrupted ingest: failed, saying why, deletable
        tally.recovered_ingests += 1
        if "interrupted" not in (error or ""):
            tally.problems.append(f"trial {trial}: log {log_id} failed without a reason: {error}")
        if http.delete(f"{API}/logs/{log_id}").status_code != 204:
            tally.problems.append(f"trial {trial}: failed log {log_id} cannot be deleted")
    for log_id, (version, events) in confirmed.logs.items():
        facts = http.get(f"{API}/logs/{log_id}").json()
        if facts.get("status") != "ready" or facts["version"] < version or facts["events"] < events:
            tally.problems.append(f"trial {trial}: log {log_id} lost data: {facts}")
    for analysis_id, digest in confirmed.results.items():
        got = http.get(
            f"{API}/analyses/{analysis_id}/result", headers={"Accept-Encoding": "identity"}
        )
        if got.status_code != 200 or hashlib.sha256(got.content).hexdigest() != digest:
            tally.problems.append(f"trial {trial}: result of {analysis_id} lost")
    root = servers.workspace
    lost = {
        p
        for p, h in confirmed.parts.items()
        if not (root / p).is_file() or hashlib.sha256((root / p).read_bytes()).hexdigest() != h
    }
    if lost:
        tally.problems.append(f"trial {trial}: part files changed or gone: {sorted(lost)[:3]}")


def _op(
    http: httpx.Client,
    op: str,
    trial: int,
    base_log: str,
    confirmed: Confirmed,
    csvs: dict[str, Any],
) -> bool:
    """Run one op to its end as a client does; record what finished; False if cut off."""
    try:
        if op == "analysis":
            request = {"log": base_log, "kind": "discover", "filters": {"min_edge_count": trial}}
            made = http.post(f"{API}/analyses", json=request)
        elif op == "append":
            files = [("files", (f"day-{trial}.csv", csvs["append"](trial), "text/csv"))]
            made = http.post(f"{API}/logs/{base_log}/events", files=files)
        else:
            files = [("files", ("events.csv", csvs["ingest"], "text/csv"))]
            form = {"mapping": CUSTOM_MAPPING, "name": f"trial-{trial}", "gap": "none"}
            made = http.post(f"{API}/logs", files=files, data=form)
        job = wait_job(http, made.json()["status_url"])
        if job["status"] != "done":
            return False
        if op == "analysis":
            body = http.get(
                f"{API}/analyses/{job['id']}/result", headers={"Accept-Encoding": "identity"}
            )
            confirmed.results[job["id"]] = hashlib.sha256(body.content).hexdigest()
        else:
            log_id = job["log"]
            facts = http.get(f"{API}/logs/{log_id}").json()
            confirmed.logs[log_id] = (facts["version"], facts["events"])
        return True
    except (httpx.TransportError, KeyError, ValueError):
        return False  # the kill landed first


def _committed_parts(workspace: Path, confirmed: Confirmed) -> dict[str, str]:
    """The part files the confirmed logs' rows name, with their sha256 (never rewritten)."""
    db = sqlite3.connect(f"file:{workspace / 'journeyminer.sqlite3'}?mode=ro", uri=True)
    try:
        marks = ", ".join("?" * len(confirmed.logs))
        sql = f"SELECT path FROM log_parts WHERE log_id IN ({marks})"
        paths = [r[0] for r in db.execute(sql, list(confirmed.logs))]
    finally:
        db.close()
    return {p: hashlib.sha256((workspace / p).read_bytes()).hexdigest() for p in paths}


def _run_op(done: list[bool], *args: Any) -> None:
    done.append(_op(*args))


def test_kill_9_at_random_points_strands_nothing(tmp_path: Path) -> None:
    """50 seeded kills through ingest, append and analysis; after each restart nothing is
    pending or running, SQLite is intact and everything a client saw finish is there."""
    rng = random.Random(14)
    workspace, logs = tmp_path / "ws", tmp_path / "server-logs"
    logs.mkdir()
    settings = Settings(workspace=workspace)
    with Store.open(settings) as store:
        _, token = store.create_api_key(store.create_tenant("t"))
    csvs = {
        "ingest": synthetic_csv(100_000),
        "append": lambda trial: synthetic_csv(20_000 + trial),  # each its own batch (sha256)
    }
    servers = ForkedServers(workspace, logs)
    confirmed, tally = Confirmed(), Tally()
    started = time.monotonic()
    try:
        servers.start()
        with client_at(servers.base, token) as http:
            assert _op(http, "ingest", 0, "", confirmed, csvs), "the first ingest did not finish"
            (base_log,) = confirmed.logs
            assert _op(http, "analysis", 1, base_log, confirmed, csvs)
        for trial in range(2, TRIALS + 2):
            confirmed.parts = _committed_parts(workspace, confirmed)
            with client_at(servers.base, token) as http:
                _check_after_restart(servers, http, confirmed, tally, trial)
                op = rng.choice(["ingest", "append", "analysis"])
                tally.kills[op] = tally.kills.get(op, 0) + 1
                done: list[bool] = []
                worker = threading.Thread(
                    target=_run_op,
                    args=(done, http, op, trial, base_log, confirmed, csvs),
                    daemon=True,
                )
                worker.start()
                time.sleep(rng.uniform(0, KILL_WITHIN_S))
                servers.kill9()
                worker.join(60)
                assert not worker.is_alive(), "the client hung after the kill"
                tally.finished_before_kill += done == [True]
            with Store.open(Settings(workspace=workspace)) as store:  # opens after a kill
                tally.problems += [f"trial {trial}: {p}" for p in store.check()]
            servers.start()
        with client_at(servers.base, token) as http:
            _check_after_restart(servers, http, confirmed, tally, TRIALS + 2)
    finally:
        servers.close()
    print(
        f"\n{TRIALS} kills in {time.monotonic() - started:.0f} s: {tally.kills}; "
        f"{tally.finished_before_kill} finished before the kill; "
        f"{tally.recovered_ingests} interrupted ingests failed and deleted; "
        f"{len(tally.stranded)} stranded logs; {len(tally.problems)} problems"
    )
    assert not tally.stranded, tally.stranded
    assert not tally.problems, tally.problems


def client_at(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
