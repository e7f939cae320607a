"""`journeyminer compare` on a stored dataset (partitions) vs the same log as one stored file.

    python benchmarks/bench_compare_dataset.py --events 1000000 [--events 10000000]
        [--repeat 2] [--partitions 0 8] [--workers 1 2]

Data: `bench_compare.prepare(N)` (the seeded omnichannel scenario with perturbed journeys,
written once under `bench-data/compare-N/` as a canonical Parquet file plus its map.toml);
from it, once each, a dataset folder per `--partitions` value (`write_dataset`; 0: the default,
one partition per 2M events).

Contenders, each the CLI in a fresh process (`journeyminer compare LOG --map MAP --json` to a
file), `repeat` times, min and median wall seconds, peak RSS (GNU time's %M of that child):

- `file`: LOG = the single-file stored log (`compare_to_map` on the whole log);
- `dataset P parts, W workers`: LOG = the dataset folder (`compare_parts`), `--workers W`.

A warm-up run first fills numba's cache (not timed). Check: every contender's JSON equals the
file's byte for byte (sha256); a difference is printed and recorded.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _harness import machine, write_results
from bench_compare import DATA, prepare

CLI = str(Path(sys.executable).parent / "journeyminer")
TIME = "/usr/bin/time"  # GNU time


def dataset(events: int, canonical: str, n_parts: int) -> Path:
    """The dataset folder of the benchmark log with `n_parts` partitions (0: the default)."""
    folder = DATA / f"compare-{events}" / f"dataset-{n_parts or 'default'}"
    if not (folder / "manifest.json").exists():
        from journeyminer.miner.engine.dataset import write_dataset
        from journeyminer.miner.log import EventLog

        print(f"writing {folder} ...", flush=True)
        write_dataset(EventLog.read_parquet(canonical), folder, n_parts=n_parts or None)
    return folder


def run_cli(log: Path | str, map_path: str, out: Path, workers: int | None) -> dict[str, Any]:
    """One `journeyminer compare` in a fresh process: wall seconds, peak RSS, JSON digest."""
    args = [CLI, "compare", str(log), "--map", map_path, "--json"]
    if workers is not None:
        args += ["--workers", str(workers)]
    # GNU time reports the child's own peak RSS: ru_maxrss of a child forked from this
    # (large) process would start at this process's resident size.
    rss = out.with_suffix(".rss")
    started = time.perf_counter()
    with open(out, "wb") as sink:
        done = subprocess.run(
            [TIME, "-f", "%M", "-o", str(rss), *args], stdout=sink, stderr=subprocess.PIPE
        )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    peak_kib = int(rss.read_text().split()[-1])
    return {"seconds": seconds, "peak_rss_mb": peak_kib / 1024, "sha256": digest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, action="append", default=None)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--partitions", type=int, nargs="+", default=[0, 8])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for events in args.events or [1_000_000]:
        meta = prepare(events, 50_000)
        canonical, map_path = meta["canonical"], meta["map"]
        folders = {p: dataset(events, canonical, p) for p in args.partitions}
        out = DATA / f"compare-{events}" / "cli-out.json"
        run_cli(canonical, map_path, out, None)  # warm-up: numba's cache, the page cache
        contenders: list[tuple[str, Path | str, int | None]] = [("file", canonical, None)]
        for folder in folders.values():
            from journeyminer.miner.engine.dataset import open_dataset

            n = open_dataset(folder).n_parts
            contenders += [(f"dataset {n} parts, {w} workers", folder, w) for w in args.workers]
        want = None
        for name, log, workers in contenders:
            runs = [run_cli(log, map_path, out, workers) for _ in range(args.repeat)]
            times = [r["seconds"] for r in runs]
            digest = runs[0]["sha256"]
            want = want or digest
            row = {
                "name": name,
                "events": meta["events"],
                "cases": meta["cases"],
                "variants": meta["variants"],
                "min_s": min(times),
                "median_s": statistics.median(times),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                "same_json": digest == want and all(r["sha256"] == digest for r in runs),
            }
            rows.append(row)
            print(
                f"{meta['events']:>11,} events | {name:<28} | {row['min_s']:7.2f} s "
                f"| {row['median_s']:7.2f} s | {row['peak_rss_mb']:7.0f} MiB | "
                f"same JSON: {row['same_json']}",
                flush=True,
            )
    path = write_results("compare_dataset", rows, {"machine": machine()})
    print(f"\nmachine: {machine()}\nresults appended to {path}")


if __name__ == "__main__":
    main()
