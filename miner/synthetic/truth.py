"""The truth of a generated scenario: per journey, what was planted and how it shows in the log.

`journey_truth` scores one simulated chunk (vectorised): the deviations a correct comparison
must find, whether the journey converted or leaked, and which hidden journey it follows.
`count_truth` folds each chunk into running counts; `write_truth` writes truth.json (journeys
inline, or in truth.parquet for big logs, see `append_truth_part`); `read_truth` reads either.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl
from numpy.typing import NDArray

from . import scenario as sc

# Activities are coded by their position in ACTS; a flow a -> b is ACT_CODE[a] * 64 + ACT_CODE[b].
ACTS: tuple[str, ...] = tuple(sorted({a for a, _, _ in sc.SLOTS}))
ACT_CODE = {a: i for i, a in enumerate(ACTS)}
_PHASE_IDS = [p for p, _ in sc.PHASES]
_TP = {tp.id: tp for tp in sc.TOUCHPOINTS}
PHASE_OF = np.array([_PHASE_IDS.index(_TP[a].phase) if a in _TP else -1 for a in ACTS])
FLOW_CODES = np.array(
    sorted(ACT_CODE[a] * 64 + ACT_CODE[b] for a, b in sc.FLOWS if a in ACT_CODE and b in ACT_CODE),
    dtype=np.int64,
)
START_CODES = np.array([ACT_CODE[a] for a in sc.START], dtype=np.int64)
GOAL_CODES = np.array([ACT_CODE[a] for a in sc.GOAL], dtype=np.int64)
DEVIATION = pl.Struct({k: pl.String for k in ("type", "touchpoint", "phase", "from", "to", "max")})

FIT_BREAKERS = (
    "unknown_touchpoint",
    "unexpected_transition",
    "skipped_touchpoint",
    "wrong_start",
    "drop_off",
)
_RANK = {
    t: i
    for i, t in enumerate(
        (
            "wrong_start",
            "unknown_touchpoint",
            "unexpected_transition",
            "skipped_touchpoint",
            "phase_regression",
            "rework",
            "time_frame_breach",
            "drop_off",
        )
    )
}
_STR = ("touchpoint", "phase", "from", "to", "max")


class SimulatedJourneys(Protocol):
    """What `journey_truth` needs of a simulated chunk: per journey and per customer arrays."""

    customer: NDArray[np.int64]  # per journey: customer index in the chunk (sorted)
    returning: NDArray[np.bool_]
    in_progress: NDArray[np.bool_]
    plan: sc.Plan
    anonymous: NDArray[np.bool_]  # per customer
    region: NDArray[np.int8]


def read_truth(out_dir: str | Path) -> pl.DataFrame:
    """The per-journey truth of a generated scenario (from truth.json or truth.parquet)."""
    out = Path(out_dir)
    data = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    if "journeys_file" in data:
        return pl.read_parquet(out / data["journeys_file"])
    return pl.DataFrame(data["journeys"], schema_overrides={"deviations": pl.List(DEVIATION)})


def _rows(
    kind: str, j: NDArray[np.int64], pos: NDArray[np.int64], **cols: NDArray[np.int64] | str | None
) -> pl.DataFrame:
    """Deviation rows of one type; int columns are activity (or phase) codes."""
    acts, phases = pl.Series(ACTS), pl.Series(_PHASE_IDS)
    data: dict[str, Any] = {
        "j": j,
        "pos": pos,
        "rank": np.full(j.size, _RANK[kind], np.int8),
        "type": pl.Series([kind] * j.size, dtype=pl.String),
    }
    for name in _STR:
        v = cols.get(name)
        if isinstance(v, np.ndarray):
            data[name] = (phases if name == "phase" else acts).gather(v)
        else:
            data[name] = pl.Series([v] * j.size, dtype=pl.String)
    return pl.DataFrame(data)


def journey_truth(
    sim: SimulatedJourneys,
    jj: NDArray[np.int64],
    act: NDArray[np.int64],
    tt: NDArray[np.int64],
    cust_id: pl.Series,
) -> pl.DataFrame:
    """Per journey: what was planted and how it shows in the observed events (vectorised)."""
    n_j, n = sim.customer.size, jj.size
    begin = np.searchsorted(jj, np.arange(n_j))
    end = np.r_[begin[1:], n]
    pos = np.arange(n) - begin[jj]
    first = pos == 0
    prev = np.r_[-1, act[:-1]]
    occ = (
        pl.DataFrame({"j": jj, "a": act})
        .select(pl.int_range(pl.len()).over("j", "a"))
        .to_series()
        .to_numpy()
    )
    known = PHASE_OF[act] >= 0
    inner = ~first & known & np.r_[False, known[:-1]]
    unexpected = inner & ~np.isin(prev * 64 + act, FLOW_CODES)
    parts = [
        _rows(
            "wrong_start",
            jj[first & ~np.isin(act, START_CODES)],
            pos[first & ~np.isin(act, START_CODES)],
            touchpoint=act[first & ~np.isin(act, START_CODES)],
        ),
    ]
    for kind, mask in (("unknown_touchpoint", ~known & (occ == 0)), ("rework", occ == 1)):
        parts.append(_rows(kind, jj[mask], pos[mask], touchpoint=act[mask]))
    regression = inner & (PHASE_OF[act] < PHASE_OF[np.maximum(prev, 0)])
    for kind, mask in (("unexpected_transition", unexpected), ("phase_regression", regression)):
        i = np.flatnonzero(mask)
        parts.append(_rows(kind, jj[i], pos[i], **{"from": prev[i], "to": act[i]}))
    for (a, b), skipped in sc.SKIPS.items():
        i = np.flatnonzero(unexpected & (prev == ACT_CODE[a]) & (act == ACT_CODE[b]))
        for tp in skipped:
            parts.append(
                _rows(
                    "skipped_touchpoint",
                    jj[i],
                    pos[i],
                    touchpoint=tp,
                    **{"from": prev[i], "to": act[i]},
                )
            )
    for a, b, mx in sc.TIME_FRAMES:
        t_from = np.full(n_j, np.iinfo(np.int64).max)
        i = np.flatnonzero((act == ACT_CODE[a]) & (occ == 0))
        t_from[jj[i]] = tt[i]
        cand = np.flatnonzero((act == ACT_CODE[b]) & (tt > t_from[jj]))
        cand = cand[np.unique(jj[cand], return_index=True)[1]]
        i = cand[tt[cand] - t_from[jj[cand]] > sc.duration_ms(mx)]
        parts.append(
            _rows(
                "time_frame_breach",
                jj[i],
                pos[i],
                max=mx,
                **{"from": np.full(i.size, ACT_CODE[a]), "to": np.full(i.size, ACT_CODE[b])},
            )
        )
    converted = np.bincount(jj, weights=np.isin(act, GOAL_CODES), minlength=n_j) > 0
    dropped = ~converted & ~sim.in_progress
    last_known = np.maximum.accumulate(np.where(known, np.arange(n), 0))[end - 1]
    leak_phase = PHASE_OF[act[last_known]]
    d = np.flatnonzero(dropped)
    parts.append(
        _rows("drop_off", d, end[d] - begin[d], touchpoint=act[end[d] - 1], phase=leak_phase[d])
    )
    dev = (
        pl.concat(parts)
        .sort("j", "pos", "rank")
        .unique(["j", "type", "touchpoint", "from", "to"], keep="first", maintain_order=True)
    )
    sig = (
        dev.filter(pl.col("type").is_in(["unknown_touchpoint", "unexpected_transition"]))
        .group_by("j", maintain_order=True)
        .agg(pl.coalesce("touchpoint", pl.col("from") + "->" + pl.col("to")).alias("signature"))
    )
    dev = dev.group_by("j", maintain_order=True).agg(
        pl.struct(*(pl.col(c) for c in ("type", *_STR))).alias("deviations")
    )
    level_rank = np.arange(n_j) - np.searchsorted(sim.customer, sim.customer) + 1
    planted = np.array(["|".join(sc.HIDDEN_JOURNEYS.get(k or "", ())) for k in sc.KIND_NAMES])
    region = sim.region[sim.customer]
    journeys = pl.DataFrame(
        {
            "j": np.arange(n_j),
            "journey_id": cust_id.gather(sim.customer)
            + "#"
            + pl.Series(level_rank).cast(pl.String),
            "customer_id": cust_id.gather(sim.customer),
            "planted": planted[sim.plan.kind],
            "kind": pl.Series(list(sc.KIND_NAMES), dtype=pl.String).gather(sim.plan.kind),
            "converted": converted,
            "in_progress": sim.in_progress,
            "segment": np.where(sim.returning, "returning", "new"),
            "region": pl.Series(sc.REGIONS)
            .gather(region)
            .zip_with(
                pl.Series(~sim.anonymous[sim.customer]), pl.Series([None] * n_j, dtype=pl.String)
            ),
            "events": end - begin,
            "leak_phase": pl.Series(_PHASE_IDS)
            .gather(leak_phase)
            .zip_with(pl.Series(dropped), pl.Series([None] * n_j, dtype=pl.String)),
            "leak_touchpoint": pl.Series(ACTS)
            .gather(act[end - 1])
            .zip_with(pl.Series(dropped), pl.Series([None] * n_j, dtype=pl.String)),
        }
    )
    out = journeys.join(sig, on="j", how="left").join(dev, on="j", how="left")
    return out.select(
        "journey_id",
        "customer_id",
        pl.when(pl.col("signature").list.join("|") == pl.col("planted"))
        .then(pl.col("kind"))
        .alias("hidden_journey"),
        pl.col("signature").fill_null([]).cast(pl.List(pl.String)),
        pl.col("deviations").fill_null([]).cast(pl.List(DEVIATION)),
        "converted",
        "in_progress",
        "segment",
        "region",
        "events",
        "leak_phase",
        "leak_touchpoint",
    )


def count_truth(truth: pl.DataFrame, counts: Counter[str]) -> None:
    """Add this chunk's summary counts (journeys, conversions, leaks, deviations) to `counts`."""
    flags = truth.select(
        pl.col("hidden_journey").fill_null("none"),
        "segment",
        "converted",
        "in_progress",
        (~pl.col("converted") & ~pl.col("in_progress")).alias("dropped"),
        ~pl.col("deviations")
        .list.eval(pl.element().struct.field("type").is_in(FIT_BREAKERS))
        .list.any()
        .alias("fitting"),
    )
    for group in ("hidden_journey", "segment"):
        for row in (
            flags.group_by(group)
            .agg(
                pl.len().alias("journeys"), pl.sum("converted", "in_progress", "dropped", "fitting")
            )
            .iter_rows(named=True)
        ):
            for k in ("journeys", "converted", "in_progress", "dropped", "fitting"):
                counts[f"{group}|{row[group]}|{k}"] += int(row[k])
    for phase, tp, c in (
        truth.filter(pl.col("leak_phase").is_not_null())
        .group_by("leak_phase", "leak_touchpoint")
        .len()
        .iter_rows()
    ):
        counts[f"leak|{phase}|{tp}"] += c
    for t, c in (
        truth.select(pl.col("deviations").list.eval(pl.element().struct.field("type").unique()))
        .explode("deviations")
        .drop_nulls()
        .group_by("deviations")
        .len()
        .iter_rows()
    ):
        counts[f"deviation|{t}"] += c


def _summary(counts: Counter[str]) -> dict[str, Any]:
    def block(prefix: str) -> dict[str, Any]:
        b: dict[str, Any] = {
            k: counts[f"{prefix}|{k}"]
            for k in ("journeys", "converted", "in_progress", "dropped", "fitting")
        }
        decided = b["converted"] + b["dropped"]
        b["conversion_rate"] = round(b["converted"] / decided, 4) if decided else None
        return b

    total = sum(counts[f"segment|{s}|journeys"] for s in ("new", "returning"))
    hidden = {}
    for name, signature in sc.HIDDEN_JOURNEYS.items():
        hidden[name] = {"signature": list(signature), **block(f"hidden_journey|{name}")}
        hidden[name]["share"] = round(hidden[name]["journeys"] / total, 4) if total else 0.0
    leaks: dict[str, Any] = {}
    for key in sorted(k for k in counts if k.startswith("leak|")):
        _, phase, tp = key.split("|")
        leak = leaks.setdefault(phase, {"journeys": 0, "touchpoints": {}})
        leak["journeys"] += counts[key]
        leak["touchpoints"][tp] = counts[key]
    everyone = {
        k: sum(counts[f"segment|{s}|{k}"] for s in ("new", "returning"))
        for k in ("journeys", "converted", "in_progress", "dropped", "fitting")
    }
    return {
        **everyone,
        "conversion_rate": round(
            everyone["converted"] / max(1, everyone["converted"] + everyone["dropped"]), 4
        ),
        "hidden_journeys": hidden,
        "no_hidden_journey": block("hidden_journey|none"),
        "leaks": [{"phase": p, **leaks[p]} for p in _PHASE_IDS if p in leaks],
        "deviations": {t: counts[f"deviation|{t}"] for t in _RANK},
        "segments": {s: block(f"segment|{s}") for s in ("new", "returning")},
        "intended": {
            "hidden_journey_share": sc.KIND_SHARE,
            "leak_rates": sc.LEAK,
            "late_delivery_by_region": dict(zip(sc.REGIONS, sc.LATE_DELIVERY, strict=True)),
            "anonymous_share": sc.ANONYMOUS_SHARE,
        },
    }


def append_truth_part(writer: Any, truth: pl.DataFrame, path: Path) -> Any:
    """Append a chunk's truth to a parquet file, opening its writer on the first chunk."""
    import pyarrow.parquet as pq

    table = truth.to_arrow()
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema)
    writer.write_table(table)
    return writer


def write_truth(
    out: Path,
    counts: Counter[str],
    rows: list[pl.DataFrame],
    parquet: bool,
    seed: int,
    events: int,
    start: dt.date | dt.datetime,
    days: int,
) -> Path:
    """Write truth.json: generator settings, the summary, and the journeys (or a pointer to
    truth.parquet); returns its path."""
    head = {
        "generator": {
            "seed": seed,
            "events": events,
            "start": start.isoformat(),
            "days": days,
            "journey_gap_days": 30,
        },
        "summary": _summary(counts),
    }
    path = out / "truth.json"
    tmp = out / ".truth.json.part"
    with open(tmp, "w", encoding="utf-8") as fh:
        text = json.dumps(head, indent=1)
        if parquet:
            fh.write(text[:-2] + ',\n "journeys_file": "truth.parquet"\n}\n')
        else:
            fh.write(text[:-2] + ',\n "journeys": [\n')
            lines = []
            for frame in rows:
                for j in frame.to_dicts():
                    j["deviations"] = [
                        {k: v for k, v in d.items() if v is not None} for d in j["deviations"]
                    ]
                    lines.append(json.dumps(j, separators=(",", ":")))
            fh.write(",\n".join(lines) + "\n ]\n}\n")
    os.replace(tmp, path)
    return path
