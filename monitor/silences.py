"""Silences, as Alertmanager users know them: a brand (optionally one topic or channel of it)
is quiet until a time. Pure: which silence covers an incident; the store keeps the rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from monitor.models import Incident

ScopeKind = Literal["topic", "channel"]
SCOPE_KINDS: tuple[ScopeKind, ...] = ("topic", "channel")


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    brand: str
    # None silences every incident of the brand; else only that topic's or channel's.
    scope_kind: ScopeKind | None
    scope_value: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_at: datetime

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    @property
    def scope(self) -> str:
        return "all" if self.scope_kind is None else f"{self.scope_kind}:{self.scope_value}"

    def covers(self, incident: Incident) -> bool:
        if incident.brand != self.brand:
            return False
        if self.scope_kind is None:
            return True
        return incident.scope_kind == self.scope_kind and incident.scope_value == self.scope_value


def parse_scope(text: str | None) -> tuple[ScopeKind | None, str | None]:
    """`topic:outage` -> ("topic", "outage"); None -> the whole brand. ValueError says the form."""
    if text is None:
        return None, None
    kind, sep, value = text.partition(":")
    if not sep or not value.strip() or kind not in SCOPE_KINDS:
        raise ValueError(
            f"{text!r} is not a scope; write topic:NAME or channel:NAME (e.g. channel:reddit)"
        )
    return kind, value.strip()


def silencing(incident: Incident, silences: Iterable[Silence], now: datetime) -> Silence | None:
    """The active silence that covers the incident, the one ending last if several do."""
    covering = [s for s in silences if s.active(now) and s.covers(incident)]
    return max(covering, key=lambda s: s.ends_at, default=None)
