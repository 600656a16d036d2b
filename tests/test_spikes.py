"""Spike detection and incidents on real SQLite files, real VADER, injected clocks.

The mentions are the Amazon review snippets of the VADER ground truth: most are about the Apex
DVD player, so "Apex" is the brand, and their human ratings pick the angry ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import BrandConfig, SpikeSettings
from monitor.models import Incident, Mention
from monitor.poller import BrandPipeline
from monitor.sentiment import Scorer
from monitor.spikes import Scope, evaluate, expected_count, poisson_tail, scopes_of, transition
from monitor.store import Store
from tests.helpers import fixture_path

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # a Wednesday afternoon
SCOPE = Scope("Apex", "brand", "Apex")


def snippets(low: float, high: float) -> list[str]:
    rows = (
        fixture_path("sentiment", "amazonReviewSnippets_GroundTruth.txt").read_text().splitlines()
    )
    return [f"Apex: {r.split(chr(9))[2]}" for r in rows if low <= float(r.split("\t")[1]) < high]


# The angriest reviews that VADER also reads as negative, and the happy ones it reads as positive.
ANGRY = [t for t in snippets(-4, -1.5) if Scorer().score(t).label == "negative"]
CALM = [t for t in snippets(0.5, 4) if Scorer().score(t).label == "positive"]


class Seeder:
    def __init__(self, store: Store, brand: BrandConfig) -> None:
        self.store = store
        self.pipeline = BrandPipeline(brand)
        self.ids = itertools.count()

    def add(
        self,
        texts: list[str],
        times: list[datetime],
        channel: str = "hackernews",
        reach: float | None = None,
    ) -> None:
        mentions = tuple(
            Mention(
                channel,
                str(next(self.ids)),
                "https://e.example",
                "someone",
                text,
                when,
                author_reach=reach,
            )
            for text, when in zip(texts, times, strict=True)
        )
        scored = self.pipeline.process(mentions)
        self.store.save_poll("Apex", channel, scored, None, 0, NOW)


def brand(**spike: object) -> BrandConfig:
    settings = SpikeSettings(**({"min_count": 5, "min_ratio": 3.0, "p": 0.001} | spike))  # type: ignore[arg-type]
    return BrandConfig(
        name="Apex",
        terms=("apex",),
        channels=("hackernews", "reddit"),
        topics={"quality": ("quality", "destroyed", "ruining")},
        spike=settings,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "m.db") as s:
        yield s


def quiet_history(seeder: Seeder, days: int = 14) -> None:
    """Ordinary talk: a calm mention every 2 hours and an angry one every 12 hours."""
    start = NOW - timedelta(days=days)
    calm_times = [start + timedelta(hours=2 * i) for i in range(days * 12)]
    seeder.add([CALM[i % len(CALM)] for i in range(len(calm_times))], calm_times)
    angry_times = [start + timedelta(hours=12 * i, minutes=7) for i in range(days * 2)]
    seeder.add([ANGRY[i % len(ANGRY)] for i in range(len(angry_times))], angry_times)


def burst(seeder: Seeder, n: int, end: datetime = NOW, **kwargs: object) -> None:
    times = [end - timedelta(minutes=50) + timedelta(minutes=50 * i / n) for i in range(n)]
    seeder.add([ANGRY[(i + 3) % len(ANGRY)] for i in range(n)], times, **kwargs)  # type: ignore[arg-type]


def test_poisson_tail_matches_closed_forms() -> None:
    assert poisson_tail(1, 1.0) == pytest.approx(1 - 2.718281828459045**-1)
    assert poisson_tail(0, 3.0) == 1.0
    assert poisson_tail(3, 2.0) == pytest.approx(1 - 5 * 2.718281828459045**-2)
    assert 0 < poisson_tail(60, 1.0) < 1e-80


def test_no_alert_below_min_count(store: Store) -> None:
    b = brand()
    seeder = Seeder(store, b)
    quiet_history(seeder)
    burst(seeder, 4)
    ev = evaluate(store, SCOPE, b.spike, NOW)
    assert ev.count == 4 and ev.ratio > 3 and not ev.firing


def test_fires_on_a_real_spike_of_angry_reviews(store: Store) -> None:
    b = brand()
    seeder = Seeder(store, b)
    quiet_history(seeder)
    burst(seeder, 12)
    ev = evaluate(store, SCOPE, b.spike, NOW)
    assert ev.count == 12
    assert ev.expected < 1.0
    assert ev.firing and ev.p_value < 0.001


def test_ordinary_day_does_not_fire(store: Store) -> None:
    b = brand()
    quiet_history(Seeder(store, b))
    assert not evaluate(store, SCOPE, b.spike, NOW).firing


def test_seasonal_baseline_expects_the_usual_monday_morning_complaints(store: Store) -> None:
    monday_9am = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    b = brand(baseline_days=21)
    seeder = Seeder(store, b)
    seeder.add(
        CALM * 3,
        [monday_9am - timedelta(days=21) + timedelta(hours=5 * i) for i in range(len(CALM) * 3)][
            : len(CALM) * 3
        ],
    )
    for week in (1, 2, 3):
        burst(seeder, 10, end=monday_9am - timedelta(weeks=week))
    burst(seeder, 10, end=monday_9am)
    assert not evaluate(store, SCOPE, b.spike, monday_9am).firing
    assert evaluate(store, SCOPE, replace(b.spike, mode="recent"), monday_9am).firing


def test_scope_warming_up_uses_the_floor_rate_instead_of_paging_on_first_mentions(
    store: Store,
) -> None:
    b = brand(floor_rate=2.0)
    seeder = Seeder(store, b)
    burst(seeder, 6)
    expected, warming = expected_count(store, SCOPE, b.spike, NOW)
    assert warming and expected == 2.0
    assert not evaluate(store, SCOPE, b.spike, NOW).firing


def test_reach_weight_counts_a_big_account_more(store: Store) -> None:
    b = brand(weight="reach")
    seeder = Seeder(store, b)
    burst(seeder, 2, reach=1_000_000)
    burst(seeder, 2, reach=0)
    assert evaluate(store, SCOPE, b.spike, NOW).count == pytest.approx(2 * 13.8155 + 2, rel=1e-3)


def test_topic_and_channel_scopes_are_detected_separately(store: Store) -> None:
    b = replace(brand(), spike=replace(brand().spike, scopes=("topic", "channel")))
    seeder = Seeder(store, b)
    quiet_history(seeder)
    burst(seeder, 8, channel="reddit")
    assert scopes_of(b) == [
        SCOPE,
        Scope("Apex", "topic", "quality"),
        Scope("Apex", "channel", "hackernews"),
        Scope("Apex", "channel", "reddit"),
    ]
    assert evaluate(store, Scope("Apex", "channel", "reddit"), b.spike, NOW).count == 8
    assert evaluate(store, Scope("Apex", "channel", "hackernews"), b.spike, NOW).count == 0


def test_baseline_survives_a_restart(store: Store, tmp_path: Path) -> None:
    b = brand()
    seeder = Seeder(store, b)
    quiet_history(seeder)
    before = expected_count(store, SCOPE, b.spike, NOW)
    with Store(tmp_path / "m.db") as reopened:
        assert expected_count(reopened, SCOPE, b.spike, NOW) == before


# -- the incident state machine ------------------------------------------------------------

SPIKE = SpikeSettings()


def ev_at(at: datetime, firing: bool, ratio: float = 5.0, severity: str = "warning") -> object:
    from monitor.spikes import Evaluation

    return Evaluation(SCOPE, at, 10.0, 2.0, ratio, 1e-6, firing, severity, False)  # type: ignore[arg-type]


def opened() -> Incident:
    change = transition(None, ev_at(NOW, True), SPIKE)  # type: ignore[arg-type]
    assert change is not None and change.kind == "opened"
    return replace(change.incident, id=1)


def test_quiet_scope_opens_nothing() -> None:
    assert transition(None, ev_at(NOW, False), SPIKE) is None  # type: ignore[arg-type]


def test_open_incident_is_updated_not_re_alerted_while_it_lasts() -> None:
    change = transition(opened(), ev_at(NOW + timedelta(minutes=5), True, ratio=9.0), SPIKE)  # type: ignore[arg-type]
    assert change is not None and change.kind is None
    assert change.incident.peak_ratio == 9.0


def test_hysteresis_a_short_dip_does_not_resolve_or_reopen() -> None:
    incident = opened()
    dip = transition(incident, ev_at(NOW + timedelta(minutes=20), False), SPIKE)  # type: ignore[arg-type]
    assert dip is not None and dip.kind is None and dip.incident.status == "open"
    back = transition(dip.incident, ev_at(NOW + timedelta(minutes=25), True), SPIKE)  # type: ignore[arg-type]
    assert back is not None and back.kind is None and back.incident.id == incident.id


def test_resolves_after_resolve_after_below_threshold() -> None:
    later = NOW + SPIKE.resolve_after
    change = transition(opened(), ev_at(later, False), SPIKE)  # type: ignore[arg-type]
    assert change is not None and change.kind == "resolved"
    assert change.incident.resolved_at == later


def test_escalates_when_severity_rises() -> None:
    change = transition(opened(), ev_at(NOW + timedelta(minutes=3), True, 12.0, "critical"), SPIKE)  # type: ignore[arg-type]
    assert change is not None and change.kind == "escalated"
    assert change.incident.severity == "critical"


def test_renotifies_only_after_renotify_after() -> None:
    incident = opened()
    early = transition(
        incident, ev_at(NOW + SPIKE.renotify_after - timedelta(minutes=1), True), SPIKE
    )  # type: ignore[arg-type]
    late = transition(incident, ev_at(NOW + SPIKE.renotify_after, True), SPIKE)  # type: ignore[arg-type]
    assert early is not None and early.kind is None
    assert late is not None and late.kind == "reminder"
