"""Aggregates for the weekly digest, computed in SQL over index ranges, and digest bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.models import Sentiment, StoredMention
from monitor.store.base import Connection, Row, stored_mention, ts


@dataclass(frozen=True, slots=True)
class DigestScope:
    """Which mentions a team's digest covers; empty channels/topics mean all of them."""

    brands: tuple[str, ...]
    channels: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


_SENTIMENT = ", ".join(
    ["count(*) AS n"]
    + [
        f"count(CASE WHEN m.label = '{label}' THEN 1 END) AS {column}"
        for label, column in (("negative", "neg"), ("neutral", "neu"), ("positive", "pos"))
    ]
    + ["avg(m.compound) AS mean"]
)


def _sentiment(r: Row) -> Sentiment:
    return Sentiment(r["n"], r["neg"], r["neu"], r["pos"], r["mean"])


def _in(column: str, values: Sequence[str], params: list[Any]) -> str:
    params.extend(values)
    return f"{column} IN ({', '.join('?' * len(values))})"


def _digest_where(scope: DigestScope, start: datetime, end: datetime, params: list[Any]) -> str:
    """WHERE for mentions `m` of the scope created in [start, end); fills `params` in order."""
    where = [_in("m.brand", scope.brands or ("",), params)]
    if scope.channels:
        where.append(_in("m.channel", scope.channels, params))
    if scope.topics:
        where.append(
            "EXISTS (SELECT 1 FROM mention_topics x WHERE x.brand = m.brand AND x.channel = m.channel "
            "AND x.native_id = m.native_id AND " + _in("x.topic", scope.topics, params) + ")"
        )
    where.append("m.created_at >= ? AND m.created_at < ?")
    params.extend((ts(start), ts(end)))
    return " AND ".join(where)


class DigestQueries(Connection):
    """Aggregates for the weekly digest, computed in SQL over index ranges. Mixed into Store."""

    def digest_sentiment(self, scope: DigestScope, start: datetime, end: datetime) -> Sentiment:
        params: list[Any] = []
        where = _digest_where(scope, start, end, params)
        return _sentiment(
            self.query(f"SELECT {_SENTIMENT} FROM mentions m WHERE {where}", params)[0]
        )

    def digest_days(self, scope: DigestScope, bounds: Sequence[datetime]) -> list[Sentiment]:
        """Sentiment per period between consecutive `bounds` (local midnights, DST-safe)."""
        cases = " ".join(f"WHEN m.created_at < {ts(b)} THEN {i}" for i, b in enumerate(bounds[1:]))
        params: list[Any] = []
        where = _digest_where(scope, bounds[0], bounds[-1], params)
        rows = self.query(
            f"SELECT CASE {cases} END AS d, {_SENTIMENT} FROM mentions m WHERE {where} GROUP BY d",
            params,
        )
        found = {r["d"]: _sentiment(r) for r in rows}
        return [found.get(i, Sentiment(0, 0, 0, 0, None)) for i in range(len(bounds) - 1)]

    def digest_by_channel(
        self, scope: DigestScope, start: datetime, end: datetime
    ) -> dict[str, Sentiment]:
        params: list[Any] = []
        where = _digest_where(scope, start, end, params)
        rows = self.query(
            f"SELECT m.channel AS channel, {_SENTIMENT} FROM mentions m WHERE {where} GROUP BY m.channel",
            params,
        )
        return {r["channel"]: _sentiment(r) for r in rows}

    def digest_by_topic(
        self, scope: DigestScope, start: datetime, end: datetime
    ) -> dict[str, Sentiment]:
        params: list[Any] = []
        # Drive the join from the topic rows of the period (index on brand, created_at).
        topic_where = (
            _in("t.brand", scope.brands or ("",), params)
            + " AND t.created_at >= ? AND t.created_at < ?"
        )
        params.extend((ts(start), ts(end)))
        if scope.topics:
            topic_where += " AND " + _in("t.topic", scope.topics, params)
        where = _digest_where(DigestScope(scope.brands, scope.channels), start, end, params)
        rows = self.query(
            f"SELECT t.topic AS topic, {_SENTIMENT} FROM mention_topics t JOIN mentions m "
            "ON m.brand = t.brand AND m.channel = t.channel AND m.native_id = t.native_id "
            f"WHERE {topic_where} AND {where} GROUP BY t.topic",
            params,
        )
        return {r["topic"]: _sentiment(r) for r in rows}

    def digest_standouts(
        self,
        scope: DigestScope,
        start: datetime,
        end: datetime,
        *,
        negative: bool,
        limit: int = 5,
        per_channel: int = 3,
    ) -> list[StoredMention]:
        """The most negative (or positive) mentions, fair across channels: reach is compared
        only within a channel (the author's percentile among that channel's mentions in the
        range, 0.5 for a channel that has no reach), the score weighed by 1 + percentile; at
        most `per_channel` from one channel unless no other channel has any left."""
        params: list[Any] = []
        where = _digest_where(scope, start, end, params)
        label, order = ("negative", "ASC") if negative else ("positive", "DESC")
        rows = self.query(
            "WITH ranked AS (SELECT m.*, CASE WHEN max(m.author_reach) OVER w IS NULL THEN 0.5 "
            "ELSE percent_rank() OVER (w ORDER BY coalesce(m.author_reach, -1)) END AS pct "
            f"FROM mentions m WHERE {where} WINDOW w AS (PARTITION BY m.channel)), "
            "numbered AS (SELECT *, row_number() OVER (PARTITION BY channel "
            f"ORDER BY compound * (1 + pct) {order}, created_at DESC) AS nth "
            f"FROM ranked WHERE label = '{label}') "
            f"SELECT * FROM numbered ORDER BY nth > {int(per_channel)}, "
            f"compound * (1 + pct) {order}, created_at DESC LIMIT {int(limit)}",
            params,
        )
        return [stored_mention(r) for r in rows]

    def digest_authors(
        self, scope: DigestScope, start: datetime, end: datetime, limit: int = 5
    ) -> list[tuple[str, str, int, float]]:
        params: list[Any] = []
        where = _digest_where(scope, start, end, params)
        rows = self.query(
            "SELECT m.author AS author, m.channel AS channel, count(*) AS n, avg(m.compound) AS mean "
            f"FROM mentions m WHERE {where} GROUP BY m.author, m.channel "
            f"ORDER BY n DESC, m.author LIMIT {int(limit)}",
            params,
        )
        return [(r["author"], r["channel"], r["n"], r["mean"]) for r in rows]

    def digest_recorded(self, team: str, week: str) -> bool:
        return bool(self.query("SELECT 1 FROM digests WHERE team = ? AND week = ?", (team, week)))

    def record_digest(self, team: str, week: str, now: datetime) -> bool:
        """Mark the team's digest for the week as queued; False if it already was (idempotent)."""
        cur = self.conn.execute(
            "INSERT INTO digests (team, week, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (team, week, ts(now)),
        )
        return cur.rowcount == 1
