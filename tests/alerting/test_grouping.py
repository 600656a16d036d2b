"""Grouping, pure: a scope that joins or grows inside its brand's paged incident makes the brand's
page an "updated" edit; nothing else is paged for it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.alerting.detector import Evaluation
from monitor.alerting.grouping import Decision, plan
from monitor.alerting.incidents import Scope, Transition, transition
from monitor.config import SpikeSettings
from monitor.models import Incident

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
SETTINGS = SpikeSettings()
BRAND = Scope("Acme", "brand", "Acme")
TOPIC = Scope("Acme", "topic", "outage")


def evaluation(at: datetime, count: float) -> Evaluation:
    """Expected 10, opening at 15, resolving at or below 12."""
    return Evaluation(
        at=at,
        count=count,
        expected=10.0,
        ratio=count / 10.0,
        p_value=1e-9 if count >= 15 else 0.5,
        dispersion=0.02,
        open_level=15.0,
        resolve_level=12.0,
        firing=count >= 15,
        above_resolve=count > 12,
        severity="warning",
        warming_up=False,
    )


def step(
    scope: Scope, current: Incident | None, count: float, at: datetime = LATER
) -> tuple[Scope, Evaluation, Transition | None, Incident | None]:
    ev = evaluation(at, count)
    return scope, ev, transition(current, ev, SETTINGS, scope), current


def paged_brand() -> Incident:
    change = transition(None, evaluation(NOW, 40), SETTINGS, BRAND)
    assert change is not None and change.kind == "opened"
    return replace(change.incident, id=1)


def decide(
    *changes: tuple[Scope, Evaluation, Transition | None, Incident | None],
) -> list[Decision]:
    return plan(list(changes), lambda a, b: True)


def by_scope(decisions: list[Decision]) -> dict[str, Decision]:
    return {d.scope.kind: d for d in decisions}


def test_a_topic_joining_a_paged_brand_incident_turns_the_brand_pass_into_an_update() -> None:
    decided = by_scope(decide(step(BRAND, paged_brand(), 42), step(TOPIC, None, 20)))
    assert (decided["brand"].kind, decided["brand"].notify) == ("updated", True)
    assert decided["topic"].attach and not decided["topic"].notify
    assert decided["brand"].incident.notifications == 1  # an edit, not a page


def test_a_topic_opening_with_its_brand_adds_nothing_to_the_brand_page() -> None:
    decided = by_scope(decide(step(BRAND, None, 40, NOW), step(TOPIC, None, 20, NOW)))
    assert (decided["brand"].kind, decided["brand"].notify) == ("opened", True)
    assert decided["topic"].attach


def test_a_grouped_topic_growing_inside_the_brand_incident_updates_the_brand_page() -> None:
    topic = transition(None, evaluation(NOW, 20), SETTINGS, TOPIC)
    assert topic is not None
    grouped = replace(topic.incident, id=2, grouped_into=1, notifications=0)
    decided = by_scope(decide(step(BRAND, paged_brand(), 42), step(TOPIC, grouped, 40)))
    assert (decided["topic"].kind, decided["topic"].notify) == ("updated", False)
    assert (decided["brand"].kind, decided["brand"].notify) == ("updated", True)


def test_a_quiet_pass_of_a_paged_brand_incident_sends_nothing() -> None:
    [brand] = decide(step(BRAND, paged_brand(), 42))
    assert (brand.kind, brand.notify) == (None, False)


def test_growth_of_the_brand_incident_itself_is_sent_as_an_update() -> None:
    [brand] = decide(step(BRAND, paged_brand(), 80))
    assert (brand.kind, brand.notify) == ("updated", True)
