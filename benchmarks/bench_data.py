"""Seeded synthetic customer-journey logs for the benchmarks, built with numpy + polars.

    from bench_data import write_raw_log
    write_raw_log(Path("bench-data/discovery-1000000/events.parquet"), events=1_000_000)

The log is a Markov chain over 30 touchpoints: a few skewed start touchpoints, each
touchpoint's successors drawn from a Dirichlet with a small alpha (a handful of likely next
steps and a long tail), and a per-touchpoint chance to end the journey (high after a
purchase or a cancellation). That gives ~6.6 events per case, ~470 directly-follows edges and,
at 1M events, ~150k cases in ~69k variants with a Zipf-like head. Gaps between events are log-normal
(median ~40 min, heavy tail), at least one second, so timestamps are unique within a case
and every tool orders the events of a case the same way. Rows are shuffled, as in a real
export; columns use foreign names (`Customer ID`, `Touchpoint`, `Event Time`, `Channel`).
Same seed, same frame. 10M events take a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

COLS = {
    "case": "Customer ID",
    "activity": "Touchpoint",
    "timestamp": "Event Time",
    "channel": "Channel",
}
# (touchpoint, channel, end-of-journey probability)
TOUCHPOINTS: tuple[tuple[str, str, float], ...] = (
    ("ad_click", "web", 0.05),
    ("landing_page", "web", 0.12),
    ("email_open", "email", 0.10),
    ("email_click", "email", 0.04),
    ("search", "web", 0.06),
    ("product_page", "web", 0.08),
    ("reviews_page", "web", 0.07),
    ("compare_products", "web", 0.06),
    ("add_to_cart", "web", 0.05),
    ("remove_from_cart", "web", 0.10),
    ("checkout_start", "web", 0.06),
    ("payment_failed", "web", 0.15),
    ("purchase", "web", 0.45),
    ("order_confirmation", "email", 0.30),
    ("shipping_notice", "email", 0.20),
    ("delivery", "crm", 0.35),
    ("return_request", "crm", 0.15),
    ("refund", "crm", 0.50),
    ("call_sales", "call_center", 0.10),
    ("call_support", "call_center", 0.12),
    ("call_billing", "call_center", 0.12),
    ("chat_support", "chat", 0.10),
    ("faq_page", "web", 0.12),
    ("account_login", "app", 0.05),
    ("app_open", "app", 0.08),
    ("push_click", "app", 0.06),
    ("store_visit", "store", 0.20),
    ("complaint", "crm", 0.25),
    ("contract_signed", "crm", 0.40),
    ("cancellation", "crm", 0.60),
)
STARTS = {"ad_click": 30, "landing_page": 20, "email_open": 15, "search": 12,
          "app_open": 8, "call_sales": 5, "store_visit": 4, "push_click": 3,
          "call_support": 2, "account_login": 1}  # fmt: skip
MAX_STEPS = 60
START_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z


def transition_matrix(rng: np.random.Generator) -> np.ndarray:
    """float64[n, n + 1]: row i = P(next = j) for j < n, column n = P(end)."""
    n = len(TOUCHPOINTS)
    p = rng.dirichlet(np.full(n, 0.08), size=n)
    # Keep some structure: a strong "next step of the funnel" edge from each touchpoint.
    p[np.arange(n - 1), np.arange(1, n)] += 0.35
    p /= p.sum(axis=1, keepdims=True)
    end = np.array([e for _, _, e in TOUCHPOINTS])
    return np.hstack([p * (1 - end)[:, None], end[:, None]])


def simulate(events: int, seed: int = 7) -> pl.DataFrame:
    """Exactly `events` events (the last case may be cut short), shuffled, foreign columns."""
    rng = np.random.default_rng(seed)
    n = len(TOUCHPOINTS)
    cum = np.cumsum(transition_matrix(rng), axis=1)
    cum[:, -1] = 1.0 + 1e-9
    flat = (cum + np.arange(n)[:, None] * 2.0).ravel()  # rows laid end to end, each +2*row
    names = [t for t, _, _ in TOUCHPOINTS]
    start_p = np.array([STARTS.get(t, 0) for t in names], dtype=np.float64)
    start_p /= start_p.sum()
    n_cases = max(int(events / 5.0) + 16, 16)
    cases_parts, act_parts, step_parts = [], [], []
    total = 0
    next_case = 0
    while total < events:  # simulate batches of cases until there are enough events
        case = np.arange(next_case, next_case + n_cases, dtype=np.int64)
        next_case += n_cases
        state = rng.choice(n, size=n_cases, p=start_p)
        for step in range(MAX_STEPS):
            cases_parts.append(case)
            act_parts.append(state.astype(np.int8))
            step_parts.append(np.full(case.size, step, dtype=np.int16))
            total += case.size
            u = rng.random(case.size)
            j = np.searchsorted(flat, state * 2.0 + u, side="right") - state * (n + 1)
            alive = j < n
            case, state = case[alive], j[alive]
            if case.size == 0:
                break
    case = np.concatenate(cases_parts)
    act = np.concatenate(act_parts)
    step = np.concatenate(step_parts)
    order = np.lexsort((step, case))[:events]  # by case, then step; cut to `events`
    case, act = case[order], act[order]
    # Timestamps: case start uniform over a year, then log-normal gaps of >= 1 s.
    first = np.r_[True, case[1:] != case[:-1]]
    gaps = np.maximum(rng.lognormal(np.log(2400.0), 1.6, size=events), 1.0)
    gaps_us = (gaps * 1e6).astype(np.int64)
    gaps_us[first] = rng.integers(0, 365 * 86_400 * 10**6, size=int(first.sum()))
    seg = np.cumsum(first) - 1
    csum = np.cumsum(gaps_us)
    base = (csum - gaps_us)[first][seg]  # running total before each case's first event
    ts = START_US + csum - base
    # Customer ids: a random permutation, so id order is not start-time order.
    ident = rng.permutation(next_case)[case]
    chan_of = np.array([c for _, c, _ in TOUCHPOINTS])
    frame = pl.DataFrame(
        {
            COLS["case"]: pl.Series(ident).cast(pl.String).str.zfill(9),
            COLS["activity"]: pl.Series(act).cast(pl.Int64),
            COLS["timestamp"]: pl.Series(ts).cast(pl.Datetime("us", "UTC")),
            COLS["channel"]: pl.Series(act).cast(pl.Int64),
        }
    ).with_columns(
        ("CUST-" + pl.col(COLS["case"])).alias(COLS["case"]),
        pl.col(COLS["activity"]).replace_strict(list(range(n)), names, return_dtype=pl.String),
        pl.col(COLS["channel"]).replace_strict(
            list(range(n)), chan_of.tolist(), return_dtype=pl.String
        ),
    )
    return frame[rng.permutation(events)]  # exports are not sorted


def write_raw_log(path: Path, events: int, seed: int = 7) -> Path:
    """Write the shuffled synthetic log to `path` (Parquet) unless it is already there."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    simulate(events, seed).write_parquet(tmp, statistics=True)
    tmp.replace(path)
    return path


if __name__ == "__main__":
    import sys
    import time

    t = time.perf_counter()
    df = simulate(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
    print(f"{time.perf_counter() - t:.2f} s", df.shape)
    s = df.sort(COLS["case"], COLS["timestamp"])
    per = s.group_by(COLS["case"]).agg(pl.col(COLS["activity"]))
    print("cases", per.height, "variants", per.group_by(COLS["activity"]).len().height)
    print(df.head())
