"""The omnichannel scenario behind `journeyminer generate`: designed map, slots and journey plans.

A journey is planned on a fixed list of *slots* (one touchpoint on one source system each, in
journey order); per journey a boolean mask says which slots happen and a matrix holds their
times. Every choice is drawn with numpy for all journeys at once, so no Python loop touches a
single journey. The designed map written to `map.toml` comes from the same constants, and the
planted hidden journeys are the only undesigned transitions or unknown touchpoints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

WEB, CALL, CRM = 0, 1, 2
SOURCES = ("web", "call_center", "crm")
PHASES = (
    ("awareness", "Awareness"),
    ("consideration", "Consideration"),
    ("purchase", "Purchase"),
    ("service", "Service"),
    ("loyalty", "Loyalty"),
)


@dataclass(frozen=True)
class Touchpoint:
    """One designed touchpoint of the map (`observable=False`: never in any log)."""

    id: str
    phase: str
    channel: str | None
    observable: bool = True
    off_stage: bool = False
    moment_of_truth: bool = False
    owner: str | None = None
    intended_value: str | None = None


def _tp(
    id: str, phase: str, channel: str | None, owner: str, value: str | None, *flags: str
) -> Touchpoint:
    return Touchpoint(
        id,
        phase,
        channel,
        "unobservable" not in flags,
        "off_stage" in flags,
        "moment_of_truth" in flags,
        owner,
        value,
    )


MOT = "moment_of_truth"
TOUCHPOINTS = (
    _tp("tv_ad", "awareness", None, "marketing", "brand recall", "unobservable"),
    _tp("ad_click", "awareness", "web", "marketing", "first visit"),
    _tp("email_click", "awareness", "web", "marketing", "re-engage"),
    _tp("landing_page", "awareness", "web", "ecommerce", "orientation"),
    _tp("product_page", "consideration", "web", "ecommerce", "product fit", MOT),
    _tp("reviews_page", "consideration", "web", "ecommerce", "trust"),
    _tp("compare_products", "consideration", "web", "ecommerce", "choice"),
    _tp("add_to_cart", "purchase", "web", "ecommerce", "intent"),
    _tp("checkout", "purchase", "web", "ecommerce", "easy checkout"),
    _tp("payment", "purchase", "web", "payments", "safe payment"),
    _tp("order_confirmed", "purchase", "crm", "ecommerce", "certainty", MOT),
    _tp("order_shipped", "service", "crm", "logistics", None, "off_stage"),
    _tp("delivered", "service", "crm", "logistics", "on-time delivery", MOT),
    _tp("support_call", "service", "call_center", "customer_service", "question answered"),
    _tp("complaint", "service", "call_center", "customer_service", "heard", MOT),
    _tp("case_closed", "service", "crm", "customer_service", "resolution"),
    _tp("review_written", "loyalty", "web", "marketing", "advocacy"),
    _tp("newsletter_signup", "loyalty", "web", "marketing", "relationship"),
    _tp("repeat_purchase", "loyalty", "crm", "ecommerce", "lifetime value"),
)
START = ("ad_click", "email_click", "landing_page")
GOAL = ("order_confirmed",)
_CONSIDERATION = ("product_page", "reviews_page", "compare_products")
FLOWS: tuple[tuple[str, str], ...] = (
    ("tv_ad", "ad_click"),
    ("tv_ad", "landing_page"),
    ("ad_click", "landing_page"),
    ("email_click", "landing_page"),
    ("landing_page", "product_page"),
    *(
        (a, b)
        for a in _CONSIDERATION
        for b in _CONSIDERATION
        if (a, b) != ("reviews_page",) * 2 and (a, b) != ("compare_products",) * 2
    ),
    *((a, "add_to_cart") for a in _CONSIDERATION),
    ("add_to_cart", "checkout"),
    ("checkout", "payment"),
    ("payment", "order_confirmed"),
    ("order_confirmed", "order_shipped"),
    ("order_shipped", "delivered"),
    ("order_shipped", "support_call"),
    ("support_call", "delivered"),
    ("delivered", "support_call"),
    ("delivered", "complaint"),
    ("complaint", "support_call"),
    ("complaint", "case_closed"),
    ("support_call", "case_closed"),
    *(
        (a, b)
        for a in ("delivered", "case_closed")
        for b in ("review_written", "newsletter_signup", "repeat_purchase")
    ),
    ("review_written", "newsletter_signup"),
    ("review_written", "repeat_purchase"),
    ("newsletter_signup", "repeat_purchase"),
)
# (from, to, max): the first `to` after the first `from` must come within `max`.
TIME_FRAMES = (
    ("checkout", "payment", "15m"),
    ("order_confirmed", "delivered", "3d"),
    ("complaint", "case_closed", "7d"),
)
UNKNOWN_TOUCHPOINTS = ("phone_order",)

# Planted hidden journeys: name -> signature (unknown touchpoints and unexpected transitions
# between mapped touchpoints, in order of first occurrence).
HIDDEN_JOURNEYS: dict[str, tuple[str, ...]] = {
    "phone_order": ("phone_order",),
    "email_skip": ("email_click->add_to_cart",),
    "cart_hesitation": ("add_to_cart->compare_products",),
    "complaint_loop": ("support_call->complaint",),
}
KIND_NAMES = (None, *HIDDEN_JOURNEYS)  # kind code 0 = designed journey
# Undesigned jumps the scenario means as skips of designed steps.
SKIPS = {("email_click", "add_to_cart"): ("landing_page", "product_page")}

# Intended rates (tests check the generated shares against these, with rough bounds).
ANONYMOUS_SHARE = 0.20  # visitors never identified: cookie only, web only
EXISTING_SHARE = 0.35  # customers from before the log: every journey is "returning"
KIND_SHARE = {
    "phone_order": 0.05,
    "email_skip": 0.05,
    "cart_hesitation": 0.04,
    "complaint_loop": 0.04,
}  # of identified customers' journeys
LEAK = {  # probability of leaving at each leak point, for designed (kind 0) journeys
    "bounce": 0.20,
    "bounce_anonymous": 0.45,  # awareness: after landing_page
    "consideration_new": 0.45,
    "consideration_returning": 0.30,
    "consideration_anonymous": 0.85,
    "cart": 0.22,
    "cart_mobile": 0.30,  # purchase: after add_to_cart
    "checkout": 0.12,  # purchase: after checkout
    "payment": 0.04,  # purchase: after payment (payment failed)
}
LATE_DELIVERY = (0.20, 0.12, 0.09, 0.06)  # per region, breaches order_confirmed->delivered 3d
REGIONS = ("north", "east", "south", "west")
DEVICES = ("mobile", "desktop", "tablet")

# The slots: (activity, source, queue for calls), in journey order.
SLOTS: tuple[tuple[str, int, str], ...] = (
    ("ad_click", WEB, ""),  # 0
    ("email_click", WEB, ""),  # 1
    ("landing_page", WEB, ""),  # 2
    ("product_page", WEB, ""),  # 3
    ("reviews_page", WEB, ""),  # 4
    ("product_page", WEB, ""),  # 5 rework
    ("compare_products", WEB, ""),  # 6
    ("add_to_cart", WEB, ""),  # 7
    ("compare_products", WEB, ""),  # 8 cart_hesitation
    ("add_to_cart", WEB, ""),  # 9 cart_hesitation
    ("checkout", WEB, ""),  # 10
    ("payment", WEB, ""),  # 11
    ("phone_order", CALL, "sales"),  # 12 phone_order
    ("order_confirmed", CRM, ""),  # 13
    ("order_shipped", CRM, ""),  # 14
    ("support_call", CALL, "service"),  # 15 where-is-my-order call on late deliveries
    ("delivered", CRM, ""),  # 16
    ("support_call", CALL, "service"),  # 17
    ("complaint", CALL, "complaints"),  # 18
    ("support_call", CALL, "service"),  # 19 callback
    ("complaint", CALL, "complaints"),  # 20 complaint_loop
    ("support_call", CALL, "service"),  # 21 complaint_loop
    ("case_closed", CRM, ""),  # 22
    ("review_written", WEB, ""),  # 23
    ("newsletter_signup", WEB, ""),  # 24
    ("repeat_purchase", CRM, ""),  # 25
)
N_SLOTS = len(SLOTS)
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

S, M, H, D = 1_000, 60_000, 3_600_000, 86_400_000  # milliseconds
MAX_STEP = 25 * D  # every gap inside a journey stays well below the 30-day cut
SESSION_GAP = 30 * M


@dataclass(frozen=True, eq=False)
class Plan:
    """Planned journeys: which slots happen (`present`) and when (`t`, epoch ms), plus values."""

    present: NDArray[np.bool_]  # [n, N_SLOTS]
    t: NDArray[np.int64]  # [n, N_SLOTS]
    kind: NDArray[np.int8]  # [n], index into KIND_NAMES
    csat: NDArray[np.int8]  # [n, N_SLOTS], 0 = no answer / not a call
    call_s: NDArray[np.int32]  # [n, N_SLOTS], call duration in seconds
    value: NDArray[np.float64]  # [n, N_SLOTS], order value on order slots
    product: NDArray[np.int32]  # [n]

    def take(self, rows: NDArray[np.int64]) -> Plan:
        """The plans of `rows` only, in that order."""
        return Plan(*(getattr(self, f)[rows] for f in PLAN_FIELDS))

    @staticmethod
    def concat(plans: list[Plan]) -> Plan:
        """All `plans` one after another."""
        return Plan(*(np.concatenate([getattr(p, f) for p in plans]) for f in PLAN_FIELDS))


PLAN_FIELDS = ("present", "t", "kind", "csat", "call_s", "value", "product")


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


def map_toml() -> str:
    """The designed journey map of this scenario as TOML text (the `map.toml` schema)."""
    lines = ['name = "Omnichannel webshop"', 'version = "as-is"', ""]
    for pid, name in PHASES:
        lines += ["[[phases]]", f'id = "{pid}"', f'name = "{name}"', ""]
    for tp in TOUCHPOINTS:
        lines += ["[[touchpoints]]", f'id = "{tp.id}"', f'phase = "{tp.phase}"']
        if tp.channel:
            lines.append(f'channel = "{tp.channel}"')
        lines.append(f"observable = {str(tp.observable).lower()}")
        if tp.off_stage:
            lines.append("off_stage = true")
        if tp.moment_of_truth:
            lines.append("moment_of_truth = true")
        if tp.owner:
            lines.append(f'owner = "{tp.owner}"')
        if tp.intended_value:
            lines.append(f'intended_value = "{tp.intended_value}"')
        lines.append("")
    lines += [
        "[journey]",
        f"start = {json.dumps(list(START))}",
        f"goal = {json.dumps(list(GOAL))}",
        "flows = [",
    ]
    lines += [f'  ["{a}", "{b}"],' for a, b in FLOWS]
    lines += ["]", ""]
    for a, b, mx in TIME_FRAMES:
        lines += ["[[time_frames]]", f'from = "{a}"', f'to = "{b}"', f'max = "{mx}"', ""]
    return "\n".join(lines)


def duration_ms(text: str) -> int:
    """Milliseconds in a map duration such as 90s, 15m, 36h, 3d or 2w."""
    unit = {"s": S, "m": M, "h": H, "d": D, "w": 7 * D}[text[-1]]
    return int(float(text[:-1]) * unit)
