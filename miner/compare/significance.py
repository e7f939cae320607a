"""Significance tests for drift, in pure Python and numpy (no scipy at run time).

- two proportions: a two-sided z-test with pooled variance; Fisher's exact test instead when
  any expected cell of the 2x2 table is below 5 (Cochran's rule), where the normal
  approximation is poor;
- two samples of durations: the two-sided Mann-Whitney U test, exact when both samples have
  at most 8 values and no ties, else the normal approximation with tie and continuity
  corrections (scipy's `mannwhitneyu` gives the same p-values with `method="exact"` /
  `"asymptotic"`);
- many p-values at once: Benjamini-Hochberg adjusted p-values (false discovery rate).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

FISHER_BELOW = 5.0  # expected cell count under which Fisher's exact test replaces the z-test
EXACT_MWU_MAX = 8  # both samples at most this size (and no ties): exact Mann-Whitney U


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> tuple[str | None, float, float]:
    """(test, statistic, two-sided p) for x1/n1 vs x2/n2: pooled z-test, Fisher when sparse.

    The statistic is z (after minus before) for the z-test and the sample odds ratio for
    Fisher's test. Untestable (an empty period): (None, nan, nan).
    """
    if n1 <= 0 or n2 <= 0:
        return None, math.nan, math.nan
    n, k = n1 + n2, x1 + x2
    expected = min(n1, n2) * min(k, n - k) / n
    if expected < FISHER_BELOW:
        odds = _odds_ratio(x1, n1 - x1, x2, n2 - x2)
        return "fisher", odds, fisher_exact(x1, n1, x2, n2)
    p = k / n
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    z = (x2 / n2 - x1 / n1) / se if se > 0 else 0.0
    return "z", z, math.erfc(abs(z) / math.sqrt(2))


def _odds_ratio(a: int, b: int, c: int, d: int) -> float:
    # Of after vs before, as the other statistics: (c/d) / (a/b); inf or nan at zeros.
    num, den = c * b, d * a
    if den == 0:
        return math.nan if num == 0 else math.inf
    return num / den


def fisher_exact(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p of Fisher's exact test on [[x1, n1-x1], [x2, n2-x2]] (scipy's convention:
    the sum of all tables no more likely than the observed one)."""
    n, k = n1 + n2, x1 + x2
    lo, hi = max(0, n1 - (n - k)), min(k, n1)
    if lo == hi:
        return 1.0
    # log pmf of the hypergeometric over its support, by the ratio of neighbouring terms.
    first = _log_comb(k, lo) + _log_comb(n - k, n1 - lo) - _log_comb(n, n1)
    j = np.arange(lo, hi, dtype=np.float64)
    steps = np.log((k - j) * (n1 - j)) - np.log((j + 1) * (n - k - n1 + j + 1))
    logp = first + np.concatenate(([0.0], np.cumsum(steps)))
    observed = logp[x1 - lo]
    keep = logp <= observed + 1e-7  # relative tolerance for ties in floating point
    return float(min(1.0, np.exp(logp[keep]).sum()))


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def mann_whitney_u(
    n1: int, n2: int, rank_sum_1: float, tie_sum: float, tied: bool
) -> tuple[str | None, float, float]:
    """(test, U of sample 1, two-sided p) from the rank sum of sample 1 in the pooled sample.

    `tie_sum` is the sum of t^3 - t over groups of t tied values. Exact for small samples
    without ties, else the normal approximation with tie and continuity corrections.
    """
    if n1 <= 0 or n2 <= 0:
        return None, math.nan, math.nan
    u1 = rank_sum_1 - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    if not tied and max(n1, n2) <= EXACT_MWU_MAX:
        counts = _u_counts(min(n1, n2), max(n1, n2))
        tail = sum(counts[round(u) :]) / sum(counts)
        return "mann_whitney_exact", u1, min(1.0, 2 * tail)
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - tie_sum / (n * (n - 1)))
    if var <= 0:  # every value equal: nothing to tell the periods apart
        return "mann_whitney_normal", u1, 1.0
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var)
    return "mann_whitney_normal", u1, min(1.0, math.erfc(z / math.sqrt(2)))


@cache
def _u_counts(m: int, n: int) -> tuple[int, ...]:
    """How many orderings of m + n distinct values give U = 0..m*n (sample of size m)."""
    if m == 0 or n == 0:
        return (1,)
    # The largest value is in the first sample (beats all n) or in the second (beats none).
    with_first, with_second = _u_counts(m - 1, n), _u_counts(m, n - 1)
    out = [0] * (m * n + 1)
    for u, c in enumerate(with_first):
        out[u + n] += c
    for u, c in enumerate(with_second):
        out[u] += c
    return tuple(out)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (same order; NaN stays NaN and is not counted)."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    m = tested.size
    if m == 0:
        return out
    order = tested[np.argsort(p[tested], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return out
