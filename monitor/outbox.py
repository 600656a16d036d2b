"""The durable outbox: alerts are queued with their incident change and delivered with retries.

A message is written in the same transaction that opens, escalates or resolves an incident, so
an alert is never lost between detection and delivery. Delivery is at least once: a message is
marked sent only after its receiver accepted it, and a crash in between resends it with the same
idempotency key (Slack shows it as `ref:`, email as the Message-ID).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from monitor.config import Config
from monitor.models import Alert, AlertKind, AlertMention, Clock, Incident, OutboxMessage, utcnow
from monitor.notify.base import DeliveryError, Notifier
from monitor.routing import teams_for
from monitor.store import Store

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=10)


def alert_to_json(alert: Alert) -> str:
    def encode(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, timedelta):
            return value.total_seconds()
        raise TypeError(type(value))

    return json.dumps(asdict(alert), default=encode, ensure_ascii=False)


def alert_from_json(text: str) -> Alert:
    d = json.loads(text)
    when = datetime.fromisoformat
    return Alert(
        **{
            **d,
            "window": timedelta(seconds=d["window"]),
            "started_at": when(d["started_at"]),
            "resolved_at": when(d["resolved_at"]) if d["resolved_at"] else None,
            "top_mentions": tuple(
                AlertMention(**{**m, "created_at": when(m["created_at"])})
                for m in d["top_mentions"]
            ),
            "top_topics": tuple((t, n) for t, n in d["top_topics"]),
        }
    )


def build_alert(
    store: Store, incident: Incident, kind: AlertKind, window: timedelta, now: datetime, key: str
) -> Alert:
    """The alert with its evidence: the most negative mentions and topics of the window."""
    end = incident.last_fired_at + timedelta(seconds=1)
    start = incident.last_fired_at - window
    evidence = store.negative_evidence(
        incident.brand, incident.scope_kind, incident.scope_value, start, end
    )
    topics = store.negative_topics(
        incident.brand, incident.scope_kind, incident.scope_value, start, end
    )
    return Alert(
        kind=kind,
        incident_id=incident.id,
        idempotency_key=key,
        brand=incident.brand,
        scope_kind=incident.scope_kind,
        scope_value=incident.scope_value,
        severity=incident.severity,
        count=incident.count if kind != "resolved" else incident.peak_count,
        expected=incident.expected,
        ratio=incident.ratio if kind != "resolved" else incident.peak_ratio,
        window=window,
        started_at=incident.opened_at,
        peak_ratio=incident.peak_ratio,
        top_mentions=tuple(
            AlertMention(m.author, m.channel, m.text, m.url, m.compound, m.created_at)
            for m in evidence
        ),
        top_topics=tuple(topics),
        resolved_at=incident.resolved_at,
    )


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
    ) -> None:
        self.config = config
        self.store = store
        self.notifiers = notifiers
        self.clock = clock

    def enqueue_alerts(
        self, incident: Incident, kind: AlertKind, window: timedelta, now: datetime
    ) -> None:
        """Queue one message per receiver of every routed team. Runs inside the caller's transaction."""
        for team in teams_for(self.config.routes, incident):
            for receiver in receiver_kinds(self.config, team):
                key = f"incident-{incident.id}-{incident.notifications}-{kind}:{team}:{receiver}"
                alert = build_alert(self.store, incident, kind, window, now, key)
                self.store.enqueue(
                    key, incident.id, team, receiver, kind, alert_to_json(alert), now
                )

    def deliver_once(self) -> DeliveryReport:
        sent = retrying = dead = 0
        for message in self.store.due_messages(self.clock()):
            outcome = self._deliver(message)
            sent += outcome == "sent"
            retrying += outcome == "retrying"
            dead += outcome == "dead"
        return DeliveryReport(sent, retrying, dead)

    def _deliver(self, message: OutboxMessage) -> str:
        notifier = self.notifiers.get((message.team, message.receiver))
        if notifier is None:
            return self._failed(
                message,
                f"team {message.team!r} has no {message.receiver} receiver any more",
                permanent=True,
            )
        try:
            send(notifier, message)
        except DeliveryError as exc:
            return self._failed(
                message, str(exc), permanent=exc.permanent, retry_after=exc.retry_after
            )
        except Exception as exc:  # a notifier bug must not stop the other messages
            # Its message may quote a webhook URL (a secret in its path): type only, details at DEBUG.
            log.debug("delivery_crashed id=%d", message.id, exc_info=True)
            return self._failed(
                message, f"unexpected {type(exc).__name__} in the {message.receiver} notifier"
            )
        with self.store.transaction():
            self.store.mark_sent(message.id, self.clock())
        log.info(
            "delivered id=%d key=%s team=%s receiver=%s",
            message.id,
            message.key,
            message.team,
            message.receiver,
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
            "delivery_failed id=%d team=%s receiver=%s attempts=%d state=%s error=%r",
            message.id,
            message.team,
            message.receiver,
            attempts,
            state,
            error,
        )
        return state


def send(notifier: Notifier, message: OutboxMessage) -> None:
    if message.kind == "digest":
        from monitor.digest import digest_from_json

        notifier.send_digest(digest_from_json(message.payload))
    else:
        notifier.send_alert(alert_from_json(message.payload))


def receiver_kinds(config: Config, team: str) -> list[str]:
    t = config.teams[team]
    return [kind for kind in ("slack", "email", "console") if getattr(t, kind) is not None]


def outbox_for(
    config: Config, store: Store, *, clock: Clock = utcnow, stream: IO[str] | None = None
) -> Outbox:
    """The outbox with one notifier per (team, receiver kind) from the config."""
    from monitor.notify import build_notifiers

    notifiers: dict[tuple[str, str], Notifier] = {}
    for name, team in config.teams.items():
        for notifier in build_notifiers(team, config.email, stream=stream, name=name):
            notifiers[name, notifier.kind] = notifier
    return Outbox(config, store, notifiers, clock=clock)


def send_test_alert(
    config: Config, store: Store, team: str, *, clock: Clock = utcnow
) -> list[tuple[str, str | None]]:
    """Send a sample alert straight through each of the team's receivers: [(receiver, error)]."""
    from monitor.notify import build_notifiers

    now = clock()
    brand = config.brands[0].name
    evidence = store.mentions(brand=brand, label="negative", order="most_negative", limit=5)
    sample = Alert(
        kind="test",
        incident_id=0,
        idempotency_key=f"test-{team}-{int(now.timestamp())}",
        brand=brand,
        scope_kind="brand",
        scope_value=brand,
        severity="warning",
        count=12,
        expected=1.5,
        ratio=8.0,
        window=config.brand(brand).spike.window,
        started_at=now - timedelta(minutes=20),
        peak_ratio=8.0,
        top_mentions=tuple(
            AlertMention(m.author, m.channel, m.text, m.url, m.compound, m.created_at)
            for m in evidence
        )
        or (
            AlertMention(
                "sample_author",
                "hackernews",
                f"This is a sample mention of {brand} for a test alert.",
                "https://news.ycombinator.com/",
                -0.6,
                now,
            ),
        ),
        top_topics=(),
    )
    results: list[tuple[str, str | None]] = []
    for notifier in build_notifiers(config.teams[team], config.email, name=team):
        try:
            notifier.send_alert(sample)
        except DeliveryError as exc:
            results.append((notifier.kind, str(exc)))
        else:
            results.append((notifier.kind, None))
    return results
