"""The incident state machine with hysteresis, driven through `step` as the live detector is."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from monitor.alerting import PAGES, DetectorSettings, Scope, Transition, step
from monitor.alerting.detector import Evaluation
from monitor.alerting.incidents import transition
from monitor.models import Incident
from tests.alerting.conftest import NOW, START, BucketSeries, synthetic

SCOPE = Scope("Acme", "brand", "Acme")
SETTINGS = DetectorSettings()
MINUTES_5 = timedelta(minutes=5)


def replay(
    series: BucketSeries, start: datetime, end: datetime, settings: DetectorSettings = SETTINGS
) -> list[Transition]:
    """Every transition from stepping the scope each 5 minutes over [start, end)."""
    current: Incident | None = None
    earlier: list[Incident] = []
    changes: list[Transition] = []
    t = start
    while t < end:
        _, change = step(current, series, t, settings, SCOPE, earlier, START)
        if change is not None:
            changes.append(change)
            if change.incident.status == "resolved":
                earlier.append(change.incident)
                current = None
            else:
                current = change.incident
        t += MINUTES_5
    return changes


def bursty_episode() -> BucketSeries:
    """Six hours of a complaint storm that comes in half-hour bursts with 90-minute lulls."""
    series = synthetic(60, seed=21, until=NOW + timedelta(hours=24))
    t = NOW
    while t < NOW + timedelta(hours=6):
        series = series.with_added(t, t + timedelta(minutes=30), 20)
        t += timedelta(hours=2)
    return series


def kinds(changes: list[Transition]) -> list[str]:
    return [c.kind for c in changes if c.kind is not None]


def test_bursty_episode_with_dips_is_one_incident() -> None:
    changes = replay(bursty_episode(), NOW, NOW + timedelta(hours=24))
    assert kinds(changes).count("opened") == 1
    assert [k for k in kinds(changes) if k in PAGES] == ["opened"]
    assert kinds(changes)[-1] == "resolved"


def test_without_hysteresis_the_same_episode_reopens() -> None:
    # Today's semantics: resolve as soon as the count stops firing for 30 minutes.
    eager = replace(SETTINGS, resolve_fraction=0.999, resolve_after=timedelta(minutes=30))
    changes = replay(bursty_episode(), NOW, NOW + timedelta(hours=24), eager)
    assert kinds(changes).count("opened") > 1


def test_resolves_only_after_staying_below_for_resolve_after() -> None:
    changes = replay(bursty_episode(), NOW, NOW + timedelta(hours=24))
    resolved = next(c.incident for c in changes if c.kind == "resolved")
    assert resolved.resolved_at is not None
    assert resolved.resolved_at - resolved.last_fired_at >= SETTINGS.resolve_after
    assert resolved.resolved_at - resolved.last_fired_at < SETTINGS.resolve_after + MINUTES_5 * 2


def evaluation(at: datetime, count: float, *, severity: str = "warning") -> Evaluation:
    """An evaluation with expected 100, opening at 150 and resolving at or below 125."""
    return Evaluation(
        at=at,
        count=count,
        expected=100.0,
        ratio=count / 100.0,
        p_value=0.5 if count < 150 else 1e-9,
        dispersion=0.02,
        open_level=150.0,
        resolve_level=125.0,
        firing=count >= 150,
        above_resolve=count > 125,
        severity="critical" if severity == "critical" else "warning",
        warming_up=False,
    )


def opened() -> Incident:
    change = transition(None, evaluation(NOW, 160), SETTINGS, SCOPE)
    assert change is not None and change.kind == "opened"
    return change.incident


def test_growth_updates_the_message_without_paging() -> None:
    change = transition(opened(), evaluation(NOW + MINUTES_5, 260), SETTINGS, SCOPE)
    assert change is not None
    assert change.kind == "updated"
    assert change.incident.peak_count == 260
    assert change.incident.notifications == 1


def test_crossing_into_critical_pages_again() -> None:
    later = evaluation(NOW + MINUTES_5, 400, severity="critical")
    change = transition(opened(), later, SETTINGS, SCOPE)
    assert change is not None
    assert change.kind == "escalated"
    assert change.incident.severity == "critical"


def test_a_dip_below_the_opening_level_but_above_resolve_keeps_it_elevated() -> None:
    incident = opened()
    later = NOW + 4 * SETTINGS.resolve_after
    change = transition(incident, evaluation(later, 130), SETTINGS, SCOPE)
    assert change is not None
    assert change.incident.status == "open"
    assert change.incident.last_fired_at == later


def test_still_elevated_after_renotify_after_sends_a_reminder() -> None:
    later = NOW + SETTINGS.renotify_after
    change = transition(opened(), evaluation(later, 140), SETTINGS, SCOPE)
    assert change is not None
    assert change.kind == "reminder"
    assert change.incident.notifications == 2


def test_quiet_scope_opens_nothing() -> None:
    assert transition(None, evaluation(NOW, 140), SETTINGS, SCOPE) is None


def test_an_acknowledged_incident_gets_no_reminder() -> None:
    acked = replace(opened(), acked_at=NOW + MINUTES_5)
    later = NOW + SETTINGS.renotify_after
    change = transition(acked, evaluation(later, 140), SETTINGS, SCOPE)
    assert change is not None
    assert change.kind is None and change.incident.notifications == 1


def test_an_acknowledged_incident_still_pages_when_it_turns_critical() -> None:
    acked = replace(opened(), acked_at=NOW + MINUTES_5)
    later = evaluation(NOW + SETTINGS.renotify_after, 400, severity="critical")
    change = transition(acked, later, SETTINGS, SCOPE)
    assert change is not None
    assert change.kind == "escalated"
