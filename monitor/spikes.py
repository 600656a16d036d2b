"""Live negative-spike detection: per (brand, scope) counts from the store into the pure
detector (`monitor.alerting`), grouping into one event per brand, drivers, and persistence.

The backtest runs the same `detect_brand` over replayed counts, so what it reports is what this
detector would have done. Counts come from the per-minute aggregates (one indexed read per scope
and pass), never from rescanning mentions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.alerting import BucketCounts, Counts, DetectorSettings, Scope, step
from monitor.alerting.drivers import collapse_duplicates, drivers
from monitor.alerting.grouping import Decision, plan
from monitor.config import BrandConfig, Config, RouteConfig, SpikeSettings
from monitor.models import AlertKind, AlertMention, Clock, Incident, utcnow
from monitor.routing import teams_for
from monitor.store import Store

log = logging.getLogger(__name__)

# Called inside the detection transaction to queue the notifications an incident change owes.
EnqueueAlerts = Callable[[Incident, AlertKind, timedelta, datetime], None]
DRIVERS = 5
# Drivers compare the window's negative texts with at most this many of the baseline's.
BASELINE_TEXTS = 2000
# Near-duplicates are collapsed among at most this many of the window's most negative mentions.
EVIDENCE_POOL = 500


def detector_settings(spike: SpikeSettings) -> DetectorSettings:
    """A brand's spike settings are the detector's settings plus what the brand wraps round them."""
    return spike


def scopes_of(brand: BrandConfig) -> list[Scope]:
    scopes = [Scope(brand.name, "brand", brand.name)]
    if "topic" in brand.spike.scopes:
        scopes += [Scope(brand.name, "topic", t) for t in brand.topics]
    if "channel" in brand.spike.scopes:
        scopes += [Scope(brand.name, "channel", c) for c in brand.channels]
    return scopes


def history_span(settings: DetectorSettings) -> timedelta:
    """How far back one evaluation reads: the baseline days plus the recent level and the
    neighbouring windows the dispersion uses."""
    extra = max(timedelta(days=1), settings.level_span + 2 * settings.window)
    return max(timedelta(days=settings.baseline_days), settings.novelty_span) + extra


@dataclass(frozen=True, slots=True)
class ScopeState:
    """What one scope's pass needs: its counts, its open incident and its earlier ones."""

    scope: Scope
    counts: Counts
    current: Incident | None
    earlier: Sequence[Incident]


def same_teams(routes: Sequence[RouteConfig]) -> Callable[[Incident, Incident], bool]:
    return lambda a, b: teams_for(routes, a) == teams_for(routes, b)


def detect_brand(
    states: Sequence[ScopeState],
    now: datetime,
    settings: DetectorSettings,
    since: datetime | None,
    routes: Sequence[RouteConfig],
    group: bool,
    group_wait: timedelta = timedelta(0),
) -> list[Decision]:
    """One pass over a brand's scopes: step each, then group. Pure; the caller persists."""
    changes = []
    for state in states:
        # Cannot open: the opening level is never below min_count. Skipping saves a backtest
        # most of its evaluations of quiet topics and channels.
        quiet = state.counts(now - settings.window, now) < settings.min_count
        if state.current is None and quiet:
            continue
        ev, change = step(
            state.current, state.counts, now, settings, state.scope, state.earlier, since
        )
        changes.append((state.scope, ev, change, state.current))
    return plan(changes, same_teams(routes), group=group, group_wait=group_wait)


def incident_drivers(
    store: Store, scope: Scope, brand: BrandConfig, end: datetime, settings: DetectorSettings
) -> tuple[str, ...]:
    """The words most over-represented in the window's negative mentions against the
    baseline's (the brand's own terms left out)."""
    start = end - settings.window
    args = (scope.brand, scope.kind, scope.value)
    window = store.negative_texts(*args, start, end, EVIDENCE_POOL)
    baseline = store.negative_texts(
        *args, end - timedelta(days=settings.baseline_days), start, BASELINE_TEXTS
    )
    return tuple(term for term, _ in drivers(window, baseline, brand.terms, DRIVERS))


def alert_mentions(store: Store, incident: Incident, window: timedelta) -> tuple[AlertMention, ...]:
    """The five most negative distinct complaints of the incident's last elevated window, each
    with how many near-duplicates it stands for."""
    end = incident.last_fired_at + timedelta(seconds=1)
    evidence = store.negative_evidence(
        incident.brand,
        incident.scope_kind,
        incident.scope_value,
        incident.last_fired_at - window,
        end,
        limit=EVIDENCE_POOL,
    )
    return tuple(
        AlertMention(m.author, m.channel, m.text, m.url, m.compound, m.created_at, n)
        for m, n in collapse_duplicates(evidence, lambda m: m.text)[:5]
    )


def breakdown(store: Store, incident: Incident) -> tuple[tuple[str, float], ...]:
    """The topic and channel incidents shown inside a brand incident: ('outage topic', 12)."""
    if incident.scope_kind != "brand":
        return ()
    return tuple(
        (
            f"{i.scope_value} {i.scope_kind}" if i.scope_kind == "topic" else i.scope_value,
            i.peak_count,
        )
        for i in store.grouped_incidents(incident.id)
    )


class Detector:
    """One detection pass over every scope of every brand; incidents and alerts in one commit
    per brand."""

    def __init__(
        self, config: Config, store: Store, enqueue_alerts: EnqueueAlerts, *, clock: Clock = utcnow
    ) -> None:
        self.config = config
        self.store = store
        self.enqueue_alerts = enqueue_alerts
        self.clock = clock

    def run_once(self, brands: Collection[str] | None = None) -> list[Decision]:
        """One pass over every brand, or only over `brands`: the transitions it made."""
        now = self.clock()
        decisions: list[Decision] = []
        for brand in self.config.brands:
            if brands is not None and brand.name not in brands:
                continue
            try:
                decisions += self._detect(brand, now)
            except Exception:  # one brand's failure must not silence the others
                log.exception("detect_failed brand=%s", brand.name)
        return decisions

    def _detect(self, brand: BrandConfig, now: datetime) -> list[Decision]:
        settings = detector_settings(brand.spike)
        since = self.store.first_mention_at(brand.name)
        if since is None:
            return []
        start = now - history_span(settings)
        weighted = brand.spike.weight == "reach"
        states = []
        for scope in scopes_of(brand):
            key = (scope.brand, scope.kind, scope.value)
            times, values = self.store.negative_minutes(
                *key, start, now + timedelta(minutes=1), weighted
            )
            states.append(
                ScopeState(
                    scope,
                    BucketCounts(times, values),
                    self.store.open_incident(*key),
                    self.store.resolved_incidents(*key, start),
                )
            )
        alerting = self.config.alerting
        group = "brand" in alerting.group_by
        decisions = detect_brand(
            states, now, settings, since, self.config.routes, group, alerting.group_wait
        )
        with self.store.transaction():
            return self._persist(brand, decisions, settings, now)

    def _persist(
        self,
        brand: BrandConfig,
        decisions: list[Decision],
        settings: DetectorSettings,
        now: datetime,
    ) -> list[Decision]:
        def save(incident: Incident) -> Incident:
            if incident.id == 0:
                return replace(incident, id=self.store.insert_incident(incident))
            self.store.save_incident(incident)
            return incident

        saved = settle(
            decisions, lambda scope: incident_drivers(self.store, scope, brand, now, settings), save
        )
        for d in saved:
            if d.kind is not None:
                ev = d.evaluation
                log.info(
                    "incident_%s id=%d scope=%s count=%.1f expected=%.2f ratio=%.1f p=%.2g "
                    "notify=%s grouped_into=%s",
                    d.kind,
                    d.incident.id,
                    d.scope,
                    ev.count,
                    ev.expected,
                    ev.ratio,
                    ev.p_value,
                    d.notify,
                    d.incident.grouped_into,
                )
        # After every scope is saved, so a brand alert lists the scopes grouped into it.
        for d in saved:
            if d.notify and d.transition.kind is not None:
                self.enqueue_alerts(d.incident, d.transition.kind, settings.window, now)
        return saved


def settle(
    decisions: Sequence[Decision],
    drivers_of: Callable[[Scope], tuple[str, ...]],
    save: Callable[[Incident], Incident],
) -> list[Decision]:
    """Give each decision's incident its drivers (when it opens, escalates or grows) and its
    brand incident's id (when it joins it), and save it; the live detector saves to the store,
    the backtest to memory. Decisions come the whole brand's first, so its id is known in time."""
    saved: list[Decision] = []
    brand_id: int | None = None
    for d in decisions:
        incident, kind = d.transition.incident, d.transition.kind
        if kind in ("opened", "escalated", "updated"):
            incident = replace(incident, drivers=drivers_of(d.scope))
        if d.attach:
            incident = replace(incident, grouped_into=brand_id)
        incident = save(incident)
        if d.scope.kind == "brand" and incident.status == "open":
            brand_id = incident.id
        saved.append(replace(d, transition=replace(d.transition, incident=incident)))
    return saved
