"""The only package that speaks SQL. One SQLite file in WAL mode; schema with forward migrations.

Times are stored as integer Unix seconds (UTC) so window and baseline queries are index ranges.
`Store` composes the query groups, one module each; callers import everything from here.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import sqlite_utils

from monitor.store.aggregates import AggregateQueries
from monitor.store.base import StoreError, from_ts, reach_weight, ts
from monitor.store.cluster import ClusterStore, DaemonRow, LeaderLock, Lease
from monitor.store.connection import connect, explain
from monitor.store.digests import DigestQueries, DigestScope
from monitor.store.incidents import IncidentStore
from monitor.store.mentions import MentionStore, PollState
from monitor.store.operations import Heartbeat, OperationsStore
from monitor.store.outbox import OutboxStore
from monitor.store.schema import MIGRATIONS, migrate, schema_version

__all__ = [
    "MIGRATIONS",
    "DaemonRow",
    "DigestScope",
    "Heartbeat",
    "LeaderLock",
    "Lease",
    "PollState",
    "Store",
    "StoreError",
    "from_ts",
    "reach_weight",
    "ts",
]


class Store(
    MentionStore,
    IncidentStore,
    OutboxStore,
    DigestQueries,
    OperationsStore,
    AggregateQueries,
    ClusterStore,
):
    """A SQLite file shared by the daemon's jobs. Writes go through `transaction()`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.conn = connect(self.path)
        self.db = sqlite_utils.Database(self.conn)
        self.lock = threading.RLock()
        try:
            migrate(self.db, self.path)
        except sqlite3.Error as exc:
            self.conn.close()
            raise explain(self.path, exc) from exc

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self.lock:
            return schema_version(self.conn)
