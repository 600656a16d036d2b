"""Dataclasses that travel between the stages of the pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

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
