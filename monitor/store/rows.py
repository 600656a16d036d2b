"""Mentions as INSERT rows: plain tuples in the column order of the statements below.

Positional, because binding 18 named parameters per row cost a backfill nearly as much as the
insert itself; plain, so an import's workers build them and the storing process only writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.models import Score, Scored
from monitor.store.base import reach_weight, ts
from monitor.text import cap_text

INSERT_MENTION = (
    "INSERT INTO mentions (brand, channel, native_id, url, author, author_reach, text, lang, "
    "rating, created_at, fetched_at, compound, pos, neu, neg, label, topics, weight) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
INSERT_TOPIC = "INSERT INTO mention_topics VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class SourceRows:
    """One (brand, channel)'s mention rows and topic rows."""

    brand: str
    channel: str
    mentions: list[Row]
    topics: list[Row]


def mention_row(
    brand: str,
    channel: str,
    native_id: str,
    url: str,
    author: str,
    reach: float | None,
    text: str,
    created_at: int,
    fetched_at: int,
    score: Score,
    topics: tuple[str, ...],
    lang: str | None = None,
    rating: int | None = None,
) -> Row:
    return (
        brand,
        channel,
        native_id,
        url,
        author,
        reach,
        cap_text(text),
        lang,
        rating,
        created_at,
        fetched_at,
        score.compound,
        score.pos,
        score.neu,
        score.neg,
        score.label,
        json.dumps(list(topics)) if topics else "[]",
        reach_weight(reach),
    )


def scored_row(s: Scored, fetched_at: int) -> Row:
    m = s.mention
    return mention_row(
        s.brand,
        m.channel,
        m.native_id,
        m.url,
        m.author,
        m.author_reach,
        m.text,
        ts(m.created_at),
        fetched_at,
        s.score,
        s.topics,
        m.lang,
        m.rating,
    )


def topic_rows(s: Scored) -> list[Row]:
    m = s.mention
    return _topic_rows(s.brand, s.topics, m.channel, m.native_id, ts(m.created_at), s.score)


def _topic_rows(
    brand: str, topics: tuple[str, ...], channel: str, native_id: str, created_at: int, score: Score
) -> list[Row]:
    return [(brand, topic, channel, native_id, created_at, score.label) for topic in topics]


class RowsBySource:
    """Rows for `Store.import_rows`, grouped by (brand, channel) as they are added."""

    def __init__(self, fetched: datetime) -> None:
        self.fetched_at = ts(fetched)
        self._groups: dict[tuple[str, str], SourceRows] = {}

    def add(
        self,
        brand: str,
        channel: str,
        native_id: str,
        url: str,
        author: str,
        reach: float | None,
        text: str,
        created_at: int,
        score: Score,
        topics: tuple[str, ...],
        lang: str | None = None,
        rating: int | None = None,
    ) -> None:
        """One mention's row and its topics' rows: its fields already valid UTF-8 without NUL
        (as `Mention` makes them)."""
        group = self._groups.get((brand, channel))
        if group is None:
            group = self._groups[brand, channel] = SourceRows(brand, channel, [], [])
        group.mentions.append(
            mention_row(
                brand,
                channel,
                native_id,
                url,
                author,
                reach,
                text,
                created_at,
                self.fetched_at,
                score,
                topics,
                lang,
                rating,
            )
        )
        if topics:
            group.topics.extend(_topic_rows(brand, topics, channel, native_id, created_at, score))

    def add_scored(self, s: Scored) -> None:
        m = s.mention
        self.add(
            s.brand,
            m.channel,
            m.native_id,
            m.url,
            m.author,
            m.author_reach,
            m.text,
            ts(m.created_at),
            s.score,
            s.topics,
            m.lang,
            m.rating,
        )

    def groups(self) -> list[SourceRows]:
        return list(self._groups.values())


def source_rows(scored: Iterable[Scored], fetched: datetime) -> list[SourceRows]:
    rows = RowsBySource(fetched)
    for s in scored:
        rows.add_scored(s)
    return rows.groups()
