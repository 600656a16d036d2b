"""Opening a database: many processes at once on a fresh file, and paths that cannot work."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from monitor.store import MIGRATIONS, Store

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


def test_six_processes_opening_fresh_databases_at_once_all_succeed(tmp_path: Path) -> None:
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
    paths = [tmp_path / f"fresh{n}.db" for n in range(5)]
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
