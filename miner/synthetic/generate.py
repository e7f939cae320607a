"""Write a seeded omnichannel scenario: three source exports, identities, the map and the truth.

`generate` simulates customers in chunks (numpy, see `scenario.py`), turns each chunk into the
rows of web.csv, call_center.csv and crm.csv in each system's own columns and time format, and
appends them; truth.json records per journey what was planted (`truth.py`). Same seed, same
bytes.
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
from numpy.typing import NDArray

from ..errors import InputError
from . import scenario as sc
from .truth import (
    ACT_CODE,
    ACTS,
    append_truth_part,
    count_truth,
    journey_truth,
    read_truth,
    write_truth,
)

CHUNK_CUSTOMERS = 50_000
PARQUET_TRUTH_ABOVE = 200_000  # events; bigger logs get truth.parquet next to a small truth.json
JOURNEY_GAP = 30 * sc.D  # the stitcher's inactivity cut
NEXT_JOURNEY_MIN = 46 * sc.D
EST_EVENTS_PER_CUSTOMER = 8.0
HEADERS = {
    "web": "visitor_id,session_id,event_name,page_url,device,event_time",
    "call_center": "call_id;caller_id;call_start;queue;reason;agent_id;duration_s;csat",
    "crm": "customer_id,status,changed_at,channel,order_value",
    "identities": "source_id,customer_id",
    "customers": "customer_id,region,existing_customer",
}
FILES = {k: f"{k}.csv" for k in HEADERS}
LOCAL_TZ = "Europe/Amsterdam"

SLOT_ACT = np.array([ACT_CODE[a] for a, _, _ in sc.SLOTS], dtype=np.int64)
SLOT_SRC = np.array([src for _, src, _ in sc.SLOTS], dtype=np.int8)
URL = {
    "ad_click": "/?utm_source=ads&utm_medium=cpc",
    "landing_page": "/",
    "email_click": "/?utm_source=newsletter&utm_medium=email",
    "product_page": "/p/{}",
    "reviews_page": "/p/{}/reviews",
    "compare_products": "/compare",
    "add_to_cart": "/cart",
    "checkout": "/checkout",
    "payment": "/checkout/payment",
    "review_written": "/p/{}/review",
    "newsletter_signup": "/newsletter/signup",
}


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
    ids = _Ids(seed, events)
    ctx = _Context(t_start, t_end, sc.eu_transitions(first_year - 1, first_year + days // 365 + 2))
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
            sim = _simulate(rng, n, ctx)
            simulated_customers += n
            simulated_events += sim.total
            avg = max(1.0, simulated_events / simulated_customers)
            done = sim.trim(remaining)
            frames, truth = _emit(rng, sim, ids, ctx)
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


# -- simulation ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    t_start: int
    t_end: int
    transitions: NDArray[np.int64]


class _Ids:
    """Source ids derived from global numbers by bijections, so they look random but never clash."""

    def __init__(self, seed: int, events: int) -> None:
        self.salt = (seed * 0x9E3779B1 + 0x5DEECE66D) % (1 << 40)
        self.crm_mod = 10 ** max(6, len(str(events)))
        self.customers = 0  # simulated customers so far (global number of the next one)
        self.identified = 0  # C-numbers handed out
        self.sessions = 0
        self.calls = 0


@dataclass
class _Sim:
    customer: NDArray[np.int64]  # per journey: customer index in the chunk
    level: NDArray[np.int64]
    returning: NDArray[np.bool_]
    in_progress: NDArray[np.bool_]
    observed: NDArray[np.bool_]  # [n_journeys, N_SLOTS]
    plan: sc.Plan
    anonymous: NDArray[np.bool_]  # per customer
    existing: NDArray[np.bool_]
    region: NDArray[np.int8]
    devices: NDArray[np.int8]  # [n_customers, 2]
    two_cookies: NDArray[np.bool_]
    n_customers: int
    kept_customers: int = 0

    @property
    def total(self) -> int:
        return int(self.observed.sum())

    def trim(self, budget: int) -> bool:
        """Keep the customer prefix whose events come closest to `budget`; True if it bit."""
        per = np.bincount(self.customer, weights=self.observed.sum(1), minlength=self.n_customers)
        cum = np.cumsum(per)
        k = int(np.searchsorted(cum, budget, side="right"))
        if k < self.n_customers and (k == 0 or cum[k] - budget < budget - cum[k - 1]):
            k += 1
        bit = k < self.n_customers or (k > 0 and cum[k - 1] >= budget)
        keep = self.customer < k
        self.customer, self.level = self.customer[keep], self.level[keep]
        self.returning, self.in_progress = self.returning[keep], self.in_progress[keep]
        self.observed = self.observed[keep]
        self.plan = self.plan.take(np.flatnonzero(keep))
        self.kept_customers = int(np.unique(self.customer).size)
        return bit


def _simulate(rng: np.random.Generator, n: int, ctx: _Context) -> _Sim:
    anonymous = rng.random(n) < sc.ANONYMOUS_SHARE
    existing = ~anonymous & (rng.random(n) < sc.EXISTING_SHARE)
    region = rng.choice(len(sc.REGIONS), n, p=[0.15, 0.20, 0.25, 0.40]).astype(np.int8)
    first = rng.choice(3, n, p=[0.55, 0.35, 0.10])
    devices = np.stack([first, np.where(first == 0, 1, 0)], axis=1).astype(np.int8)
    two_cookies = ~anonymous & (rng.random(n) < 0.35)
    max_j = np.where(
        anonymous, 1 + (rng.random(n) < 0.2), rng.choice(4, n, p=[0.5, 0.3, 0.15, 0.05]) + 1
    )
    t0 = rng.integers(ctx.t_start, ctx.t_end, n)
    who = np.arange(n)
    plans, customers, levels, returning = [], [], [], []
    for level in range(1, 5):
        ret = existing[who] | (level > 1)
        plan = sc.plan_journeys(
            rng, t0, anonymous[who], ret, devices[who, 0] == 0, region[who], ctx.transitions
        )
        plans.append(plan)
        customers.append(who)
        levels.append(np.full(who.size, level))
        returning.append(ret)
        planned_end = np.where(plan.present, plan.t, 0).max(1)
        t0 = planned_end + NEXT_JOURNEY_MIN + rng.exponential(60 * sc.D, who.size).astype(np.int64)
        more = (max_j[who] > level) & (t0 < ctx.t_end)
        who, t0 = who[more], t0[more]
        if who.size == 0:
            break
    plan = sc.Plan.concat(plans)
    customer, level_a = np.concatenate(customers), np.concatenate(levels)
    observed = plan.present & (plan.t < ctx.t_end)
    in_progress = np.any(plan.present & (plan.t >= ctx.t_end), axis=1)
    has = observed.any(1)
    order = np.lexsort((level_a[has], customer[has]))
    keep = np.flatnonzero(has)[order]
    return _Sim(
        customer=customer[keep],
        level=level_a[keep],
        returning=np.concatenate(returning)[keep],
        in_progress=in_progress[keep],
        observed=observed[keep],
        plan=plan.take(keep),
        anonymous=anonymous,
        existing=existing,
        region=region,
        devices=devices,
        two_cookies=two_cookies,
        n_customers=n,
    )


# -- emission -----------------------------------------------------------------------


def _hex12(x: NDArray[np.uint64]) -> NDArray[np.str_]:
    shifts = np.arange(44, -1, -4, dtype=np.uint64)
    nibbles = ((x[:, None] >> shifts) & np.uint64(15)).astype(np.uint8)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    return np.ascontiguousarray(chars).view("S12").ravel().astype(str)


def _emit(
    rng: np.random.Generator, sim: _Sim, ids: _Ids, ctx: _Context
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    n_c = sim.n_customers
    gid = (ids.customers + np.arange(n_c)).astype(np.uint64)
    ids.customers += n_c
    a48 = np.uint64(0x5DEECE66D | 1)
    mask48 = np.uint64((1 << 48) - 1)
    cookie = pl.Series(
        np.char.add(
            "ck_",
            _hex12(
                (np.stack([gid * 2, gid * 2 + 1], 1).ravel() * a48 + np.uint64(ids.salt)) & mask48
            ),
        )
    )
    kept = np.zeros(n_c, dtype=bool)
    kept[sim.customer] = True
    ident = kept & ~sim.anonymous
    cnum = np.zeros(n_c, dtype=np.int64)
    cnum[ident] = ids.identified + np.arange(1, int(ident.sum()) + 1)
    ids.identified += int(ident.sum())
    num = pl.Series(cnum)
    cust_id = pl.Series(
        np.where(
            sim.anonymous,
            cookie.gather(np.arange(n_c) * 2).to_numpy(),
            ("C" + num.cast(pl.String).str.zfill(6)).to_numpy(),
        )
    )
    phone = "+316" + pl.Series((gid.astype(np.int64) * 48271 + ids.salt) % 10**8).cast(
        pl.String
    ).str.zfill(8)
    crm = "CRM-" + pl.Series((cnum * 7901 + ids.salt) % ids.crm_mod).cast(pl.String).str.zfill(6)

    jj, ss = np.nonzero(sim.observed)
    p = sim.plan
    tt = p.t[jj, ss]
    src = SLOT_SRC[ss]
    cust = sim.customer[jj]
    frames: dict[str, pl.DataFrame] = {}

    w = np.flatnonzero(src == sc.WEB)
    wj, wt = jj[w], tt[w]
    new = np.r_[True, (wj[1:] != wj[:-1]) | (np.diff(wt) > sc.SESSION_GAP)]
    sess = np.cumsum(new) - 1
    second = (rng.random(int(new.sum())) < 0.35)[sess] & sim.two_cookies[cust[w]]
    acts = pl.Series(ACTS)
    urls = [URL.get(a, "") for a in ACTS]
    url_pre = pl.Series([u.split("{}")[0] for u in urls])
    url_post = pl.Series([u.split("{}")[1] if "{}" in u else "" for u in urls])
    with_pid = pl.Series(["{}" in u for u in urls])
    a_w = SLOT_ACT[ss[w]]
    pid = pl.Series(p.product[wj]).cast(pl.String)
    frames["web"] = (
        pl.DataFrame(
            {
                "visitor_id": cookie.gather(cust[w] * 2 + second),
                "session_id": "ses_"
                + pl.Series(ids.sessions + sess + 1).cast(pl.String).str.zfill(9),
                "event_name": acts.gather(a_w),
                "page_url": url_pre.gather(a_w)
                + pl.Series(np.where(with_pid.gather(a_w).to_numpy(), pid.to_numpy(), ""))
                + url_post.gather(a_w),
                "device": pl.Series(sc.DEVICES).gather(
                    sim.devices[cust[w], second.astype(np.int64)]
                ),
                "t": wt,
            }
        )
        .sort("t", maintain_order=True)
        .select(
            pl.exclude("t"),
            pl.from_epoch("t", time_unit="ms")
            .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            .alias("event_time"),
        )
    )
    ids.sessions += int(new.sum())

    c = np.flatnonzero(src == sc.CALL)
    csat = p.csat[jj[c], ss[c]]
    frames["call_center"] = (
        pl.DataFrame(
            {
                "caller_id": phone.gather(cust[c]),
                "t": tt[c],
                "queue": pl.Series([q for _, _, q in sc.SLOTS]).gather(ss[c]),
                "reason": acts.gather(SLOT_ACT[ss[c]]),
                "agent_id": "AG"
                + pl.Series(rng.integers(1, 121, c.size)).cast(pl.String).str.zfill(3),
                "duration_s": p.call_s[jj[c], ss[c]],
                "csat": pl.Series(csat, dtype=pl.Int8).replace(0, None),
            }
        )
        .sort("t", maintain_order=True)
        .select(
            (
                "CL"
                + pl.int_range(ids.calls + 1, ids.calls + 1 + c.size).cast(pl.String).str.zfill(9)
            ).alias("call_id"),
            "caller_id",
            pl.from_epoch("t", time_unit="ms")
            .dt.replace_time_zone("UTC")
            .dt.convert_time_zone(LOCAL_TZ)
            .dt.strftime("%d/%m/%Y %H:%M:%S")
            .alias("call_start"),
            "queue",
            "reason",
            "agent_id",
            "duration_s",
            "csat",
        )
    )
    ids.calls += c.size

    r = np.flatnonzero(src == sc.CRM)
    value = p.value[jj[r], ss[r]]
    frames["crm"] = pl.DataFrame(
        {
            "customer_id": crm.gather(cust[r]),
            "status": acts.gather(SLOT_ACT[ss[r]]),
            "changed_at": tt[r],
            "channel": pl.Series(["crm"] * r.size, dtype=pl.String),
            "order_value": pl.Series(np.where(value > 0, value, np.nan)).fill_nan(None),
        }
    ).sort("changed_at", maintain_order=True)

    who = np.flatnonzero(ident)
    kinds = [cookie.gather(who * 2), cookie.gather(who * 2 + 1), phone.gather(who), crm.gather(who)]
    use = [
        np.ones(who.size, bool),
        sim.two_cookies[who],
        np.ones(who.size, bool),
        np.ones(who.size, bool),
    ]
    frames["identities"] = (
        pl.DataFrame(
            {
                "source_id": pl.concat(
                    [k.filter(pl.Series(u)) for k, u in zip(kinds, use, strict=True)]
                ),
                "customer_id": pl.concat([cust_id.gather(who).filter(pl.Series(u)) for u in use]),
                "order": np.concatenate([np.flatnonzero(u) * 4 + i for i, u in enumerate(use)]),
            }
        )
        .sort("order")
        .drop("order")
    )
    frames["customers"] = pl.DataFrame(
        {
            "customer_id": cust_id.gather(who),
            "region": pl.Series(sc.REGIONS).gather(sim.region[who]),
            "existing_customer": sim.existing[who],
        }
    )
    truth = journey_truth(sim, jj, SLOT_ACT[ss], tt, cust_id)
    return frames, truth


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
