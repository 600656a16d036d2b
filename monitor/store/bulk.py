"""Bulk loads into SQLite: for a large import into a small database, the secondary indexes on
mentions and their topics are dropped and built again after it, and the per-minute aggregates
are counted once after it instead of by a trigger per row.

Keeping six B-trees in order row by row costs a bulk import about half its storing time; one
sort per index afterwards costs about a third of that. The aggregate triggers cost another
3.5 us a row; counting 100k stored mentions again takes 0.07 s. The mention key (its primary
key) stays, so the import stays idempotent. A load that dies before it finishes (kill -9,
power) leaves the indexes and triggers missing: the next Store opened on the file builds them
and counts the aggregates again (`finish_bulk_load`).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from monitor.store.aggregates import BULK_LOAD_TRIGGERS, TRIGGERS, recount
from monitor.store.base import Connection, DbConnection, immediate

# As the migrations (v1, v3, v4) create them; tests/store/test_bulk.py holds the two equal.
DEFERRABLE_INDEXES: dict[str, str] = {
    "idx_mentions_brand_created_at": "mentions (brand, created_at)",
    "idx_mentions_brand_label_created_at": "mentions (brand, label, created_at)",
    "idx_mentions_brand_channel_label_created_at": "mentions (brand, channel, label, created_at)",
    "idx_mentions_created_at": "mentions (created_at)",
    "idx_mention_topics_brand_topic_label_created_at": (
        "mention_topics (brand, topic, label, created_at)"
    ),
    "idx_mention_topics_brand_created_at": "mention_topics (brand, created_at)",
}


def missing_indexes(conn: sqlite3.Connection) -> list[str]:
    return _missing(conn, DEFERRABLE_INDEXES)


def _missing(conn: sqlite3.Connection, names: Iterable[str]) -> list[str]:
    present = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    return [name for name in names if name not in present]


def _finish(conn: DbConnection) -> None:
    # The sorts of the index builds and the recount on every core: the load's other
    # processes are done by now (2M rows: 13.2 -> 8.7 s on 2 cores).
    conn.execute(f"PRAGMA threads = {os.cpu_count() or 1}")
    try:
        for name, target in DEFERRABLE_INDEXES.items():
            conn.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON {target}')
        for name in BULK_LOAD_TRIGGERS:
            conn.execute(TRIGGERS[name])
        recount(conn)
    finally:
        conn.execute("PRAGMA threads = 0")


def finish_bulk_load(conn: sqlite3.Connection) -> list[str]:
    """Finish what a bulk load left undone (it died first): the indexes and triggers it left
    out, built, and the aggregates counted; the names built.

    Reading sqlite_master first keeps an intact file's open free of any write lock."""
    missing = _missing(conn, [*DEFERRABLE_INDEXES, *BULK_LOAD_TRIGGERS])
    if missing:
        with immediate(conn):
            _finish(conn)
    return missing


class BulkLoads(Connection):
    """Mixed into Store."""

    path: Path | None  # the SQLite file

    def mention_rows_estimate(self) -> int:
        """About how many mentions are stored, without counting them (the highest rowid:
        never fewer than are stored). PostgreSQL: 0, it defers nothing."""
        if self.dialect != "sqlite":
            return 0
        return int(self.query("SELECT coalesce(max(rowid), 0) AS n FROM mentions")[0]["n"])

    def keys_file(self) -> Path | None:
        """The SQLite file other processes can look stored mention keys up in (`KnownKeys`):
        None when it holds no mentions, or for PostgreSQL."""
        if self.dialect != "sqlite" or not self.mention_rows_estimate():
            return None
        return self.path

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Inside: the deferrable indexes and the aggregates' insert triggers are gone; after
        it, however it ends, they are built again and the aggregates counted.

        Worth it only when the load is larger than what is stored: each index is rebuilt and
        each aggregate counted over every row. Queries inside stay correct, only slower, but
        the aggregates lag until the end. PostgreSQL: nothing changes."""
        if self.dialect != "sqlite":
            yield
            return
        with self.transaction() as conn:
            for name in DEFERRABLE_INDEXES:
                conn.execute(f'DROP INDEX IF EXISTS "{name}"')
            for name in BULK_LOAD_TRIGGERS:
                conn.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        try:
            yield
        finally:
            with self.transaction() as conn:
                _finish(conn)
