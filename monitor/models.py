"""Dataclasses that travel between the stages of the pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from monitor.text import clean_field

Clock = Callable[[], datetime]
Label = Literal["negative", "neutral", "positive"]
Severity = Literal["warning", "critical"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Mention:
    """One post, comment or review as a channel adapter read it, before matching and scoring."""

    channel: str
    native_id: str
    url: str
    author: str
    text: str
    created_at: datetime
    author_reach: float | None = None
    lang: str | None = None
    # App Store stars (1-5): a signal stored beside VADER, not mixed into it.
    rating: int | None = None

    def __post_init__(self) -> None:
        # The one boundary every adapter passes: whatever a stranger's payload held, every
        # later stage (SQLite, PostgreSQL, Slack, email) gets valid UTF-8, and no NUL.
        for name in ("native_id", "url", "author", "text"):
            value = getattr(self, name)
            if (clean := clean_field(value)) is not value:
                object.__setattr__(self, name, clean)
        if self.lang is not None:
            object.__setattr__(self, "lang", self.lang.replace("\0", ""))


@dataclass(frozen=True, slots=True)
class Score:
    compound: float
    pos: float
    neu: float
    neg: float
    label: Label


@dataclass(frozen=True, slots=True)
class Scored:
    """A mention matched to a brand and scored: what the store keeps."""

    mention: Mention
    brand: str
    score: Score
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one poll of one channel produced: mentions plus the cursor that covers them."""

    mentions: tuple[Mention, ...]
    cursor: str | None
    skipped: int = 0
    requests: int = 0
    # Problems that did not fail the whole poll (one of several feeds down); shown in status.
    warnings: tuple[str, ...] = ()
    # The source has more for this poll: save this result, then fetch again from its cursor
    # with the same `now` (a long backfill is saved piece by piece).
    more: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """What a channel searches for on behalf of one brand."""

    brand: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PollReport:
    brand: str
    channel: str
    fetched: int
    matched: int
    stored: int
    skipped: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StoredMention:
    """A mention read back from the store."""

    brand: str
    channel: str
    native_id: str
    url: str
    author: str
    author_reach: float | None
    text: str
    created_at: datetime
    compound: float
    label: Label
    topics: tuple[str, ...] = field(default=())
    rating: int | None = None


@dataclass(frozen=True, slots=True)
class AlertMention:
    """One piece of evidence in an alert. Every field but `compound` was written by a stranger."""

    author: str
    channel: str
    text: str
    url: str
    compound: float
    created_at: datetime
    # How many near-duplicates (reposts, copy-pastes) this one stands for in the window.
    duplicates: int = 1


AlertKind = Literal["opened", "updated", "escalated", "reminder", "resolved", "test"]


@dataclass(frozen=True, slots=True)
class Alert:
    """What a notifier renders: an incident at one moment of its life."""

    kind: AlertKind
    incident_id: int
    # Stable per outbox message: a resend after a crash carries the same key.
    idempotency_key: str
    brand: str
    scope_kind: Literal["brand", "topic", "channel"]
    scope_value: str  # the topic or channel name; the brand name for the whole brand
    severity: Severity
    count: float  # negative mentions (or reach-weighted count) in the window
    expected: float  # what the baseline expects in a window of the same length
    ratio: float
    window: timedelta
    started_at: datetime
    peak_ratio: float
    top_mentions: tuple[AlertMention, ...] = ()
    top_topics: tuple[tuple[str, int], ...] = ()
    resolved_at: datetime | None = None
    # The words or phrases most over-represented in the window against the baseline.
    drivers: tuple[str, ...] = ()
    # Topic and channel incidents grouped into this brand incident: (scope name, count).
    breakdown: tuple[tuple[str, float], ...] = ()

    @property
    def scope(self) -> str:
        """Human name of the scope: 'Acme', 'Acme / topic outage', 'Acme / reddit'."""
        if self.scope_kind == "brand":
            return self.brand
        return f"{self.brand} / {self.scope_kind} {self.scope_value}"

    @property
    def duration(self) -> timedelta | None:
        return None if self.resolved_at is None else self.resolved_at - self.started_at


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    brand: str
    scope_kind: Literal["brand", "topic", "channel"]
    scope_value: str
    status: Literal["open", "resolved"]
    severity: Severity
    opened_at: datetime
    updated_at: datetime
    last_fired_at: datetime
    resolved_at: datetime | None
    last_notified_at: datetime | None
    notifications: int
    count: float
    expected: float
    ratio: float
    peak_ratio: float
    peak_count: float
    # The brand incident this topic/channel incident is shown in (it pages no one alone).
    grouped_into: int | None = None
    drivers: tuple[str, ...] = ()
    # Acknowledged by a person: no reminders (an escalation still pages).
    acked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    key: str
    incident_id: int | None
    team: str
    receiver: str
    kind: str
    payload: str
    status: Literal["pending", "sent", "dead"]
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


# -- weekly digest -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sentiment:
    """Volume and sentiment of a set of mentions: counts per label and mean compound."""

    mentions: int
    negative: int
    neutral: int
    positive: int
    mean_compound: float | None  # None when there are no mentions

    def share(self, label: Label) -> float:
        return getattr(self, label) / self.mentions if self.mentions else 0.0


@dataclass(frozen=True, slots=True)
class DigestDay:
    day: date  # in the team's timezone
    sentiment: Sentiment


@dataclass(frozen=True, slots=True)
class DigestChannel:
    channel: str
    week: Sentiment
    previous: Sentiment


@dataclass(frozen=True, slots=True)
class DigestTopic:
    topic: str
    week: Sentiment
    previous: Sentiment


@dataclass(frozen=True, slots=True)
class DigestMention:
    brand: str
    author: str
    channel: str
    text: str
    url: str
    created_at: datetime
    compound: float
    author_reach: float | None


@dataclass(frozen=True, slots=True)
class DigestIncident:
    id: int
    scope: str  # 'Acme', 'Acme / topic outage'
    severity: Severity
    opened_at: datetime
    resolved_at: datetime | None  # None: still open at the end of the week
    peak_ratio: float
    peak_count: float
    drivers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestAuthor:
    author: str
    channel: str
    mentions: int
    mean_compound: float


@dataclass(frozen=True, slots=True)
class Digest:
    """One team's weekly report, computed from the store; worded by monitor.digest.view."""

    team: str
    timezone: str
    week: str  # ISO week, e.g. 2026-W47
    start: datetime  # local midnight Monday, aware in `timezone`
    end: datetime  # the next Monday's local midnight
    brands: tuple[str, ...]
    channels: tuple[str, ...]  # empty: every channel
    topics: tuple[str, ...]  # empty: every topic
    week_total: Sentiment
    previous_total: Sentiment
    days: tuple[DigestDay, ...]
    by_channel: tuple[DigestChannel, ...]
    by_topic: tuple[DigestTopic, ...]
    most_negative: tuple[DigestMention, ...]
    most_positive: tuple[DigestMention, ...]
    incidents: tuple[DigestIncident, ...]
    authors: tuple[DigestAuthor, ...]
    generated_at: datetime
    # Set when the monitor's history does not cover the whole week (its first poll of some
    # source came after the week began): figures and comparisons are then partial.
    coverage_note: str | None = None

    @property
    def empty(self) -> bool:
        return self.week_total.mentions == 0
