"""The only module that speaks SQL. One SQLite file in WAL mode; schema with forward migrations.

Times are stored as integer Unix seconds (UTC) so window and baseline queries are index ranges.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from monitor.models import Incident, OutboxMessage, Scored, Sentiment, StoredMention
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


def reach_weight(reach: float | None) -> float:
    """How much one mention counts with `weight: reach`: log(1 + reach), at least 1."""
    return max(1.0, math.log1p(max(0.0, reach or 0.0)))


def _v2_alerting(db: sqlite_utils.Database) -> None:
    if "weight" not in db["mentions"].columns_dict:
        db.conn.create_function("reach_weight", 1, reach_weight, deterministic=True)
        db.execute("ALTER TABLE mentions ADD COLUMN weight REAL NOT NULL DEFAULT 1.0")
        db.execute("UPDATE mentions SET weight = reach_weight(author_reach)")
    db["incidents"].create(
        {
            "id": int,
            "brand": str,
            "scope_kind": str,
            "scope_value": str,
            "status": str,
            "severity": str,
            "opened_at": int,
            "updated_at": int,
            "last_fired_at": int,
            "resolved_at": int,
            "last_notified_at": int,
            "notifications": int,
            "count": float,
            "expected": float,
            "ratio": float,
            "peak_ratio": float,
            "peak_count": float,
        },
        pk="id",
        not_null=("brand", "scope_kind", "scope_value", "status", "severity", "opened_at"),
        if_not_exists=True,
    )
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS incidents_one_open_per_scope "
        "ON incidents (brand, scope_kind, scope_value) WHERE status = 'open'"
    )
    db["incidents"].create_index(["opened_at"], if_not_exists=True)
    db["outbox"].create(
        {
            "id": int,
            "key": str,
            "incident_id": int,
            "team": str,
            "receiver": str,
            "kind": str,
            "payload": str,
            "status": str,
            "attempts": int,
            "next_attempt_at": int,
            "created_at": int,
            "sent_at": int,
            "last_error": str,
        },
        pk="id",
        not_null=("key", "team", "receiver", "kind", "payload", "status", "created_at"),
        defaults={"attempts": 0},
        if_not_exists=True,
    )
    db["outbox"].create_index(["key"], unique=True, if_not_exists=True)
    db["outbox"].create_index(["status", "next_attempt_at"], if_not_exists=True)


def _v3_digests(db: sqlite_utils.Database) -> None:
    db["mention_topics"].create_index(["brand", "created_at"], if_not_exists=True)
    db["digests"].create(
        {"team": str, "week": str, "created_at": int},
        pk=("team", "week"),
        if_not_exists=True,
    )


# Forward migrations, applied in order; each is idempotent so a crash mid-way re-runs safely.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1_core, _v2_alerting, _v3_digests]


# -- spike detection -----------------------------------------------------------------------


class _Connection:
    """The connection and lock the query groups below share; Store opens them."""

    conn: sqlite3.Connection
    lock: threading.RLock

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        with self.lock:
            cur = self.conn.execute(sql, params)
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


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


class SpikeQueries(_Connection):
    """Read-only queries the detector needs, per (brand, scope). Mixed into Store."""

    def negative_sum(
        self, brand: str, kind: str, value: str, start: datetime, end: datetime, weighted: bool
    ) -> float:
        """Negative mentions (or their reach weights) created in [start, end)."""
        what = "m.weight" if weighted else "1"
        sql = f"SELECT coalesce(sum({what}), 0) AS n " + _scoped(
            kind, "@created_at >= :start AND @created_at < :end"
        )
        params = {"brand": brand, "value": value, "start": ts(start), "end": ts(end)}
        return float(self.query(sql, params)[0]["n"])

    def negative_sums_by_day(
        self,
        brand: str,
        kind: str,
        value: str,
        now: datetime,
        window_s: int,
        days: int,
        weighted: bool,
    ) -> dict[int, float]:
        """{k: sum} for the same window of the day k days ago (k = 1..days); absent = 0."""
        what = "m.weight" if weighted else "1"
        sql = (
            f"SELECT (:now - @created_at) / 86400 AS k, sum({what}) AS n "
            + _scoped(
                kind,
                "@created_at > :oldest AND @created_at <= :newest "
                "AND (:now - @created_at) % 86400 < :window",
            )
            + " GROUP BY k"
        ).replace("@", "t." if kind == "topic" else "m.")
        now_s = ts(now)
        params = {
            "brand": brand,
            "value": value,
            "now": now_s,
            "window": window_s,
            "oldest": now_s - days * 86400 - window_s,
            "newest": now_s - 86400,
        }
        return {int(r["k"]): float(r["n"]) for r in self.query(sql, params) if 1 <= r["k"] <= days}

    def first_mention_at(self, brand: str) -> datetime | None:
        rows = self.query("SELECT min(created_at) AS t FROM mentions WHERE brand = ?", (brand,))
        return from_ts(rows[0]["t"])

    def negative_evidence(
        self, brand: str, kind: str, value: str, start: datetime, end: datetime, limit: int = 5
    ) -> list[StoredMention]:
        """The most negative mentions in the window, heavier reach first among equals."""
        sql = "SELECT m.* " + _scoped(kind, "@created_at >= :start AND @created_at < :end")
        sql += f" ORDER BY m.compound ASC, m.weight DESC, m.created_at DESC LIMIT {int(limit)}"
        params = {"brand": brand, "value": value, "start": ts(start), "end": ts(end)}
        return [_stored(r) for r in self.query(sql, params)]

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


class AlertingStore(_Connection):
    """Incidents and the outbox. Mixed into Store; callers group writes in `transaction()`."""

    def open_incident(self, brand: str, kind: str, value: str) -> Incident | None:
        rows = self.query(
            "SELECT * FROM incidents WHERE brand = ? AND scope_kind = ? AND scope_value = ? "
            "AND status = 'open'",
            (brand, kind, value),
        )
        return _incident(rows[0]) if rows else None

    def incident(self, incident_id: int) -> Incident:
        return _incident(self.query("SELECT * FROM incidents WHERE id = ?", (incident_id,))[0])

    def insert_incident(self, incident: Incident) -> int:
        row = _incident_row(incident)
        del row["id"]
        cur = self.conn.execute(
            f"INSERT INTO incidents ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
        return int(cur.lastrowid or 0)

    def save_incident(self, incident: Incident) -> None:
        row = _incident_row(incident)
        sets = ", ".join(f"{k} = :{k}" for k in row if k != "id")
        self.conn.execute(f"UPDATE incidents SET {sets} WHERE id = :id", row)

    def incidents(self, since: datetime | None = None, limit: int = 50) -> list[Incident]:
        rows = self.query(
            "SELECT * FROM incidents WHERE status = 'open' OR coalesce(resolved_at, opened_at) >= ? "
            "ORDER BY status = 'open' DESC, opened_at DESC LIMIT ?",
            (ts(since) if since else 0, limit),
        )
        return [_incident(r) for r in rows]

    def incidents_between(
        self, brands: Sequence[str], start: datetime, end: datetime
    ) -> list[Incident]:
        """Incidents of these brands that were open at any moment of [start, end)."""
        marks = ", ".join("?" * len(brands))
        rows = self.query(
            f"SELECT * FROM incidents WHERE brand IN ({marks}) AND opened_at < ? "
            "AND (resolved_at IS NULL OR resolved_at >= ?) ORDER BY opened_at",
            (*brands, ts(end), ts(start)),
        )
        return [_incident(r) for r in rows]

    def enqueue(
        self,
        key: str,
        incident_id: int | None,
        team: str,
        receiver: str,
        kind: str,
        payload: str,
        now: datetime,
    ) -> bool:
        """Queue one message; False if its key was queued before (never sent twice)."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO outbox (key, incident_id, team, receiver, kind, payload, status, "
            "attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
            (key, incident_id, team, receiver, kind, payload, ts(now), ts(now)),
        )
        return cur.rowcount == 1

    def due_messages(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        rows = self.query(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (ts(now), limit),
        )
        return [_message(r) for r in rows]

    def mark_sent(self, message_id: int, now: datetime) -> None:
        self.conn.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = NULL WHERE id = ?",
            (ts(now), message_id),
        )

    def mark_failed(self, message_id: int, error: str, next_attempt_at: datetime | None) -> None:
        """Record a failed attempt; `next_attempt_at=None` marks the message dead."""
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
            "status = CASE WHEN ? IS NULL THEN 'dead' ELSE 'pending' END WHERE id = ?",
            (
                error[:1000],
                ts(next_attempt_at) if next_attempt_at else None,
                ts(next_attempt_at) if next_attempt_at else None,
                message_id,
            ),
        )

    def messages(self, status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        sql, params = "SELECT * FROM outbox", []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        return [
            _message(r) for r in self.query(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        ]

    def messages_with_keys(self, keys: list[str]) -> list[OutboxMessage]:
        """The outbox rows with these keys, oldest first (a manual send finds its own)."""
        marks = ", ".join("?" * len(keys))
        rows = self.query(f"SELECT * FROM outbox WHERE key IN ({marks}) ORDER BY id", keys)
        return [_message(r) for r in rows]

    def outbox_counts(self) -> dict[str, int]:
        rows = self.query("SELECT status, count(*) AS n FROM outbox GROUP BY status")
        return {r["status"]: r["n"] for r in rows}


def _incident_row(i: Incident) -> dict[str, Any]:
    return {
        "id": i.id,
        "brand": i.brand,
        "scope_kind": i.scope_kind,
        "scope_value": i.scope_value,
        "status": i.status,
        "severity": i.severity,
        "opened_at": ts(i.opened_at),
        "updated_at": ts(i.updated_at),
        "last_fired_at": ts(i.last_fired_at),
        "resolved_at": ts(i.resolved_at) if i.resolved_at else None,
        "last_notified_at": ts(i.last_notified_at) if i.last_notified_at else None,
        "notifications": i.notifications,
        "count": i.count,
        "expected": i.expected,
        "ratio": i.ratio,
        "peak_ratio": i.peak_ratio,
        "peak_count": i.peak_count,
    }


def _incident(r: dict[str, Any]) -> Incident:
    return Incident(
        id=r["id"],
        brand=r["brand"],
        scope_kind=r["scope_kind"],
        scope_value=r["scope_value"],
        status=r["status"],
        severity=r["severity"],
        opened_at=from_ts(r["opened_at"]),  # type: ignore[arg-type]
        updated_at=from_ts(r["updated_at"]),
        last_fired_at=from_ts(r["last_fired_at"]),  # type: ignore[arg-type]
        resolved_at=from_ts(r["resolved_at"]),
        last_notified_at=from_ts(r["last_notified_at"]),
        notifications=r["notifications"] or 0,
        count=r["count"],
        expected=r["expected"],
        ratio=r["ratio"],
        peak_ratio=r["peak_ratio"],
        peak_count=r["peak_count"],
    )


def _message(r: dict[str, Any]) -> OutboxMessage:
    return OutboxMessage(
        id=r["id"],
        key=r["key"],
        incident_id=r["incident_id"],
        team=r["team"],
        receiver=r["receiver"],
        kind=r["kind"],
        payload=r["payload"],
        status=r["status"],
        attempts=r["attempts"],
        next_attempt_at=from_ts(r["next_attempt_at"]),
        created_at=from_ts(r["created_at"]),
        sent_at=from_ts(r["sent_at"]),  # type: ignore[arg-type]
        last_error=r["last_error"],
    )


@dataclass(frozen=True, slots=True)
class DigestScope:
    """Which mentions a team's digest covers; empty channels/topics mean all of them."""

    brands: tuple[str, ...]
    channels: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


_SENTIMENT = (
    "count(*) AS n, coalesce(sum(m.label = 'negative'), 0) AS neg, "
    "coalesce(sum(m.label = 'neutral'), 0) AS neu, coalesce(sum(m.label = 'positive'), 0) AS pos, "
    "avg(m.compound) AS mean"
)


def _sentiment(r: dict[str, Any]) -> Sentiment:
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


class DigestQueries(_Connection):
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

    def digest_extremes(
        self, scope: DigestScope, start: datetime, end: datetime, *, negative: bool, limit: int = 5
    ) -> list[StoredMention]:
        """The most negative (or positive) mentions, each weighed by its author's reach."""
        params: list[Any] = []
        where = _digest_where(scope, start, end, params)
        label, order = ("negative", "ASC") if negative else ("positive", "DESC")
        rows = self.query(
            f"SELECT m.* FROM mentions m WHERE {where} AND m.label = '{label}' "
            f"ORDER BY m.compound * m.weight {order}, m.created_at DESC LIMIT {int(limit)}",
            params,
        )
        return [_stored(r) for r in rows]

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
        return [_stored(r) for r in rows]

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
            "INSERT OR IGNORE INTO digests (team, week, created_at) VALUES (?, ?, ?)",
            (team, week, ts(now)),
        )
        return cur.rowcount == 1


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


class Store(SpikeQueries, AlertingStore, DigestQueries):
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
                "label, topics, weight) VALUES (:brand, :channel, :native_id, :url, :author, "
                ":author_reach, :text, :lang, :rating, :created_at, :fetched_at, :compound, :pos, "
                ":neu, :neg, :label, :topics, :weight)",
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

    def purge(self, mentions_before: datetime, messages_before: datetime) -> dict[str, int]:
        """Delete mentions (and their topics) older than the retention, and old finished messages."""
        with self.transaction() as conn:
            counts = {
                "mentions": conn.execute(
                    "DELETE FROM mentions WHERE created_at < ?", (ts(mentions_before),)
                ).rowcount,
                "mention_topics": conn.execute(
                    "DELETE FROM mention_topics WHERE created_at < ?", (ts(mentions_before),)
                ).rowcount,
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
        "weight": reach_weight(m.author_reach),
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
