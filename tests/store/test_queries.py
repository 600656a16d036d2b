"""The query groups beyond mentions (incidents, outbox, digests, silences, heartbeat, spike
evidence) give the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.models import Incident, Mention, Score, Scored, Sentiment
from monitor.store import DigestScope, Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def scored(
    native_id: str, label: str, compound: float, channel: str = "hackernews", **kw: object
) -> Scored:
    topics = kw.pop("topics", ())
    mention = Mention(
        channel,
        native_id,
        f"https://e.example/{native_id}",
        str(kw.pop("author", "bob")),
        f"acme text {native_id}",
        NOW - timedelta(minutes=int(kw.pop("minutes", 5))),
        kw.pop("reach", None),  # type: ignore[arg-type]
    )
    score = Score(compound, 0.0, 0.5, 0.5, label)  # type: ignore[arg-type]
    return Scored(mention, "Acme", score, topics)  # type: ignore[arg-type]


def incident(kind: str = "brand", value: str = "Acme") -> Incident:
    return Incident(
        id=0,
        brand="Acme",
        scope_kind=kind,  # type: ignore[arg-type]
        scope_value=value,
        status="open",
        severity="warning",
        opened_at=NOW - HOUR,
        updated_at=NOW - HOUR,
        last_fired_at=NOW - HOUR,
        resolved_at=None,
        last_notified_at=None,
        notifications=0,
        count=7.0,
        expected=1.5,
        ratio=4.67,
        peak_ratio=4.67,
        peak_count=7.0,
        drivers=("outage",),
    )


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    with Store(database) as opened:
        yield opened


def test_an_incident_round_trips_and_stays_one_open_per_scope(store: Store) -> None:
    with store.transaction():
        first = store.insert_incident(incident())
        topic = store.insert_incident(replace(incident("topic", "outage"), grouped_into=first))
    assert first != topic
    opened = store.open_incident("Acme", "brand", "Acme")
    assert opened == replace(incident(), id=first)
    with store.transaction():
        store.save_incident(replace(opened, status="resolved", resolved_at=NOW))
        store.ack_incident(topic, NOW)
        store.hold_notice(topic, "open")
        store.hold_notice(topic, "escalate")  # the first held kind is kept
    assert store.open_incident("Acme", "brand", "Acme") is None
    assert [(i.id, kind) for i, kind in store.held_incidents()] == [(topic, "open")]
    assert [i.id for i in store.grouped_incidents(first)] == [topic]
    assert [i.id for i in store.incidents()] == [topic, first]  # open ones first
    assert store.find_incident(topic).acked_at == NOW  # type: ignore[union-attr]
    between = store.incidents_between(["Acme"], NOW - 2 * HOUR, NOW)
    assert sorted(i.id for i in between) == [first, topic]
    assert [i.id for i in store.resolved_incidents("Acme", "brand", "Acme", NOW - HOUR)] == [first]


def test_the_outbox_queues_each_key_once_and_records_every_fate(store: Store) -> None:
    with store.transaction():
        assert store.enqueue("k1", None, "support", "slack", "alert", "{}", NOW)
        assert not store.enqueue("k1", None, "support", "slack", "alert", "{}", NOW)
        assert store.enqueue("k2", None, "support", "slack", "alert", "{}", NOW)
    one, two = store.due_messages(NOW)
    with store.transaction():
        store.mark_sent(one.id, NOW)
        store.mark_failed(two.id, "HTTP 500", NOW + HOUR)
    assert store.due_messages(NOW) == []
    assert [m.key for m in store.due_messages(NOW + HOUR)] == ["k2"]
    with store.transaction():
        store.mark_failed(two.id, "HTTP 404", None)
    assert store.outbox_counts() == {"sent": 1, "dead": 1}
    assert store.message(two.id).attempts == 2  # type: ignore[union-attr]
    assert store.retry_messages(None, NOW) == 1
    assert [m.status for m in store.messages_with_keys(["k1", "k2"])] == ["sent", "pending"]
    assert store.drop_message(two.id)
    assert not store.drop_message(one.id)  # sent messages stay


def test_digest_figures_count_labels_channels_topics_and_authors(store: Store) -> None:
    store.save_poll(
        "Acme",
        "hackernews",
        [
            scored("1", "negative", -0.8, topics=("outage",), author="ann"),
            scored("2", "negative", -0.4, author="ann", minutes=90),
            scored("3", "positive", 0.6, author="cy"),
            scored("4", "neutral", 0.0, channel="reddit", topics=("outage",), reach=500.0),
        ],
        None,
        0,
        NOW,
    )
    scope = DigestScope(("Acme",))
    week = (NOW - 24 * HOUR, NOW)
    assert store.digest_sentiment(scope, *week) == Sentiment(4, 2, 1, 1, pytest.approx(-0.15))
    assert store.digest_days(scope, [NOW - 2 * HOUR, NOW - HOUR, NOW]) == [
        Sentiment(1, 1, 0, 0, -0.4),
        Sentiment(3, 1, 1, 1, pytest.approx(-0.0667, abs=1e-4)),
    ]
    assert {c: s.mentions for c, s in store.digest_by_channel(scope, *week).items()} == {
        "hackernews": 3,
        "reddit": 1,
    }
    assert store.digest_by_topic(scope, *week) == {"outage": Sentiment(2, 1, 1, 0, -0.4)}
    worst = store.digest_standouts(scope, *week, negative=True)
    assert [m.native_id for m in worst] == ["1", "2"]
    assert store.digest_authors(scope, *week)[0] == ("ann", "hackernews", 2, pytest.approx(-0.6))
    assert store.record_digest("support", "2026-W47", NOW)
    assert not store.record_digest("support", "2026-W47", NOW)
    assert store.digest_recorded("support", "2026-W47")


def test_spike_evidence_reads_the_window(store: Store) -> None:
    store.save_poll(
        "Acme",
        "hackernews",
        [
            scored("1", "negative", -0.9, topics=("outage",)),
            scored("2", "negative", -0.3, topics=("outage", "billing")),
            scored("3", "negative", -0.5, minutes=300),
        ],
        None,
        0,
        NOW,
    )
    window = (NOW - HOUR, NOW)
    evidence = store.negative_evidence("Acme", "topic", "outage", *window)
    assert [m.native_id for m in evidence] == ["1", "2"]
    assert len(store.negative_texts("Acme", "brand", "Acme", *window, limit=5)) == 2
    assert store.negative_topics("Acme", "channel", "hackernews", *window) == [
        ("outage", 2),
        ("billing", 1),
    ]
    assert store.first_mention_at("Acme") == NOW - timedelta(minutes=300)


def test_silences_and_the_heartbeat_are_kept(store: Store) -> None:
    sid = store.add_silence("Acme", "topic", "outage", NOW, NOW + HOUR, "deploy")
    assert [s.id for s in store.silences(active_at=NOW)] == [sid]
    assert store.expire_silence(sid, NOW + timedelta(minutes=5))
    assert store.silences(active_at=NOW + timedelta(minutes=10)) == []
    store.beat(41, "host-a", NOW - HOUR, "0.1", NOW)
    store.beat(42, "host-b", NOW, "0.1", NOW + HOUR)
    beat = store.heartbeat()
    assert beat is not None and (beat.pid, beat.host, beat.beat_at) == (42, "host-b", NOW + HOUR)
    store.save_poll("Acme", "hackernews", [scored("1", "negative", -0.5)], "c", 0, NOW)
    snapshot = store.metrics_snapshot()
    assert snapshot.last_success == {("Acme", "hackernews"): NOW.timestamp()}
