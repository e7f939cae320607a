"""How long the CLI takes to answer, against pm4py's script for the same work, on small logs.

For each log: `journeyminer mine`, `compare` and `map draft` as whole commands (interpreter
start, imports, reading, work, output), warm (numba's cache filled by an earlier run) and on an
empty JIT cache (`NUMBA_CACHE_DIR` pointing at a new folder), and pm4py's script for the DFG,
performance DFG and variants of the same file. Each timing is a fresh process; min and median
of `--runs` runs are printed, with the ratio to pm4py measured in the same run.

    python benchmarks/bench_cli.py --runs 5            # small (50 events) and medium (100k)
    python benchmarks/bench_cli.py --sizes 50 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import machine

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "journeyminer"

PM4PY_SCRIPT = """
import sys
import pandas as pd
import pm4py
frame = pd.read_csv(sys.argv[1])
frame = pm4py.format_dataframe(frame, case_id="case", activity_key="act", timestamp_key="ts")
pm4py.discover_dfg(frame)
pm4py.discover_performance_dfg(frame)
pm4py.get_variants(frame)
"""


def write_log(folder: Path, events: int) -> tuple[Path, Path]:
    """A CSV of about `events` events with its own column names (case, act, ts), and a map."""
    gen = folder / "gen"
    subprocess.run(
        [str(BIN), "generate", str(gen), "--events", str(max(events, 50)), "--seed", "5", "--json"],
        check=True,
        capture_output=True,
    )
    web = gen / "web.csv"
    import polars as pl

    frame = (
        pl.read_csv(web)
        .select(
            pl.col("visitor_id").alias("case"),
            pl.col("event_name").alias("act"),
            pl.col("event_time").alias("ts"),
        )
        .head(events)
    )
    path = folder / f"log-{events}.csv"
    frame.write_csv(path)
    return path, gen / "map.toml"


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds of one run of `cmd` in a fresh process (its output discarded)."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def main() -> None:
    """Time the CLI and pm4py on each size; print a table and JSON lines."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 100_000])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"# machine: {machine()}; load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in args.sizes:
            log, map_path = write_log(folder, size)
            cols = ["--case", "case", "--activity", "act", "--timestamp", "ts"]
            commands = {
                "mine": [str(BIN), "mine", str(log), *cols, "--json"],
                "compare": [str(BIN), "compare", str(log), "--map", str(map_path), *cols, "--json"],
                "map draft": [
                    str(BIN),
                    "map",
                    "draft",
                    str(log),
                    *cols,
                    "-o",
                    str(folder / "d.toml"),
                ],
            }
            pm4py = [sys.executable, "-c", PM4PY_SCRIPT, str(log)]
            timed(pm4py)  # its imports warm the page cache like ours
            peer = [timed(pm4py) for _ in range(args.runs)]
            rows = {"pm4py script": peer}
            for name, cmd in commands.items():
                timed(cmd)  # fills numba's cache
                rows[f"{name} (warm)"] = [timed(cmd) for _ in range(args.runs)]
                cold = []
                for _ in range(max(1, args.runs // 2)):
                    with tempfile.TemporaryDirectory() as cache:
                        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
                        cold.append(timed(cmd, env))
                rows[f"{name} (empty JIT cache)"] = cold
            base = statistics.median(peer)
            print(f"\n## {size:,} events ({log.stat().st_size / 1024:.0f} KiB CSV)")
            print("| command | min s | median s | median / pm4py |")
            print("| --- | ---: | ---: | ---: |")
            for name, times in rows.items():
                med = statistics.median(times)
                print(f"| {name} | {min(times):.2f} | {med:.2f} | {med / base:.2f} |")
                record = {"bench": "cli", "events": size, "command": name, "times": times}
                print(json.dumps(record), file=sys.stderr)


if __name__ == "__main__":
    main()
