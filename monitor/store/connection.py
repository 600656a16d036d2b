"""Opening the SQLite file: WAL mode, the busy timeout every statement waits under, and errors
that say which file is wrong, how, and what to do instead of a traceback."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from monitor.store.base import StoreError

BUSY_TIMEOUT_S = 30
_ELSEWHERE = "or set `database:` in the config to a writable file path"


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode; raises StoreError if `path` cannot be an SQLite database."""
    _prepare_directory(path)
    try:
        conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S
        )
    except sqlite3.Error as exc:
        raise explain(path, exc) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        _use_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error as exc:
        conn.close()
        raise explain(path, exc) from exc
    return conn


def _prepare_directory(path: Path) -> None:
    if path.is_dir():
        raise StoreError(
            f"database {path} is a directory, not a file; "
            f"set `database:` in the config to a file, e.g. {path / 'monitor.db'}"
        )
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise StoreError(
            f"database {path} cannot be created: {blocker} is a file, not a directory; "
            f"set `database:` in the config to a path under a directory"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the directory {path.parent} for database {path}: "
            f"{exc.strerror or exc}; create it, writable by this user, {_ELSEWHERE}"
        ) from exc


def explain(path: Path, exc: sqlite3.Error) -> Exception:
    """A StoreError for the SQLite errors a wrong path gives; other errors pass unchanged."""
    reason = str(exc)
    if "file is not a database" in reason:
        return StoreError(
            f"{path} is not an SQLite database (SQLite says: {reason}); point `database:` at a "
            "monitor database, or move this file away and monitor will create a new one"
        )
    if "unable to open database file" in reason:
        return StoreError(
            f"cannot open database {path}: {path.parent} is not writable by this user (monitor "
            f"creates {path.name} and its -wal and -shm files there); fix its permissions, "
            + _ELSEWHERE
        )
    if "readonly database" in reason:
        return StoreError(
            f"database {path} is read-only for this user (SQLite says: {reason}); make the file "
            f"and {path.parent} writable by this user, {_ELSEWHERE}"
        )
    return exc


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, retrying while another process switches the same fresh file.

    The switch needs an exclusive lock. When two connections both hold the shared lock, SQLite
    fails one at once with "database is locked" instead of waiting (waiting would deadlock), so
    the busy timeout does not cover this one statement.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
