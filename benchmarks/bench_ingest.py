"""Ingest speed and memory: journeyminer vs plain polars (read + sort) vs pm4py.

    python benchmarks/bench_ingest.py --events 10000000 [--xes-events 1000000] [--repeat 3]
        [--skip-pm4py] [--skip-xes]

Data: a generated omnichannel scenario (`journeyminer generate`), stitched once and written
as one export in foreign column names (`events.csv`, `;`-separated, ISO timestamps with
offsets that change at daylight saving, and `events.parquet`), plus an XES file. Each
contender runs in a fresh process; peak RSS is that process's own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _harness import machine, measure, print_table, worker_main, write_results

DATA = Path(__file__).resolve().parent.parent / "bench-data"
COLS = {
    "case": "Customer ID",
    "activity": "Touchpoint",
    "timestamp": "Event Time",
    "channel": "Channel",
}
XES_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n'


def prepare(events: int, xes_events: int) -> Path:
    """Generate the scenario and the export files once; reuse them on later runs."""
    import polars as pl

    folder = DATA / f"ingest-{events}"
    if (folder / "events.parquet").exists() and (folder / "events.xes").exists():
        return folder
    from journeyminer.miner.ingest.pipeline import ingest_sources, resolve_source
    from journeyminer.miner.synthetic.generate import generate

    gen = folder / "scenario"
    generate(gen, events=events, seed=11)
    specs = [
        resolve_source(str(gen / f"{s}.csv"), default=s, timezone="Europe/Amsterdam")
        for s in ("web", "call_center", "crm")
    ]
    log, _ = ingest_sources(specs, identities=gen / "identities.csv")
    local = pl.col("timestamp").dt.convert_time_zone("Europe/Amsterdam")
    export = log.frame.select(
        pl.col("customer_id").alias(COLS["case"]),
        pl.col("activity").alias(COLS["activity"]),
        local.dt.strftime("%Y-%m-%dT%H:%M:%S%.3f%:z").alias(COLS["timestamp"]),
        pl.col("channel").alias(COLS["channel"]),
    ).sample(fraction=1.0, shuffle=True, seed=3)  # exports are not sorted by customer
    export.write_csv(folder / "events.csv", separator=";")
    export.with_columns(
        pl.col(COLS["timestamp"]).str.to_datetime(time_zone="UTC", time_unit="us")
    ).write_parquet(folder / "events.parquet")
    write_xes(log.frame.head(xes_events), folder / "events.xes")
    return folder


def write_xes(frame: Any, path: Path) -> None:
    """A plain XES writer for the benchmark file (string templates, written in chunks)."""
    from xml.sax.saxutils import quoteattr

    import polars as pl

    frame = frame.with_columns(
        pl.col("timestamp")
        .dt.convert_time_zone("Europe/Amsterdam")
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
    )
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(XES_HEAD)
        for (case,), group in frame.group_by("case_id", maintain_order=True):
            fh.write(f'<trace><string key="concept:name" value={quoteattr(str(case))}/>\n')
            for act, ts, ch in group.select("activity", "timestamp", "channel").iter_rows():
                fh.write(
                    f'<event><string key="concept:name" value={quoteattr(act)}/>'
                    f'<string key="lifecycle:transition" value="complete"/>'
                    f'<date key="time:timestamp" value="{ts}"/>'
                    f'<string key="channel" value={quoteattr(ch or "")}/></event>\n'
                )
            fh.write("</trace>\n")
        fh.write("</log>\n")


# -- contenders (each runs in its own process) -------------------------------------------
def jm(path: str) -> dict[str, Any]:
    from journeyminer.miner.ingest.readers import read_source
    from journeyminer.miner.ingest.sources import SourceMapping
    from journeyminer.miner.ingest.stitch import stitch_sources

    mapping = SourceMapping(
        case=COLS["case"],
        activity=COLS["activity"],
        timestamp=COLS["timestamp"],
        channel=COLS["channel"],
    )
    log, _ = stitch_sources([read_source(Path(path), mapping)])
    enc = log.encoded
    return {"events": enc.n_events, "cases": enc.n_cases}


def jm_xes(path: str) -> dict[str, Any]:
    from journeyminer.miner.ingest.readers import read_source
    from journeyminer.miner.ingest.sources import SourceMapping
    from journeyminer.miner.log import EventLog

    frame = read_source(
        Path(path),
        SourceMapping(
            case="case:concept:name", activity="concept:name", timestamp="time:timestamp"
        ),
    )
    enc = EventLog(frame).encoded
    return {"events": enc.n_events, "cases": enc.n_cases}


def polars_read_sort(path: str) -> dict[str, Any]:
    import polars as pl

    if path.endswith(".csv"):
        frame = pl.read_csv(path, separator=";", schema_overrides={COLS["case"]: pl.String})
        frame = frame.with_columns(
            pl.col(COLS["timestamp"]).str.to_datetime(time_zone="UTC", time_unit="us")
        )
    else:
        frame = pl.read_parquet(path)
    frame = frame.sort([COLS["case"], COLS["timestamp"]], maintain_order=True)
    return {"events": frame.height}


def pm4py_format(path: str) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")
    import pandas as pd
    import pm4py

    if path.endswith(".csv"):
        frame = pd.read_csv(path, sep=";", dtype={COLS["case"]: str})
    else:
        frame = pd.read_parquet(path)
    frame = pm4py.format_dataframe(
        frame, case_id=COLS["case"], activity_key=COLS["activity"], timestamp_key=COLS["timestamp"]
    )
    return {"events": len(frame)}


def pm4py_xes(path: str) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")
    import pm4py

    frame = pm4py.read_xes(path)
    return {"events": len(frame)}


def pm4py_xes_iterparse(path: str) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")
    import pm4py

    frame = pm4py.read_xes(path, variant="iterparse")
    return {"events": len(frame)}


def _import_journeyminer() -> None:
    import journeyminer.miner.ingest.readers
    import journeyminer.miner.ingest.stitch  # noqa: F401


def _import_polars() -> None:
    import polars  # noqa: F401


def _import_pm4py() -> None:
    import warnings

    warnings.simplefilter("ignore")
    import pm4py  # noqa: F401


IMPORTS = {
    "journeyminer": _import_journeyminer,
    "journeyminer_xes": _import_journeyminer,
    "polars read+sort": _import_polars,
    "pm4py format_dataframe": _import_pm4py,
    "pm4py read_xes": _import_pm4py,
    "pm4py read_xes iterparse": _import_pm4py,
}

CONTENDERS = {
    "journeyminer": jm,
    "journeyminer_xes": jm_xes,
    "polars read+sort": polars_read_sort,
    "pm4py format_dataframe": pm4py_format,
    "pm4py read_xes": pm4py_xes,
    "pm4py read_xes iterparse": pm4py_xes_iterparse,
}


def main() -> None:
    """Prepare data, run every contender on it, print tables, append JSON lines."""
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(CONTENDERS, IMPORTS)
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--xes-events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-pm4py", action="store_true")
    parser.add_argument("--skip-xes", action="store_true", help="only the CSV and Parquet runs")
    args = parser.parse_args()
    folder = prepare(args.events, min(args.xes_events, args.events))
    script = str(Path(__file__).resolve())
    meta = {"events": args.events, "machine": machine()}
    print(f"machine: {meta['machine']}")
    for kind in ("csv", "parquet"):
        path = str(folder / f"events.{kind}")
        names = ["journeyminer", "polars read+sort"] + (
            [] if args.skip_pm4py else ["pm4py format_dataframe"]
        )
        rows = []
        for n in names:
            row = measure(script, n, path, repeat=args.repeat if "pm4py" not in n else 1)
            rows.append({**row, "name": n, "input": kind})
        print_table(rows, "polars read+sort", f"{kind.upper()} ingest, {args.events:,} events")
        write_results("ingest", rows, meta)
    if args.skip_xes:
        return
    path = str(folder / "events.xes")
    rows = [
        {
            **measure(script, "journeyminer_xes", path, repeat=args.repeat),
            "name": "journeyminer_xes",
            "input": "xes",
        }
    ]
    if not args.skip_pm4py:
        for name in ("pm4py read_xes", "pm4py read_xes iterparse"):
            rows.append({**measure(script, name, path, repeat=1), "name": name, "input": "xes"})
    print_table(
        rows,
        rows[-1 if args.skip_pm4py else 1]["name"],
        f"XES import, {min(args.xes_events, args.events):,} events",
    )
    write_results("ingest", rows, meta)


if __name__ == "__main__":
    main()
