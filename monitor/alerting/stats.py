"""Tail probabilities for counts that vary more than Poisson: stdlib only, exact in the far tail.

The negative binomial with mean `mu` and dispersion `alpha` has variance mu + alpha * mu**2; it is
the Poisson when alpha is 0. Both tails are written with regularised incomplete beta / gamma
functions evaluated on the side where the continued fraction or series is accurate, so a tail of
1e-12 is as exact as one of 0.3 (subtracting from 1 would lose it).
"""

from __future__ import annotations

import math

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 100_000


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta (modified Lentz)."""
    # Bounds as locals and comparisons instead of abs(): the same floats, in the detector's
    # hottest loop (a backtest evaluates every minute of weeks).
    tiny, eps = _TINY, _EPS
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if d > tiny or d < -tiny else tiny)
    h = d
    for m in range(1, _MAX_ITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if d > tiny or d < -tiny else tiny)
        c = 1.0 + aa / c
        c = c if c > tiny or c < -tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if d > tiny or d < -tiny else tiny)
        c = 1.0 + aa / c
        c = c if c > tiny or c < -tiny else tiny
        delta = d * c
        h *= delta
        if -eps < delta - 1.0 < eps:
            break
    return h


def beta_inc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cf(b, a, 1.0 - x) / b


def gamma_inc_lower(a: float, x: float) -> float:
    """Regularised lower incomplete gamma P(a, x)."""
    if x <= 0.0:
        return 0.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(_MAX_ITER):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return min(1.0, math.exp(log_front) * total)
    # Upper tail by continued fraction, then complement: only reached when P is not small.
    b = x + 1.0 - a
    c, d = 1.0 / _TINY, 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = b + an / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return max(0.0, 1.0 - math.exp(log_front) * h)


def poisson_tail(k: float, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(mu); k may be fractional (reach-weighted sums)."""
    if k <= 0.0:
        return 1.0
    if mu <= 0.0:
        return 0.0
    return gamma_inc_lower(k, mu)


def nb_tail(k: float, mu: float, alpha: float) -> float:
    """P(X >= k) for a negative binomial with mean mu and variance mu + alpha * mu**2."""
    if alpha <= 1e-9:
        return poisson_tail(k, mu)
    if k <= 0.0:
        return 1.0
    if mu <= 0.0:
        return 0.0
    r = 1.0 / alpha
    return beta_inc(k, r, mu / (r + mu))


def nb_variance(mu: float, alpha: float) -> float:
    return mu + alpha * mu * mu


def upper_level(mu: float, alpha: float, p: float, start: int) -> int:
    """The smallest integer count >= start whose tail probability is below p."""
    if nb_tail(start, mu, alpha) < p:
        return start
    lo, step = start, max(1.0, math.sqrt(nb_variance(mu, alpha)))
    hi = start + math.ceil(step)
    while nb_tail(hi, mu, alpha) >= p:
        lo, step = hi, step * 2.0
        hi = lo + math.ceil(step)
    while hi - lo > 1:  # invariant: tail(lo) >= p > tail(hi)
        mid = (lo + hi) // 2
        if nb_tail(mid, mu, alpha) < p:
            hi = mid
        else:
            lo = mid
    return hi
