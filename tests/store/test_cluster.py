"""Poll leases, outbox claims and the daemons table: the store's side of several daemons."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from monitor.store import Store

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)
TTL = 15 * S
AGAIN = 290 * S


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    with Store(database) as store:
        yield store


def take(store: Store, holder: str, now: datetime = NOW) -> bool:
    return store.take_lease("Acme", "hackernews", holder, now, now + TTL, now + AGAIN)


def queue(store: Store, *keys: str) -> None:
    with store.transaction():
        for key in keys:
            store.enqueue(key, None, "cx", "slack", "opened", "{}", NOW)


def test_a_leased_source_is_refused_to_another_daemon(store: Store) -> None:
    assert take(store, "a")
    assert not take(store, "b", NOW + 5 * S)


def test_an_expired_lease_is_taken_over_by_another_daemon(store: Store) -> None:
    # `a` was killed mid-poll: it never released, and its source fell due meanwhile.
    assert store.take_lease("Acme", "hackernews", "a", NOW, NOW + TTL, NOW + TTL - S)
    assert not take(store, "b", NOW + TTL - S)
    assert take(store, "b", NOW + TTL)


def test_a_source_polled_less_than_an_interval_ago_is_not_due(store: Store) -> None:
    assert take(store, "a")
    store.release_lease("Acme", "hackernews", "a")
    assert not take(store, "b", NOW + AGAIN - S)
    assert take(store, "b", NOW + AGAIN)


def test_a_renewed_lease_outlives_its_first_expiry(store: Store) -> None:
    store.take_lease("Acme", "hackernews", "a", NOW, NOW + TTL, NOW)
    assert store.renew_leases("a", [("Acme", "hackernews")], NOW + 2 * TTL) == 1
    assert not take(store, "b", NOW + TTL)


def test_a_daemon_cannot_renew_or_release_a_lease_it_does_not_hold(store: Store) -> None:
    assert take(store, "a")
    assert store.renew_leases("b", [("Acme", "hackernews")], NOW + 10 * TTL) == 0
    store.release_lease("Acme", "hackernews", "b")
    assert [lease.holder for lease in store.leases(NOW)] == ["a"]


def test_two_senders_never_claim_the_same_message(store: Store) -> None:
    queue(store, "k1", "k2")
    first = store.claim_messages("a", NOW, NOW + TTL)
    second = store.claim_messages("b", NOW, NOW + TTL)
    assert [c.message.key for c in first] == ["k1", "k2"]
    assert second == []


def test_a_killed_senders_claim_expires_and_another_sends(store: Store) -> None:
    queue(store, "k1")
    store.claim_messages("a", NOW, NOW + TTL)
    assert [c.message.key for c in store.claim_messages("b", NOW + TTL, NOW + 2 * TTL)] == ["k1"]


def test_a_released_claim_lets_any_sender_retry(store: Store) -> None:
    queue(store, "k1")
    [claimed] = store.claim_messages("a", NOW, NOW + TTL)
    message = claimed.message
    store.release_claims("b", [message.id])  # not b's: stays a's
    assert store.claim_messages("b", NOW, NOW + TTL) == []
    store.release_claims("a", [message.id])
    assert [c.message.id for c in store.claim_messages("b", NOW, NOW + TTL)] == [message.id]


def test_a_daemon_that_leaves_gives_back_its_leases_and_claims(store: Store) -> None:
    queue(store, "k1")
    store.daemon_beat("a", "box", 7, "leader", "0.1", NOW, NOW)
    store.take_lease("Acme", "hackernews", "a", NOW, NOW + TTL, NOW)
    store.claim_messages("a", NOW, NOW + TTL)
    store.leave("a")
    assert store.daemons() == []
    assert take(store, "b")
    assert len(store.claim_messages("b", NOW, NOW + TTL)) == 1


def test_a_beat_updates_role_and_time_but_keeps_the_start(store: Store) -> None:
    store.daemon_beat("a", "box", 7, "standby", "0.1", NOW, NOW)
    store.daemon_beat("a", "box", 7, "leader", "0.1", NOW + S, NOW + 5 * S)
    [row] = store.daemons()
    assert (row.role, row.started_at, row.beat_at) == ("leader", NOW, NOW + 5 * S)


def test_daemons_silent_for_long_are_forgotten(store: Store) -> None:
    store.daemon_beat("old", "box", 7, "leader", "0.1", NOW, NOW)
    store.daemon_beat("new", "box", 8, "standby", "0.1", NOW, NOW + timedelta(days=2))
    assert store.forget_daemons(NOW + timedelta(days=1)) == 1
    assert [d.id for d in store.daemons()] == ["new"]


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_one_daemon_leads_and_another_takes_over_when_its_session_ends(database: str) -> None:
    with Store(database) as one, Store(database) as two:
        first, second = one.leader_lock(), two.leader_lock()
        assert first.try_lead()
        assert not second.try_lead()
        assert first.try_lead()  # still its own
        first.close()  # a clean stop hands over at once
        assert second.try_lead()
        second.close()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_concurrent_claimers_on_postgresql_split_the_messages_without_overlap(
    database: str,
) -> None:
    with Store(database) as seed:
        queue(seed, *(f"k{i}" for i in range(200)))
    claimed: dict[str, list[int]] = {}

    def claim(holder: str) -> None:
        with Store(database) as store:
            got: list[int] = []
            while batch := store.claim_messages(holder, NOW, NOW + TTL, limit=7):
                got += [c.message.id for c in batch]
            claimed[holder] = got

    threads = [threading.Thread(target=claim, args=(h,)) for h in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = [i for got in claimed.values() for i in got]
    assert len(ids) == 200 and len(set(ids)) == 200


def test_only_the_claims_holder_can_mark_a_message_as_being_sent(store: Store) -> None:
    queue(store, "k1")
    [claimed] = store.claim_messages("a", NOW, NOW + TTL)
    assert not store.mark_attempt(claimed.message.id, "b", NOW)
    assert store.mark_attempt(claimed.message.id, "a", NOW)


def test_a_mark_keeps_the_message_from_other_senders_while_its_marker_beats(store: Store) -> None:
    queue(store, "k1")
    [claimed] = store.claim_messages("a", NOW, NOW + TTL)
    store.mark_attempt(claimed.message.id, "a", NOW)
    store.daemon_beat("a", "box", 7, "leader", "0.1", NOW, NOW + 10 * TTL)
    later = NOW + 11 * TTL  # the claim ran out long ago
    assert store.claim_messages("b", later, later + TTL, dead_before=later - 5 * TTL) == []
    [resent] = store.claim_messages("b", later, later + TTL, dead_before=NOW + 10 * TTL)
    assert (resent.attempt_by, resent.attempt_at) == ("a", NOW)


def test_a_recorded_failure_clears_the_mark(store: Store) -> None:
    queue(store, "k1")
    [claimed] = store.claim_messages("a", NOW, NOW + TTL)
    store.mark_attempt(claimed.message.id, "a", NOW)
    with store.transaction():
        store.mark_failed(claimed.message.id, "timed out", NOW)
    store.release_claims("a", [claimed.message.id])
    store.daemon_beat("a", "box", 7, "leader", "0.1", NOW, NOW)
    [retry] = store.claim_messages("b", NOW, NOW + TTL, dead_before=NOW - TTL)
    assert retry.attempt_by is None


def test_a_renewal_reports_the_claims_still_held(store: Store) -> None:
    queue(store, "k1", "k2")
    first, second = (c.message.id for c in store.claim_messages("a", NOW, NOW + TTL))
    store.claim_messages("b", NOW + TTL, NOW + 2 * TTL, ids=[second])
    assert store.renew_claims("a", [first, second], NOW + 2 * TTL) == {first}
