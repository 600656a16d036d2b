"""Opening a database: many processes at once on a fresh one (SQLite file or PostgreSQL
database), and paths that cannot work."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.store import MIGRATIONS, Store, StoreError
from tests.postgres_server import PostgresServer

# Each child imports first, then opens one fresh file per line the parent sends: the opens of
# a round start together instead of being spread out by interpreter start-up, and one set of
# processes serves several rounds (one round alone sometimes misses the race).
OPEN_EACH_LINE = """
import sys
from monitor.store import Store
print("ready", flush=True)
for line in sys.stdin:
    with Store(line.strip()) as store:
        store.poll_states()
        store.incidents()
        print(store.schema_version, flush=True)
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_databases(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """Five databases no monitor has opened: SQLite files, or empty PostgreSQL databases."""
    if request.param == "sqlite":
        return [str(tmp_path / f"fresh{n}.db") for n in range(5)]
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return [server.url(server.fresh_database()) for _ in range(5)]


def test_six_processes_opening_fresh_databases_at_once_all_succeed(
    fresh_databases: list[str],
) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_EACH_LINE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    paths = fresh_databases
    outs = []
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for path in paths:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(f"{path}\n")
            proc.stdin.flush()
        outs.append([proc.stdout.readline() for proc in procs if proc.stdout is not None])
    results = [(proc.communicate(timeout=60)[1], proc.returncode) for proc in procs]
    assert results == [("", 0)] * 6
    assert outs == [[f"{len(MIGRATIONS)}\n"] * 6] * len(paths)
    for path in paths:
        with Store(path) as store:
            rows = store.query("SELECT version FROM schema_version")
            assert rows == [{"version": len(MIGRATIONS)}]


def test_reopening_an_up_to_date_database_takes_no_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    Store(path).close()
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with Store(path) as store:
            assert store.schema_version == len(MIGRATIONS)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def store_error(path: Path) -> str:
    with pytest.raises(StoreError) as caught:
        Store(path)
    return str(caught.value)


def test_a_directory_as_database_is_refused_with_a_file_to_use_instead(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    message = store_error(tmp_path / "data")
    assert f"database {tmp_path / 'data'} is a directory" in message
    assert f"e.g. {tmp_path / 'data' / 'monitor.db'}" in message


def test_a_database_under_a_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("x")
    message = store_error(tmp_path / "notes" / "sub" / "m.db")
    assert f"{tmp_path / 'notes'} is a file, not a directory" in message


# sysfs refuses new files and directories even to root, where a chmod-ed tmp dir would not.
@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
def test_a_database_in_an_unwritable_directory_names_the_directory() -> None:
    message = store_error(Path("/sys/monitor.db"))
    assert "cannot open database /sys/monitor.db: /sys is not writable by this user" in message
    assert "set `database:`" in message


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
def test_a_missing_directory_that_cannot_be_created_is_named() -> None:
    message = store_error(Path("/sys/monitor-missing/monitor.db"))
    assert message.startswith("cannot create the directory /sys/monitor-missing for database")


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("meeting notes, not a database\n" * 20)
    message = store_error(path)
    assert f"{path} is not an SQLite database" in message
    assert "move this file away" in message
    assert path.read_text() == "meeting notes, not a database\n" * 20


def test_a_missing_directory_that_can_be_created_is_created(tmp_path: Path) -> None:
    with Store(tmp_path / "new" / "dir" / "m.db") as store:
        assert store.schema_version == len(MIGRATIONS)
