"""A real PostgreSQL server for the test session: Debian's binaries, a throw-away data directory,
a free loopback port, run by an unprivileged user, stopped and deleted at the end.

Durability is switched off (fsync, synchronous_commit, full_page_writes): a test database that a
power cut would lose costs nothing, and it makes CREATE DATABASE per test cheap.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from itertools import count
from pathlib import Path

import psycopg

SUPERUSER = "monitor_test"
# Root may not run PostgreSQL; the Debian package creates this user for it.
RUN_AS = "postgres"


def find_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl: from PATH, else Debian's versioned directories."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl", path=str(Path(initdb).resolve().parent)):
        return Path(initdb).resolve().parent
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(bindir) / "initdb").exists() and (Path(bindir) / "pg_ctl").exists():
            return Path(bindir)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One server for the session; `fresh_database()` hands each test its own database."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self.template = ""
        self._names = count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            self._as_user = ["runuser", "-u", RUN_AS, "--"]
            shutil.chown(self.root, RUN_AS)

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._as_user, *args],
            capture_output=True,
            text=True,
            cwd=self.root,
            check=False,
            timeout=120,  # a server that never comes up fails the session instead of hanging it
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--no-locale",
            "--encoding=UTF8",
            "--no-sync",
        )
        for _attempt in range(5):
            self.port = _free_port()
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200 -c shared_buffers=32MB"
            )
            try:
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.root / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "start",
                )
                return
            except RuntimeError:
                # Another process took the port between our probe and the server's bind.
                continue
        raise RuntimeError(f"PostgreSQL would not start; see {self.root / 'server.log'}")

    def restart(self) -> None:
        """Stop the server (cutting every connection) and start it again on the same port."""
        # -l again: without it the new server writes to our pipe, and waiting for its EOF hangs.
        log = str(self.root / "server.log")
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            log,
            "-m",
            "fast",
            "-w",
            "restart",
        )

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [
                    *self._as_user,
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "immediate",
                    "stop",  # without it pg_ctl only prints its usage and the server runs on
                ],
                capture_output=True,
                cwd=self.root,
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def fresh_database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of `template`); its URL."""
        name = f"t{next(self._names)}"
        copy = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        self.admin(f"CREATE DATABASE {name}{copy}")
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
