"""The outbox never double-sends across daemons: a lane starts a message only while its claim
surely lasts, a renewal that finds a claim taken stops it, and a message whose send may have
reached the receiver (marked, outcome unrecorded) is left to its sender while it may be alive.

Against SQLite and a real PostgreSQL (the `database` fixture); Slack is a loopback webhook
(pytest-httpserver) that records every request; the monotonic clock is a hand-moved timer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import Config, load_config
from monitor.outbox import Outbox, outbox_for
from monitor.store import Store
from tests.helpers import FixedClock, make_alert

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOOK = "/hook"


class Timer:
    """The monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def config(
    database: str,
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> Config:
    monkeypatch.setenv("DATABASE_URL", database)
    return load_config(
        write_config(
            "database: ${DATABASE_URL}\n"
            "brands:\n  - {name: Apex, terms: [apex]}\n"
            f"teams:\n  cx: {{slack: {{webhook_url: '{httpserver.url_for(HOOK)}'}}}}\n"
            "routes:\n  - {team: cx}\n"
            "alerting: {presumed_dead_after: 2m}\n"
        )
    )


@pytest.fixture
def store(config: Config) -> Iterator[Store]:
    with Store(config.database) as store:
        yield store


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def queue(outbox: Outbox, *incidents: int) -> None:
    with outbox.store.transaction():
        for n in incidents:
            key = f"incident-{n}:cx"
            outbox.enqueue("cx", "opened", make_alert(incident_id=n, idempotency_key=key), key)


def accept(httpserver: HTTPServer, on_request: Callable[[], object] = lambda: None) -> None:
    """Slack accepts every post; `on_request` runs while the first one is in flight."""
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        if len(seen) == 1:
            on_request()
        return Response("ok")

    httpserver.expect_request(HOOK, method="POST").respond_with_handler(handler)


def claim_as_b(config: Config, message_id: int) -> None:
    """Another daemon, whose clock says a's claim ran out, claims the message."""
    with Store(config.database) as other:
        other.claim_messages(
            "b", NOW + timedelta(hours=1), NOW + timedelta(hours=2), ids=[message_id]
        )


def statuses(store: Store) -> list[str]:
    return [m.status for m in reversed(store.messages())]


def test_a_lane_does_not_start_a_send_its_claim_may_not_outlast(
    config: Config, store: Store, clock: FixedClock, httpserver: HTTPServer
) -> None:
    timer = Timer()
    outbox = outbox_for(config, store, clock=clock, holder="a", timer=timer)
    queue(outbox, 1, 2)
    # The first post is slow, and no renewal comes (the database went away meanwhile): the
    # claim on the second has less left than a whole Slack timeout.
    ttl = outbox.claim_ttl.total_seconds()

    def slow() -> None:
        timer.now += ttl / 2 + 1

    accept(httpserver, slow)
    report = outbox.deliver_once()
    assert report.sent == 1 and len(httpserver.log) == 1
    assert statuses(store) == ["sent", "pending"]


def test_a_renewed_claim_lets_the_lane_go_on_after_a_slow_send(
    config: Config, store: Store, clock: FixedClock, httpserver: HTTPServer
) -> None:
    timer = Timer()
    outbox = outbox_for(config, store, clock=clock, holder="a", timer=timer)
    queue(outbox, 1, 2)
    ttl = outbox.claim_ttl.total_seconds()

    def slow_then_renewed() -> None:
        timer.now += ttl / 2 + 1
        outbox.renew_claims()  # the daemon's tick

    accept(httpserver, slow_then_renewed)
    assert outbox.deliver_once().sent == 2
    assert len(httpserver.log) == 2


def test_a_renewal_that_finds_a_claim_taken_stops_its_message(
    config: Config,
    store: Store,
    clock: FixedClock,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox = outbox_for(config, store, clock=clock, holder="a", timer=Timer())
    queue(outbox, 1, 2)
    second = store.messages()[0].id

    def taken_over() -> None:
        claim_as_b(config, second)
        outbox.renew_claims()

    accept(httpserver, taken_over)
    assert outbox.deliver_once().sent == 1
    assert len(httpserver.log) == 1
    # Stopped by the renewal's answer, before the lane even asked to mark it.
    assert "claims_lost" in caplog.text and "attempt_refused" not in caplog.text


def test_a_message_whose_claim_was_taken_is_not_sent_even_before_a_renewal(
    config: Config,
    store: Store,
    clock: FixedClock,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox = outbox_for(config, store, clock=clock, holder="a", timer=Timer())
    queue(outbox, 1, 2)
    second = store.messages()[0].id

    accept(httpserver, lambda: claim_as_b(config, second))
    assert outbox.deliver_once().sent == 1
    assert len(httpserver.log) == 1
    assert "attempt_refused" in caplog.text  # the claim is b's now


def test_a_message_that_cannot_be_marked_is_not_sent(
    config: Config, clock: FixedClock, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    with Store(config.database) as store:
        outbox = outbox_for(config, store, clock=clock, holder="a", timer=Timer())
        queue(outbox, 1, 2)
        # The database goes away while the first post is in flight; its claim still holds.
        accept(httpserver, store.close)
        assert outbox.deliver_once().sent == 0
    assert len(httpserver.log) == 1
    assert "attempt_unmarked" in caplog.text


def mark_as_sent_by_a(store: Store, beat_at: datetime) -> None:
    """Daemon `a` claimed the message, marked it and started its send; no outcome followed."""
    [claimed] = store.claim_messages("a", NOW, NOW + timedelta(seconds=40))
    assert store.mark_attempt(claimed.message.id, "a", NOW)
    store.daemon_beat("a", "box", 7, "leader", "t", NOW, beat_at)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_message_another_live_daemon_marked_is_left_to_it(
    config: Config, store: Store, clock: FixedClock, httpserver: HTTPServer
) -> None:
    outbox = outbox_for(config, store, clock=clock, holder="b", timer=Timer())
    queue(outbox, 1)
    clock.advance(minutes=5)  # a's claim ran out long ago, but a still beats
    mark_as_sent_by_a(store, beat_at=clock() - timedelta(seconds=5))
    accept(httpserver)
    assert outbox.deliver_once().sent == 0
    assert len(httpserver.log) == 0 and statuses(store) == ["pending"]


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_message_marked_by_a_daemon_silent_past_presumed_dead_after_is_sent_once_and_logged(
    config: Config,
    store: Store,
    clock: FixedClock,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox = outbox_for(config, store, clock=clock, holder="b", timer=Timer())
    queue(outbox, 1)
    mark_as_sent_by_a(store, beat_at=NOW)
    clock.advance(minutes=2, seconds=1)  # presumed_dead_after: 2m
    accept(httpserver)
    assert outbox.deliver_once().sent == 1
    assert outbox.deliver_once().sent == 0
    assert len(httpserver.log) == 1 and statuses(store) == ["sent"]
    assert "resent_unknown_outcome" in caplog.text and "marked_by=a" in caplog.text


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_on_sqlite_a_mark_left_by_an_earlier_process_is_resent_at_once(
    config: Config,
    store: Store,
    clock: FixedClock,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox = outbox_for(config, store, clock=clock, holder="b", timer=Timer())
    queue(outbox, 1)
    mark_as_sent_by_a(store, beat_at=NOW)
    clock.advance(minutes=1)  # a's claim ran out: the lock file says a is gone
    accept(httpserver)
    assert outbox.deliver_once().sent == 1
    assert len(httpserver.log) == 1
    assert "resent_unknown_outcome" in caplog.text


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_sent_message_whose_outcome_was_lost_is_not_sent_again_by_another_daemon(
    config: Config, clock: FixedClock, httpserver: HTTPServer
) -> None:
    with Store(config.database) as a_store, Store(config.database) as b_store:
        a = outbox_for(config, a_store, clock=clock, holder="a", timer=Timer())
        b = outbox_for(config, b_store, clock=clock, holder="b", timer=Timer())
        queue(a, 1)
        a_store.daemon_beat("a", "box", 7, "leader", "t", NOW, NOW)
        # Slack accepts, and a's connection to the database dies before it records that.
        accept(httpserver, a_store.close)
        assert a.deliver_once().sent == 0
        # a's claim ran out; a beat a minute ago and may come back any moment to record it.
        clock.advance(minutes=1)
        assert b.deliver_once().sent == 0
        assert [m.status for m in b_store.messages()] == ["pending"]
    assert len(httpserver.log) == 1
