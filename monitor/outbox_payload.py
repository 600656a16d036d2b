"""What an outbox row carries: the alert built from an incident with its evidence, and one JSON
form for every frozen dataclass a message holds (alerts and digests), read back fully typed."""

from __future__ import annotations

import dataclasses
import json
import types
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from monitor.config import Config, SpikeSettings
from monitor.models import Alert, AlertKind, Digest, Incident, OutboxMessage
from monitor.spikes import alert_mentions, breakdown
from monitor.store import Store

Payload = Alert | Digest
T = TypeVar("T")


def encode(payload: Payload) -> str:
    """The payload as JSON: times as ISO 8601, durations as seconds, tuples as lists."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, timedelta):
            return value.total_seconds()
        raise TypeError(type(value))

    return json.dumps(asdict(payload), default=default, ensure_ascii=False)


def decode(cls: type[T], text: str) -> T:
    """The dataclass `cls` back from `encode`'s JSON, every field typed by its annotation."""
    return _typed(cls, json.loads(text))  # type: ignore[no-any-return]


def _typed(hint: Any, value: Any) -> Any:
    origin = get_origin(hint)
    if value is None:
        return None
    if origin in (Union, types.UnionType):
        (inner,) = [arg for arg in get_args(hint) if arg is not type(None)]
        return _typed(inner, value)
    if origin is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_typed(args[0], item) for item in value)
        return tuple(_typed(arg, item) for arg, item in zip(args, value, strict=True))
    if origin is Literal:
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = get_type_hints(hint)
        return hint(
            **{f.name: _typed(hints[f.name], value[f.name]) for f in dataclasses.fields(hint)}
        )
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if hint is timedelta:
        return timedelta(seconds=value)
    return value


def decode_message(message: OutboxMessage) -> Payload:
    """A row's payload; an alert carries the row's key as its idempotency key (`ref:` in Slack,
    the Message-ID in email), the same on every resend."""
    if message.kind == "digest":
        return decode(Digest, message.payload)
    return replace(decode(Alert, message.payload), idempotency_key=message.key)


def build_alert(
    store: Store, incident: Incident, kind: AlertKind, window: timedelta, now: datetime, key: str
) -> Alert:
    """The alert with its evidence: the most negative distinct mentions and topics of the
    window, the incident's drivers and the scopes grouped into it."""
    end = incident.last_fired_at + timedelta(seconds=1)
    start = incident.last_fired_at - window
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
        top_mentions=alert_mentions(store, incident, window),
        top_topics=tuple(topics),
        resolved_at=incident.resolved_at,
        drivers=incident.drivers,
        breakdown=breakdown(store, incident),
    )


def spike_window(config: Config, brand: str) -> timedelta:
    """The brand's detection window; the default one for a brand a reload removed."""
    found = [b for b in config.brands if b.name == brand]
    return found[0].spike.window if found else SpikeSettings().window
