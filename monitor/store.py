"""The only module that speaks SQL. One SQLite file in WAL mode; schema with forward migrations.

Times are stored as integer Unix seconds (UTC) so window and baseline queries are index ranges.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from monitor.models import Scored, StoredMention
from monitor.text import cap_text


def ts(when: datetime) -> int:
    return int(when.timestamp())


def from_ts(value: int | float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _v1_core(db: sqlite_utils.Database) -> None:
    db["mentions"].create(
        {
            "brand": str,
            "channel": str,
            "native_id": str,
            "url": str,
            "author": str,
            "author_reach": float,
            "text": str,
            "lang": str,
            "rating": int,
            "created_at": int,
            "fetched_at": int,
            "compound": float,
            "pos": float,
            "neu": float,
            "neg": float,
            "label": str,
            "topics": str,
        },
        pk=("brand", "channel", "native_id"),
        not_null=("brand", "channel", "native_id", "text", "created_at", "label"),
        if_not_exists=True,
    )
    db["mentions"].create_index(["brand", "created_at"], if_not_exists=True)
    db["mentions"].create_index(["brand", "label", "created_at"], if_not_exists=True)
    db["mentions"].create_index(["brand", "channel", "label", "created_at"], if_not_exists=True)
    db["mention_topics"].create(
        {
            "brand": str,
            "topic": str,
            "channel": str,
            "native_id": str,
            "created_at": int,
            "label": str,
        },
        pk=("brand", "topic", "channel", "native_id"),
        if_not_exists=True,
    )
    db["mention_topics"].create_index(["brand", "topic", "label", "created_at"], if_not_exists=True)
    db["poll_state"].create(
        {
            "brand": str,
            "channel": str,
            "cursor": str,
            "last_poll_at": int,
            "last_ok_at": int,
            "last_error": str,
            "last_error_at": int,
            "failures": int,
            "stored_total": int,
            "skipped_total": int,
        },
        pk=("brand", "channel"),
        defaults={"failures": 0, "stored_total": 0, "skipped_total": 0},
        if_not_exists=True,
    )


# Forward migrations, applied in order; each is idempotent so a crash mid-way re-runs safely.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1_core]


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


class Store:
    """A SQLite file shared by the daemon's jobs. Writes go through `transaction()`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=30
        )
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.db = sqlite_utils.Database(self.conn)
        self.lock = threading.RLock()
        self._migrate()

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        row = self.conn.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        with self.lock:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            current = self.schema_version
            if current > len(MIGRATIONS):
                raise RuntimeError(
                    f"{self.path} has schema version {current}, newer than this monitor "
                    f"({len(MIGRATIONS)}); upgrade monitor"
                )
            for version in range(current + 1, len(MIGRATIONS) + 1):
                MIGRATIONS[version - 1](self.db)
                with self.transaction():
                    self.conn.execute("DELETE FROM schema_version")
                    self.conn.execute("INSERT INTO schema_version VALUES (?)", (version,))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception. Re-entrant."""
        with self.lock:
            if self.conn.in_transaction:
                yield self.conn
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        with self.lock:
            cur = self.conn.execute(sql, params)
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    # -- polling ---------------------------------------------------------------------------

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
    ) -> int:
        """Store a poll's mentions and its cursor in one transaction; return how many were new.

        A mention already stored is left untouched, so repeating a poll changes nothing.
        `before_commit` exists for tests that prove a crash leaves neither mentions nor cursor.
        """
        fetched = ts(now)
        rows = [_mention_row(s, fetched) for s in scored]
        topic_rows = [
            (
                s.brand,
                topic,
                s.mention.channel,
                s.mention.native_id,
                ts(s.mention.created_at),
                s.score.label,
            )
            for s in scored
            for topic in s.topics
        ]
        with self.transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO mentions (brand, channel, native_id, url, author, "
                "author_reach, text, lang, rating, created_at, fetched_at, compound, pos, neu, neg, "
                "label, topics) VALUES (:brand, :channel, :native_id, :url, :author, :author_reach, "
                ":text, :lang, :rating, :created_at, :fetched_at, :compound, :pos, :neu, :neg, "
                ":label, :topics)",
                rows,
            )
            stored = conn.total_changes - before
            conn.executemany(
                "INSERT OR IGNORE INTO mention_topics VALUES (?, ?, ?, ?, ?, ?)", topic_rows
            )
            conn.execute(
                "INSERT INTO poll_state (brand, channel, cursor, last_poll_at, last_ok_at, "
                "last_error, failures, stored_total, skipped_total) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?) "
                "ON CONFLICT (brand, channel) DO UPDATE SET cursor = excluded.cursor, "
                "last_poll_at = excluded.last_poll_at, last_ok_at = excluded.last_ok_at, "
                "last_error = excluded.last_error, failures = 0, "
                "stored_total = stored_total + excluded.stored_total, "
                "skipped_total = skipped_total + excluded.skipped_total",
                (brand, channel, cursor, fetched, fetched, warning, stored, skipped),
            )
            if before_commit is not None:
                before_commit()
        return stored

    def record_poll_error(self, brand: str, channel: str, error: str, now: datetime) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO poll_state (brand, channel, last_poll_at, last_error, last_error_at, failures) "
                "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (brand, channel) DO UPDATE SET "
                "last_poll_at = excluded.last_poll_at, last_error = excluded.last_error, "
                "last_error_at = excluded.last_error_at, failures = failures + 1",
                (brand, channel, ts(now), error[:1000], ts(now)),
            )

    def poll_states(self) -> list[PollState]:
        rows = self.query(
            "SELECT p.*, (SELECT count(*) FROM mentions m WHERE m.brand = p.brand "
            "AND m.channel = p.channel) AS mentions FROM poll_state p ORDER BY p.brand, p.channel"
        )
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
                mentions=r["mentions"],
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
        where, params = ["1 = 1"], []
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
        return [_stored(r) for r in self.query(sql, params)]

    def label_counts(self, brand: str | None = None) -> dict[str, int]:
        sql = "SELECT label, count(*) AS n FROM mentions"
        params: list[Any] = []
        if brand is not None:
            sql += " WHERE brand = ?"
            params.append(brand)
        return {r["label"]: r["n"] for r in self.query(sql + " GROUP BY label", params)}


def _mention_row(s: Scored, fetched: int) -> dict[str, Any]:
    m = s.mention
    return {
        "brand": s.brand,
        "channel": m.channel,
        "native_id": m.native_id,
        "url": m.url,
        "author": m.author,
        "author_reach": m.author_reach,
        "text": cap_text(m.text),
        "lang": m.lang,
        "rating": m.rating,
        "created_at": ts(m.created_at),
        "fetched_at": fetched,
        "compound": s.score.compound,
        "pos": s.score.pos,
        "neu": s.score.neu,
        "neg": s.score.neg,
        "label": s.score.label,
        "topics": json.dumps(list(s.topics)),
    }


def _stored(r: dict[str, Any]) -> StoredMention:
    return StoredMention(
        brand=r["brand"],
        channel=r["channel"],
        native_id=r["native_id"],
        url=r["url"] or "",
        author=r["author"] or "",
        author_reach=r["author_reach"],
        text=r["text"],
        created_at=from_ts(r["created_at"]),  # type: ignore[arg-type]
        compound=r["compound"],
        label=r["label"],
        topics=tuple(json.loads(r["topics"] or "[]")),
        rating=r["rating"],
    )
