"""Bulk loads into SQLite: the secondary indexes on mentions and their topics are dropped for a
large import into a small database and built again after it.

Keeping six B-trees in order row by row costs a bulk import about half its storing time; one
sort per index afterwards costs about a third of that. The mention key (its primary key) stays,
so the import stays idempotent. A load that dies before it builds them again (kill -9, power)
leaves them missing: the next Store opened on the file builds them (`restore_indexes`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

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
    present = {
        name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    return [name for name in DEFERRABLE_INDEXES if name not in present]


def _create(conn: DbConnection) -> None:
    for name, target in DEFERRABLE_INDEXES.items():
        conn.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON {target}')


def restore_indexes(conn: sqlite3.Connection) -> list[str]:
    """Build the indexes a bulk load left out (it died before building them); the names built.

    Reading sqlite_master first keeps an intact file's open free of any write lock."""
    missing = missing_indexes(conn)
    if missing:
        with immediate(conn):
            _create(conn)
    return missing


class BulkLoads(Connection):
    """Mixed into Store."""

    def mention_rows_estimate(self) -> int:
        """About how many mentions are stored, without counting them (the highest rowid:
        never fewer than are stored). PostgreSQL: 0, it defers nothing."""
        if self.dialect != "sqlite":
            return 0
        return int(self.query("SELECT coalesce(max(rowid), 0) AS n FROM mentions")[0]["n"])

    @contextmanager
    def indexes_deferred(self) -> Iterator[None]:
        """Inside: the deferrable indexes are gone; after it, however it ends, built again.

        Worth it only when the load is larger than what is stored: each index is rebuilt over
        every row. Queries inside stay correct, only slower. PostgreSQL: nothing changes."""
        if self.dialect != "sqlite":
            yield
            return
        with self.transaction() as conn:
            for name in DEFERRABLE_INDEXES:
                conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        try:
            yield
        finally:
            with self.transaction() as conn:
                _create(conn)
