"""Server memory over a sequence of large requests: does RSS come back near its idle level?

    python benchmarks/bench_memory.py [--rounds 5] [--events 200000] [--settle 2]

`journeyminer serve` (one worker, a fresh workspace; the server of `bench_api.py`) is first
warmed up as `bench_api.py` seeds it (the bundled sample ingested, a discover and a compare
analysis: every module and compiled kernel loaded), the sample log deleted, and its RSS read
("warm": the level to come back to); then, `--rounds` times: uploads a generated log of `--events` events
(the CSV of `bench_api.py`, streamed), waits for its ingest, runs a discover analysis and
fetches its result, reads the quick DFG and variants, and deletes the log. The server's RSS
(all its processes, MiB) is read after each step once it has been idle `--settle` seconds,
and its peak sampled every 0.25 s. `--arena-max N` starts the server with
`MALLOC_ARENA_MAX=N`. Results: benchmarks/results/memory.jsonl.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from typing import Any

import bench_api
import httpx
from _harness import machine, write_results
from bench_api import API, RssSampler, Server, csv_blocks, seed, serving, wait_job

BOUNDARY = "jmmemoryboundary"
MAPPING = 'case = "customer"\nactivity = "touchpoint"\ntimestamp = "time"\nchannel = "channel"\n'


def body(events: int, name: str) -> Iterator[bytes]:
    """A multipart upload of one generated CSV of about `events` rows (whole 200k blocks)."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    rows = 0
    for block in csv_blocks(1 << 62):
        yield block
        rows += block.count(b"\n")
        if rows >= events:
            break
    for field, value in (("mapping", MAPPING), ("gap", "none"), ("name", name)):
        yield f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n'.encode()
        yield value.encode()
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def settled(server: Server, settle: float) -> float:
    """The server's RSS once it has been idle `settle` seconds."""
    time.sleep(settle)
    return round(server.rss_mb(), 1)


def run(server: Server, rounds: int, events: int, settle: float) -> list[dict[str, Any]]:
    """The sequence of the module docstring: one row per step with settled and peak RSS."""
    rows: list[dict[str, Any]] = []
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    with (
        httpx.Client(base_url=server.base, headers=server.auth, timeout=3600) as http,
        RssSampler(server) as rss,
    ):
        rows.append({"round": 0, "step": "idle", "rss_mb": settled(server, settle)})
        sample = seed(server)
        http.delete(f"{API}/logs/{sample['log']}").raise_for_status()
        rows.append({"round": 0, "step": "warm", "rss_mb": settled(server, settle)})
        rows[-1]["peak_mb"] = round(rss.mark(), 1)
        for n in range(1, rounds + 1):
            made = http.post(f"{API}/logs", content=body(events, f"big-{n}"), headers=headers)
            made.raise_for_status()
            log = wait_job(http, made.json()["status_url"])["log"]
            facts = http.get(f"{API}/logs/{log}").json()
            steps = [("ingest", facts["events"])]
            queued = http.post(f"{API}/analyses", json={"log": log, "kind": "discover"})
            queued.raise_for_status()
            analysis = wait_job(http, queued.json()["status_url"])
            result = http.get(f"{API}/analyses/{analysis['id']}/result")
            steps.append(("discover", len(result.content)))
            dfg = http.get(f"{API}/logs/{log}/dfg")
            variants = http.get(f"{API}/logs/{log}/variants", params={"limit": 10_000})
            steps.append(("quick reads", len(dfg.content) + len(variants.content)))
            http.delete(f"{API}/logs/{log}").raise_for_status()
            steps.append(("delete", 0))
            for step, size in steps:
                # The peak is over the step and the settling after it.
                row = {"round": n, "step": step, "size": size}
                row["rss_mb"] = settled(server, settle) if step == "delete" else None
                rows.append(row)
            rows[-1]["peak_mb"] = round(rss.mark(), 1)
        rows.append({"round": rounds, "step": "idle 10 s", "rss_mb": settled(server, 10)})
    return rows


def main() -> None:
    """Run the sequence and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--arena-max", type=int, help="MALLOC_ARENA_MAX of the server.")
    parser.add_argument("--note", default="", help="A note stored with the results.")
    args = parser.parse_args()
    bench_api.PIN["server"] = []
    if args.arena_max:
        os.environ["MALLOC_ARENA_MAX"] = str(args.arena_max)  # the server's env copies ours
    with serving(workers=1) as server:
        rows = run(server, args.rounds, args.events, args.settle)
    warm = rows[1]["rss_mb"]
    print(f"\n### Server RSS over {args.rounds} rounds of {args.events:,} events\n")
    print("| round | after | RSS MiB | vs warm | peak in round MiB |")
    print("|---|---|---|---|---|")
    for row in rows:
        if row["rss_mb"] is None:
            continue
        peak = row.get("peak_mb")
        print(
            f"| {row['round']} | {row['step']} | {row['rss_mb']:.0f} | "
            f"{row['rss_mb'] - warm:+.0f} | {'' if peak is None else f'{peak:.0f}'} |"
        )
    path = write_results("memory", rows, {"machine": machine(), "note": args.note, **vars(args)})
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
