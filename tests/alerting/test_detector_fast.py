"""The detector's fast window sums decide exactly what one binary search per window decides.

`BucketCounts` answers runs of evenly spaced windows from a grid of prefix sums, and the detector
works out which baseline windows earlier incidents rule out by solving for them rather than
testing each; both are checked here against the direct way, step by step.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from monitor.alerting import DetectorSettings, Evaluation, Scope, Transition, step
from monitor.alerting.detector import Interval, _clean, _observed, _overlaps
from monitor.alerting.series import BucketCounts
from monitor.models import Incident
from tests.alerting.conftest import NOW, START, synthetic

MINUTE = timedelta(minutes=1)
SCOPE = Scope("Acme", "brand", "Acme")


class DirectCounts:
    """Every window on its own: two binary searches into the prefix sums, as before the grid."""

    def __init__(self, times: Sequence[datetime], values: Sequence[float]) -> None:
        self.times = list(times)
        self.prefix = BucketCounts(times, values).prefix

    def __call__(self, start: datetime, end: datetime) -> float:
        if end <= start:
            return 0.0
        hi = bisect.bisect_left(self.times, end)
        return self.prefix[hi] - self.prefix[bisect.bisect_left(self.times, start)]

    def shifted(
        self, start: datetime, end: datetime, step: timedelta, multiples: Sequence[int]
    ) -> list[float]:
        return [self(start - m * step, end - m * step) for m in multiples]


def scripted_minutes() -> tuple[list[datetime], list[float]]:
    """Four weeks of reach-weighted minutes with a daily curve, then a day with two bursts, a
    dip to silence between them and a slow climb: enough to open, hold and resolve incidents
    whose intervals then leave windows out of later baselines."""
    hours = synthetic(60, day_spread=0.1, seed=31, until=NOW + timedelta(days=2))
    rng = random.Random(8)
    times: list[datetime] = []
    values: list[float] = []
    for at, per_5m in zip(hours.times, hours.values, strict=True):
        for i in range(5):
            when = at + i * MINUTE
            extra = 0.0
            if NOW - timedelta(hours=2) <= when < NOW - timedelta(hours=1):
                extra = 6.0  # a burst
            elif NOW - timedelta(hours=1) <= when < NOW:
                continue  # a dip to nothing (an outage of the source, or a quiet hour)
            elif NOW + timedelta(hours=3) <= when < NOW + timedelta(hours=4, minutes=30):
                extra = 9.0  # the second burst
            elif NOW + timedelta(hours=10) <= when < NOW + timedelta(hours=20):
                extra = (when - NOW - timedelta(hours=10)) / timedelta(hours=3)  # a slow climb
            weight = per_5m / 5 * rng.uniform(0.5, 1.5) + extra
            if weight:
                times.append(when)
                values.append(weight)
    return times, values


def replay(
    counts: BucketCounts | DirectCounts,
    since: datetime | None,
    settings: DetectorSettings,
    start: datetime,
    steps: int,
) -> list[tuple[Evaluation, Transition | None]]:
    current: Incident | None = None
    earlier: list[Incident] = []
    seen = []
    for i in range(steps):
        ev, change = step(current, counts, start + i * 5 * MINUTE, settings, SCOPE, earlier, since)
        seen.append((ev, change))
        if change is not None:
            current = change.incident if change.incident.status == "open" else None
            if change.incident.status == "resolved":
                earlier.append(change.incident)
    return seen


def test_grid_and_binary_search_make_the_same_decisions_step_by_step() -> None:
    times, values = scripted_minutes()
    settings = DetectorSettings(resolve_after=timedelta(hours=2))
    start = NOW - timedelta(hours=3)
    fast = replay(BucketCounts(times, values, grid_after=0), START, settings, start, 36 * 12)
    direct = replay(DirectCounts(times, values), START, settings, start, 36 * 12)
    kinds = [change.kind for _, change in fast if change is not None and change.kind]
    assert kinds.count("opened") >= 2 and kinds.count("resolved") >= 2
    assert fast == direct


def test_a_young_scope_is_judged_the_same_way_on_the_grid() -> None:
    times, values = scripted_minutes()
    since = NOW - timedelta(hours=30)
    young = [(t, v) for t, v in zip(times, values, strict=True) if t >= since]
    fast_counts = BucketCounts([t for t, _ in young], [v for _, v in young], grid_after=0)
    direct_counts = DirectCounts([t for t, _ in young], [v for _, v in young])
    settings = DetectorSettings(window=timedelta(minutes=30))
    fast = replay(fast_counts, since, settings, since + timedelta(hours=11), 30 * 12)
    direct = replay(direct_counts, since, settings, since + timedelta(hours=11), 30 * 12)
    assert any(ev.warming_up for ev, _ in fast) and not all(ev.warming_up for ev, _ in fast)
    assert fast == direct


def test_windows_left_out_are_those_overlapping_an_incident_or_before_the_history() -> None:
    rng = random.Random(12)
    for _ in range(3000):
        end = NOW + timedelta(seconds=rng.randrange(3600))
        start = end - timedelta(minutes=rng.choice([1, 30, 60, 90]))
        step_ = rng.choice([timedelta(minutes=1), timedelta(minutes=60), timedelta(days=1)])
        excluded: list[Interval] = []
        for _ in range(rng.randrange(4)):
            s = end - rng.randrange(200) * step_ + timedelta(seconds=rng.randrange(-90, 90))
            excluded.append(
                (s, s + rng.randrange(5) * step_ + timedelta(seconds=rng.randrange(90)))
            )
        since = rng.choice([None, end - rng.randrange(200) * step_ - timedelta(seconds=30)])
        multiples = range(rng.randrange(3), rng.randrange(3, 200))
        expected = [
            m
            for m in multiples
            if (since is None or start - m * step_ >= since)
            and not _overlaps(start - m * step_, end - m * step_, excluded)
        ]
        observed = _observed(start, step_, multiples, since)
        assert list(_clean(start, end, step_, observed, excluded)) == expected
