"""What every query group shares: the connection and its lock, time columns, row conversion."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from monitor.models import StoredMention

Row = dict[str, Any]
Params = Sequence[Any] | dict[str, Any]


class StoreError(RuntimeError):
    """The database cannot be used; the message names the file, the problem and the fix."""


class Cursor(Protocol):
    """What the query groups read of a statement's result (sqlite3.Cursor has it all)."""

    @property
    def rowcount(self) -> int: ...
    @property
    def description(self) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchmany(self, size: int = 1, /) -> list[Any]: ...
    def close(self) -> None: ...


class DbConnection(Protocol):
    """What the query groups call on a connection: sqlite3's, or PostgreSQL's adapter."""

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Any, /) -> Cursor: ...
    @property
    def in_transaction(self) -> bool: ...
    def close(self) -> None: ...


# Marks a statement whose best plan depends on its values: PostgreSQL plans it on each call
# rather than keeping one generic plan for it (SQLite plans every statement so anyway).
PLAN_PER_CALL = "/* plan per call */"


def ts(when: datetime) -> int:
    return int(when.timestamp())


def from_ts(value: int | float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def at(value: int | float) -> datetime:
    """A NOT NULL time column as a datetime."""
    return datetime.fromtimestamp(value, UTC)


def reach_weight(reach: float | None) -> float:
    """How much one mention counts with `weight: reach`: log(1 + reach), at least 1."""
    return max(1.0, math.log1p(max(0.0, reach or 0.0)))


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception; joins an open transaction.

    IMMEDIATE takes the write lock up front, waiting under the busy timeout, so a transaction
    never fails half-way because another process wrote first.
    """
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Connection:
    """The connection and lock the query groups share; Store opens them.

    `dialect` is "sqlite" or "postgresql"; `begin` opens the dialect's write transaction,
    `open_stream` the cursor of a long read.
    """

    conn: DbConnection
    lock: threading.RLock
    dialect: str
    begin: Callable[[], AbstractContextManager[None]]
    open_stream: Callable[[str, Params], Cursor]

    def stream(self, sql: str, params: Params = ()) -> Cursor:
        """A cursor to read a long result from in batches (`fetchmany`); close it when done.

        SQLite steps its own cursor (one snapshot under WAL); PostgreSQL reads through a
        server-side cursor on a connection of its own."""
        with self.lock:
            return self.open_stream(sql, params)

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        with self.lock:
            cur = self.conn.execute(sql, params)
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    @contextmanager
    def transaction(self) -> Iterator[DbConnection]:
        """BEGIN ... COMMIT, or ROLLBACK on any exception. Re-entrant."""
        with self.lock, self.begin():
            yield self.conn


def stored_mention(r: Row) -> StoredMention:
    return StoredMention(
        brand=r["brand"],
        channel=r["channel"],
        native_id=r["native_id"],
        url=r["url"] or "",
        author=r["author"] or "",
        author_reach=r["author_reach"],
        text=r["text"],
        created_at=at(r["created_at"]),
        compound=r["compound"],
        label=r["label"],
        topics=tuple(json.loads(r["topics"] or "[]")),
        rating=r["rating"],
    )
