"""Mentions: polls with their cursors, the reads that export them, the queries detection needs."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.models import Scored, StoredMention
from monitor.store.base import (
    PLAN_PER_CALL,
    Connection,
    DbConnection,
    from_ts,
    stored_mention,
    ts,
)
from monitor.store.rows import (
    INSERT_MENTION,
    INSERT_TOPIC,
    SourceRows,
    scored_row,
    source_rows,
    topic_rows,
)


@dataclass(frozen=True, slots=True)
class PollState:
    brand: str
    channel: str
    cursor: str | None
    last_poll_at: datetime | None
    last_ok_at: datetime | None
    last_error: str | None
    failures: int
    stored_total: int
    skipped_total: int
    mentions: int
    muted_total: int = 0
    failing_since: datetime | None = None
    first_poll_at: datetime | None = None


_SCOPES = {
    "brand": ("FROM mentions m WHERE m.brand = :brand", "m"),
    "channel": ("FROM mentions m WHERE m.brand = :brand AND m.channel = :value", "m"),
    "topic": (
        "FROM mention_topics t JOIN mentions m ON m.brand = t.brand AND m.channel = t.channel "
        "AND m.native_id = t.native_id WHERE t.brand = :brand AND t.topic = :value",
        "t",
    ),
}


def _scoped(kind: str, condition: str) -> str:
    """The scope's FROM/WHERE plus `condition`, with label/time on the indexed table."""
    base, alias = _SCOPES[kind]
    return f"{base} AND {alias}.label = 'negative' AND " + condition.replace("@", alias + ".")


class SpikeQueries(Connection):
    """Read-only queries the detector needs, per (brand, scope). Mixed into Store."""

    def first_mention_at(self, brand: str) -> datetime | None:
        # A generic plan walks the created_at index from the oldest mention of every brand,
        # filtering on brand: for a brand added to a large database that is nearly every row,
        # on each detection pass. Planned with the brand's name, it reads (brand, created_at).
        rows = self.query(
            f"SELECT {PLAN_PER_CALL} min(created_at) AS t FROM mentions WHERE brand = ?", (brand,)
        )
        return from_ts(rows[0]["t"])

    def negative_evidence(
        self, brand: str, kind: str, value: str, start: datetime, end: datetime, limit: int = 5
    ) -> list[StoredMention]:
        """The most negative mentions in the window, heavier reach first among equals."""
        sql = "SELECT m.* " + _scoped(kind, "@created_at >= :start AND @created_at < :end")
        sql += f" ORDER BY m.compound ASC, m.weight DESC, m.created_at DESC LIMIT {int(limit)}"
        params = {"brand": brand, "value": value, "start": ts(start), "end": ts(end)}
        return [stored_mention(r) for r in self.query(sql, params)]

    def negative_texts(
        self, brand: str, kind: str, value: str, start: datetime, end: datetime, limit: int
    ) -> list[str]:
        """Texts of the scope's negative mentions in [start, end), newest first, at most `limit`."""
        sql = "SELECT m.text " + _scoped(kind, "@created_at >= :start AND @created_at < :end")
        sql += f" ORDER BY @created_at DESC LIMIT {int(limit)}".replace(
            "@", "t." if kind == "topic" else "m."
        )
        params = {"brand": brand, "value": value, "start": ts(start), "end": ts(end)}
        return [r["text"] for r in self.query(sql, params)]

    def negative_topics(
        self, brand: str, kind: str, value: str, start: datetime, end: datetime, limit: int = 5
    ) -> list[tuple[str, int]]:
        sql = (
            "SELECT x.topic AS topic, count(*) AS n FROM mention_topics x WHERE x.brand = :brand "
            "AND x.label = 'negative' AND x.created_at >= :start AND x.created_at < :end "
            "AND EXISTS (SELECT 1 "
            + _scoped(kind, "@created_at >= :start AND @created_at < :end")
            + " AND m.channel = x.channel AND m.native_id = x.native_id)"
            f" GROUP BY x.topic ORDER BY n DESC, x.topic LIMIT {int(limit)}"
        )
        params = {"brand": brand, "value": value, "start": ts(start), "end": ts(end)}
        return [(r["topic"], r["n"]) for r in self.query(sql, params)]


class MentionStore(SpikeQueries):
    """Polls, cursors and mention reads. Mixed into Store."""

    def get_cursor(self, brand: str, channel: str) -> str | None:
        rows = self.query(
            "SELECT cursor FROM poll_state WHERE brand = ? AND channel = ?", (brand, channel)
        )
        return rows[0]["cursor"] if rows else None

    def save_poll(
        self,
        brand: str,
        channel: str,
        scored: Sequence[Scored],
        cursor: str | None,
        skipped: int,
        now: datetime,
        warning: str | None = None,
        before_commit: Callable[[], None] | None = None,
        muted: int = 0,
    ) -> int:
        """Store a poll's mentions and its cursor in one transaction; return how many were new.

        A mention already stored is left untouched, so repeating a poll changes nothing.
        `before_commit` exists for tests that prove a crash leaves neither mentions nor cursor.
        """
        return self.save_poll_counted(
            brand, channel, scored, cursor, skipped, now, warning, before_commit, muted
        )[0]

    def save_poll_counted(
        self,
        brand: str,
        channel: str,
        scored: Sequence[Scored],
        cursor: str | None,
        skipped: int,
        now: datetime,
        warning: str | None = None,
        before_commit: Callable[[], None] | None = None,
        muted: int = 0,
    ) -> tuple[int, dict[str, int]]:
        """`save_poll`, also returning the new mentions by sentiment label (for metrics) and
        adding `muted` (mentions dropped as muted author or domain) to the source's count."""
        fetched = ts(now)
        with self.transaction() as conn:
            stored_by_label = _insert_mentions(conn, scored, fetched)
            stored = sum(stored_by_label.values())
            conn.execute(
                "INSERT INTO poll_state (brand, channel, cursor, last_poll_at, last_ok_at, "
                "last_error, failures, stored_total, skipped_total, mention_count, muted_total, "
                "first_poll_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?) "
                "ON CONFLICT (brand, channel) DO UPDATE SET cursor = excluded.cursor, "
                "last_poll_at = excluded.last_poll_at, last_ok_at = excluded.last_ok_at, "
                "last_error = excluded.last_error, failures = 0, failing_since = NULL, "
                "stored_total = poll_state.stored_total + excluded.stored_total, "
                "skipped_total = poll_state.skipped_total + excluded.skipped_total, "
                "mention_count = poll_state.mention_count + excluded.mention_count, "
                "muted_total = poll_state.muted_total + excluded.muted_total, "
                "first_poll_at = coalesce(poll_state.first_poll_at, excluded.first_poll_at)",
                (
                    brand,
                    channel,
                    cursor,
                    fetched,
                    fetched,
                    warning,
                    stored,
                    skipped,
                    stored,
                    muted,
                    fetched,
                ),
            )
            if before_commit is not None:
                before_commit()
        return stored, stored_by_label

    def import_mentions(self, scored: Sequence[Scored], now: datetime) -> int:
        """Store imported mentions (a mention already stored is left untouched) without
        touching any poll cursor; return how many were new."""
        return self.import_rows(source_rows(scored, now))

    def import_rows(self, groups: Sequence[SourceRows]) -> int:
        """Store rows `source_rows` built (for an import, in the process that scored them);
        return how many mentions were new."""
        total = 0
        with self.transaction() as conn:
            for group in groups:
                # rowcount, not total_changes: the aggregate triggers' writes are not mentions.
                new = conn.executemany(INSERT_MENTION, group.mentions).rowcount
                if group.topics:
                    conn.executemany(INSERT_TOPIC, group.topics)
                total += new
                conn.execute(
                    "INSERT INTO poll_state (brand, channel, stored_total, mention_count) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (brand, channel) DO UPDATE SET "
                    "stored_total = poll_state.stored_total + excluded.stored_total, "
                    "mention_count = poll_state.mention_count + excluded.mention_count",
                    (group.brand, group.channel, new, new),
                )
        return total

    def record_poll_error(self, brand: str, channel: str, error: str, now: datetime) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO poll_state (brand, channel, last_poll_at, last_error, last_error_at, "
                "failures, failing_since, first_poll_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?) "
                "ON CONFLICT (brand, channel) DO UPDATE SET "
                "last_poll_at = excluded.last_poll_at, last_error = excluded.last_error, "
                "last_error_at = excluded.last_error_at, failures = poll_state.failures + 1, "
                "failing_since = coalesce(poll_state.failing_since, excluded.failing_since), "
                "first_poll_at = coalesce(poll_state.first_poll_at, excluded.first_poll_at)",
                (brand, channel, ts(now), error[:1000], ts(now), ts(now), ts(now)),
            )

    def failures(self, brand: str, channel: str) -> tuple[int, datetime | None]:
        """Consecutive failed polls of (brand, channel) and when the last one failed."""
        rows = self.query(
            "SELECT failures, last_error_at FROM poll_state WHERE brand = ? AND channel = ?",
            (brand, channel),
        )
        if not rows or not rows[0]["failures"]:
            return 0, None
        return rows[0]["failures"], from_ts(rows[0]["last_error_at"])

    def poll_states(self) -> list[PollState]:
        rows = self.query("SELECT * FROM poll_state ORDER BY brand, channel")
        return [
            PollState(
                brand=r["brand"],
                channel=r["channel"],
                cursor=r["cursor"],
                last_poll_at=from_ts(r["last_poll_at"]),
                last_ok_at=from_ts(r["last_ok_at"]),
                last_error=r["last_error"],
                failures=r["failures"] or 0,
                stored_total=r["stored_total"] or 0,
                skipped_total=r["skipped_total"] or 0,
                mentions=r["mention_count"],
                muted_total=r["muted_total"] or 0,
                failing_since=from_ts(r["failing_since"]),
                first_poll_at=from_ts(r["first_poll_at"]),
            )
            for r in rows
        ]

    # -- reading mentions ------------------------------------------------------------------

    def mentions(
        self,
        *,
        brand: str | None = None,
        channel: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        label: str | None = None,
        order: str = "newest",
        limit: int | None = None,
    ) -> list[StoredMention]:
        return list(
            self.iter_mentions(
                brand=brand,
                channel=channel,
                since=since,
                until=until,
                label=label,
                order=order,
                limit=limit,
            )
        )

    def iter_mentions(
        self,
        *,
        brand: str | None = None,
        channel: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        label: str | None = None,
        order: str = "newest",
        limit: int | None = None,
        batch: int = 500,
    ) -> Iterator[StoredMention]:
        """The matching mentions, read `batch` rows at a time so memory stays flat for any count.

        The read sees one snapshot (WAL; a read-only transaction on PostgreSQL) however slowly
        the caller consumes it.
        """
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        for column, value in (("brand", brand), ("channel", channel), ("label", label)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("created_at >= ?")
            params.append(ts(since))
        if until is not None:
            where.append("created_at < ?")
            params.append(ts(until))
        orders = {"newest": "created_at DESC", "most_negative": "compound ASC, created_at DESC"}
        sql = f"SELECT * FROM mentions WHERE {' AND '.join(where)} ORDER BY {orders[order]}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        cur = self.stream(sql, params)
        cols = [c[0] for c in cur.description]
        try:
            while True:
                with self.lock:
                    rows = cur.fetchmany(batch)
                if not rows:
                    return
                for row in rows:
                    yield stored_mention(dict(zip(cols, row, strict=True)))
        finally:
            # An abandoned iterator may be collected after the store closed its connection.
            with suppress(sqlite3.ProgrammingError):
                cur.close()

    def purge(self, mentions_before: datetime, messages_before: datetime) -> dict[str, int]:
        """Delete mentions (and their topics) older than the retention, and old finished messages."""
        with self.transaction() as conn:
            # Keep the per-(brand, channel) counts `status` reads in step with the delete.
            conn.execute(
                "UPDATE poll_state SET mention_count = mention_count - gone.n FROM "
                "(SELECT brand, channel, count(*) AS n FROM mentions WHERE created_at < ? "
                "GROUP BY brand, channel) AS gone "
                "WHERE poll_state.brand = gone.brand AND poll_state.channel = gone.channel",
                (ts(mentions_before),),
            )
            # Topics first: the per-minute aggregates' triggers read the mention's weight.
            topics = conn.execute(
                "DELETE FROM mention_topics WHERE created_at < ?", (ts(mentions_before),)
            ).rowcount
            counts = {
                "mentions": conn.execute(
                    "DELETE FROM mentions WHERE created_at < ?", (ts(mentions_before),)
                ).rowcount,
                "mention_topics": topics,
                "outbox": conn.execute(
                    "DELETE FROM outbox WHERE status IN ('sent', 'dead') AND created_at < ?",
                    (ts(messages_before),),
                ).rowcount,
            }
        return counts

    def label_counts(self, brand: str | None = None) -> dict[str, int]:
        sql = "SELECT label, count(*) AS n FROM mentions"
        params: list[Any] = []
        if brand is not None:
            sql += " WHERE brand = ?"
            params.append(brand)
        return {r["label"]: r["n"] for r in self.query(sql + " GROUP BY label", params)}


def _insert_mentions(conn: DbConnection, scored: Sequence[Scored], fetched: int) -> dict[str, int]:
    """Insert the mentions not stored yet and their topics; how many were new, by label."""
    by_label: dict[str, list[tuple[Any, ...]]] = {}
    topics: list[tuple[Any, ...]] = []
    for s in scored:
        row = scored_row(s, fetched)
        by_label.setdefault(s.score.label, []).append(row)
        topics += topic_rows(row, s.topics)
    stored_by_label: dict[str, int] = {}
    for label, rows in by_label.items():
        # rowcount, not total_changes: the aggregate triggers' writes are not new mentions.
        new = conn.executemany(INSERT_MENTION, rows).rowcount
        if new > 0:
            stored_by_label[label] = new
    if topics:
        conn.executemany(INSERT_TOPIC, topics)
    return stored_by_label
