"""One chunk of simulated customers: their journeys planned with numpy (`planning.py`), the
prefix of customers that fits the event budget, and the counters that keep source ids unique."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from . import scenario as sc
from .planning import plan_journeys

JOURNEY_GAP = 30 * sc.D  # the stitcher's inactivity cut
NEXT_JOURNEY_MIN = 46 * sc.D


@dataclass(frozen=True)
class SimulationContext:
    """The log's time window (epoch ms) and the EU summer-time transitions around it."""

    t_start: int
    t_end: int
    transitions: NDArray[np.int64]


class SourceIds:
    """Source ids derived from global numbers by bijections, so they look random but never clash."""

    def __init__(self, seed: int, events: int) -> None:
        self.salt = (seed * 0x9E3779B1 + 0x5DEECE66D) % (1 << 40)
        self.crm_mod = 10 ** max(6, len(str(events)))
        self.customers = 0  # simulated customers so far (global number of the next one)
        self.identified = 0  # C-numbers handed out
        self.sessions = 0
        self.calls = 0


@dataclass
class SimulatedChunk:
    """The journeys of one chunk of customers: per-journey arrays, then per-customer ones."""

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
        """Observed events over all journeys."""
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


def simulate_customers(rng: np.random.Generator, n: int, ctx: SimulationContext) -> SimulatedChunk:
    """`n` customers with up to four journeys each from the window; journeys with no observed
    event are dropped, the rest sorted by customer and journey."""
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
        plan = plan_journeys(
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
    return SimulatedChunk(
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
