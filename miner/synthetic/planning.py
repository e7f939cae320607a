"""Drawing journey plans for the scenario: which slots each journey has, when (in local
opening hours, across summer time), how long calls last, their CSAT and order values."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .scenario import (
    CALL,
    KIND_SHARE,
    LATE_DELIVERY,
    LEAK,
    N_SLOTS,
    SESSION_GAP,
    SLOTS,
    WEB,
    D,
    H,
    M,
    Plan,
    S,
)

ORDER_SLOTS = (13, 25)
# CSAT (1..5) distribution per call slot: happy sales calls, unhappy complaint loops.
CSAT_P = {
    12: (0.02, 0.03, 0.10, 0.35, 0.50),
    15: (0.20, 0.25, 0.30, 0.15, 0.10),
    17: (0.05, 0.08, 0.17, 0.35, 0.35),
    18: (0.30, 0.30, 0.25, 0.10, 0.05),
    19: (0.10, 0.15, 0.30, 0.30, 0.15),
    20: (0.50, 0.30, 0.15, 0.05, 0.00),
    21: (0.40, 0.30, 0.20, 0.10, 0.00),
}
CALL_MINUTES = {
    12: (4, 20),
    15: (2, 10),
    17: (3, 15),
    18: (5, 25),
    19: (3, 15),
    20: (8, 30),
    21: (5, 20),
}
CSAT_MISSING = 0.35
MAX_STEP = 25 * D  # every gap inside a journey stays well below the 30-day cut


def dst_offsets(t: NDArray[np.int64], transitions: NDArray[np.int64]) -> NDArray[np.int64]:
    """Europe/Amsterdam UTC offset in ms at each instant (transitions from `eu_transitions`)."""
    summer = np.searchsorted(transitions, t, side="right") % 2 == 1
    return np.where(summer, 2 * H, H).astype(np.int64)


def eu_transitions(first_year: int, last_year: int) -> NDArray[np.int64]:
    """EU summer-time starts and ends (last Sunday of March/October, 01:00 UTC) in epoch ms."""
    import datetime as dt

    out = []
    for year in range(first_year, last_year + 1):
        for month in (3, 10):
            last = dt.datetime(year, month, 31, 1, tzinfo=dt.UTC)
            last -= dt.timedelta(days=(last.weekday() + 1) % 7)
            out.append(int(last.timestamp() * 1000))
    return np.array(out, dtype=np.int64)


def _open_hours(
    t: NDArray[np.int64],
    rng: np.random.Generator,
    opens: int,
    closes: int,
    transitions: NDArray[np.int64],
    spread: bool = True,
) -> NDArray[np.int64]:
    # Moves instants outside local opening hours into the next opening (anywhere in it when
    # `spread`, else within its first hour), so calls never fall in the DST-ambiguous night
    # hour and web sessions follow the day.
    day = (t + dst_offsets(t, transitions)) % D
    jitter = rng.integers(0, (closes - opens - 1) * H if spread else H, t.size)
    early = day < opens * H
    late = day >= closes * H
    return np.where(
        early, t + opens * H - day + jitter, np.where(late, t + D - day + opens * H + jitter, t)
    )


def _logu(rng: np.random.Generator, n: int, lo: float, hi: float) -> NDArray[np.int64]:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n)).astype(np.int64)


def _mix(
    rng: np.random.Generator,
    n: int,
    p_far: float,
    near: tuple[float, float],
    far: tuple[float, float],
) -> NDArray[np.int64]:
    return np.where(rng.random(n) < p_far, _logu(rng, n, *far), _logu(rng, n, *near))


def plan_journeys(
    rng: np.random.Generator,
    t0: NDArray[np.int64],
    anonymous: NDArray[np.bool_],
    returning: NDArray[np.bool_],
    mobile: NDArray[np.bool_],
    region: NDArray[np.int8],
    transitions: NDArray[np.int64],
) -> Plan:
    """Draw the slots, times and values of journeys starting at `t0` (one per row)."""
    n = t0.size
    u = rng.random((n, N_SLOTS + 8))
    ident = ~anonymous
    kind = np.zeros(n, dtype=np.int8)
    edges = np.cumsum(list(KIND_SHARE.values()))
    kind[ident] = np.searchsorted(edges, u[ident, 0], side="right") + 1
    kind[kind > len(KIND_SHARE)] = 0
    normal = kind == 0
    entry = np.where(
        anonymous,
        np.searchsorted([0.5, 0.5, 0.9], u[:, 1], side="right"),
        np.searchsorted([0.35, 0.60, 0.90], u[:, 1], side="right"),
    )
    entry[kind == 2] = 1  # email_skip always comes from an e-mail
    p = np.zeros((n, N_SLOTS), dtype=bool)
    p[:, 0], p[:, 1] = entry == 0, entry == 1
    p[:, 2] = (entry <= 2) & (kind != 2)
    bounce = (
        p[:, 2] & normal & (u[:, 2] < np.where(anonymous, LEAK["bounce_anonymous"], LEAK["bounce"]))
    )
    cons = ~bounce & (kind != 2)
    p[:, 3] = cons
    p[:, 4] = cons & (kind != 1) & (u[:, 3] < 0.40)
    p[:, 5] = cons & (kind != 1) & (u[:, 4] < 0.25)
    p[:, 6] = cons & (kind != 1) & (u[:, 5] < 0.30)
    p_cons = np.where(
        anonymous,
        LEAK["consideration_anonymous"],
        np.where(returning, LEAK["consideration_returning"], LEAK["consideration_new"]),
    )
    cart = (cons & (kind != 1) & ~(normal & (u[:, 6] < p_cons))) | (kind == 2)
    p[:, 7] = cart
    p[:, 8] = p[:, 9] = kind == 3
    p_cart = np.select(
        [anonymous, kind == 2, kind == 3, kind == 4],
        [1.0, 0.30, 0.55, 0.0],
        np.where(mobile, LEAK["cart_mobile"], LEAK["cart"]),
    )
    p[:, 10] = cart & (u[:, 7] >= p_cart)
    keep_on = kind != 4
    p[:, 11] = p[:, 10] & ~(keep_on & (u[:, 8] < LEAK["checkout"]))
    p[:, 12] = kind == 1
    conv = (p[:, 11] & ~(keep_on & (u[:, 9] < LEAK["payment"]))) | (p[:, 12] & (u[:, 10] >= 0.15))
    late = conv & (u[:, 11] < np.asarray(LATE_DELIVERY)[region])
    p[:, 13] = p[:, 14] = p[:, 16] = conv
    p[:, 15] = late & (u[:, 12] < 0.5)
    service = np.where(kind == 4, 3, np.searchsorted([0.72, 0.86], u[:, 13], side="right"))
    p[:, 17] = conv & (service == 1)
    p[:, 18] = conv & (service >= 2)
    p[:, 19] = conv & (((service == 2) & (u[:, 14] < 0.4)) | (service == 3))
    p[:, 20] = p[:, 21] = conv & (service == 3)
    p[:, 22] = conv & (service >= 1)
    p[:, 23] = conv & (u[:, 15] < np.choose(service, [0.32, 0.20, 0.08, 0.08]))
    p[:, 24] = conv & (u[:, 16] < 0.15)
    p[:, 25] = conv & (u[:, 17] < np.where(returning, 0.18, 0.10))

    call_s = np.zeros((n, N_SLOTS), dtype=np.int32)
    csat = np.zeros((n, N_SLOTS), dtype=np.int8)
    for s, (lo, hi) in CALL_MINUTES.items():
        call_s[:, s] = _logu(rng, n, lo * 60, hi * 60)
        score = np.searchsorted(np.cumsum(CSAT_P[s]), rng.random(n) * 0.999999) + 1
        csat[:, s] = np.where(rng.random(n) < CSAT_MISSING, 0, score)
    value = np.zeros((n, N_SLOTS), dtype=np.float64)
    for s in ORDER_SLOTS:
        value[:, s] = np.round(np.exp(rng.normal(np.log(85.0), 0.6, n)), 2)

    d = np.zeros((n, N_SLOTS), dtype=np.int64)  # delay (ms) after the previous present slot
    d[:, 2] = _logu(rng, n, 1 * S, 6 * S)
    d[:, 3] = _mix(rng, n, 0.30, (5 * S, 120 * S), (2 * H, 5 * D))
    d[:, 4] = _logu(rng, n, 15 * S, 300 * S)
    d[:, 5] = _mix(rng, n, 0.50, (10 * S, 180 * S), (6 * H, 10 * D))
    d[:, 6] = _mix(rng, n, 0.25, (30 * S, 300 * S), (1 * H, 3 * D))
    d[:, 7] = np.where(
        kind == 2,
        _logu(rng, n, 5 * S, 60 * S),
        _mix(rng, n, 0.30, (30 * S, 20 * M), (1 * H, 5 * D)),
    )
    d[:, 8] = _logu(rng, n, 20 * S, 200 * S)
    d[:, 9] = _mix(rng, n, 0.40, (1 * M, 30 * M), (2 * H, 2 * D))
    d[:, 10] = _logu(rng, n, 20 * S, 10 * M)
    d[:, 11] = _logu(rng, n, 20 * S, 8 * M)
    d[:, 12] = _logu(rng, n, 1 * H, 3 * D)
    d[:, 13] = np.where(
        kind == 1,
        call_s[:, 12].astype(np.int64) * S + _logu(rng, n, 10 * S, 120 * S),
        _logu(rng, n, 2 * S, 60 * S),
    )
    d[:, 14] = _logu(rng, n, 4 * H, 20 * H)
    d[:, 15] = _logu(rng, n, 50 * H, 70 * H)
    d[:, 16] = np.where(
        p[:, 15],
        _logu(rng, n, 1 * D, 6 * D),
        np.where(late, _logu(rng, n, 3.5 * D, 9 * D), _logu(rng, n, 10 * H, 30 * H)),
    )
    d[:, 17] = _logu(rng, n, 2 * H, 7 * D)
    d[:, 18] = _logu(rng, n, 1 * H, 5 * D)
    d[:, 19] = _logu(rng, n, 2 * H, 2 * D)
    d[:, 20] = _logu(rng, n, 1 * D, 5 * D)
    d[:, 21] = _logu(rng, n, 2 * H, 3 * D)
    d[:, 22] = _logu(rng, n, 10 * M, 3 * D)
    d[:, 23] = _logu(rng, n, 2 * D, 14 * D)
    d[:, 24] = np.where(p[:, 23], _logu(rng, n, 30 * S, 300 * S), _logu(rng, n, 1 * D, 10 * D))
    d[:, 25] = _logu(rng, n, 7 * D, MAX_STEP)
    np.minimum(d, MAX_STEP, out=d)
    np.maximum(d, S, out=d)  # strictly increasing times: no ties inside a customer's timeline

    t = np.zeros((n, N_SLOTS), dtype=np.int64)
    cur = t0.astype(np.int64).copy()
    started = np.zeros(n, dtype=bool)
    for s, (_, source, _) in enumerate(SLOTS):
        cand = np.where(started, cur + d[:, s], cur)
        if source == CALL:
            cand = _open_hours(cand, rng, 8, 20, transitions) // S * S
        elif source == WEB:
            fresh = ~started | (d[:, s] >= SESSION_GAP)
            cand = np.where(fresh, _open_hours(cand, rng, 7, 23, transitions), cand)
        elif s == 16:
            cand = _open_hours(cand, rng, 8, 20, transitions, spread=False)  # keeps 3d frame
        t[:, s] = cand
        cur = np.where(p[:, s], cand, cur)
        started |= p[:, s]
    product = (np.minimum(rng.zipf(1.6, n), 400) + 1000).astype(np.int32)
    return Plan(p, t, kind, csat, call_s, value, product)
