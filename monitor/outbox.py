"""The durable outbox: alerts are queued with their incident change and delivered with retries.

A message is written in the same transaction that opens, escalates or resolves an incident, so
an alert is never lost between detection and delivery. Delivery is at least once: a message is
marked sent only after its receiver accepted it, and a crash in between resends it with the same
idempotency key (Slack shows it as `ref:`, email as the Message-ID).

An incident's growth is not a page: it is queued as an `updated` message only for receivers that
can edit what they delivered (a Slack bot), and delivered as an edit of the incident's newest
page. It waits behind that page, is dropped if the page never got a reference (failed, sent by a
webhook or by an older monitor), and a newer update replaces an older one still queued.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from monitor.config import Config
from monitor.digest.build import build_digest
from monitor.logs import kv
from monitor.metrics import Metrics
from monitor.models import (
    Alert,
    AlertKind,
    Clock,
    Incident,
    OutboxMessage,
    utcnow,
)
from monitor.notify import build_notifiers, editing_kinds, receiver_kinds
from monitor.notify.base import DeliveryError, Notifier
from monitor.outbox_lanes import (
    START_MARGIN,
    ClaimDeadlines,
    Job,
    Outcome,
    run_lane,
    send_timeout,
)
from monitor.outbox_lanes import send as send  # re-exported: the CLI and tests send one message
from monitor.outbox_payload import Payload, build_alert, encode, spike_window
from monitor.routing import teams_for
from monitor.sample_alert import send_test_alert as send_test_alert  # re-exported for the CLI
from monitor.silences import silencing
from monitor.store import Store
from monitor.store.cluster import Claimed

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=10)
# How long a sender's claim on a message lasts unless renewed (the daemon renews it while the
# delivery runs): a sender killed mid-delivery holds its messages this long, plus the longest
# send and its margin, at most. The addition lets a lane start a send between two renewals.
CLAIM_TTL = timedelta(seconds=15)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0


class Outbox:
    def __init__(
        self,
        config: Config,
        store: Store,
        notifiers: Mapping[tuple[str, str], Notifier],
        *,
        clock: Clock = utcnow,
        metrics: Metrics | None = None,
        holder: str | None = None,
        claim_ttl: timedelta = CLAIM_TTL,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.store = store
        self.notifiers = notifiers
        self.clock = clock
        self.metrics = metrics
        # Who claims the messages this outbox sends: the daemon's id, or this CLI process.
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:cli"
        longest = max(map(send_timeout, notifiers.values()), default=timedelta(0))
        self.claim_ttl = claim_ttl + longest + START_MARGIN
        # Only one process sends from an SQLite file (its lock): a mark found there is a dead
        # process's. Sharing PostgreSQL, the marker may be alive and about to record it.
        self.presumed_dead_after = (
            config.alerting.presumed_dead_after if store.dialect == "postgresql" else timedelta(0)
        )
        # The claims of a delivery in progress, which the daemon's tick renews.
        self.claims = ClaimDeadlines(self.claim_ttl, timer)
        # Outcomes the store could not record (connection lost): written before anything new
        # is claimed, and their claims kept meanwhile, so nothing accepted is sent again.
        self._unrecorded: list[Outcome] = []

    def enqueue(self, team: str, kind: str, payload: Payload, key: str) -> None:
        """Queue the payload for each of the team's receivers, keyed `<key>:<receiver>`; a key
        queued before is skipped (never sent twice). Runs inside the caller's transaction."""
        body = encode(payload)
        incident_id = payload.incident_id if isinstance(payload, Alert) else None
        for receiver in receiver_kinds(self.config, team):
            self.store.enqueue(
                f"{key}:{receiver}", incident_id, team, receiver, kind, body, self.clock()
            )

    def enqueue_alerts(
        self, incident: Incident, kind: AlertKind, window: timedelta, now: datetime
    ) -> None:
        """Queue the alert for every receiver of every routed team, in the incident's
        transaction. Under a silence nothing is queued: the notice is held, and sent once
        when the silence ends if the incident is still open."""
        silence = silencing(incident, self.store.silences(active_at=now), now)
        if silence is not None:
            if kind == "updated":
                # Not a notice to hold: the page it would edit is held or already out.
                log.info(kv("update_silenced", incident=incident.id, silence=silence.id))
            elif kind == "resolved":
                self.store.release_notice(incident.id)
            else:
                self.store.hold_notice(incident.id, kind)
            log.info(kv("alert_silenced", incident=incident.id, kind=kind, silence=silence.id))
            return
        self._enqueue_routed(incident, kind, window, now, f"{incident.notifications}-{kind}")

    def _enqueue_routed(
        self, incident: Incident, kind: AlertKind, window: timedelta, now: datetime, tag: str
    ) -> None:
        for team in teams_for(self.config.routes, incident):
            if kind == "updated":
                self._enqueue_update(team, incident, window, now)
                continue
            key = f"incident-{incident.id}-{tag}:{team}"
            self.enqueue(team, kind, build_alert(self.store, incident, kind, window, now, key), key)

    def _enqueue_update(
        self, team: str, incident: Incident, window: timedelta, now: datetime
    ) -> None:
        """Queue an edit of the incident's page for the team's receivers that can edit, in
        place of any older update not sent yet. The key is what the update shows, so a repeat
        detection pass queues nothing new."""
        alert = build_alert(self.store, incident, "updated", window, now, "")
        key = f"incident-{incident.id}-{incident.notifications}-updated-{_shown(alert)}:{team}"
        body = encode(alert)
        for receiver in editing_kinds(self.config, team):
            full = f"{key}:{receiver}"
            self.store.supersede_updates(incident.id, team, receiver, full)
            self.store.enqueue(full, incident.id, team, receiver, "updated", body, self.clock())

    def release_held(self) -> list[Incident]:
        """Send, once, the held notice of each open incident whose silence has ended."""
        now = self.clock()
        released = []
        with self.store.transaction():
            active = self.store.silences(active_at=now)
            for incident, kind in self.store.held_incidents():
                if silencing(incident, active, now) is not None:
                    continue
                window = spike_window(self.config, incident.brand)
                held: AlertKind = kind  # type: ignore[assignment]  # written by hold_notice
                self._enqueue_routed(incident, held, window, now, f"held-{kind}")
                self.store.release_notice(incident.id)
                released.append(incident)
                log.info(kv("alert_released", incident=incident.id, kind=kind))
        return released

    def deliver_once(self) -> DeliveryReport:
        """Try every message that is due now and that no other sender has claimed."""
        return self._claim_and_send(None)

    def deliver(self, messages: Sequence[OutboxMessage]) -> DeliveryReport:
        """Try these messages (those of them due, and that no other sender has claimed)."""
        return self._claim_and_send([m.id for m in messages])

    def renew_claims(self) -> None:
        """Extend the claims of the delivery in progress (the daemon's tick calls this). A
        claim found taken over stops its message; after a failure none is extended, and
        each lane stops once its claims may run out."""
        ids = self.claims.ids()
        if not ids:
            return
        asked_at = self.claims.timer()
        try:
            held = self.store.renew_claims(self.holder, ids, self.clock() + self.claim_ttl)
        except Exception as exc:
            log.warning(kv("claims_renewal_failed", error=type(exc).__name__))
            return
        self.claims.renewed(ids, held, asked_at)
        if lost := ids - held:
            log.warning(kv("claims_lost", ids=",".join(map(str, sorted(lost)))))

    def _claim_and_send(self, ids: list[int] | None) -> DeliveryReport:
        self._record_unrecorded()
        if self._unrecorded:
            return DeliveryReport()  # the store is still unreachable
        now = self.clock()
        asked_at = self.claims.timer()
        claimed = self.store.claim_messages(
            self.holder,
            now,
            now + self.claim_ttl,
            dead_before=now - self.presumed_dead_after,
            ids=ids,
        )
        claimed_ids = {c.message.id for c in claimed}
        self.claims.claimed(claimed_ids, asked_at)
        try:
            return self._send(claimed)
        finally:
            kept = {m.id for m, _, _ in self._unrecorded}
            self.claims.forget(claimed_ids - kept)
            try:
                self.store.release_claims(self.holder, claimed_ids - kept)
            except Exception as exc:  # each claim expires by itself within claim_ttl
                log.warning(kv("claims_release_failed", error=type(exc).__name__))

    def _record_unrecorded(self) -> None:
        while self._unrecorded:
            message, error, sent_ref = self._unrecorded[0]
            try:
                self._record(message, error, sent_ref)
                self.store.release_claims(self.holder, [message.id])
            except Exception as exc:
                log.warning(kv("outcome_still_unrecorded", id=message.id, error=type(exc).__name__))
                return
            self._unrecorded.pop(0)
            self.claims.forget([message.id])

    def _send(self, claimed: Sequence[Claimed]) -> DeliveryReport:
        """Send the messages, one lane per (team, receiver): lanes run side by side, so a
        receiver that hangs delays only its own messages; within a lane they go in order, and
        a lane stops at its first failure that will be retried (the rest wait their turn in
        the next run rather than each waiting out the same timeout). Lanes touch the store
        only to mark a message before its send; each outcome is recorded by this thread as
        soon as its lane reports it."""
        lanes: dict[tuple[str, str], list[Job]] = {}
        for c in claimed:
            message = c.message
            ref = self._page_ref(message) if message.kind == "updated" else None
            if message.kind == "updated" and ref is None:
                continue
            lanes.setdefault((message.team, message.receiver), []).append(
                Job(message, ref, c.attempt_by)
            )
        if not lanes:
            return DeliveryReport()
        outcomes: queue.SimpleQueue[Outcome | None] = queue.SimpleQueue()
        counts = {"sent": 0, "retrying": 0, "dead": 0}
        with ThreadPoolExecutor(len(lanes), thread_name_prefix="outbox-lane") as pool:
            for (team, receiver), jobs in lanes.items():
                notifier = self.notifiers.get((team, receiver))
                pool.submit(run_lane, notifier, jobs, outcomes, self.claims, self._mark)
            running = len(lanes)
            while running:
                outcome = outcomes.get()
                if outcome is None:
                    running -= 1
                    continue
                try:
                    counts[self._record(*outcome)] += 1
                except Exception as exc:  # the database went away; the receiver has it
                    log.warning(
                        kv("outcome_unrecorded", id=outcome[0].id, error=type(exc).__name__)
                    )
                    self._unrecorded.append(outcome)
        return DeliveryReport(**counts)

    def _mark(self, message: OutboxMessage) -> bool:
        return self.store.mark_attempt(message.id, self.holder, self.clock())

    def _page_ref(self, message: OutboxMessage) -> str | None:
        """The reference of the page an update edits; None to leave the update out of this
        run: it waits while its page is still on its way, and is dropped (never posted as a
        new message) if the page failed, was sent without a reference, or is newer than the
        update (an escalation queued after it already shows more)."""
        page = None
        if message.incident_id is not None:
            page = self.store.latest_page(message.incident_id, message.team, message.receiver)
        if page is None:
            why = "no page"
        elif page.message_id > message.id:
            why = "newer page"
        elif page.status not in ("sent", "dead"):
            return None  # the page goes first
        elif page.ref is None:
            why = "page dead" if page.status == "dead" else "no ref"
        else:
            return page.ref
        with self.store.transaction():
            self.store.drop_message(message.id)
        log.info(kv("update_dropped", id=message.id, key=message.key, reason=why))
        return None

    def _record(
        self, message: OutboxMessage, error: DeliveryError | None, sent_ref: str | None
    ) -> str:
        if error is not None:
            return self._failed(
                message, str(error), permanent=error.permanent, retry_after=error.retry_after
            )
        with self.store.transaction():
            self.store.mark_sent(message.id, self.clock())
            if sent_ref is not None:
                self.store.record_sent_ref(message.id, sent_ref)
        if self.metrics is not None:
            self.metrics.notification_sent(message.team, message.receiver, message.kind)
        log.info(
            kv(
                "delivered",
                id=message.id,
                key=message.key,
                team=message.team,
                receiver=message.receiver,
            )
        )
        return "sent"

    def _failed(
        self,
        message: OutboxMessage,
        error: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
    ) -> str:
        attempts = message.attempts + 1
        alerting = self.config.alerting
        if permanent or attempts >= alerting.max_attempts:
            next_at = None
        elif retry_after is not None:
            next_at = self.clock() + timedelta(seconds=retry_after)
        else:
            next_at = self.clock() + min(alerting.max_backoff, RETRY_BASE * 2 ** (attempts - 1))
        with self.store.transaction():
            self.store.mark_failed(message.id, error, next_at)
        state = "dead" if next_at is None else "retrying"
        log.warning(
            kv(
                "delivery_failed",
                id=message.id,
                team=message.team,
                receiver=message.receiver,
                attempts=attempts,
                state=state,
                error=error,
            )
        )
        return state


def _shown(alert: Alert) -> str:
    """A short fingerprint of the figures an update shows."""
    figures = [alert.severity, alert.count, alert.expected, alert.drivers, alert.breakdown]
    return hashlib.sha256(json.dumps(figures).encode()).hexdigest()[:12]


def outbox_for(
    config: Config,
    store: Store,
    *,
    clock: Clock = utcnow,
    stream: IO[str] | None = None,
    metrics: Metrics | None = None,
    holder: str | None = None,
    claim_ttl: timedelta = CLAIM_TTL,
    timer: Callable[[], float] = time.monotonic,
) -> Outbox:
    """The outbox with one notifier per (team, receiver kind) from the config."""
    notifiers: dict[tuple[str, str], Notifier] = {}
    for name, team in config.teams.items():
        for notifier in build_notifiers(team, config.email, stream=stream, name=name, clock=clock):
            notifiers[name, notifier.kind] = notifier
    return Outbox(
        config,
        store,
        notifiers,
        clock=clock,
        metrics=metrics,
        holder=holder,
        claim_ttl=claim_ttl,
        timer=timer,
    )


def send_digest_now(
    config: Config, store: Store, team: str, week: str, *, clock: Clock = utcnow
) -> list[tuple[str, str | None]]:
    """Queue the team's digest for every receiver and deliver that digest (and nothing else)
    at once: [(receiver, error)]."""
    now = clock()
    digest = build_digest(config, store, team, week, now=now)
    # A manual send has its own key: it neither blocks nor repeats the scheduled one.
    key = f"digest-{team}-{week}-manual-{int(now.timestamp())}"
    outbox = outbox_for(config, store, clock=clock)
    with store.transaction():
        outbox.enqueue(team, "digest", digest, key)
    keys = [f"{key}:{receiver}" for receiver in receiver_kinds(config, team)]
    outbox.deliver([m for m in store.messages_with_keys(keys) if m.status == "pending"])
    return [
        (m.receiver, None if m.status == "sent" else (m.last_error or m.status))
        for m in store.messages_with_keys(keys)
    ]
