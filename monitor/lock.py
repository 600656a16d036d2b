"""The daemon's lock file beside the database: two daemons never poll into one store, and
`monitor status` can tell whether a daemon holds it right now."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from monitor.database_setting import PostgresDatabase


class AlreadyRunning(Exception):
    pass


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class DaemonLock:
    """An exclusive flock, held open for the daemon's lifetime; it goes when the process does."""

    def __init__(self, database: Path | PostgresDatabase) -> None:
        # PostgreSQL: several daemons may share one database, so there is no file to lock.
        self.path = lock_path(database) if isinstance(database, Path) else None
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the daemon's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "unknown"
            handle.close()
            raise AlreadyRunning(
                f"another monitor daemon (pid {pid}) is already using {self.path.with_suffix('')}; "
                "stop it first, or point this one at another database"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_held(database: Path | PostgresDatabase) -> bool:
    """Whether some process (a running daemon) holds the database's lock now. Probing takes
    the lock for an instant, shared, so it never blocks a daemon that is starting."""
    if not isinstance(database, Path):
        return False  # PostgreSQL has no lock file
    try:
        handle = open(lock_path(database))  # noqa: SIM115 - closed below
    except OSError:
        return False  # no lock file: no daemon ever ran here
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
