"""Is this window's negative count a spike? One pure evaluation from plain data.

The expectation is seasonal and robust: the trimmed mean of the same window on earlier days of the
same kind (weekday or weekend), scaled by how busy the last hours were against what those same days
predicted for them. Windows inside earlier incidents are left out, so a past storm does not raise
the bar for the next one. The spread of those same days sets a negative binomial's dispersion, so a
big brand's ordinary daily swings are not surprising; an effect-size floor that shrinks with volume
keeps a dozen mentions against 3.5 expected from paging while 2,365 against 884 does.

The caller supplies `Counts` (negative mentions, or their reach weights, created in [start, end))
so the live detector, the backtest and the bench all read prefix sums of per-minute aggregates.
Windows that repeat at a fixed spacing (the same hour on each baseline day, the week's hours back
to back) are asked for as one run, and which of them earlier incidents or the scope's first
mention rule out is worked out in integer arithmetic rather than window by window: a backtest
evaluates every minute of eight weeks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from monitor.alerting.series import Counts as Counts  # re-exported: incidents, spikes
from monitor.alerting.series import micros
from monitor.alerting.stats import nb_tail, upper_level

Interval = tuple[datetime, datetime]
Severity = Literal["warning", "critical"]

# For a normal sample, the mean square of the 80% smallest squared residuals is 0.4377 of the
# variance; dividing by it keeps the trimmed estimate unbiased while a past spike cannot inflate it.
_TRIMMED_SQUARE_BIAS = 0.4377
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectorSettings:
    window: timedelta = timedelta(minutes=60)
    baseline_days: int = 28
    min_count: int = 5
    # Significance: the negative binomial tail of the count given the expectation must be below p.
    p: float = 5e-5
    # Effect-size floor: the ratio must reach 1 + min_lift + lift_scale / sqrt(expected), which is
    # a large factor for a handful of mentions and shrinks toward 1 + min_lift for thousands.
    min_lift: float = 0.5
    lift_scale: float = 4.0
    # A scope that is usually silent still expects this much per window, so 5 mentions are not a
    # spike just because the baseline rounds to zero.
    min_expected: float = 1.0
    # Real mention counts never vary less than this (relative variance at high volume).
    min_dispersion: float = 0.02
    # The recent level: the hours before the window against what the baseline days predicted.
    level_span: timedelta = timedelta(hours=6)
    level_weight: float = 0.5
    level_clamp: float = 2.0
    min_samples: int = 3
    # Novelty: the count must also exceed this quantile of every window (any hour) over the last
    # novelty_span, so a burst the scope already shows several times a week is not news.
    novelty_quantile: float = 0.98
    novelty_span: timedelta = timedelta(days=7)
    # Until min_samples days exist, a scope with this much history is judged on its own past
    # windows (no daily curve yet); with less it is warming up and never fires.
    min_history: timedelta = timedelta(hours=12)
    # Hysteresis: an incident stays open while the count is above expected + this fraction of the
    # way to the opening level, and resolves after it stayed at or below it for resolve_after.
    resolve_fraction: float = 0.5
    resolve_after: timedelta = timedelta(hours=12)
    renotify_after: timedelta = timedelta(hours=12)
    # Critical when the excess over expected is this many times the excess needed to open.
    critical_excess: float = 4.0
    # The open incident's message is refreshed (not a page) when its peak grows by this factor.
    update_growth: float = 1.5

    def __post_init__(self) -> None:
        if not 0 < self.p < 1:
            raise ValueError("p must be between 0 and 1 (for example 1e-5)")
        if self.baseline_days < 1 or self.min_count < 1 or self.min_samples < 1:
            raise ValueError("baseline_days, min_count and min_samples must be at least 1")
        if not 0 <= self.resolve_fraction < 1:
            raise ValueError("resolve_fraction must be in [0, 1)")
        if self.critical_excess < 1 or self.level_clamp < 1:
            raise ValueError("critical_excess and level_clamp must be at least 1")


@dataclass(frozen=True, slots=True)
class Evaluation:
    at: datetime
    count: float
    expected: float
    ratio: float
    p_value: float
    dispersion: float
    open_level: float  # the smallest count that would fire now
    resolve_level: float  # an open incident stays open while count > this
    firing: bool
    above_resolve: bool
    severity: Severity
    warming_up: bool
    samples: int = field(default=0)


def _trimmed_mean(values: Sequence[float], trim: float = 0.2) -> float:
    ordered = sorted(values)
    cut = int(len(ordered) * trim)
    kept = ordered[cut : len(ordered) - cut] or ordered
    return sum(kept) / len(kept)


def _overlaps(start: datetime, end: datetime, excluded: Sequence[Interval]) -> bool:
    return any(s < end and start < e for s, e in excluded)


def _is_weekend(when: datetime) -> bool:
    return when.weekday() >= 5


def _observed(start: datetime, step: timedelta, multiples: range, since: datetime | None) -> range:
    """The multiples m (counting up by one) whose copy of the window starting at
    `start - m * step` begins at or after `since`."""
    if since is None:
        return multiples
    return range(multiples.start, min(multiples.stop, micros(start - since) // micros(step) + 1))


def _clean(
    start: datetime,
    end: datetime,
    step: timedelta,
    multiples: range,
    excluded: Sequence[Interval],
) -> Sequence[int]:
    """The multiples m (counting up by one) whose copy [start - m * step, end - m * step) of the
    window overlaps no excluded interval (as `_overlaps` says). Still a range when none does,
    so the counts can answer it by slicing."""
    if not excluded or not multiples:
        return multiples
    banned: set[int] = set()
    step_us = micros(step)
    for s, e in excluded:
        # s < end - m * step and start - m * step < e, solved for the integer m.
        first, final = micros(start - e) // step_us + 1, (micros(end - s) - 1) // step_us
        banned.update(range(max(first, multiples.start), min(final + 1, multiples.stop)))
    return [m for m in multiples if m not in banned] if banned else multiples


def _baseline_days(
    now: datetime,
    span_start: datetime,
    settings: DetectorSettings,
    excluded: Sequence[Interval],
    since: datetime | None,
) -> Sequence[int]:
    """Days back whose copy of [span_start, now) was observed and is clean, preferring the same
    kind of day.

    When earlier incidents cover most observed days, they are the scope's normal (a daily burst
    that paged while it was new) and stay in: otherwise the baseline could never learn it.
    """
    observed = _observed(span_start, _DAY, range(1, settings.baseline_days + 1), since)
    clean = _clean(span_start, now, _DAY, observed, excluded)
    if len(clean) < max(settings.min_samples, len(observed) / 2):
        clean = observed
    # k days back is weekday (today - k) mod 7, Monday being 0.
    today, weekend = now.weekday(), _is_weekend(now)
    same = [k for k in clean if ((today - k) % 7 >= 5) == weekend]
    return same if len(same) >= settings.min_samples else clean


def _dispersion(
    counts: Counts, now: datetime, days: Sequence[int], settings: DetectorSettings, centre: float
) -> float:
    """Relative extra variance of the window count, from the baseline days' residuals.

    Residuals come from the window itself and its two neighbours on each baseline day, each
    against its own trimmed mean, so the estimate rests on three times as many points.
    """
    w = settings.window
    residuals: list[float] = []
    for offset in (-w, timedelta(0), w):
        # Only copies that ended before the window began: k days >= offset + w (every day
        # back when the window and its neighbour fit in a day).
        ended = days if offset + w <= _DAY else [k for k in days if k * _DAY >= offset + w]
        sample = counts.shifted(now + offset - w, now + offset, _DAY, ended)
        if sample:
            mean = _trimmed_mean(sample)
            residuals += [(x - mean) ** 2 for x in sample]
    if len(residuals) < 3:
        return settings.min_dispersion
    variance = _trimmed_variance(residuals, len(days))
    return max(settings.min_dispersion, (variance - centre) / (centre * centre))


@dataclass(frozen=True, slots=True)
class Baseline:
    expected: float
    dispersion: float
    days: int  # baseline days behind a seasonal expectation; 0 while the scope is young
    warming_up: bool


def _young_baseline(
    counts: Counts,
    now: datetime,
    settings: DetectorSettings,
    excluded: Sequence[Interval],
    since: datetime | None,
) -> Baseline:
    """Before a scope has `min_samples` days, every earlier window of its short life is the
    baseline: no daily curve yet, so the day's own swing widens the dispersion instead."""
    w = settings.window
    # The windows ending j windows before now, back to back over two days.
    ends = _observed(now - w, w, range(1, int(timedelta(days=2) / w) + 1), since)
    usable = _clean(now - w, now, w, ends, excluded)
    if len(usable) * w < settings.min_history:
        return Baseline(settings.min_expected, settings.min_dispersion, 0, True)
    sample = counts.shifted(now - w, now, w, usable)
    expected = max(settings.min_expected, _trimmed_mean(sample))
    variance = _trimmed_variance([(x - expected) ** 2 for x in sample], len(sample))
    alpha = max(settings.min_dispersion, (variance - expected) / (expected * expected))
    return Baseline(expected, alpha, 0, False)


def _trimmed_variance(squares: list[float], n: int) -> float:
    squares = sorted(squares)
    kept = squares[: max(1, int(len(squares) * 0.8))]
    # The expectation itself is estimated from n points; its error adds to the spread.
    return sum(kept) / len(kept) / _TRIMMED_SQUARE_BIAS * (1.0 + 1.0 / n)


def expected_count(
    counts: Counts,
    now: datetime,
    settings: DetectorSettings,
    excluded: Sequence[Interval],
    since: datetime | None = None,
) -> Baseline:
    """What the window ending at now should hold, and how widely it may vary."""
    w = settings.window
    start = now - w
    days = _baseline_days(now, start - settings.level_span, settings, excluded, since)
    if len(days) < settings.min_samples:
        return _young_baseline(counts, now, settings, excluded, since)
    seasonal = _trimmed_mean(counts.shifted(start, now, _DAY, days))
    level = 1.0
    recent_start = start - settings.level_span
    if not _overlaps(recent_start, start, excluded) and (since is None or recent_start >= since):
        recent = counts(recent_start, start)
        predicted = _trimmed_mean(counts.shifted(recent_start, start, _DAY, days))
        # A few mentions of prior on both sides keep a quiet scope's level near 1.
        prior = settings.min_expected * settings.level_span / w
        raw = (recent + prior) / (predicted + prior)
        level = min(settings.level_clamp, max(1.0 / settings.level_clamp, raw))
    expected = max(settings.min_expected, seasonal * level**settings.level_weight)
    alpha = _dispersion(counts, now, days, settings, max(expected, seasonal))
    return Baseline(expected, alpha, len(days), False)


def usual_high(
    counts: Counts,
    now: datetime,
    settings: DetectorSettings,
    excluded: Sequence[Interval],
    since: datetime | None,
) -> float:
    """The novelty_quantile of the scope's window counts, back to back, over novelty_span."""
    w = settings.window
    # The windows ending j windows before now, back to back over the span.
    ends = _observed(now - w, w, range(1, int(settings.novelty_span / w) + 1), since)
    sample = sorted(counts.shifted(now - w, now, w, _clean(now - w, now, w, ends, excluded)))
    if not sample or settings.novelty_quantile <= 0:
        return 0.0
    return sample[min(len(sample) - 1, int(settings.novelty_quantile * len(sample)))]


def required_ratio(expected: float, settings: DetectorSettings) -> float:
    return 1.0 + settings.min_lift + settings.lift_scale / math.sqrt(expected)


def evaluate(
    counts: Counts,
    now: datetime,
    settings: DetectorSettings,
    excluded: Sequence[Interval] = (),
    since: datetime | None = None,
) -> Evaluation:
    """Evaluate the window ending at `now`.

    `excluded` are earlier incidents' periods, kept out of the baseline; `since` is when the
    scope's history begins (days before it hold no data, not zero mentions).
    """
    count = counts(now - settings.window, now)
    horizon = now - timedelta(days=settings.baseline_days) - settings.window - settings.level_span
    relevant = [(s, e) for s, e in excluded if e > horizon]
    baseline = expected_count(counts, now, settings, relevant, since)
    expected, alpha, warming = baseline.expected, baseline.dispersion, baseline.warming_up
    floor = max(
        float(settings.min_count),
        expected * required_ratio(expected, settings),
        math.floor(usual_high(counts, now, settings, relevant, since)) + 1.0,
    )
    open_level = float(upper_level(expected, alpha, settings.p, math.ceil(floor)))
    resolve_level = expected + settings.resolve_fraction * (open_level - expected)
    critical_level = expected + settings.critical_excess * (open_level - expected)
    firing = not warming and count >= open_level
    return Evaluation(
        at=now,
        count=count,
        expected=expected,
        ratio=count / expected,
        p_value=nb_tail(count, expected, alpha),
        dispersion=alpha,
        open_level=open_level,
        resolve_level=resolve_level,
        firing=firing,
        above_resolve=not warming and count > resolve_level,
        severity="critical" if count >= critical_level else "warning",
        warming_up=warming,
        samples=baseline.days,
    )
