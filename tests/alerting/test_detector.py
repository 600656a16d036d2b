"""The spike decision on count series: overdispersion, effect-size floor, robust baseline."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.alerting.detector import DetectorSettings, evaluate
from monitor.alerting.stats import nb_tail, poisson_tail
from tests.alerting.conftest import NOW, START, BucketSeries, synthetic

SETTINGS = DetectorSettings()
HOUR = timedelta(hours=1)


def test_big_brand_ordinary_daily_swings_do_not_page() -> None:
    # ~900 negative mentions an hour at peak, days varying by 15% as real volume does.
    series = synthetic(900, day_spread=0.15, seed=11, until=NOW + timedelta(days=2))
    checked = [NOW + i * timedelta(minutes=5) for i in range(2 * 24 * 12)]
    evaluations = [evaluate(series, t, SETTINGS, (), START) for t in checked]
    assert not any(ev.firing for ev in evaluations)
    # The same windows under a plain Poisson test would have paged: the spread is what saves us.
    assert any(poisson_tail(ev.count, ev.expected) < 1e-5 for ev in evaluations)


def test_high_volume_rise_fires_below_the_old_ratio_gate() -> None:
    series = synthetic(884, day_spread=0.1, seed=3)
    base = evaluate(series, NOW, SETTINGS, (), START)
    spiked = series.with_added(NOW - HOUR, NOW, (2365 - base.count) / 12)
    ev = evaluate(spiked, NOW, SETTINGS, (), START)
    assert round(ev.count) == 2365
    assert 2.2 < ev.ratio < 3.0  # today's min_ratio of 3 would never fire
    assert ev.firing


def flat(_: object) -> float:
    return 1.0


def test_low_volume_dozen_against_three_and_a_half_does_not_page() -> None:
    series = synthetic(3.5, seed=5, shape=flat)
    base = evaluate(series, NOW, SETTINGS, (), START)
    spiked = series.with_added(NOW - HOUR, NOW, (12 - base.count) / 12)
    ev = evaluate(spiked, NOW, SETTINGS, (), START)
    assert round(ev.count) == 12
    assert 2.5 < ev.expected < 5.0
    assert poisson_tail(12, ev.expected) < 0.001  # today's detector pages on this
    assert not ev.firing


def test_low_volume_fires_on_a_real_burst() -> None:
    series = synthetic(3.5, seed=5, shape=flat)
    spiked = series.with_added(NOW - HOUR, NOW, 30 / 12)
    assert evaluate(spiked, NOW, SETTINGS, (), START).firing


def test_earlier_incident_today_does_not_raise_the_recent_level() -> None:
    series = synthetic(100, seed=9).with_added(NOW - 5 * HOUR, NOW - 3 * HOUR, 40)
    incident = (NOW - 5 * HOUR, NOW - 3 * HOUR)
    polluted = evaluate(series, NOW, SETTINGS, (), START)
    clean = evaluate(series, NOW, SETTINGS, [incident], START)
    assert clean.expected < 0.8 * polluted.expected
    assert abs(clean.expected - clean.count) < 0.2 * clean.count


def test_incidents_on_most_baseline_days_are_left_out() -> None:
    series = synthetic(100, seed=9)
    spiked_days = [d for d in range(1, 29) if d % 7 not in (4, 5)][:12]  # 12 of the weekdays
    incidents = []
    for d in spiked_days:
        day = timedelta(days=d)
        series = series.with_added(NOW - day - 2 * HOUR, NOW - day + HOUR, 40)
        incidents.append((NOW - day - 2 * HOUR, NOW - day + HOUR))
    polluted = evaluate(series, NOW, SETTINGS, (), START)
    clean = evaluate(series, NOW, SETTINGS, incidents, START)
    assert clean.expected < 0.5 * polluted.expected
    assert abs(clean.expected - clean.count) < 0.2 * clean.count


def test_days_before_history_began_are_not_read_as_silence() -> None:
    series = synthetic(200, seed=4)
    since = NOW - timedelta(days=5)
    recent = BucketSeries(
        START, [v if t >= since else 0.0 for t, v in zip(series.times, series.values, strict=True)]
    )
    ev = evaluate(recent, NOW, SETTINGS, (), since)
    assert not ev.firing
    assert abs(ev.expected - ev.count) < 0.3 * ev.count


def test_warming_up_never_fires() -> None:
    series = synthetic(50, seed=2).with_added(NOW - HOUR, NOW, 100)
    ev = evaluate(series, NOW, SETTINGS, (), NOW - timedelta(hours=6))
    assert ev.warming_up
    assert not ev.firing


def test_resolve_level_lies_between_expected_and_open_level() -> None:
    ev = evaluate(synthetic(300, seed=8), NOW, SETTINGS, (), START)
    assert ev.expected < ev.resolve_level < ev.open_level


def test_negative_binomial_tail_matches_summed_probabilities() -> None:
    # P(X >= 30) for mean 10, dispersion 0.5, against the pmf summed term by term.
    r, mu = 2.0, 10.0
    p = r / (r + mu)

    def pmf(k: int) -> float:
        return math.exp(
            math.lgamma(k + r)
            - math.lgamma(r)
            - math.lgamma(k + 1)
            + r * math.log(p)
            + k * math.log1p(-p)
        )

    assert abs(nb_tail(30, mu, 0.5) - sum(pmf(k) for k in range(30, 2000))) < 1e-12


def drifting_bursts(series: BucketSeries, until: datetime, per_bucket: float) -> BucketSeries:
    """A half-hour burst every 8 h 20 min: three a day, an hour later each day."""
    t = START
    while t < until:
        series = series.with_added(t, t + timedelta(minutes=30), per_bucket)
        t += timedelta(hours=8, minutes=20)
    return series


def test_a_burst_the_scope_shows_several_times_a_day_is_not_news() -> None:
    series = drifting_bursts(synthetic(20, seed=12, shape=flat), NOW, 50)
    at = NOW - timedelta(minutes=5)
    while series(at - HOUR, at) < 100:  # the last burst in full view
        at -= timedelta(minutes=5)
    assert not evaluate(series, at, SETTINGS, (), START).firing
    without_novelty = replace(SETTINGS, novelty_quantile=0.0)
    assert evaluate(series, at, without_novelty, (), START).firing


def test_incidents_that_recur_every_day_become_the_baseline() -> None:
    series = synthetic(50, seed=13)
    incidents = []
    for d in range(29):
        day = timedelta(days=d)
        series = series.with_added(NOW - day - HOUR, NOW - day, 15)
        incidents.append((NOW - day - HOUR, NOW - day))
    ev = evaluate(series, NOW, SETTINGS, incidents, START)
    assert not ev.firing
    assert abs(ev.expected - ev.count) < 0.25 * ev.count


def test_young_scope_does_not_page_on_its_own_daily_peak() -> None:
    series = synthetic(300, seed=14)
    ev = evaluate(series, NOW, SETTINGS, (), NOW - timedelta(hours=30))
    assert not ev.warming_up
    assert ev.samples == 0  # judged on its own past windows, no seasonal days yet
    assert not ev.firing


def test_young_scope_fires_on_a_burst_far_above_its_short_past() -> None:
    series = synthetic(300, seed=14).with_added(NOW - HOUR, NOW, 100)
    assert evaluate(series, NOW, SETTINGS, (), NOW - timedelta(hours=30)).firing
