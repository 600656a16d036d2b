"""Tables, indexes and forward migrations, for SQLite and PostgreSQL alike. Each migration runs
in one transaction, so a crash mid-way leaves the previous version and the next open re-runs it.

Version N means the same tables on both: each `Migration` holds SQLite's step and PostgreSQL's.
A new migration whose SQL is portable is one line: `portable("ALTER TABLE ...", ...)`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from monitor.store import postgres_schema as pg
from monitor.store.aggregates import create_aggregates
from monitor.store.base import StoreError, immediate, reach_weight
from monitor.store.cluster import CLUSTER_TABLES, OUTBOX_ATTEMPT_COLUMNS, OUTBOX_CLAIM_COLUMNS

SqliteStep = Callable[[sqlite_utils.Database], None]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema version: SQLite's step (a sqlite-utils function or SQL statements) and
    PostgreSQL's SQL statements."""

    sqlite: SqliteStep | tuple[str, ...]
    postgresql: tuple[str, ...]


def portable(*statements: str) -> Migration:
    """A migration whose statements mean the same on SQLite and PostgreSQL."""
    return Migration(statements, statements)


def _v1_core(db: sqlite_utils.Database) -> None:
    db.table("mentions").create(
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
    db.table("mentions").create_index(["brand", "created_at"], if_not_exists=True)
    db.table("mentions").create_index(["brand", "label", "created_at"], if_not_exists=True)
    db.table("mentions").create_index(
        ["brand", "channel", "label", "created_at"], if_not_exists=True
    )
    db.table("mention_topics").create(
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
    db.table("mention_topics").create_index(
        ["brand", "topic", "label", "created_at"], if_not_exists=True
    )
    db.table("poll_state").create(
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


def _v2_alerting(db: sqlite_utils.Database) -> None:
    if "weight" not in db.table("mentions").columns_dict:
        db.conn.create_function("reach_weight", 1, reach_weight, deterministic=True)
        db.execute("ALTER TABLE mentions ADD COLUMN weight REAL NOT NULL DEFAULT 1.0")
        db.execute("UPDATE mentions SET weight = reach_weight(author_reach)")
    db.table("incidents").create(
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
    db.table("incidents").create_index(["opened_at"], if_not_exists=True)
    db.table("outbox").create(
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
    db.table("outbox").create_index(["key"], unique=True, if_not_exists=True)
    db.table("outbox").create_index(["status", "next_attempt_at"], if_not_exists=True)


def _v3_digests(db: sqlite_utils.Database) -> None:
    db.table("mention_topics").create_index(["brand", "created_at"], if_not_exists=True)
    db.table("digests").create(
        {"team": str, "week": str, "created_at": int},
        pk=("team", "week"),
        if_not_exists=True,
    )


def _v4_counts(db: sqlite_utils.Database) -> None:
    # Exports filter on time alone (`mentions --since`) and stream newest first.
    db.table("mentions").create_index(["created_at"], if_not_exists=True)
    # `status` reads each (brand, channel)'s mention count from here instead of counting history;
    # save_poll and purge keep it in their own transactions.
    if "mention_count" not in db.table("poll_state").columns_dict:
        db.execute("ALTER TABLE poll_state ADD COLUMN mention_count INTEGER NOT NULL DEFAULT 0")
        db.execute(
            "UPDATE poll_state SET mention_count = (SELECT count(*) FROM mentions m "
            "WHERE m.brand = poll_state.brand AND m.channel = poll_state.channel)"
        )


def _v5_operations(db: sqlite_utils.Database) -> None:
    """Operating it: muted counts and failure streaks per source, acknowledgements and held
    (silenced) notices on incidents, the daemon's heartbeat, silences."""
    _add_columns(db, "poll_state", {"muted_total": "INTEGER NOT NULL DEFAULT 0"})
    _add_columns(db, "poll_state", {"failing_since": "INTEGER"})
    _add_columns(db, "poll_state", {"first_poll_at": "INTEGER"})
    # An existing install: its history starts with the first mention it fetched.
    db.execute(
        "UPDATE poll_state SET first_poll_at = coalesce((SELECT min(m.fetched_at) FROM mentions m "
        "WHERE m.brand = poll_state.brand AND m.channel = poll_state.channel), last_poll_at) "
        "WHERE first_poll_at IS NULL"
    )
    # held_kind: the notice a silence kept back, sent once when the silence ends.
    _add_columns(db, "incidents", {"acked_at": "INTEGER", "held_kind": "TEXT"})
    db.table("heartbeat").create(
        {"id": int, "pid": int, "host": str, "started_at": int, "beat_at": int, "version": str},
        pk="id",
        if_not_exists=True,
    )
    db.table("silences").create(
        {
            "id": int,
            "brand": str,
            "scope_kind": str,
            "scope_value": str,
            "starts_at": int,
            "ends_at": int,
            "reason": str,
            "created_at": int,
        },
        pk="id",
        not_null=("brand", "starts_at", "ends_at", "created_at"),
        if_not_exists=True,
    )
    db.table("silences").create_index(["ends_at"], if_not_exists=True)


def _add_columns(db: sqlite_utils.Database, table: str, columns: dict[str, str]) -> None:
    existing = db.table(table).columns_dict
    for name, decl in columns.items():
        if name not in existing:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")


def _v6_aggregates(db: sqlite_utils.Database) -> None:
    # Detection and backtest read per-minute negative counts instead of rescanning mentions.
    create_aggregates(db)
    # Grouping: a topic or channel incident folded into its brand's incident pages no one alone.
    if "grouped_into" not in db.table("incidents").columns_dict:
        db.execute("ALTER TABLE incidents ADD COLUMN grouped_into INTEGER")
    if "drivers" not in db.table("incidents").columns_dict:
        db.execute("ALTER TABLE incidents ADD COLUMN drivers TEXT")


def _v7_sent_ref(db: sqlite_utils.Database) -> None:
    # Slack's reference to a posted page (channel and ts), so growth edits that very message.
    _add_columns(db, "outbox", {"sent_ref": "TEXT"})


def _v8_cluster(db: sqlite_utils.Database) -> None:
    # Several daemons on one database: who runs, poll leases, one sender per outbox message.
    for statement in CLUSTER_TABLES:
        db.execute(statement)
    _add_columns(db, "outbox", OUTBOX_CLAIM_COLUMNS)


def _v9_attempt_marks(db: sqlite_utils.Database) -> None:
    # A sender marks a message before sending it: a pending row still marked has an unknown
    # outcome, and another sender leaves it to the marker while the marker may be alive.
    _add_columns(db, "outbox", OUTBOX_ATTEMPT_COLUMNS)


def _pg_add_columns(table: str, columns: dict[str, str]) -> tuple[str, ...]:
    return tuple(
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {name} {decl}"
        for name, decl in columns.items()
    )


_V8_CLUSTER_PG = CLUSTER_TABLES + _pg_add_columns("outbox", OUTBOX_CLAIM_COLUMNS)


# Forward migrations, applied in order; append new ones at the end. SQLite's steps stay
# idempotent: a test (and a damaged file) may re-run them from an older version.
MIGRATIONS: list[Migration] = [
    Migration(_v1_core, pg.V1_CORE),
    Migration(_v2_alerting, pg.V2_ALERTING),
    Migration(_v3_digests, pg.V3_DIGESTS),
    Migration(_v4_counts, pg.V4_COUNTS),
    Migration(_v5_operations, pg.V5_OPERATIONS),
    Migration(_v6_aggregates, pg.V6_AGGREGATES),
    Migration(_v7_sent_ref, ("ALTER TABLE outbox ADD COLUMN IF NOT EXISTS sent_ref TEXT",)),
    Migration(_v8_cluster, _V8_CLUSTER_PG),
    Migration(_v9_attempt_marks, _pg_add_columns("outbox", OUTBOX_ATTEMPT_COLUMNS)),
]


def schema_version(conn: sqlite3.Connection) -> int:
    """The version a database is at; 0 for a file no monitor has opened yet."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone():
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(db: sqlite_utils.Database, path: Path) -> None:
    """Bring the database to the latest version; a no-op, without a write lock, if it is already.

    Several processes may open a fresh file at once: each waits for the write lock (BEGIN
    IMMEDIATE, under the busy timeout) and re-reads the version inside it, so exactly one runs
    each migration and the others find the work done.
    """
    conn = db.conn
    if checked(schema_version(conn), path) == len(MIGRATIONS):
        return
    with immediate(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = checked(schema_version(conn), path)
        for version in range(current + 1, len(MIGRATIONS) + 1):
            step = MIGRATIONS[version - 1].sqlite
            if callable(step):
                step(db)
            else:
                for statement in step:
                    conn.execute(statement)
        if current < len(MIGRATIONS):
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version VALUES (?)", (len(MIGRATIONS),))


def checked(version: int, where: Path | str) -> int:
    """`version`, or StoreError if a newer monitor wrote the database."""
    if version > len(MIGRATIONS):
        raise StoreError(
            f"{where} has schema version {version}, newer than this monitor "
            f"({len(MIGRATIONS)}); upgrade monitor"
        )
    return version
