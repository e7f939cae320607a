"""HTTP API under load: cached GETs (requests/s, p50/p99, server RSS) and a 1 GB CSV upload.

    python benchmarks/bench_api.py [--duration 30] [--clients 32] [--workers 1 2]
                                   [--upload-mb 1024] [--skip-upload] [--profile]
                                   [--accept-gzip]

For each `--workers` count: a fresh workspace, a key from `journeyminer keys create`, and
`journeyminer serve --workers N` on a free loopback port (a child process, killed at the
end). The bundled sample (datasets/omnichannel) is uploaded and a discover and a compare
analysis run on it; then `--clients` connections GET, in turn, `/analyses/{id}` and
`/analyses/{id}/result` of both analyses and `/logs/{id}` for `--duration` seconds. The load
comes from `wrk` (`apt-get install wrk`) when installed, else from an httpx AsyncClient in a
separate process (slower: on 2 cores it competes with the server for CPU). The requests are
plain GETs: no `Accept-Encoding` (so every result body is sent whole, 177-537 KB) and no
`If-None-Match`. `--accept-gzip` sends `Accept-Encoding: gzip` as browsers and HTTP libraries
do (results then come gzipped, from the server's cache), in rows named so. The server's RSS
(all its processes) is sampled with psutil every 0.25 s, its CPU time per request measured
(the steady number on a shared machine) and the 1-minute load average noted before and after.

Upload: a CSV of about `--upload-mb` MB (about 50 bytes a row: case, touchpoint, timestamp,
channel; blocks of 200k generated rows, each block shifted to new cases and days) is
generated while it is streamed to `POST /logs` (never held whole in memory), then ingested
by the server. Reported: upload MB/s, ingest seconds, and the server RSS growth over its
idle RSS while uploading and while ingesting.

`--profile` runs the load once more under `py-spy record` (if installed) on the single
worker server and prints the top frames. Results: benchmarks/results/api.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).parent))
from _harness import machine, write_results

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "datasets" / "omnichannel"
API = "/api/v1"
CLI = [sys.executable, "-c", "from journeyminer.api.cli.main import main; main()"]
BLOCK_ROWS = 200_000
#: One wrk thread: on 2 cores a second one takes the CPU the server needs (p99 x5 measured).
WRK_THREADS = 1
#: `taskset -c CPUS` prefixes for the server and the load (`--server-cpus`, `--client-cpus`):
#: on a larger machine, the server on 2 cores of its own and the load on others.
PIN: dict[str, list[str]] = {"server": [], "client": []}
TOUCHPOINTS = ["ad_click", "landing_page", "search", "product_page", "add_to_cart",
               "checkout", "payment", "order_confirmed", "call_support", "complaint",
               "email_click", "delivered"]  # fmt: skip
CHANNELS = ["web", "web", "web", "web", "web", "web", "web", "email", "call_center",
            "crm", "email", "crm"]  # fmt: skip


# -- server -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`journeyminer serve` in a child process on a loopback port, with an API key."""

    def __init__(self, workspace: Path, workers: int, accept_gzip: bool = False) -> None:
        self.workspace, self.workers, self.accept_gzip = workspace, workers, accept_gzip
        self.env = {**os.environ, "JOURNEYMINER_WORKSPACE": str(workspace)}
        made = subprocess.run(
            [*CLI, "keys", "create", "--tenant", "bench", "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        self.token = json.loads(made.stdout)["token"]
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workspace / "server.log"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [
                    *PIN["server"],
                    *CLI,
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(workers),
                ],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + 120
        while True:
            with suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    break
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text()[-3000:])
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        if workers > 1:  # every worker must be up before the load starts
            time.sleep(3)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def load_headers(self) -> dict[str, str]:
        """What the load's clients send with every GET."""
        return {**self.auth, **({"Accept-Encoding": "gzip"} if self.accept_gzip else {})}

    def rss_mb(self) -> float:
        """RSS of the server and its worker processes, MiB."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0
        for p in procs:
            with suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total / 2**20

    def cpu_s(self) -> float:
        """CPU seconds (user + system) used so far by the server and its workers."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for p in procs:
            with suppress(psutil.NoSuchProcess):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


@contextmanager
def serving(workers: int, accept_gzip: bool = False) -> Iterator[Server]:
    folder = Path(tempfile.mkdtemp(prefix="jm-bench-api-"))
    server: Server | None = None
    try:
        (folder / "ws").mkdir()
        server = Server(folder / "ws", workers, accept_gzip)
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


class RssSampler:
    """Samples the server's RSS every `interval` s in a thread; `peak` since the last mark."""

    def __init__(self, server: Server, interval: float = 0.25) -> None:
        self.server, self.interval = server, interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.rss_mb())
            self._stop.wait(self.interval)

    def mark(self) -> float:
        """The peak since the last mark, and start a new one."""
        peak, self.peak = max(self.peak, self.server.rss_mb()), 0.0
        return peak

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- setup --------------------------------------------------------------------------------
def wait_job(
    http: httpx.Client, url: str, timeout: float = 3600, interval: float = 0.1
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = http.get(url).json()
        if body["status"] in ("done", "failed", "cancelled"):
            if body["status"] != "done":
                raise RuntimeError(f"job {body['status']}: {body}")
            return body
        if time.monotonic() > deadline:
            raise RuntimeError(f"job still {body['status']}")
        time.sleep(interval)


def seed(server: Server) -> dict[str, str]:
    """Ingest the sample, run a discover and a compare: the ids the load reads."""
    with httpx.Client(base_url=server.base, headers=server.auth, timeout=600) as http:
        files = [
            ("files", (f"{n}.csv", (SAMPLE / f"{n}.csv").read_bytes(), "text/csv"))
            for n in ("web", "call_center", "crm")
        ]
        files.append(("identities", ("identities.csv", (SAMPLE / "identities.csv").read_bytes())))
        made = http.post(f"{API}/logs", files=files, data={"timezone": "Europe/Amsterdam"})
        made.raise_for_status()
        log = wait_job(http, made.json()["status_url"])["log"]
        shop = http.post(
            f"{API}/maps",
            json={"name": "shop", "format": "toml", "text": (SAMPLE / "map.toml").read_text()},
        )
        shop.raise_for_status()
        ids = {"log": log}
        for kind in ("discover", "compare"):
            body = {"log": log, "kind": kind}
            if kind == "compare":
                body["map"] = shop.json()["id"]
            started = time.perf_counter()
            queued = http.post(f"{API}/analyses", json=body)
            queued.raise_for_status()
            ids[kind] = wait_job(http, queued.json()["status_url"])["id"]
            ids[f"{kind}_s"] = f"{time.perf_counter() - started:.2f}"
        return ids


def load_paths(ids: dict[str, str]) -> list[str]:
    return [
        f"{API}/analyses/{ids['discover']}",
        f"{API}/analyses/{ids['discover']}/result",
        f"{API}/analyses/{ids['compare']}",
        f"{API}/analyses/{ids['compare']}/result",
        f"{API}/logs/{ids['log']}",
    ]


# -- load ---------------------------------------------------------------------------------
WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], %s)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nJSON {"requests": %%d, "duration_us": %%d, "socket_errors": %%d, "non_2xx": %%d, '
    .. '"p50_ms": %%.3f, "p90_ms": %%.3f, "p99_ms": %%.3f, "max_ms": %%.3f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def load_wrk(server: Server, paths: list[str], duration: int, clients: int) -> dict[str, Any]:
    script = server.workspace / "load.lua"
    headers = ", ".join(
        f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in server.load_headers.items()
    )
    script.write_text(WRK_SCRIPT % (", ".join(json.dumps(p) for p in paths), f"{{{headers}}}"))
    out = subprocess.run(
        [*PIN["client"], "wrk", f"-t{WRK_THREADS}", f"-c{clients}", f"-d{duration}s", "--timeout", "10s", "-s", str(script),
         server.base],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    )  # fmt: skip
    line = next(x for x in out.stdout.splitlines() if x.startswith("JSON "))
    data = json.loads(line[5:])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["client"] = f"wrk -t{WRK_THREADS}"
    return data


async def _httpx_load(
    base: str, headers: dict[str, str], paths: list[str], duration: float, clients: int
):
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Accept-Encoding": "identity", **headers}  # httpx asks for gzip by default
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as http:
        end = time.perf_counter() + duration

        async def one(k: int) -> None:
            nonlocal errors
            i = k
            while time.perf_counter() < end:
                i += 1
                t = time.perf_counter()
                r = await http.get(paths[i % len(paths)])
                latencies.append(time.perf_counter() - t)
                errors += r.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(one(k) for k in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "non_2xx": errors,
        "socket_errors": 0,
        "p50_ms": pick(0.5),
        "p90_ms": pick(0.9),
        "p99_ms": pick(0.99),
        "max_ms": latencies[-1] * 1000,
        "client": "httpx AsyncClient (1 process)",
    }


def load_httpx(server: Server, paths: list[str], duration: int, clients: int) -> dict[str, Any]:
    args = [server.base, json.dumps(server.load_headers), json.dumps(paths), str(duration),
            str(clients)]  # fmt: skip
    out = subprocess.run(
        [sys.executable, __file__, "--load-worker", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 120,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_load(server: Server, ids: dict[str, str], duration: int, clients: int) -> dict[str, Any]:
    paths = load_paths(ids)
    load = load_wrk if shutil.which("wrk") else load_httpx
    load(server, paths, 2, clients)  # warm-up: caches, connections, lazy imports
    with RssSampler(server) as rss:
        before, cpu, load_avg = server.rss_mb(), server.cpu_s(), os.getloadavg()[0]
        result = load(server, paths, duration, clients)
        # CPU per request does not depend on what else runs on the machine; req/s does.
        result["server_cpu_us_per_request"] = (server.cpu_s() - cpu) / result["requests"] * 1e6
        result["load_avg_1m_before"] = load_avg
        result["load_avg_1m_after"] = os.getloadavg()[0]
        result["rss_before_mb"] = before
        result["rss_peak_mb"] = rss.mark()
    return result


def profile_load(server: Server, ids: dict[str, str], duration: int, clients: int) -> None:
    """py-spy over the server while the load runs; prints the top frames by own time."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy is not installed: pip install py-spy")
        return
    out = server.workspace / "profile.txt"
    proc = subprocess.Popen(
        [spy, "record", "--pid", str(server.proc.pid), "--duration", str(duration),
         "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(1)
        (load_wrk if shutil.which("wrk") else load_httpx)(
            server, load_paths(ids), duration - 2, clients
        )
    finally:
        proc.wait(timeout=duration + 60)
    own: dict[str, int] = {}
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        leaf = frames[-1]
        own[leaf] = own.get(leaf, 0) + int(count)
        for frame in set(frames):  # inclusive time per frame, counted once per stack
            key = "incl " + frame
            own[key] = own.get(key, 0) + int(count)
    ranked = sorted(own.items(), key=lambda kv: -kv[1])
    print(f"\npy-spy: {total} samples; top own frames, then top inclusive (incl) ones:")
    for name, n in [kv for kv in ranked if not kv[0].startswith("incl ")][:20]:
        print(f"{100 * n / total:5.1f}%  {name[:150]}")
    for name, n in [kv for kv in ranked if kv[0].startswith("incl ")][:60]:
        print(f"{100 * n / total:5.1f}%  {name[:150]}")


# -- upload -------------------------------------------------------------------------------
def csv_blocks(target_bytes: int) -> Iterator[bytes]:
    """CSV blocks of BLOCK_ROWS rows until `target_bytes`; block k: new cases, k days later."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(11)
    case = np.sort(rng.integers(0, BLOCK_ROWS // 6, BLOCK_ROWS))
    step = np.arange(BLOCK_ROWS) - np.searchsorted(case, case)
    act = (case * 7 + step * step) % len(TOUCHPOINTS)
    seconds = rng.integers(0, 86_400, BLOCK_ROWS) + step * 60
    base = pl.DataFrame(
        {
            "case": case,
            "activity": pl.Series(act).replace_strict(list(range(len(TOUCHPOINTS))), TOUCHPOINTS),
            "channel": pl.Series(act).replace_strict(list(range(len(CHANNELS))), CHANNELS),
            "seconds": seconds,
        }
    )
    start = 1_704_067_200  # 2024-01-01
    yield b"customer,touchpoint,time,channel\n"
    sent, k = 0, 0
    while sent < target_bytes:
        block = base.select(
            customer=pl.format("CUST-{}-{}", pl.lit(k), pl.col("case")),
            touchpoint="activity",
            time=pl.from_epoch(pl.col("seconds") + start + (k % 365) * 86_400, time_unit="s")
            .dt.replace_time_zone("UTC")
            .dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            channel="channel",
        )
        data = block.write_csv(include_header=False).encode()
        sent += len(data)
        k += 1
        yield data


def multipart(target_bytes: int, boundary: str) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    yield from csv_blocks(target_bytes)
    yield f"\r\n--{boundary}\r\n".encode()
    mapping = (
        'case = "customer"\nactivity = "touchpoint"\ntimestamp = "time"\nchannel = "channel"\n'
    )
    for name, value in (("mapping", mapping), ("gap", "none"), ("name", "big")):
        yield (f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n').encode()
        yield f"--{boundary}{'--' if name == 'name' else ''}\r\n".encode()


def run_upload(server: Server, megabytes: int) -> dict[str, Any]:
    boundary = "jmbenchboundary"
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        for chunk in multipart(megabytes * 2**20, boundary):
            sent += len(chunk)
            yield chunk

    headers = {**server.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    with httpx.Client(base_url=server.base, headers=server.auth, timeout=3600) as http:
        time.sleep(1)
        idle = server.rss_mb()
        with RssSampler(server) as rss:
            started = time.perf_counter()
            made = http.post(f"{API}/logs", content=body(), headers=headers)
            upload_s = time.perf_counter() - started
            if made.status_code != 202:
                raise RuntimeError(made.text)
            upload_peak = rss.mark()
            started = time.perf_counter()
            job = wait_job(http, made.json()["status_url"])
            ingest_s = time.perf_counter() - started
            ingest_peak = rss.mark()
        facts = http.get(f"{API}/logs/{job['log']}").json()
    return {
        "upload_mb": sent / 2**20,
        "upload_s": upload_s,
        "upload_mb_per_s": sent / 2**20 / upload_s,
        "ingest_s": ingest_s,
        "events": facts["events"],
        "cases": facts["cases"],
        "rss_idle_mb": idle,
        "rss_peak_upload_mb": upload_peak,
        "rss_peak_ingest_mb": ingest_peak,
        "rss_growth_upload_mb": upload_peak - idle,
        "rss_growth_ingest_mb": ingest_peak - idle,
    }


# -- main ---------------------------------------------------------------------------------
def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--load-worker":
        base, headers, paths, duration, clients = sys.argv[2:7]
        result = asyncio.run(
            _httpx_load(base, json.loads(headers), json.loads(paths), float(duration), int(clients))
        )
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--upload-mb", type=int, default=1024)
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--accept-gzip",
        action="store_true",
        help="The load's clients send Accept-Encoding: gzip (default: plain GETs).",
    )
    parser.add_argument("--note", default="", help="A note stored with the results.")
    parser.add_argument(
        "--server-cpus", help="Pin the server to these CPUs (taskset -c), e.g. 0,1."
    )
    parser.add_argument("--client-cpus", help="Pin the load generator to these CPUs, e.g. 2,3.")
    args = parser.parse_args()
    for role, cpus in (("server", args.server_cpus), ("client", args.client_cpus)):
        PIN[role] = ["taskset", "-c", cpus] if cpus else []

    meta = {"machine": machine(), "note": args.note, "server_cpus": args.server_cpus,
            "client_cpus": args.client_cpus}  # fmt: skip
    rows: list[dict[str, Any]] = []
    for workers in args.workers:
        with serving(workers, args.accept_gzip) as server:
            ids = seed(server)
            gz = ", Accept-Encoding: gzip" if args.accept_gzip else ""
            row = {"name": f"cached GETs{gz}, {workers} worker(s)", "workers": workers,
                   "accept_gzip": args.accept_gzip, "clients": args.clients,
                   "duration_s": args.duration,
                   "discover_s": float(ids["discover_s"]), "compare_s": float(ids["compare_s"]),
                   **run_load(server, ids, args.duration, args.clients)}  # fmt: skip
            row["target_met"] = row["rps"] >= 1000 and row["p99_ms"] < 50 and not row["non_2xx"]
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.profile and workers == 1:
                profile_load(server, ids, min(args.duration, 20), args.clients)
    if not args.skip_upload:
        with serving(1) as server:
            row = {"name": f"{args.upload_mb} MB CSV upload + ingest", "workers": 1,
                   **run_upload(server, args.upload_mb)}  # fmt: skip
            row["target_met"] = max(row["rss_growth_upload_mb"], row["rss_growth_ingest_mb"]) < 500
            rows.append(row)
            print(json.dumps(row), flush=True)
    path = write_results("api", rows, meta)

    print(f"\n### HTTP API ({meta['machine']})\n")
    print(
        "| load | req/s | p50 ms | p99 ms | server CPU µs/req | load avg 1m | non-2xx "
        "| server RSS MiB (peak) | target |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        if "rps" in r:
            print(
                f"| {r['name']} ({r['clients']} clients, {r['duration_s']} s, {r['client']}) | "
                f"{r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                f"{r['server_cpu_us_per_request']:.0f} | "
                f"{r['load_avg_1m_before']:.1f}-{r['load_avg_1m_after']:.1f} | {r['non_2xx']} | "
                f"{r['rss_peak_mb']:.0f} | {'met' if r['target_met'] else 'not met'} |"
            )
    for r in rows:
        if "upload_s" in r:
            print(
                f"\nUpload {r['upload_mb']:,.0f} MiB ({r['events']:,} events): "
                f"{r['upload_mb_per_s']:.0f} MiB/s, ingest {r['ingest_s']:.1f} s; server RSS idle "
                f"{r['rss_idle_mb']:.0f} MiB, +{r['rss_growth_upload_mb']:.0f} MiB while "
                f"uploading, +{r['rss_growth_ingest_mb']:.0f} MiB while ingesting "
                f"(target < 500: {'met' if r['target_met'] else 'not met'})"
            )
    print(f"\nresults appended to {path}")


if __name__ == "__main__":
    main()
