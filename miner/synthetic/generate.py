"""Write a seeded omnichannel scenario: three source exports, identities, the map and the truth.

`generate` simulates customers in chunks (numpy, `simulation.py` and `scenario.py`), turns each
chunk into the rows of web.csv, call_center.csv and crm.csv in each system's own columns and time
format (`exports.py`), and appends them; truth.json records per journey what was planted
(`truth.py`). Same seed, same bytes.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import polars as pl

from ..errors import InputError
from . import scenario as sc
from .exports import emit_rows
from .planning import eu_transitions
from .simulation import SimulationContext, SourceIds, simulate_customers
from .truth import append_truth_part, count_truth, read_truth, write_truth

CHUNK_CUSTOMERS = 50_000
PARQUET_TRUTH_ABOVE = 200_000  # events; bigger logs get truth.parquet next to a small truth.json
EST_EVENTS_PER_CUSTOMER = 8.0
HEADERS = {
    "web": "visitor_id,session_id,event_name,page_url,device,event_time",
    "call_center": "call_id;caller_id;call_start;queue;reason;agent_id;duration_s;csat",
    "crm": "customer_id,status,changed_at,channel,order_value",
    "identities": "source_id,customer_id",
    "customers": "customer_id,region,existing_customer",
}
FILES = {k: f"{k}.csv" for k in HEADERS}


@dataclass(frozen=True)
class GenerateReport:
    """What `generate` wrote: file paths, events per source, customers and journeys."""

    out_dir: Path
    paths: dict[str, Path]
    events_per_source: dict[str, int]
    customers: int
    journeys: int
    seed: int
    hidden_journeys: dict[str, int] = field(default_factory=dict)

    @property
    def events(self) -> int:
        """Events over all three sources."""
        return sum(self.events_per_source.values())

    def to_dict(self) -> dict[str, Any]:
        """This report as JSON-ready data."""
        return {
            "out_dir": str(self.out_dir),
            "paths": {k: str(v) for k, v in self.paths.items()},
            "events": self.events,
            "events_per_source": dict(self.events_per_source),
            "customers": self.customers,
            "journeys": self.journeys,
            "seed": self.seed,
            "hidden_journeys": dict(self.hidden_journeys),
        }


def generate(
    out_dir: str | Path,
    *,
    events: int,
    seed: int = 0,
    start: dt.date | dt.datetime = dt.date(2024, 1, 1),
    days: int = 365,
    progress: Callable[[int], None] | None = None,
) -> GenerateReport:
    """Write a seeded omnichannel scenario of about `events` events into `out_dir`."""
    if not 1 <= events <= 200_000_000:
        raise InputError(
            "events must be between 1 and 200,000,000", expected="1..2e8", found=str(events)
        )
    if seed < 0 or days < 1:
        raise InputError("seed must be >= 0 and days >= 1", found=f"seed={seed}, days={days}")
    t_start = _epoch_ms(start)
    t_end = t_start + days * sc.D
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    first_year = dt.datetime.fromtimestamp(t_start / 1000, dt.UTC).year
    ids = SourceIds(seed, events)
    ctx = SimulationContext(
        t_start, t_end, eu_transitions(first_year - 1, first_year + days // 365 + 2)
    )
    parquet = events > PARQUET_TRUTH_ABOVE
    parts = {k: out / f".{name}.part" for k, name in FILES.items()}
    handles = {k: open(p, "wb") for k, p in parts.items()}  # noqa: SIM115 - closed below
    truth_rows: list[pl.DataFrame] = []
    writer: Any = None
    counts: Counter[str] = Counter()
    try:
        for key, fh in handles.items():
            fh.write((HEADERS[key] + "\n").encode())
        written, chunk, avg = 0, 0, EST_EVENTS_PER_CUSTOMER
        simulated_customers = simulated_events = 0
        while written < events:
            remaining = events - written
            n = min(CHUNK_CUSTOMERS, max(8, int(np.ceil(remaining / avg * 1.1))))
            rng = np.random.default_rng([seed, chunk])
            sim = simulate_customers(rng, n, ctx)
            simulated_customers += n
            simulated_events += sim.total
            avg = max(1.0, simulated_events / simulated_customers)
            done = sim.trim(remaining)
            frames, truth = emit_rows(rng, sim, ids, ctx)
            for key, frame in frames.items():
                _append(handles[key], frame, key)
                if key in sc.SOURCES:
                    counts[key] += frame.height
            counts["customers"] += int(sim.kept_customers)
            counts["journeys"] += truth.height
            count_truth(truth, counts)
            if parquet:
                writer = append_truth_part(writer, truth, out / ".truth.parquet.part")
            else:
                truth_rows.append(truth)
            written = sum(counts[s] for s in sc.SOURCES)
            chunk += 1
            if progress is not None:
                progress(written)
            if done or chunk > 10_000:
                break
        for fh in handles.values():
            fh.close()
        if writer is not None:
            writer.close()
        paths = {k: out / FILES[k] for k in FILES}
        for k, p in parts.items():
            os.replace(p, paths[k])
        (out / "map.toml").write_text(sc.map_toml(), encoding="utf-8")
        paths["map"] = out / "map.toml"
        paths["truth"] = write_truth(out, counts, truth_rows, parquet, seed, events, start, days)
        if parquet:
            os.replace(out / ".truth.parquet.part", out / "truth.parquet")
            paths["truth_journeys"] = out / "truth.parquet"
        else:
            (out / "truth.parquet").unlink(missing_ok=True)  # a stale one from a bigger run
    except BaseException:
        for fh in handles.values():
            fh.close()
        if writer is not None:
            writer.close()
        for p in [*parts.values(), out / ".truth.parquet.part"]:
            p.unlink(missing_ok=True)
        raise
    return GenerateReport(
        out_dir=out,
        paths=paths,
        events_per_source={s: counts[s] for s in sc.SOURCES},
        customers=counts["customers"],
        journeys=counts["journeys"],
        seed=seed,
        hidden_journeys={k: counts[f"hidden_journey|{k}|journeys"] for k in sc.HIDDEN_JOURNEYS},
    )


def _append(fh: IO[bytes], frame: pl.DataFrame, key: str) -> None:
    if frame.height:
        frame.write_csv(
            fh,
            include_header=False,
            separator=";" if key == "call_center" else ",",
            float_precision=2,
        )


def _epoch_ms(start: dt.date | dt.datetime) -> int:
    if not isinstance(start, dt.datetime):
        start = dt.datetime(start.year, start.month, start.day)
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    return int(start.timestamp() * 1000)


__all__ = ["GenerateReport", "generate", "read_truth"]
