"""Count series for the pure detector: per-5-minute buckets behind the `counts(start, end)` API."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from monitor.alerting.series import BucketCounts

BUCKET = timedelta(minutes=5)
# A Wednesday at 15:00, with four weeks of history before it.
NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
START = NOW - timedelta(days=28, hours=12)


class BucketSeries(BucketCounts):
    """Negative-mention counts per 5-minute bucket from `start`."""

    def __init__(self, start: datetime, values: list[float]) -> None:
        self.start = start
        self.values = values
        super().__init__([start + i * BUCKET for i in range(len(values))], values)

    def with_added(self, start: datetime, end: datetime, per_bucket: float) -> BucketSeries:
        """A copy with extra mentions spread evenly over the buckets in [start, end)."""
        values = [
            v + per_bucket if start <= t < end else v
            for t, v in zip(self.times, self.values, strict=True)
        ]
        return BucketSeries(self.start, values)


def poisson(rng: random.Random, lam: float) -> int:
    if lam > 50:  # normal approximation: exact enough and fast for big buckets
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def daily_curve(t: datetime) -> float:
    """Relative activity by hour of day: quiet at night, a peak in the afternoon (UTC)."""
    hour = t.hour + t.minute / 60
    return 0.35 + 0.65 * math.exp(-(((hour - 15) / 5) ** 2))


def synthetic(
    per_hour: float,
    *,
    day_spread: float = 0.0,
    seed: int = 7,
    until: datetime = NOW,
    shape: Callable[[datetime], float] = daily_curve,
) -> BucketSeries:
    """Counts with a daily curve scaled so the 15:00 hour averages `per_hour`, each day's level
    drawn around 1 with relative spread `day_spread` (real volume swings day to day), and
    Poisson noise on top. Seeded, so every run sees the same series."""
    rng = random.Random(seed)
    values: list[float] = []
    t, level, day = START, 1.0, None
    while t < until:
        if t.date() != day:
            day = t.date()
            level = max(0.2, rng.gauss(1.0, day_spread)) if day_spread else 1.0
        lam = per_hour / 12 * shape(t) / shape(NOW - timedelta(minutes=30)) * level
        values.append(float(poisson(rng, lam)))
        t += BUCKET
    return BucketSeries(START, values)
