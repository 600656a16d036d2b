"""The only package that speaks SQL: one SQLite file in WAL mode (the default), or a PostgreSQL
database many daemons share; the same schema and forward migrations on both.

Times are stored as integer Unix seconds (UTC) so window and baseline queries are index ranges.
`Store` composes the query groups, one module each; callers import everything from here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from monitor.database_setting import PostgresDatabase, is_postgres_url, shown_url
from monitor.store.aggregates import AggregateQueries
from monitor.store.base import StoreError, from_ts, immediate, reach_weight, ts
from monitor.store.bulk import BulkLoads, finish_bulk_load
from monitor.store.cluster import ClusterStore, DaemonRow, LeaderLock, Lease
from monitor.store.connection import connect, explain
from monitor.store.digests import DigestQueries, DigestScope
from monitor.store.incidents import IncidentStore
from monitor.store.known_keys import KnownKeys
from monitor.store.mentions import MentionStore, PollState
from monitor.store.operations import Heartbeat, OperationsStore
from monitor.store.outbox import OutboxStore
from monitor.store.rows import RowsBySource, SourceRows, mention_row, source_rows
from monitor.store.schema import MIGRATIONS, Migration, migrate, portable, schema_version
from monitor.store.transfer import TransferQueries

if TYPE_CHECKING:
    from monitor.store.postgres import PgConnection

__all__ = [
    "MIGRATIONS",
    "DaemonRow",
    "DigestScope",
    "Heartbeat",
    "KnownKeys",
    "LeaderLock",
    "Lease",
    "Migration",
    "PollState",
    "RowsBySource",
    "SourceRows",
    "Store",
    "StoreError",
    "from_ts",
    "is_postgres_url",
    "mention_row",
    "portable",
    "reach_weight",
    "source_rows",
    "ts",
]


class Store(
    MentionStore,
    IncidentStore,
    OutboxStore,
    DigestQueries,
    OperationsStore,
    AggregateQueries,
    TransferQueries,
    ClusterStore,
    BulkLoads,
):
    """The database the daemon's jobs share. Writes go through `transaction()`.

    `database` is a file path (or `sqlite:///path`) for SQLite, or a `postgresql://` URL.
    `dialect` says which; `where` names the database for messages (never with a password);
    `postgres` is PostgreSQL's pool adapter (`postgres.dedicated()` for advisory locks).
    """

    path: Path | None = None  # the SQLite file
    postgres: PgConnection | None = None  # PostgreSQL's pool

    def __init__(self, database: Path | str | PostgresDatabase) -> None:
        self.lock = threading.RLock()
        if isinstance(database, PostgresDatabase):
            database = database.reveal_url()
        if is_postgres_url(database):
            self._open_postgres(str(database))
            return
        text = str(database)
        self.path = Path(text.removeprefix("sqlite:///") if text.startswith("sqlite:///") else text)
        self.where = str(self.path)
        self.dialect = "sqlite"
        sqlite_conn = connect(self.path)
        self.conn = sqlite_conn
        self.begin = partial(immediate, sqlite_conn)
        self.open_stream = sqlite_conn.execute
        self._version: Callable[[], int] = partial(schema_version, sqlite_conn)
        try:
            migrate(sqlite_utils.Database(sqlite_conn), self.path)
            finish_bulk_load(sqlite_conn)
        except sqlite3.Error as exc:
            sqlite_conn.close()
            raise explain(self.path, exc) from exc

    def _open_postgres(self, url: str) -> None:
        # Imported here: psycopg loads only for a PostgreSQL database, never for SQLite or --help.
        from monitor.store import postgres

        self.where = shown_url(url)
        self.dialect = "postgresql"
        pg_conn, first = postgres.connect(url)
        try:
            with first:
                postgres.migrate(first, url)
        except BaseException:
            pg_conn.close()
            raise
        self.conn = pg_conn
        self.begin = pg_conn.transaction
        self.open_stream = pg_conn.stream
        self.postgres = pg_conn
        self._version = partial(postgres.schema_version, pg_conn)

    def close(self) -> None:
        if self.dialect == "postgresql":
            # The pool closes safely under any thread, and one stuck waiting for an unreachable
            # server (holding the lock) must not hold up a daemon's stop.
            self.conn.close()
            return
        with self.lock:
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self.lock:
            return self._version()
