"""What an operator does by hand: silence a scope, acknowledge or resolve an incident, retry or
drop dead messages. The CLI calls these; each raises OperatorError with what to do instead."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from monitor.config import Config
from monitor.models import Incident
from monitor.outbox import Outbox
from monitor.outbox_payload import spike_window
from monitor.silences import parse_scope
from monitor.store import Store
from monitor.validate import did_you_mean


class OperatorError(Exception):
    """The operation cannot be done; the message says why and what to do."""


def brand_named(config: Config, name: str) -> str:
    """The configured brand called `name` (any case), or an error with a did-you-mean."""
    for brand in config.brands:
        if brand.name.casefold() == name.casefold():
            return brand.name
    names = [b.name for b in config.brands]
    raise OperatorError(
        f"no brand {name!r}{did_you_mean(name, names)}; the brands are {', '.join(names)}"
    )


def add_silence(
    config: Config,
    store: Store,
    brand: str,
    scope: str | None,
    duration: timedelta,
    reason: str,
    now: datetime,
) -> int:
    name = brand_named(config, brand)
    try:
        kind, value = parse_scope(scope)
    except ValueError as exc:
        raise OperatorError(str(exc)) from None
    if duration <= timedelta(0):
        raise OperatorError("--for must be a positive duration, e.g. 2h")
    return store.add_silence(name, kind, value, now, now + duration, reason)


def expire_silence(store: Store, silence_id: int, now: datetime) -> None:
    if not store.expire_silence(silence_id, now):
        raise OperatorError(
            f"no active silence #{silence_id}; see `monitor silence list` for the ids"
        )


def _open_incident(store: Store, incident_id: int) -> Incident:
    incident = store.find_incident(incident_id)
    if incident is None:
        raise OperatorError(f"no incident #{incident_id}; see `monitor incidents` for the ids")
    if incident.status != "open":
        raise OperatorError(f"incident #{incident_id} is already {incident.status}")
    return incident


def ack(store: Store, incident_id: int, now: datetime) -> Incident:
    """No more reminders for this open incident; an escalation to critical still pages."""
    with store.transaction():
        _open_incident(store, incident_id)
        store.ack_incident(incident_id, now)
    return store.incident(incident_id)


def resolve(
    config: Config, store: Store, outbox: Outbox, incident_id: int, now: datetime
) -> Incident:
    """Close an open incident by hand and queue its resolve notice, in one transaction."""
    with store.transaction():
        incident = _open_incident(store, incident_id)
        resolved = replace(
            incident,
            status="resolved",
            resolved_at=now,
            updated_at=now,
            last_notified_at=now,
            notifications=incident.notifications + 1,
        )
        store.save_incident(resolved)
        window = spike_window(config, incident.brand)
        outbox.enqueue_alerts(resolved, "resolved", window, now)
    return resolved


def retry(store: Store, ids: list[int] | None, now: datetime) -> int:
    """Make dead messages due again (these, or all of them); returns how many."""
    with store.transaction():
        for message_id in ids or ():
            message = store.message(message_id)
            if message is None or message.status != "dead":
                state = "no such message" if message is None else f"it is {message.status}"
                raise OperatorError(
                    f"cannot retry #{message_id}: {state}; see `monitor outbox list --dead`"
                )
        return store.retry_messages(ids, now)


def drop(store: Store, message_id: int) -> None:
    with store.transaction():
        if not store.drop_message(message_id):
            raise OperatorError(
                f"no unsent message #{message_id}; see `monitor outbox list` for the ids"
            )
