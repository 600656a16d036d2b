"""Negative-spike detection per (brand, scope) and the life of an incident.

For a scope, the count of negative mentions in the sliding window is compared with what the
baseline expects in a window of the same length. It fires only when the count reaches
`min_count`, the ratio reaches `min_ratio`, and the Poisson probability of seeing at least that
many given the baseline is below `p`. Everything is read from the store, so a restart changes
nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from monitor.config import BrandConfig, Config, SpikeSettings
from monitor.models import AlertKind, Clock, Incident, Severity, utcnow
from monitor.store import Store

log = logging.getLogger(__name__)

ScopeKind = Literal["brand", "topic", "channel"]
# Called inside the detection transaction to queue the notifications an incident change owes.
EnqueueAlerts = Callable[[Incident, AlertKind, timedelta, datetime], None]
# A scope with no negative history at all still expects a little, so the ratio stays finite.
MIN_EXPECTED = 0.05


@dataclass(frozen=True, slots=True)
class Scope:
    brand: str
    kind: ScopeKind
    value: str

    def __str__(self) -> str:
        return self.brand if self.kind == "brand" else f"{self.brand}/{self.kind}:{self.value}"


@dataclass(frozen=True, slots=True)
class Evaluation:
    scope: Scope
    at: datetime
    count: float
    expected: float
    ratio: float
    p_value: float
    firing: bool
    severity: Severity
    warming_up: bool


@dataclass(frozen=True, slots=True)
class Transition:
    """What a detection pass did to a scope's incident, and which notification it owes."""

    incident: Incident
    kind: AlertKind | None  # None: updated quietly


def poisson_tail(k: float, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), summed from k upward so tiny tails stay exact."""
    k = math.floor(k)
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    term = math.exp(k * math.log(lam) - lam - math.lgamma(k + 1))
    total, i = term, k
    while term > total * 1e-16 or i < lam:
        i += 1
        term *= lam / i
        total += term
        if i > k + 10_000:
            break
    return min(1.0, total)


def scopes_of(brand: BrandConfig) -> list[Scope]:
    scopes = [Scope(brand.name, "brand", brand.name)]
    if "topic" in brand.spike.scopes:
        scopes += [Scope(brand.name, "topic", t) for t in brand.topics]
    if "channel" in brand.spike.scopes:
        scopes += [Scope(brand.name, "channel", c) for c in brand.channels]
    return scopes


def _day_type(when: datetime) -> bool:
    return when.weekday() >= 5


def expected_count(
    store: Store, scope: Scope, spike: SpikeSettings, now: datetime
) -> tuple[float, bool]:
    """(negative mentions a window should hold, whether the scope is still warming up)."""
    window = spike.window
    weighted = spike.weight == "reach"
    first = store.first_mention_at(scope.brand)
    if first is None or now - first < spike.warmup:
        return spike.floor_rate * window.total_seconds() / 3600, True
    days = spike.baseline_days
    start = max(first, now - timedelta(days=days))
    history = now - window - start
    recent = store.negative_sum(scope.brand, scope.kind, scope.value, start, now - window, weighted)
    recent_expected = recent * window / history if history > timedelta(0) else 0.0
    if spike.mode == "recent":
        return max(recent_expected, MIN_EXPECTED), False
    by_day = store.negative_sums_by_day(
        scope.brand, scope.kind, scope.value, now, int(window.total_seconds()), days, weighted
    )

    def mean_over(days_back: list[int]) -> float:
        # The plain recent rate joins as one more observation, so a quiet hour is not expected
        # to be exactly zero just because it was zero on the few matching days.
        observations = [by_day.get(k, 0.0) for k in days_back] + [recent_expected]
        return sum(observations) / len(observations)

    usable = [k for k in range(1, days + 1) if now - timedelta(days=k) - window >= first]
    same_type = [k for k in usable if _day_type(now - timedelta(days=k)) == _day_type(now)]
    same_weekday = [k for k in usable if k % 7 == 0]
    expected = mean_over(same_type)
    if len(same_weekday) >= 2:
        # A weekly habit (complaints every Monday 9am) is diluted among five weekdays; with two
        # or more same weekdays of history, the higher of the two views is expected.
        expected = max(expected, mean_over(same_weekday))
    return max(expected, MIN_EXPECTED), False


def evaluate(store: Store, scope: Scope, spike: SpikeSettings, now: datetime) -> Evaluation:
    count = store.negative_sum(
        scope.brand,
        scope.kind,
        scope.value,
        now - spike.window,
        now + timedelta(seconds=1),
        spike.weight == "reach",
    )
    expected, warming = expected_count(store, scope, spike, now)
    ratio = count / expected
    p_value = poisson_tail(count, expected)
    firing = count >= spike.min_count and ratio >= spike.min_ratio and p_value < spike.p
    severity: Severity = "critical" if ratio >= spike.critical_ratio else "warning"
    return Evaluation(scope, now, count, expected, ratio, p_value, firing, severity, warming)


def transition(current: Incident | None, ev: Evaluation, spike: SpikeSettings) -> Transition | None:
    """The incident state machine. Pure: the caller persists the result and its message."""
    now = ev.at
    if current is None:
        if not ev.firing:
            return None
        opened = Incident(
            id=0,
            brand=ev.scope.brand,
            scope_kind=ev.scope.kind,
            scope_value=ev.scope.value,
            status="open",
            severity=ev.severity,
            opened_at=now,
            updated_at=now,
            last_fired_at=now,
            resolved_at=None,
            last_notified_at=now,
            notifications=1,
            count=ev.count,
            expected=ev.expected,
            ratio=ev.ratio,
            peak_ratio=ev.ratio,
            peak_count=ev.count,
        )
        return Transition(opened, "opened")
    updated = replace(
        current,
        updated_at=now,
        count=ev.count,
        expected=ev.expected,
        ratio=ev.ratio,
        peak_ratio=max(current.peak_ratio, ev.ratio),
        peak_count=max(current.peak_count, ev.count),
    )
    if ev.firing:
        updated = replace(updated, last_fired_at=now)
        if ev.severity == "critical" and current.severity == "warning":
            return Transition(_notified(replace(updated, severity="critical"), now), "escalated")
        if (
            current.acked_at is None
            and current.last_notified_at
            and now - current.last_notified_at >= spike.renotify_after
        ):
            return Transition(_notified(updated, now), "reminder")
        return Transition(updated, None)
    if now - current.last_fired_at >= spike.resolve_after:
        resolved = replace(updated, status="resolved", resolved_at=now)
        return Transition(_notified(resolved, now), "resolved")
    return Transition(updated, None)


def _notified(incident: Incident, now: datetime) -> Incident:
    return replace(incident, last_notified_at=now, notifications=incident.notifications + 1)


class Detector:
    """One detection pass over every scope of every brand; incidents and alerts in one commit."""

    def __init__(
        self, config: Config, store: Store, enqueue_alerts: EnqueueAlerts, *, clock: Clock = utcnow
    ) -> None:
        self.config = config
        self.store = store
        self.enqueue_alerts = enqueue_alerts
        self.clock = clock

    def run_once(self, brands: Collection[str] | None = None) -> list[Transition]:
        """One pass over every brand, or only over `brands`."""
        now = self.clock()
        changes = []
        for brand in self.config.brands:
            if brands is not None and brand.name not in brands:
                continue
            for scope in scopes_of(brand):
                try:
                    change = self._detect(brand, scope, now)
                except Exception:  # one scope's failure must not silence the others
                    log.exception("detect_failed scope=%s", scope)
                    continue
                if change is not None:
                    changes.append(change)
        return changes

    def _detect(self, brand: BrandConfig, scope: Scope, now: datetime) -> Transition | None:
        ev = evaluate(self.store, scope, brand.spike, now)
        with self.store.transaction():
            current = self.store.open_incident(scope.brand, scope.kind, scope.value)
            change = transition(current, ev, brand.spike)
            if change is None:
                return None
            incident = change.incident
            if current is None:
                incident = replace(incident, id=self.store.insert_incident(incident))
                change = Transition(incident, change.kind)
            else:
                self.store.save_incident(incident)
            if change.kind is not None:
                self.enqueue_alerts(incident, change.kind, brand.spike.window, now)
                log.info(
                    "incident_%s id=%d scope=%s count=%.1f expected=%.2f ratio=%.1f p=%.2g",
                    change.kind,
                    incident.id,
                    scope,
                    ev.count,
                    ev.expected,
                    ev.ratio,
                    ev.p_value,
                )
        return change
