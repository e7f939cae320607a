"""Discovery speed and memory: journeyminer vs pm4py, polars and duckdb on the same log.

    python benchmarks/bench_discovery.py --events 10000000 [--repeat 3] [--skip-pm4py]

"Discovery" = DFG counts, start/end activities, the performance DFG (count, mean, median,
min, max, stdev, sum of the durations per edge), variants with their counts and case
durations. Data: a seeded synthetic log (`bench_data.py`), shuffled, in foreign column
names, as one Parquet file; the canonical (ingested) Parquet is written from it once.

Contenders, each in its own fresh process, `repeat` times (min and median reported):

- `jm cold`: journeyminer from the raw Parquet: read_source + EventLog (sort) + encode +
  discover. `discover` also computes journey statistics (rework, n-grams, channel
  switches) that no peer computes; they stay in the timing.
- `jm ingested`: EventLog.read_parquet of the canonical Parquet + encode + discover.
- `jm dataset`, `jm dataset x2`: the use case on the stored dataset folder (`ingest --out
  DIR`): the engine reads one partition (two with x2, on threads) at a time, partial ->
  merge -> finish, per-journey tables kept as the others keep them.
- `pm4py`: pandas read_parquet + discover_dfg + discover_performance_dfg + get_variants +
  get_all_case_durations; `format_dataframe` is timed and reported apart (not in `s`).
- `polars`: read + sort + pairs by shift + group_by aggregates, one lazy plan per result.
- `duckdb`: the same in SQL (LEAD over case ordered by time, median, stddev_samp, list).

The numba kernels are compiled once in a child with an empty NUMBA_CACHE_DIR (reported as
`jm JIT-cold`); every timed journeyminer run then loads them from that cache. Times exclude
interpreter start and imports (reported apart); peak RSS (VmHWM) includes everything.
Every contender returns a few numbers (edges, pairs, variants, cases, summed durations);
any disagreement is printed loudly. A contender that exceeds `--timeout` (default 600 s)
or fails (pm4py may run out of memory at 10M) is run on a 1M-event log instead and its
time scaled linearly, marked "extrapolated".
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _harness import machine, measure_phases, phase_worker, run_limited, write_results
from bench_data import COLS, write_raw_log

DATA = Path(__file__).resolve().parent.parent / "bench-data"
SCRIPT = str(Path(__file__).resolve())
PM4PY_MEMORY_LIMIT = 20 * 2**30  # address-space cap for the pm4py child, so an OOM fails it


def prepare(events: int) -> tuple[Path, Path]:
    """The raw (shuffled, foreign names) Parquet and the canonical one, written once; and the
    stored dataset folder (`dataset`, beside them) written from the canonical one."""
    folder = DATA / f"discovery-{events}"
    raw = write_raw_log(folder / "events.parquet", events)
    canonical = folder / "canonical.parquet"
    if not canonical.exists():
        from journeyminer.miner.ingest.readers import read_source
        from journeyminer.miner.log import EventLog

        EventLog(read_source(raw, _mapping())).write_parquet(canonical)
    if not (folder / "dataset").exists():
        from journeyminer.miner.engine.dataset import write_dataset
        from journeyminer.miner.log import EventLog

        write_dataset(EventLog.read_parquet(canonical), folder / "dataset")
    return raw, canonical


def _mapping() -> Any:
    from journeyminer.miner.ingest.sources import SourceMapping

    return SourceMapping(
        case=COLS["case"],
        activity=COLS["activity"],
        timestamp=COLS["timestamp"],
        channel=COLS["channel"],
    )


# -- contenders (each runs in its own process; imports happen before the clock starts) ----
def _jm_imports() -> None:
    import journeyminer.miner.discover.discovery
    import journeyminer.miner.ingest.readers  # noqa: F401


def _jm_checks(d: Any) -> dict[str, Any]:
    edges = d.dfg.edges
    return {
        "edges": edges.height,
        "pairs": int(edges["count"].sum()),
        "variants": d.variants.frame.height,
        "cases": d.variants.cases.height,
        "edge_dur_sum_s": float(edges["sum"].sum()),
        "case_dur_sum_s": float(d.stats.per_case["duration"].sum()),
        "start_sum": int(d.dfg.start["count"].sum()),
    }


def jm_cold(raw: str, canonical: str) -> dict[str, Any]:
    from journeyminer.miner.discover.discovery import discover
    from journeyminer.miner.ingest.readers import read_source
    from journeyminer.miner.log import EventLog

    mapping = _mapping()
    t0 = time.perf_counter()
    frame = read_source(Path(raw), mapping)
    t1 = time.perf_counter()
    log = EventLog(frame)
    t2 = time.perf_counter()
    log.encoded  # noqa: B018
    t3 = time.perf_counter()
    d = discover(log)
    t4 = time.perf_counter()
    return {
        "work_s": t4 - t0,
        "phases": {"read": t1 - t0, "sort": t2 - t1, "encode": t3 - t2, "discover": t4 - t3},
        **_jm_checks(d),
    }


def jm_ingested(raw: str, canonical: str) -> dict[str, Any]:
    from journeyminer.miner.discover.discovery import discover
    from journeyminer.miner.log import EventLog

    t0 = time.perf_counter()
    log = EventLog.read_parquet(canonical)
    t1 = time.perf_counter()
    log.encoded  # noqa: B018
    t2 = time.perf_counter()
    d = discover(log)
    t3 = time.perf_counter()
    return {
        "work_s": t3 - t0,
        "phases": {"read": t1 - t0, "encode": t2 - t1, "discover": t3 - t2},
        **_jm_checks(d),
    }


def _jm_dataset(canonical: str, workers: int | None) -> dict[str, Any]:
    from journeyminer.miner.engine.dataset import open_dataset
    from journeyminer.miner.usecases import discover_journeys

    t0 = time.perf_counter()
    ds = open_dataset(Path(canonical).parent / "dataset")
    run = discover_journeys(ds, workers=workers)  # per-journey tables kept, as the others
    t1 = time.perf_counter()
    return {"work_s": t1 - t0, "phases": {"discover": t1 - t0}, **_jm_checks(run.discovery)}


def jm_dataset(raw: str, canonical: str) -> dict[str, Any]:
    """The stored dataset (partitions of about 2M events), one partition at a time."""
    return _jm_dataset(canonical, None)


def jm_dataset_2(raw: str, canonical: str) -> dict[str, Any]:
    """The stored dataset, two partitions at once (threads)."""
    return _jm_dataset(canonical, 2)


def jm_profile(raw: str, canonical: str) -> dict[str, Any]:
    """`discover` step by step (same calls as discover), on the ingested log."""
    from journeyminer.kernels.dfg import duration_stats, edge_durations, start_end_counts
    from journeyminer.kernels.stats import (
        case_durations,
        channel_switches,
        ngram_counts,
        rework_counts,
    )
    from journeyminer.kernels.variants import case_variants, variant_order
    from journeyminer.miner.discover import discovery as dm
    from journeyminer.miner.log import EventLog, _is_sorted

    steps: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        steps[name] = steps.get(name, 0.0) + now - clock[0]
        clock[0] = now

    t0 = clock[0]
    import polars as pl

    dm.discover(EventLog(pl.read_parquet(canonical, n_rows=1000), is_sorted=True))
    lap("one-off: numba cache load + lazy imports (discover on 1k events)")
    frame = pl.read_parquet(canonical)
    lap("read_parquet")
    _is_sorted(frame)
    lap("is_sorted check")
    log = EventLog(frame, is_sorted=True)
    enc = log.encoded
    lap("encode")
    case_ids = dm._case_ids(log)
    lap("case_ids gather")
    durations = case_durations(enc.offsets, enc.ts)
    lap("kernel case_durations")
    names = dm._names(enc)
    _src, _dst, bounds, dur = edge_durations(enc.offsets, enc.act, enc.ts, len(names))
    lap("kernel edge_durations")
    duration_stats(bounds, dur)
    lap("kernel duration_stats")
    start_end_counts(enc.offsets, enc.act, len(names))
    lap("kernel start_end_counts")
    dm.discover_dfg(log)
    lap("discover_dfg (whole, again)")
    _variant_of, count, rep, _ = case_variants(enc.offsets, enc.act)
    lap("kernel case_variants")
    variant_order(enc.offsets, enc.act, count, rep)
    lap("kernel variant_order")
    dm._variants(enc, case_ids, durations)
    lap("_variants (whole, again)")
    channel_switches(enc.offsets, enc.channel)
    lap("kernel channel_switches")
    rework_counts(enc.offsets, enc.act, len(names))
    lap("kernel rework_counts")
    for n in (2, 3):
        ngram_counts(enc.offsets, enc.act, len(names), n)
    lap("kernel ngram_counts (2, 3)")
    dm._journey_stats(enc, case_ids, durations, 20, (2, 3))
    lap("_journey_stats (whole, again)")
    return {"work_s": clock[0] - t0, "phases": steps}


def _pm4py_imports() -> None:
    import warnings

    warnings.simplefilter("ignore")
    import pandas  # noqa: F401
    import pm4py  # noqa: F401


def pm4py_all(raw: str, canonical: str) -> dict[str, Any]:
    import pandas as pd
    import pm4py

    keys = {
        "case_id_key": "case:concept:name",
        "activity_key": "concept:name",
        "timestamp_key": "time:timestamp",
    }
    t0 = time.perf_counter()
    df = pd.read_parquet(raw)
    t1 = time.perf_counter()
    df = pm4py.format_dataframe(
        df, case_id=COLS["case"], activity_key=COLS["activity"], timestamp_key=COLS["timestamp"]
    )
    t2 = time.perf_counter()
    dfg, start, _end = pm4py.discover_dfg(df, **keys)
    t3 = time.perf_counter()
    perf, _, _ = pm4py.discover_performance_dfg(df, perf_aggregation_key="all", **keys)
    t4 = time.perf_counter()
    variants = pm4py.get_variants(df, **keys)
    t5 = time.perf_counter()
    durations = pm4py.get_all_case_durations(df, **keys)
    t6 = time.perf_counter()
    return {
        # format_dataframe is reported apart: `work_s` is read + the four discovery calls.
        "work_s": (t1 - t0) + (t6 - t2),
        "format_s": t2 - t1,
        "phases": {
            "read": t1 - t0,
            "format_dataframe": t2 - t1,
            "discover_dfg": t3 - t2,
            "discover_performance_dfg": t4 - t3,
            "get_variants": t5 - t4,
            "get_all_case_durations": t6 - t5,
        },
        "edges": len(dfg),
        "pairs": int(sum(dfg.values())),
        "variants": len(variants),
        "cases": len(durations),
        "edge_dur_sum_s": float(sum(v["sum"] for v in perf.values())),
        "case_dur_sum_s": float(sum(durations)),
        "start_sum": int(sum(start.values())),
    }


def _polars_imports() -> None:
    import polars  # noqa: F401


def polars_all(raw: str, canonical: str) -> dict[str, Any]:
    import polars as pl

    case, act, ts = COLS["case"], COLS["activity"], COLS["timestamp"]
    t0 = time.perf_counter()
    events = (
        pl.scan_parquet(raw)
        .select(case, pl.col(act).cast(pl.Categorical), ts)
        .sort([case, ts], maintain_order=True)
        .collect()
    )
    t1 = time.perf_counter()
    ev = events.lazy()
    same = pl.col(case) == pl.col(case).shift(-1)  # the next event belongs to the same case
    dur = (pl.col(ts).shift(-1) - pl.col(ts)).dt.total_microseconds() / 1e6
    edges = (
        ev.select(
            pl.col(act).alias("source"),
            pl.col(act).shift(-1).alias("target"),
            dur.alias("d"),
            same.alias("same"),
        )
        .filter(pl.col("same"))
        .group_by("source", "target")
        .agg(
            pl.len().alias("count"),
            pl.col("d").mean().alias("mean"),
            pl.col("d").median().alias("median"),
            pl.col("d").min().alias("min"),
            pl.col("d").max().alias("max"),
            pl.col("d").std().alias("stdev"),
            pl.col("d").sum().alias("sum"),
        )
    )
    cases = ev.group_by(case).agg(
        pl.col(act).alias("trace"),
        ((pl.col(ts).last() - pl.col(ts).first()).dt.total_microseconds() / 1e6).alias("duration"),
    )
    edges_df, cases_df = pl.collect_all([edges, cases])
    t2 = time.perf_counter()
    start = cases_df.group_by(pl.col("trace").list.first()).len()
    end = cases_df.group_by(pl.col("trace").list.last()).len()
    variants = cases_df.group_by("trace").len()
    t3 = time.perf_counter()
    return {
        "work_s": t3 - t0,
        "phases": {"read+sort": t1 - t0, "edges+cases": t2 - t1, "start/end/variants": t3 - t2},
        "edges": edges_df.height,
        "pairs": int(edges_df["count"].sum()),
        "variants": variants.height,
        "cases": cases_df.height,
        "edge_dur_sum_s": float(edges_df["sum"].sum()),
        "case_dur_sum_s": float(cases_df["duration"].sum()),
        "start_sum": int(start["len"].sum()) + 0 * end.height,
    }


def _duckdb_imports() -> None:
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401


DUCKDB_SQL = {
    "load": """
        CREATE TEMP TABLE ev AS
        SELECT "{case}" AS c, "{act}" AS a, "{ts}" AS t FROM read_parquet('{path}')""",
    "edges": """
        WITH pairs AS (
            SELECT a AS source, lead(a) OVER w AS target,
                   (epoch_us(lead(t) OVER w) - epoch_us(t)) / 1e6 AS d
            FROM ev WINDOW w AS (PARTITION BY c ORDER BY t))
        SELECT source, target, count(*) AS count, avg(d) AS mean, median(d) AS median,
               min(d) AS min, max(d) AS max, stddev_samp(d) AS stdev, sum(d) AS sum
        FROM pairs WHERE target IS NOT NULL GROUP BY source, target""",
    "cases": """
        CREATE TEMP TABLE cases AS
        SELECT c, list(a ORDER BY t) AS trace,
               (epoch_us(max(t)) - epoch_us(min(t))) / 1e6 AS duration
        FROM ev GROUP BY c""",
    "start_end": """
        SELECT (SELECT count(*) FROM (SELECT trace[1] AS s, count(*) FROM cases GROUP BY s)),
               (SELECT count(*) FROM (SELECT trace[-1] AS e, count(*) FROM cases GROUP BY e)),
               (SELECT sum(n) FROM (SELECT trace[1] AS s, count(*) AS n FROM cases GROUP BY s))""",
    "variants": "SELECT trace, count(*) AS count FROM cases GROUP BY trace",
    "durations": "SELECT c, duration FROM cases",
}


def duckdb_all(raw: str, canonical: str) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(
        DUCKDB_SQL["load"].format(
            case=COLS["case"], act=COLS["activity"], ts=COLS["timestamp"], path=raw
        )
    )
    t1 = time.perf_counter()
    edges = con.execute(DUCKDB_SQL["edges"]).to_arrow_table()
    t2 = time.perf_counter()
    con.execute(DUCKDB_SQL["cases"])
    _, _, start_sum = con.execute(DUCKDB_SQL["start_end"]).fetchone()
    variants = con.execute(DUCKDB_SQL["variants"]).to_arrow_table()
    durations = con.execute(DUCKDB_SQL["durations"]).to_arrow_table()
    t3 = time.perf_counter()
    import pyarrow.compute as pc

    return {
        "work_s": t3 - t0,
        "phases": {"read": t1 - t0, "edges": t2 - t1, "cases+variants": t3 - t2},
        "edges": edges.num_rows,
        "pairs": int(pc.sum(edges["count"]).as_py()),
        "variants": variants.num_rows,
        "cases": durations.num_rows,
        "edge_dur_sum_s": float(pc.sum(edges["sum"]).as_py()),
        "case_dur_sum_s": float(pc.sum(durations["duration"]).as_py()),
        "start_sum": int(start_sum),
    }


CONTENDERS = {
    "jm cold": (_jm_imports, jm_cold),
    "jm ingested": (_jm_imports, jm_ingested),
    "jm dataset": (_jm_imports, jm_dataset),
    "jm dataset x2": (_jm_imports, jm_dataset_2),
    "jm profile": (_jm_imports, jm_profile),
    "pm4py": (_pm4py_imports, pm4py_all),
    "polars": (_polars_imports, polars_all),
    "duckdb": (_duckdb_imports, duckdb_all),
}


# Contenders also timed on a second call in the same process (a long-running server's case):
# the first call pays one-off lazy imports and numba cache loading; the second does not.
AGAIN = ("jm cold", "jm ingested", "jm dataset", "jm dataset x2", "polars", "duckdb")


def worker() -> None:
    """Inside a child: import, then run one contender once and print its timing as JSON."""

    def again(name: str, out: dict[str, Any], args: list[str]) -> float | None:
        return CONTENDERS[name][1](*args)["work_s"] if name in AGAIN else None

    phase_worker(CONTENDERS, again)


# -- parent -------------------------------------------------------------------------------
def run_child(name: str, args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """One contender in a fresh process; raises on failure or timeout."""
    return run_limited(SCRIPT, name, args, env, timeout, memory_limit=PM4PY_MEMORY_LIMIT)


def measure(
    name: str, args: list[str], repeat: int, env: dict[str, str], timeout: float
) -> dict[str, Any]:
    """`repeat` runs (one only if the first takes over 60 s): min/median of `work_s`."""
    return measure_phases(lambda: run_child(name, args, env, timeout), repeat, long_s=60)


CHECKS = ("edges", "pairs", "variants", "cases", "start_sum", "edge_dur_sum_s", "case_dur_sum_s")


def check_agreement(rows: list[dict[str, Any]]) -> list[str]:
    """Compare the check numbers of every measured contender with journeyminer's."""
    ref = next(r for r in rows if r["name"] == "jm ingested")
    bad = []
    for r in rows:
        if r.get("extrapolated") or "edges" not in r:
            continue
        for k in CHECKS:
            a, b = ref[k], r[k]
            ok = abs(a - b) <= 1e-6 * max(abs(a), 1.0) if k.endswith("_s") else a == b
            if not ok:
                bad.append(f"{r['name']}: {k} = {b} but jm ingested has {a}")
    return bad


def print_tables(rows: list[dict[str, Any]], events: int, title: str) -> str:
    """Markdown: the main table (ratios against jm cold and against polars) and phases."""
    by = {r["name"]: r for r in rows}
    cold, polars = by["jm cold"], by.get("polars")
    lines = [
        f"### {title}",
        "",
        "| contender | min s | median s | vs jm cold (median) | peak RSS MiB"
        " | RSS vs polars | import s | 2nd call s | notes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        if r["name"] == "jm profile":
            continue
        ratio = r["median_s"] / cold["median_s"]
        rss = f"{r['peak_rss_mb'] / polars['peak_rss_mb']:.2f}x" if polars else "-"
        again = f"{r['again_s']:.2f}" if r.get("again_s") is not None else "-"
        notes = []
        if r.get("format_s") is not None:
            notes.append(f"+ format_dataframe {r['format_s']:.2f} s apart")
        if r.get("extrapolated"):
            notes.append(r["extrapolated"])
        if r["name"] == "jm JIT-cold ingested":
            notes.append("first run, empty NUMBA_CACHE_DIR: compile + run")
        if r["name"] == "jm JIT-cold cold":
            notes.append("next run, raw path: compiles its own signatures + run")
        lines.append(
            f"| {r['name']} | {r['min_s']:.2f} | {r['median_s']:.2f} | {ratio:.2f}x"
            f" | {r['peak_rss_mb']:.0f} | {rss} | {r['import_s']:.2f}"
            f" | {again} | {'; '.join(notes)} |"
        )
    lines += ["", "Time split (median s per phase):", ""]
    for r in rows:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in r.get("phases", {}).items())
        lines.append(f"- {r['name']}: {parts}")
    text = "\n".join(lines)
    print("\n" + text)
    return text


def targets(rows: list[dict[str, Any]]) -> str:
    """The stated targets against this run's medians."""
    by = {r["name"]: r for r in rows}
    cold, ing = by["jm cold"], by["jm ingested"]
    peers = [by[n] for n in ("polars", "duckdb") if n in by]
    out = []
    if "jm JIT-cold ingested" in by:
        j1 = by["jm JIT-cold ingested"]["median_s"] - ing["median_s"]
        j2 = by["jm JIT-cold cold"]["median_s"] - cold["median_s"]
        out.append(
            f"- JIT compile (first run minus warm median): ingested path {j1:.2f} s, then the"
            f" raw path's own signature set another {j2:.2f} s"
        )
    if "pm4py" in by:
        p = by["pm4py"]
        f = p["median_s"] / cold["median_s"]
        note = f" ({p['extrapolated']})" if p.get("extrapolated") else ""
        out.append(
            f"- (a) jm cold vs pm4py (read + discovery, format_dataframe excluded): {f:.1f}x"
            f"{note}; with format_dataframe: "
            f"{(p['median_s'] + p['format_s']) / cold['median_s']:.1f}x — target >= 20x:"
            f" {'met' if f >= 20 else 'NOT met'}"
        )
    if peers:
        best = min(peers, key=lambda r: r["median_s"])
        fa = best["median_s"] / cold["median_s"]
        fb = best["median_s"] / ing["median_s"]
        out.append(
            f"- (a) jm cold vs best peer ({best['name']}): {fa:.2f}x — target >= 1.5x:"
            f" {'met' if fa >= 1.5 else 'NOT met'}"
        )
        out.append(
            f"- (b) jm ingested vs best peer from Parquet ({best['name']}): {fb:.2f}x"
            f" — target >= 10x: {'met' if fb >= 10 else 'NOT met'}"
        )
        for name in ("jm dataset", "jm dataset x2"):
            if name in by:
                fd = best["median_s"] / by[name]["median_s"]
                out.append(
                    f"- (b) {name} vs best peer from Parquet ({best['name']}): {fd:.2f}x"
                    f" — target >= 10x: {'met' if fd >= 10 else 'NOT met'}"
                )
    if peers and all(r.get("again_s") for r in (cold, ing, *peers)):
        best2 = min(peers, key=lambda r: r["again_s"])
        out.append(
            f"- 2nd call in the same process (no one-off imports/cache loads): jm cold"
            f" {best2['again_s'] / cold['again_s']:.2f}x, jm ingested"
            f" {best2['again_s'] / ing['again_s']:.2f}x faster than {best2['name']}"
        )
    if "polars" in by:
        pr = by["polars"]["peak_rss_mb"]
        for r in (cold, ing, *(by[n] for n in ("jm dataset", "jm dataset x2") if n in by)):
            q = r["peak_rss_mb"] / pr
            out.append(
                f"- peak RSS {r['name']} / polars: {q:.2f}x — target <= 1.5x:"
                f" {'met' if q <= 1.5 else 'NOT met'}"
            )
    text = "\n".join(out)
    print("\n" + text)
    return text


def main() -> None:
    """Prepare data, run every contender, check agreement, print tables, append JSON lines."""
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker()
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--skip-pm4py", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    raw, canonical = prepare(args.events)
    files = [str(raw), str(canonical)]
    meta = {"events": args.events, "machine": machine()}
    print(f"machine: {meta['machine']}")
    print(f"data: {raw} (+ {canonical.name})")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="jm-numba-") as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        # Compile into `cache`. The two paths hand the kernels arrays that differ in the
        # read-only flag (a multi-chunk frame's to_numpy copies, a one-chunk frame's does
        # not), so numba compiles a second signature set for the second path.
        jits = []
        for path_name, label in (
            ("jm ingested", "jm JIT-cold ingested"),
            ("jm cold", "jm JIT-cold cold"),
        ):
            jit = run_child(path_name, files, env, args.timeout)
            jit.update(name=label, min_s=jit["work_s"], median_s=jit["work_s"], runs=1)
            jit.pop("work_s")
            jits.append(jit)
        names = ["jm cold", "jm ingested", "jm dataset", "jm dataset x2", "polars", "duckdb"]
        names += [] if args.skip_pm4py else ["pm4py"]
        for name in names:
            try:
                row = measure(name, files, args.repeat, env, args.timeout)
            except (subprocess.TimeoutExpired, RuntimeError) as exc:
                print(f"!! {name} on {args.events:,} events: {str(exc)[:600]}", file=sys.stderr)
                if args.events <= 1_000_000:
                    raise
                small = [str(p) for p in prepare(1_000_000)]
                row = measure(name, small, 1, env, args.timeout)
                scale = args.events / 1_000_000
                row.update(
                    min_s=row["min_s"] * scale,
                    median_s=row["median_s"] * scale,
                    extrapolated=f"extrapolated: 1M-event run x{scale:g}"
                    f" ({'timeout' if isinstance(exc, subprocess.TimeoutExpired) else 'failed'})",
                )
                row["format_s"] = row.get("format_s", 0.0) * scale if "format_s" in row else None
            row["name"] = name
            rows.append(row)
            print(f"  {name}: median {row['median_s']:.2f} s, {row['peak_rss_mb']:.0f} MiB")
        rows[2:2] = jits
        if not args.no_profile:
            prof = run_child("jm profile", files, env, args.timeout)
            prof.update(name="jm profile", min_s=prof["work_s"], median_s=prof["work_s"], runs=1)
            rows.append(prof)
    bad = check_agreement(rows)
    if bad:
        print("\n" + "!" * 72 + "\n!! MISMATCH between contenders:", file=sys.stderr)
        for b in bad:
            print("!!   " + b, file=sys.stderr)
        print("!" * 72, file=sys.stderr)
    else:
        print("\nall contenders agree on edges, pairs, variants, cases, start counts, durations")
    ref = next(r for r in rows if r["name"] == "jm ingested")
    title = (
        f"Discovery, {args.events:,} events, {ref['cases']:,} cases, {ref['variants']:,} variants,"
        f" {ref['edges']} edges"
    )
    print_tables(rows, args.events, title)
    targets(rows)
    write_results("discovery", rows, {**meta, "agree": not bad})


if __name__ == "__main__":
    main()
