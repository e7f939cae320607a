"""Discovery of a stored dataset on a Dask cluster, against the local executors, and a
projection to 1B and 10B events from the measured per-partition costs.

    python benchmarks/bench_cluster.py --events 10000000 [--partitions 16] [--repeat 3]
    python benchmarks/bench_cluster.py --events 10000000 --ingest   # ingest here vs local:2

Data: `journeyminer generate --events N --seed 7` (sources, identities, customers), then
`journeyminer ingest ... --out bench-data/cluster-N/dataset-P --partitions P`, both written
once into bench-data/ (git-ignored).

Contenders, each in a fresh process, `repeat` times (min and median of the discovery):
`serial` (one partition at a time), `threads x2`, `local:1` and `local:2` (a LocalCluster of
1 or 2 worker processes, one thread each). The work is what `journeyminer mine DIR --json`
runs: `discover_journeys(dataset, per_journey=False)`. For a cluster, starting it (workers
spawned, journeyminer imported there) is timed apart (`start s`), as is a second discovery on
the same warm cluster (`again s`: the better of two more calls; the process's cache of pass-1
partials is emptied before each call, so every call reads every partition). Peak RSS (VmHWM) of the client process and of each worker
process (asked of the workers themselves at the end).

`profile`: in one process, per partition, the load + pass-1 cost and the pass-2 cost; the
merge cost of groups of 4 partials (the cluster's fan-in) and of all of them; the plan and
finish cost; the size of a pickled partial. The projection multiplies these out for 1B and
10B events on 8 and 64 workers (see `project`), with what it assumes printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _harness import machine, peak_rss_mb, write_results

DATA = Path(__file__).resolve().parent.parent / "bench-data"
SCRIPT = str(Path(__file__).resolve())
BIN = Path(sys.executable).parent / "journeyminer"
CONTENDERS = ("serial", "threads x2", "local:1", "local:2")


def prepare(events: int, partitions: int) -> Path:
    """The dataset folder of `partitions` partitions of a generated scenario, written once."""
    folder = DATA / f"cluster-{events}"
    sources = folder / "sources"
    if not (sources / "web.csv").exists():
        print(f"generating {events:,} events ...", file=sys.stderr)
        _cli("generate", str(sources), "--events", str(events), "--seed", "7", "--json")
    dataset = folder / f"dataset-{partitions}"
    if not (dataset / "manifest.json").exists():
        print(f"ingesting into {partitions} partitions ...", file=sys.stderr)
        _cli(
            "ingest",
            *(f"{sources / n}.csv={n}" for n in ("web", "call_center", "crm")),
            "--identities",
            str(sources / "identities.csv"),
            "--customers",
            str(sources / "customers.csv"),
            "--out",
            str(dataset),
            "--partitions",
            str(partitions),
            "--json",
        )
    return dataset


def _cli(*args: str) -> None:
    subprocess.run([str(BIN), *args], check=True, stdout=subprocess.DEVNULL)


# -- in a child process ---------------------------------------------------------------------
def _peak_rss_mb() -> float:
    # Defined here (this script runs as __main__, so it travels to the workers by value).
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _checks(d: Any) -> dict[str, Any]:
    edges = d.dfg.edges
    return {
        "edges": edges.height,
        "pairs": int(edges["count"].sum()),
        "variants": d.variants.frame.height,
        "json_bytes": len(json.dumps(d.to_dict(), default=str)),
    }


def child(name: str, dataset: str) -> dict[str, Any]:
    """One contender, once: start (a cluster), discover, discover again; peak RSS."""
    import journeyminer.miner.usecases  # noqa: F401  (imports before the clock, as the CLI)
    from journeyminer.miner.engine.dataset import open_dataset
    from journeyminer.miner.usecases import discover_journeys

    ds = open_dataset(dataset)
    out: dict[str, Any] = {"name": name}
    cluster = None
    t0 = time.perf_counter()
    if name.startswith("local:"):
        from journeyminer.miner.engine.cluster import connect

        cluster = connect(name)
    workers = 2 if name == "threads x2" else 1
    out["start_s"] = time.perf_counter() - t0

    from journeyminer.miner.engine.partial_cache import SHARED

    def once() -> tuple[float, Any]:
        SHARED.clear()  # no pass-1 partials kept from a call before: every run reads them all
        t = time.perf_counter()
        if cluster is not None:
            found = discover_journeys(ds, per_journey=False, run=cluster)
        else:
            found = discover_journeys(ds, per_journey=False, workers=workers)
        return time.perf_counter() - t, found.discovery

    out["seconds"], found = once()
    out.update(_checks(found))
    out["client_rss_mb"] = peak_rss_mb()
    out["again_s"] = min(once()[0] for _ in range(2))
    if cluster is not None:
        rss = cluster.client.run(_peak_rss_mb)
        out["worker_rss_mb"] = sorted(round(v) for v in rss.values())
        cluster.close()
    return out


def profile(dataset: str) -> dict[str, Any]:
    """Per-partition pass-1 and pass-2 costs, merge costs, finish cost, partial sizes."""
    import polars as pl

    from journeyminer.miner.engine.dataset import open_dataset
    from journeyminer.miner.engine.discovery import discover_parts
    from journeyminer.miner.engine.finish import finish
    from journeyminer.miner.engine.moments import resolve
    from journeyminer.miner.engine.partials import (
        merge,
        merge_picks,
        partial,
        picks,
        plan,
    )

    ds = open_dataset(dataset)
    n_act = len(ds.activities)
    discover_parts(ds, keep_cases=False)  # warm: numba cache loaded, lazy imports done
    load_s, pass1_s, parts = [], [], []
    for i in range(ds.n_parts):
        t = time.perf_counter()
        enc = ds.load(i)
        t1 = time.perf_counter()
        parts.append(partial(enc, n_act, keep_cases=False))
        load_s.append(t1 - t)
        pass1_s.append(time.perf_counter() - t1)
    sizes = [len(pickle.dumps(p)) for p in parts]
    t = time.perf_counter()
    groups = [merge(parts[k : k + 4]) for k in range(0, len(parts), 4)]
    merge4_s = (time.perf_counter() - t) / len(groups)
    t = time.perf_counter()
    while len(groups) > 1:
        groups = [merge(groups[k : k + 4]) for k in range(0, len(groups), 4)]
    upper_s = time.perf_counter() - t
    t = time.perf_counter()
    total = merge(parts)
    merge_all_s = time.perf_counter() - t
    t = time.perf_counter()
    plans = plan(total)
    plan_s = time.perf_counter() - t
    index = pl.DataFrame({"key": total.variant_keys}).with_row_index("merged")
    pass2_s, got = [], []
    for i in range(ds.n_parts):
        t = time.perf_counter()
        got.append(picks(ds.load(i), n_act, plans, index))
        pass2_s.append(time.perf_counter() - t)
    t = time.perf_counter()
    picked = merge_picks(got)
    steps = (plans.edges, plans.variants, plans.service, plans.measures)
    values = {i: resolve(s, [picked[i]]) for i, s in enumerate(steps) if s is not None}
    finish(total, plans, values, ds.activities)
    finish_s = time.perf_counter() - t
    events = [p.events for p in ds.manifest.parts]
    return {
        "name": "profile",
        "partitions": ds.n_parts,
        "events_per_part": statistics.median(events),
        "load_s": statistics.median(load_s),
        "pass1_s": statistics.median(pass1_s),
        "pass2_s": statistics.median(pass2_s),
        "merge4_s": merge4_s,
        "merge_upper_levels_s": upper_s,
        "merge_all_s": merge_all_s,
        "plan_s": plan_s,
        "finish_s": finish_s,
        "partial_kib": statistics.median(sizes) / 1024,
        "merged_partial_kib": len(pickle.dumps(total)) / 1024,
        "variants": int(total.variant_count.size),
        "peak_rss_mb": peak_rss_mb(),
    }


# -- ingest ---------------------------------------------------------------------------------
def ingest_runs(events: int, partitions: int, clusters: list[str]) -> list[dict[str, Any]]:
    """`journeyminer ingest` of the generated sources into a dataset folder, here and with
    `--cluster` each of `clusters`: wall time and peak RSS of the command (GNU time), and
    whether every file it wrote equals the local run's, byte for byte."""
    sources = DATA / f"cluster-{events}" / "sources"
    rows = []
    for cluster in ["", *clusters]:
        out = DATA / f"cluster-{events}" / f"ingest-{cluster.replace(':', '') or 'here'}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        extra = ["--cluster", cluster] if cluster else []
        cmd = [
            str(BIN),
            "ingest",
            *(f"{sources / n}.csv={n}" for n in ("web", "call_center", "crm")),
            "--identities",
            str(sources / "identities.csv"),
            "--customers",
            str(sources / "customers.csv"),
            "--out",
            str(out),
            "--partitions",
            str(partitions),
            "--json",
            *extra,
        ]
        timed = subprocess.run(
            ["/usr/bin/time", "-f", "%e %M", *cmd],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds, kib = timed.stderr.strip().splitlines()[-1].split()
        rows.append(
            {
                "name": f"ingest {cluster or 'here'}",
                "seconds": float(seconds),
                "rss_mb": int(kib) / 1024,
                "out": out,
            }
        )
    base = rows[0]["out"]
    for row in rows:
        out = row.pop("out")
        row["same_files"] = all(
            (out / f.name).read_bytes() == f.read_bytes() for f in base.iterdir()
        ) and len(list(out.iterdir())) == len(list(base.iterdir()))
    return rows


# -- the projection -------------------------------------------------------------------------
TASK_OVERHEAD_S = 0.005  # the least per-task cost assumed (scheduling and transfer)


def task_overhead(rows: list[dict[str, Any]], prof: dict[str, Any]) -> float:
    """Seconds per task a cluster adds, measured: a warm `local:1` discovery against a serial
    one (the same work on one core), over the tasks it runs (pass 1 and pass 2 per partition,
    the merges of both passes, the two shipped functions)."""
    import math

    by = {r["name"]: r for r in rows}
    if "local:1" not in by or "serial" not in by:
        return TASK_OVERHEAD_S
    n = prof["partitions"]
    merges = sum(math.ceil(n / 4**k) for k in range(1, math.ceil(math.log(n, 4)) + 1))
    tasks = 2 * n + 2 * merges + 2
    return max(TASK_OVERHEAD_S, (by["local:1"]["again_s"] - by["serial"]["again_s"]) / tasks)


def project(p: dict[str, Any], events: int, workers: int, overhead: float) -> dict[str, Any]:
    """Time for `events` on `workers` workers, partitions of the measured size: pass 1 and
    pass 2 in waves of `workers` partitions, merges in a tree of fan-in 4 (a level costs one
    measured 4-way merge; the levels of a wave overlap with the next wave's pass 1, so only
    the merges after the last wave count), plan + finish on the client once; every task pays
    `overhead` besides. Assumes the variants (what a merge costs) grow no further, partitions
    as large as measured, files read at the measured speed on every worker (a shared file
    system that keeps up)."""
    import math

    per = p["events_per_part"]
    parts = math.ceil(events / per)
    waves = math.ceil(parts / workers)
    pass1 = waves * (p["load_s"] + p["pass1_s"] + overhead)
    depth = math.ceil(math.log(parts, 4)) if parts > 1 else 0
    level = max(p["merge4_s"], p["merge_upper_levels_s"])  # the upper level merges more variants
    merges = 2 * depth * (level + overhead)  # pass 1's partials, then pass 2's picks
    pass2 = waves * (p["pass2_s"] + overhead)
    client = p["plan_s"] + p["finish_s"]
    return {
        "events": events,
        "workers": workers,
        "partitions": parts,
        "overhead_s": overhead,
        "pass1_s": pass1,
        "merge_s": merges,
        "pass2_s": pass2,
        "client_s": client,
        "total_s": pass1 + merges + pass2 + client,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=None, help="contenders to run")
    ap.add_argument(
        "--ingest", action="store_true", help="time `ingest` here and with --cluster local:2 only"
    )
    ap.add_argument("--worker", nargs=2, metavar=("NAME", "DATASET"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        name, dataset = args.worker
        print(json.dumps(profile(dataset) if name == "profile" else child(name, dataset)))
        return
    dataset = prepare(args.events, args.partitions)
    if args.ingest:
        done = ingest_runs(args.events, args.partitions, ["local:2"])
        meta = {"machine": machine(), "events": args.events, "load": os.getloadavg()}
        write_results("cluster", done, meta)
        for row in done:
            print(json.dumps(row))
        return
    rows: list[dict[str, Any]] = []
    for name in args.only or CONTENDERS:
        runs = [_run(name, dataset) for _ in range(args.repeat)]
        secs = [r["seconds"] for r in runs]
        row = dict(runs[-1])
        row.update(
            min_s=min(secs),
            median_s=statistics.median(secs),
            start_s=statistics.median(r["start_s"] for r in runs),
            again_s=statistics.median(r["again_s"] for r in runs),
            client_rss_mb=max(r["client_rss_mb"] for r in runs),
            runs=len(runs),
        )
        if "worker_rss_mb" in runs[0]:
            row["worker_rss_mb"] = max(max(r["worker_rss_mb"]) for r in runs)
        row.pop("seconds", None)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    if len({(r["pairs"], r["variants"], r["json_bytes"]) for r in rows}) > 1:
        print("!!! CONTENDERS DISAGREE", [(r["name"], r["json_bytes"]) for r in rows])
    prof = _run("profile", dataset)
    print(json.dumps(prof), file=sys.stderr)
    overhead = task_overhead(rows, prof)
    projections = [project(prof, e, w, overhead) for e in (10**9, 10**10) for w in (8, 64)]
    meta = {
        "machine": machine(),
        "events": args.events,
        "partitions": args.partitions,
        "load": os.getloadavg(),
    }
    write_results(
        "cluster", [*rows, prof, *({"name": "projection", **p} for p in projections)], meta
    )
    _print(rows, prof, projections, meta)


def _run(name: str, dataset: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--worker", name, str(dataset)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _print(
    rows: list[dict[str, Any]],
    prof: dict[str, Any],
    projections: list[dict[str, Any]],
    meta: dict[str, Any],
) -> None:
    print(f"\n{meta['machine']}; load average at the end {meta['load']}\n")
    base = next(r for r in rows if r["name"] == "serial")["median_s"]
    print(
        "| executor | start s | discover min s | median s | vs serial | again s | client peak RSS MiB | worker peak RSS MiB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        worker = r.get("worker_rss_mb")
        print(
            f"| {r['name']} | {r['start_s']:.2f} | {r['min_s']:.2f} | {r['median_s']:.2f} | "
            f"{base / r['median_s']:.2f}x | {r['again_s']:.2f} | {r['client_rss_mb']:.0f} | "
            f"{'-' if worker is None else worker} |"
        )
    print(
        "\nprofile:",
        json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in prof.items()}),
    )
    print(
        "\n| events | workers | partitions | pass 1 s | merges s | pass 2 s | client s | total s |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for p in projections:
        print(
            f"| {p['events']:.0e} | {p['workers']} | {p['partitions']:,} | {p['pass1_s']:.1f} | "
            f"{p['merge_s']:.2f} | {p['pass2_s']:.1f} | {p['client_s']:.2f} | {p['total_s']:.0f} |"
        )


if __name__ == "__main__":
    main()
