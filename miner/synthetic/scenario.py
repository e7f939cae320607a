"""The omnichannel scenario behind `journeyminer generate`: designed map, slots and journey plans.

A journey is planned on a fixed list of *slots* (one touchpoint on one source system each, in
journey order); per journey a boolean mask says which slots happen and a matrix holds their
times. Every choice is drawn with numpy for all journeys at once (`planning.py`), so no Python
loop touches a single journey. The designed map written to `map.toml` comes from the same constants, and the
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

S, M, H, D = 1_000, 60_000, 3_600_000, 86_400_000  # milliseconds
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
