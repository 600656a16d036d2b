"""PostgreSQL behind the query groups: a connection pool that looks, to them, like the one
sqlite3 connection they were written for.

The store's SQL keeps SQLite's placeholders (`?`, `:name`); `to_pyformat` rewrites them for
psycopg. Inside `transaction()` a thread's statements go to the pooled connection it checked out;
outside one, each statement runs in autocommit on whichever pooled connection is free. Results are
read in full before the connection goes back to the pool, with PostgreSQL's NUMERIC (what `sum()`
of BIGINTs and `avg()` of integers give) turned into the int or float SQLite would have returned.
The pool replaces connections the server dropped, so a restarted server costs the statements
that were in flight, never a half-applied transaction: PostgreSQL commits all of one or none.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from monitor.database_setting import shown_url
from monitor.store.base import PLAN_PER_CALL, Params, StoreError
from monitor.store.schema import MIGRATIONS, checked

_NUMERIC_OID = 1700
CONNECT_TIMEOUT_S = 10
POOL_SIZE = 8
_FIX = (
    "check that the server is running and reachable from here, that the database exists and "
    "that the user may connect, or set `database:` in the config to another database"
)


def _scrub(message: str, url: str) -> str:
    password = urlsplit(url).password
    return message.replace(unquote(password), "***") if password else message


@lru_cache(maxsize=2048)
def to_pyformat(sql: str) -> str:
    """SQLite-style `?` and `:name` placeholders as psycopg's `%s` and `%(name)s`; a literal `%`
    doubled. Quoted strings and identifiers pass unchanged, as does a `::` cast."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            j = i + 1
            while True:
                j = sql.find(c, j)
                if j == -1:
                    j = n - 1
                    break
                if j + 1 < n and sql[j + 1] == c:
                    j += 2
                    continue
                break
            out.append(sql[i : j + 1].replace("%", "%%"))
            i = j + 1
            continue
        if c == "?":
            out.append("%s")
        elif c == "%":
            out.append("%%")
        elif c == ":" and sql.startswith("::", i):
            out.append("::")
            i += 1
        elif c == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1 : j]})s")
            i = j
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        # sum() of BIGINTs is a whole number (exponent 0); avg() always carries decimals.
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    return value


class Result:
    """What a statement gave, read in full: the part of sqlite3.Cursor the query groups use."""

    def __init__(
        self, rows: list[tuple[Any, ...]], description: tuple[tuple[str], ...] | None, rowcount: int
    ) -> None:
        self._rows = rows
        self._next = 0
        self.description = description
        self.rowcount = rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        batch = self.fetchmany(1)
        return batch[0] if batch else None

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        batch = self._rows[self._next : self._next + size]
        self._next += len(batch)
        return batch

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.fetchmany(len(self._rows))

    def close(self) -> None:
        self._rows = []


def _numeric(cur: psycopg.Cursor[Any]) -> list[int]:
    return [i for i, col in enumerate(cur.description or ()) if col.type_code == _NUMERIC_OID]


def _rows(rows: list[tuple[Any, ...]], numeric: list[int]) -> list[tuple[Any, ...]]:
    if not numeric:
        return rows
    return [tuple(_plain(v) if i in numeric else v for i, v in enumerate(row)) for row in rows]


def _result(cur: psycopg.Cursor[Any]) -> Result:
    if cur.description is None:
        return Result([], None, cur.rowcount)
    rows = _rows(cur.fetchall(), _numeric(cur))
    return Result(rows, tuple((col.name,) for col in cur.description), cur.rowcount)


class Stream:
    """A server-side cursor on a connection of its own, read a batch at a time: an export of any
    size holds one batch in memory, and sees one snapshot however slowly it is read."""

    def __init__(self, pool: ConnectionPool, sql: str, params: Params) -> None:
        self._pool = pool
        self._conn: psycopg.Connection[Any] | None = pool.getconn()
        try:
            self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            self._cur = self._conn.cursor(name="monitor_stream")
            self._cur.execute(to_pyformat(sql), _params(params))
        except BaseException:
            self.close()
            raise
        self.description = tuple((col.name,) for col in self._cur.description or ())
        self.rowcount = -1
        self._numeric_cols = _numeric(self._cur)

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        return _rows(self._cur.fetchmany(size), self._numeric_cols)

    def fetchone(self) -> tuple[Any, ...] | None:
        batch = self.fetchmany(1)
        return batch[0] if batch else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return _rows(self._cur.fetchall(), self._numeric_cols)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not conn.closed:
                conn.rollback()  # read only: ending the transaction closes the cursor too
        except psycopg.Error:
            pass  # a broken connection: the pool discards it below
        finally:
            if not self._pool.closed:
                self._pool.putconn(conn)
            else:
                conn.close()


def _params(params: Params) -> Params:
    return params if isinstance(params, dict) else tuple(params)


class PgConnection:
    """The pool, speaking the sqlite3.Connection methods the query groups call."""

    def __init__(self, url: str, pool: ConnectionPool) -> None:
        self.url = url
        self._pool = pool
        self._local = threading.local()

    @property
    def in_transaction(self) -> bool:
        return getattr(self._local, "conn", None) is not None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT on one pooled connection, ROLLBACK on any exception; joins an open one."""
        if self.in_transaction:
            yield
            return
        with self._pool.connection() as conn:
            self._local.conn = conn
            try:
                with conn.transaction():
                    yield
            finally:
                self._local.conn = None

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        with self._pool.connection() as pooled:
            yield pooled

    def execute(self, sql: str, params: Params = ()) -> Result:
        # psycopg prepares a statement on the server once a connection has run it 5 times, and
        # PostgreSQL may then keep one generic plan for every value; a statement marked
        # PLAN_PER_CALL is planned for its values each time instead.
        prepare = False if PLAN_PER_CALL in sql else None
        with self._connection() as conn:
            return _result(conn.execute(to_pyformat(sql), _params(params), prepare=prepare))

    def executemany(self, sql: str, seq: Sequence[Params]) -> Result:
        with self._connection() as conn, conn.cursor() as cur:
            cur.executemany(to_pyformat(sql), [_params(p) for p in seq])
            return Result([], None, cur.rowcount)

    def stream(self, sql: str, params: Params = ()) -> Result | Stream:
        """The rows of a long read, fetched in batches; inside a transaction, its snapshot."""
        if self.in_transaction:
            return self.execute(sql, params)
        return Stream(self._pool, sql, params)

    def dedicated(self) -> psycopg.Connection[Any]:
        """A connection of its own, outside the pool (autocommit): for a session-level advisory
        lock, which must stay on one connection for as long as it is held."""
        return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)

    def close(self) -> None:
        self._pool.close()


def connect(url: str) -> tuple[PgConnection, psycopg.Connection[Any]]:
    """The pooled connection and one dedicated connection to migrate with; StoreError naming the
    server and database (never the password) when PostgreSQL cannot be reached."""
    try:
        first = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        reason = _scrub(str(exc).strip().replace("\n", " "), url)
        raise StoreError(f"cannot connect to {shown_url(url)}: {reason}; {_FIX}") from None
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=POOL_SIZE,
        kwargs={"autocommit": True},
        # A checkout waits this long for a connection (the default is 30 s): a statement fails
        # sooner when the server is out of reach, and the store's lock is held less long.
        timeout=CONNECT_TIMEOUT_S,
        # Checked on every checkout: a connection the server dropped is replaced, not used.
        check=ConnectionPool.check_connection,
        open=False,
        name="monitor-store",
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    except PoolTimeout:
        first.close()
        pool.close()
        raise StoreError(
            f"cannot connect to {shown_url(url)} within {CONNECT_TIMEOUT_S}s; {_FIX}"
        ) from None
    return PgConnection(url, pool), first


# pg_advisory_xact_lock key: 'moni' in ASCII; every monitor migrating this database waits on it.
_MIGRATION_LOCK = 0x6D6F6E69


def schema_version(conn: psycopg.Connection[Any] | PgConnection) -> int:
    """The version a database is at; 0 for a database no monitor has opened yet."""
    found = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: psycopg.Connection[Any], url: str) -> None:
    """Bring the database to the latest version; a no-op, without any lock, if it is already.

    Daemons starting together on a fresh database queue on one advisory lock held for the
    migration's transaction, then re-read the version: exactly one runs each migration.
    """
    where = shown_url(url)
    if checked(schema_version(conn), where) == len(MIGRATIONS):
        return
    try:
        _migrate(conn, where)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreError(
            f"cannot create monitor's tables in {where}: {_scrub(str(exc).strip(), url)}; "
            "let the user create tables in the database (GRANT CREATE ON SCHEMA public TO ...) "
            "or make it the database's owner"
        ) from None


def _migrate(conn: psycopg.Connection[Any], where: str) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = checked(schema_version(conn), where)
        for migration in MIGRATIONS[current:]:
            for statement in migration.postgresql:
                conn.execute(statement)
        if current < len(MIGRATIONS):
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version VALUES (%s)", (len(MIGRATIONS),))
