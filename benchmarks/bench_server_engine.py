"""The server on the engine: a discovery, then the same log version discovered again with
other path filters (the page's paths slider), answered from the cached partials.

    python benchmarks/bench_server_engine.py [--events 1000000] [--engine-workers 1 2]
                                             [--repeat 3]

For each `--engine-workers` value, `journeyminer serve` starts on a fresh workspace with
`JOURNEYMINER_ENGINE_WORKERS` set; a generated log of `--events` events is uploaded (the CSV
of `bench_api.py`, streamed; the store stitches it into a partitioned dataset), then:

- "first discover": a discover analysis of the log (every partition read, pass-1 partials
  built and kept in the server's cache);
- "again, other paths": `--repeat` discover analyses with `path_coverage` 0.9, 0.8, ...
  (new results, not in the result cache; the filter abstracts only the DFG, so the partials
  of the first discovery serve them: merge + finish + rendering the result's files);
- "whole log in memory" (the peer, in this process, same data): the log's journeys read
  whole (`Dataset.to_event_log`) and discovered, as the server did before it ran on the
  engine, and a second discovery of that in-memory log.

Times: the job's own run time (`timings.run_s`: from a worker taking it to its result
stored) and the client's round trip (POST to the job done, polling every 10 ms). Peak RSS of
the server over each step (sampled every 0.25 s). Results: benchmarks/results/server_engine.jsonl.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import bench_api
import httpx
from _harness import machine, write_results
from bench_api import API, RssSampler, serving, wait_job
from bench_memory import BOUNDARY, body


def analyse(http: httpx.Client, request: dict[str, Any]) -> tuple[float, float]:
    """(the job's run_s, the client's round trip s) of one analysis."""
    clock = time.perf_counter()
    queued = http.post(f"{API}/analyses", json=request)
    queued.raise_for_status()
    done = wait_job(http, queued.json()["status_url"], interval=0.01)
    trip = time.perf_counter() - clock
    http.get(done["links"]["result"]).raise_for_status()
    return float(done["timings"]["run_s"]), trip


def served(workers: int, events: int, repeat: int) -> tuple[list[dict[str, Any]], str]:
    rows: list[dict[str, Any]] = []
    os.environ["JOURNEYMINER_ENGINE_WORKERS"] = str(workers)  # the server's env copies ours
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    with (
        serving(workers=1) as server,
        httpx.Client(base_url=server.base, headers=server.auth, timeout=3600) as http,
        RssSampler(server) as rss,
    ):
        bench_api.seed(server)  # every module and kernel loaded, as in a running service
        rss.mark()
        made = http.post(f"{API}/logs", content=body(events, "big"), headers=headers)
        made.raise_for_status()
        log = wait_job(http, made.json()["status_url"])["log"]
        facts = http.get(f"{API}/logs/{log}").json()
        rss.mark()
        run_s, trip = analyse(http, {"log": log, "kind": "discover"})
        rows.append(
            {"step": "first discover", "workers": workers, "run_s": [run_s], "trip_s": [trip]}
        )
        rows[-1]["peak_mb"] = round(rss.mark(), 1)
        runs, trips = [], []
        for k in range(repeat):
            coverage = round(0.9 - 0.1 * k, 2)
            request = {"log": log, "kind": "discover", "filters": {"path_coverage": coverage}}
            run_s, trip = analyse(http, request)
            runs.append(run_s)
            trips.append(trip)
        rows.append(
            {"step": "again, other paths", "workers": workers, "run_s": runs, "trip_s": trips}
        )
        rows[-1]["peak_mb"] = round(rss.mark(), 1)
        folder = next((server.workspace / "logs" / log).glob("journeys-*"))
        rows.append(whole_log(folder))
        rows[-1]["workers"] = workers
    return rows, f"{facts['events']:,} events, {facts['cases']:,} journeys"


def whole_log(folder: Any) -> dict[str, Any]:
    """The peer: the journeys read whole and discovered in memory, twice, in this process."""
    import resource

    from journeyminer.miner.engine.dataset import open_dataset
    from journeyminer.miner.usecases import discover_journeys

    times = []
    for _ in range(2):
        clock = time.perf_counter()
        log = open_dataset(folder).to_event_log()
        discover_journeys(log).to_dict()
        times.append(time.perf_counter() - clock)
        del log
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"step": "whole log in memory (peer)", "run_s": times, "trip_s": [], "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--engine-workers", type=int, nargs="+", default=[1])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    bench_api.PIN["server"] = []
    rows, what = [], ""
    for workers in args.engine_workers:
        got, what = served(workers, args.events, args.repeat)
        rows += got
    print(f"\n### The server on the engine: {what}\n")
    print(
        "| engine workers | step | job run s (min / median) | round trip s (median) | peak RSS MiB |"
    )
    print("| ---: | --- | ---: | ---: | ---: |")
    for row in rows:
        run = f"{min(row['run_s']):.3f} / {statistics.median(row['run_s']):.3f}"
        trip = f"{statistics.median(row['trip_s']):.3f}" if row["trip_s"] else "-"
        print(f"| {row['workers']} | {row['step']} | {run} | {trip} | {row['peak_mb']:.0f} |")
    meta = {"machine": machine(), "note": args.note, **vars(args), "log": what}
    print(f"\nresults: {write_results('server_engine', rows, meta)}")


if __name__ == "__main__":
    main()
