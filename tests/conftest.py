"""Shared test fixtures: real payload files, fixed clocks, config files in tmp dirs, and the
database each store test runs against (SQLite and a real PostgreSQL server)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.store import Store
from tests.helpers import FixedClock
from tests.postgres_server import PostgresServer, find_binaries


@pytest.fixture
def clock() -> FixedClock:
    # Just after the newest recorded HN hit (2014-06-20).
    return FixedClock(datetime(2014, 6, 21, 12, 0, tzinfo=UTC))


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "monitor.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session, with a migrated template database."""
    bindir = find_binaries()
    if bindir is None:
        reason = "PostgreSQL's initdb and pg_ctl are not installed (apt-get install postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    server = PostgresServer(bindir)
    try:
        server.start()
        server.template = server.fresh_database()
        Store(server.url(server.template)).close()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a test's Store lives: an SQLite file, or a fresh database on the session's server
    (a copy of the migrated template)."""
    if request.param == "sqlite":
        yield str(tmp_path / "m.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.fresh_database(server.template)
    yield server.url(name)
    server.drop_database(name)
