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


# Where a mention row holds the fields its topic rows repeat (see INSERT_MENTION).
_CREATED_AT, _LABEL = 9, 15


def topic_rows(row: Row, topics: tuple[str, ...]) -> list[Row]:
    """The topic rows of the mention in ``row`` (built by `mention_row`)."""
    brand, channel, native_id = row[0], row[1], row[2]
    created_at, label = row[_CREATED_AT], row[_LABEL]
    return [(brand, topic, channel, native_id, created_at, label) for topic in topics]


class RowsBySource:
    """Rows for `Store.import_rows`, grouped by (brand, channel) as they are added."""

    def __init__(self, fetched: datetime) -> None:
        self.fetched_at = ts(fetched)
        self._groups: dict[tuple[str, str], SourceRows] = {}

    def add(self, row: Row, topics: tuple[str, ...]) -> None:
        """A mention's row (`mention_row`, fetched at ``fetched_at``) and its topics' rows."""
        brand, channel = row[0], row[1]
        group = self._groups.get((brand, channel))
        if group is None:
            group = self._groups[brand, channel] = SourceRows(brand, channel, [], [])
        group.mentions.append(row)
        if topics:
            group.topics.extend(topic_rows(row, topics))

    def groups(self) -> list[SourceRows]:
        return list(self._groups.values())


def source_rows(scored: Iterable[Scored], fetched: datetime) -> list[SourceRows]:
    rows = RowsBySource(fetched)
    for s in scored:
        rows.add(scored_row(s, rows.fetched_at), s.topics)
    return rows.groups()
