"""The rows of the source exports for one simulated chunk: web.csv, call_center.csv and crm.csv
in each system's own columns, ids and time format, plus identities, customers and the truth."""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

from . import scenario as sc
from .simulation import SimulatedChunk, SimulationContext, SourceIds
from .truth import ACT_CODE, ACTS, journey_truth

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


def _hex12(x: NDArray[np.uint64]) -> NDArray[np.str_]:
    shifts = np.arange(44, -1, -4, dtype=np.uint64)
    nibbles = ((x[:, None] >> shifts) & np.uint64(15)).astype(np.uint8)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    return np.ascontiguousarray(chars).view("S12").ravel().astype(str)


def emit_rows(
    rng: np.random.Generator, sim: SimulatedChunk, ids: SourceIds, ctx: SimulationContext
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The chunk's rows per file (web, call_center, crm, identities, customers) and its truth;
    `ids` moves on past the ids handed out."""
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
