"""The only package that speaks SQL. One SQLite file in WAL mode; schema with forward migrations.

Times are stored as integer Unix seconds (UTC) so window and baseline queries are index ranges.
`Store` composes the query groups, one module each; callers import everything from here.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import sqlite_utils

from monitor.store.base import from_ts, reach_weight, ts
from monitor.store.digests import DigestQueries, DigestScope
from monitor.store.incidents import IncidentStore
from monitor.store.mentions import MentionStore, PollState
from monitor.store.outbox import OutboxStore
from monitor.store.schema import MIGRATIONS

__all__ = [
    "MIGRATIONS",
    "DigestScope",
    "PollState",
    "Store",
    "from_ts",
    "reach_weight",
    "ts",
]


class Store(MentionStore, IncidentStore, OutboxStore, DigestQueries):
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
