"""Incremental appends: append the last 1% of a log + refresh discovery vs ingest + discover all.

    python benchmarks/bench_append.py --events 1000000 [--partitions 0 16 64] [--repeat 3]

Data: a generated omnichannel scenario (`journeyminer generate`, seed 11), each source cut by
time where 99% of all events lie before (the last days of the year: a nightly batch). Per
partition count (0: the default, one per 2 million events) and run:

- full: `ingest_to_dataset` of all sources (early and late files) + `discover_parts`;
- append: the 99% dataset (ingested and discovered once with a `PartialCache`, untimed, as a
  server holds it) gets `append_to_dataset` of the late files + `discover_parts` with the
  cache (only touched partitions recomputed).

Everything runs in this process (numba compiled before timing). JSON lines out, then a table
with the min and median of the runs and the ratio append / full (the target is at most 0.10).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from _harness import machine

DATA = Path(__file__).resolve().parent.parent / "bench-data"
KINDS = ("web", "call_center", "crm")
SEPARATORS = {"web": ",", "call_center": ";", "crm": ","}


def _times(kind: str) -> pl.Expr:
    """Each source's own time column as naive local-ish datetimes (good enough to cut by)."""
    if kind == "web":
        return pl.col("event_time").str.slice(0, 19).str.strptime(pl.Datetime, "%Y-%m-%dT%H:%M:%S")
    if kind == "call_center":
        return pl.col("call_start").str.strptime(pl.Datetime, "%d/%m/%Y %H:%M:%S")
    return pl.from_epoch(pl.col("changed_at").cast(pl.Int64), time_unit="ms")


def prepare(events: int, share: float) -> tuple[Path, list[Path], list[Path]]:
    """The scenario and its sources cut by time at the `1 - share` quantile of all events."""
    from journeyminer.miner.synthetic.generate import generate

    folder = DATA / f"append-{events}"
    gen = folder / "scenario"
    if not (gen / "crm.csv").exists():
        generate(gen, events=events, seed=11)
    frames = {
        k: pl.read_csv(gen / f"{k}.csv", separator=SEPARATORS[k], infer_schema=False) for k in KINDS
    }
    times = pl.concat([f.select(_times(k).alias("t")) for k, f in frames.items()])
    cut = times.get_column("t").quantile(1 - share, "lower")
    early, late = [], []
    for k, frame in frames.items():
        is_late = frame.select(_times(k) > cut).to_series()
        for files, rows, name in ((early, ~is_late, "early"), (late, is_late, "late")):
            path = folder / f"{name}_{k}.csv"
            if not path.exists():
                frame.filter(rows).write_csv(path, separator=SEPARATORS[k])
            files.append(path)
    return gen, early, late


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--share", type=float, default=0.01, help="share of events appended")
    parser.add_argument("--partitions", type=int, nargs="+", default=[0, 16, 64])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from journeyminer.miner.engine.append import append_to_dataset
    from journeyminer.miner.engine.dataset import open_dataset
    from journeyminer.miner.engine.discovery import discover_parts
    from journeyminer.miner.engine.partial_cache import PartialCache
    from journeyminer.miner.ingest.pipeline import resolve_source
    from journeyminer.miner.ingest.to_dataset import ingest_to_dataset

    gen, early, late = prepare(args.events, args.share)
    tables = {"identities": gen / "identities.csv", "customers": gen / "customers.csv"}

    def specs(files: list[Path]) -> list:
        return [
            resolve_source(f"{f}={f.stem.split('_', 1)[1]}", timezone="Europe/Amsterdam")
            for f in files
        ]

    work = DATA / f"append-{args.events}" / "work"
    print(f"# {machine()}; {args.events:,} events, appending {args.share:.0%}", file=sys.stderr)
    # numba compiles once, before anything is timed.
    shutil.rmtree(work, ignore_errors=True)
    ingest_to_dataset(specs(late), work / "warm", n_parts=2, **tables)
    discover_parts(open_dataset(work / "warm"))
    rows = []
    for n_parts in args.partitions:
        parts = None if n_parts == 0 else n_parts
        full_s, append_s, touched = [], [], 0
        for _ in range(args.repeat):
            shutil.rmtree(work, ignore_errors=True)
            t0 = time.perf_counter()
            report = ingest_to_dataset(specs(early + late), work / "full", n_parts=parts, **tables)
            discover_parts(open_dataset(work / "full"))
            full_s.append(time.perf_counter() - t0)
            ingest_to_dataset(specs(early), work / "inc", n_parts=parts, **tables)
            cache = PartialCache()
            discover_parts(open_dataset(work / "inc"), cache=cache)
            t0 = time.perf_counter()
            done = append_to_dataset(specs(late), work / "inc", **tables)
            discover_parts(open_dataset(work / "inc"), cache=cache)
            append_s.append(time.perf_counter() - t0)
            touched = len(done["touched_partitions"])
        row = {
            "events": report["events"],
            "appended": done["appended_events"],
            "partitions": report["partitions"],
            "touched": touched,
            "full_min_s": min(full_s),
            "full_median_s": statistics.median(full_s),
            "append_min_s": min(append_s),
            "append_median_s": statistics.median(append_s),
            "ratio_median": statistics.median(append_s) / statistics.median(full_s),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    shutil.rmtree(work, ignore_errors=True)
    print(
        "\n| events | appended | partitions | touched | full ingest + discovery (min / median) "
        "| append + refresh (min / median) | ratio (medians) |\n|---|---|---|---|---|---|---|"
    )
    for r in rows:
        print(
            f"| {r['events']:,} | {r['appended']:,} | {r['partitions']} | {r['touched']} "
            f"| {r['full_min_s']:.2f} / {r['full_median_s']:.2f} s "
            f"| {r['append_min_s']:.2f} / {r['append_median_s']:.2f} s | {r['ratio_median']:.2f} |"
        )


if __name__ == "__main__":
    main()
