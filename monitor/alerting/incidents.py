"""The life of an incident with hysteresis, and the step the live detector and the bench share.

Pure: nothing here reads or writes the store. `step` takes the scope's open incident (or None),
its counts, the clock's now and the earlier incidents' intervals, and returns what changed; the
caller persists the incident and queues the notification the transition names.

Semantics, chosen so one bursty episode is one incident and one page:
- open when the count reaches the opening level (significant and large enough);
- stay open while the count is above the lower resolve level; `last_fired_at` records the last
  time it was, and the incident resolves once it has stayed at or below for `resolve_after`;
- growth refreshes the open incident's message ("updated", no page); only crossing into
  critical pages again ("escalated"); a still-elevated incident is re-sent after
  `renotify_after` ("reminder").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from monitor.alerting.detector import Counts, DetectorSettings, Evaluation, Interval, evaluate
from monitor.models import Incident

TransitionKind = Literal["opened", "updated", "escalated", "reminder", "resolved"]
# The transitions that ring someone's phone; "updated" edits the message already sent.
PAGES: frozenset[TransitionKind] = frozenset({"opened", "escalated"})


@dataclass(frozen=True, slots=True)
class Scope:
    brand: str
    kind: Literal["brand", "topic", "channel"]
    value: str

    def __str__(self) -> str:
        return self.brand if self.kind == "brand" else f"{self.brand}/{self.kind}:{self.value}"


@dataclass(frozen=True, slots=True)
class Transition:
    incident: Incident
    kind: TransitionKind | None  # None: the incident's figures changed quietly


def transition(
    current: Incident | None, ev: Evaluation, settings: DetectorSettings, scope: Scope
) -> Transition | None:
    now = ev.at
    if current is None:
        if not ev.firing:
            return None
        opened = Incident(
            id=0,
            brand=scope.brand,
            scope_kind=scope.kind,
            scope_value=scope.value,
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
        last_fired_at=now if ev.above_resolve else current.last_fired_at,
    )
    if not ev.above_resolve:
        if now - current.last_fired_at >= settings.resolve_after:
            resolved = replace(updated, status="resolved", resolved_at=now)
            return Transition(_notified(resolved, now), "resolved")
        return Transition(updated, None)
    if ev.firing and ev.severity == "critical" and current.severity == "warning":
        return Transition(_notified(replace(updated, severity="critical"), now), "escalated")
    # An acknowledged incident has someone on it: no reminders (escalation above still pages).
    if (
        current.acked_at is None
        and current.last_notified_at
        and now - current.last_notified_at >= settings.renotify_after
    ):
        return Transition(_notified(updated, now), "reminder")
    if ev.count >= settings.update_growth * current.peak_count:
        return Transition(updated, "updated")
    return Transition(updated, None)


def _notified(incident: Incident, now: datetime) -> Incident:
    return replace(incident, last_notified_at=now, notifications=incident.notifications + 1)


def incident_intervals(
    incidents: Iterable[Incident], settings: DetectorSettings, now: datetime
) -> list[Interval]:
    """The periods to keep out of baselines: each incident from one window before it opened
    (the window that fired was already elevated) until the last time it was above its resolve
    level (the quiet wait before resolving is ordinary traffic), or until now while open."""
    return [
        (i.opened_at - settings.window, now if i.status == "open" else i.last_fired_at)
        for i in incidents
    ]


def step(
    current: Incident | None,
    counts: Counts,
    now: datetime,
    settings: DetectorSettings,
    scope: Scope,
    earlier: Iterable[Incident] = (),
    since: datetime | None = None,
) -> tuple[Evaluation, Transition | None]:
    """One detection pass for one scope: evaluate the window ending at now, then transition."""
    past = [*earlier, *([current] if current is not None else [])]
    ev = evaluate(counts, now, settings, incident_intervals(past, settings, now), since)
    return ev, transition(current, ev, settings, scope)
