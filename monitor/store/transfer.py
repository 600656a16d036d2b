"""Moving a whole installation between databases (`monitor db copy`): the tables that carry
state, read in key order a batch at a time, written with the batch's resume point.

Each batch is inserted in the same transaction that records how far the copy got
(`copy_progress` in the destination), so a copy stopped at any moment resumes after the last
committed batch and never writes a row twice. `negative_minutes` is not copied: the
destination's own triggers rebuild it from the mentions as they arrive, which is also a check
that both agree (`aggregate_totals`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.store.base import Connection


@dataclass(frozen=True, slots=True)
class CopiedTable:
    name: str
    key: tuple[str, ...]
    # An integer id the destination generates itself; after copying explicit ids, PostgreSQL's
    # sequence must move past them or the next insert collides.
    generated_id: bool = False


# Mentions before their topics (the topic aggregate trigger reads the mention's weight).
# Runtime state of one daemon (heartbeat, leases) is not history and is not moved.
COPIED_TABLES: tuple[CopiedTable, ...] = (
    CopiedTable("mentions", ("brand", "channel", "native_id")),
    CopiedTable("mention_topics", ("brand", "topic", "channel", "native_id")),
    CopiedTable("poll_state", ("brand", "channel")),
    CopiedTable("incidents", ("id",), generated_id=True),
    CopiedTable("outbox", ("id",), generated_id=True),
    CopiedTable("digests", ("team", "week")),
    CopiedTable("silences", ("id",), generated_id=True),
)

_PROGRESS = (
    "CREATE TABLE IF NOT EXISTS copy_progress (source TEXT NOT NULL, name TEXT NOT NULL, "
    "last_key TEXT, copied INTEGER NOT NULL, done INTEGER NOT NULL, PRIMARY KEY (source, name))"
)


@dataclass(frozen=True, slots=True)
class Progress:
    last_key: tuple[Any, ...] | None
    copied: int
    done: bool


class TransferQueries(Connection):
    """Reads and writes for `monitor db copy`. Mixed into Store."""

    def row_count(self, table: CopiedTable) -> int:
        return int(self.query(f"SELECT count(*) AS n FROM {table.name}")[0]["n"])

    def aggregate_totals(self) -> tuple[int, float]:
        """(negative mentions counted, their reach) over every scope and minute."""
        row = self.query("SELECT sum(n) AS n, sum(reach) AS reach FROM negative_minutes")[0]
        return int(row["n"] or 0), round(float(row["reach"] or 0.0), 6)

    def read_batch(
        self, table: CopiedTable, after: tuple[Any, ...] | None, limit: int
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Up to `limit` rows (all columns) with a key after `after`, in key order."""
        keys = ", ".join(table.key)
        sql = f"SELECT * FROM {table.name}"
        params: list[Any] = []
        if after is not None:
            marks = ", ".join("?" for _ in table.key)
            sql += f" WHERE ({keys}) > ({marks})"
            params.extend(after)
        sql += f" ORDER BY {keys} LIMIT {int(limit)}"
        with self.lock:
            cur = self.conn.execute(sql, params)
            columns = [c[0] for c in cur.description]
            rows = [tuple(r) for r in cur.fetchall()]
        return columns, rows

    def copy_progress(self, source: str, table: CopiedTable) -> Progress:
        rows = self.query(
            "SELECT last_key, copied, done FROM copy_progress WHERE source = ? AND name = ?",
            (source, table.name),
        )
        if not rows:
            return Progress(None, 0, False)
        last = rows[0]["last_key"]
        return Progress(
            tuple(json.loads(last)) if last else None, int(rows[0]["copied"]), bool(rows[0]["done"])
        )

    def begin_copy(self, source: str) -> bool:
        """Create the progress table if needed; whether a copy from `source` began here before."""
        with self.transaction() as conn:
            conn.execute(_PROGRESS)
        return bool(self.query("SELECT 1 AS x FROM copy_progress WHERE source = ?", (source,)))

    def write_batch(
        self,
        source: str,
        table: CopiedTable,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        copied: int,
        done: bool,
    ) -> None:
        """Insert `rows` and record the new resume point, in one transaction."""
        # PostgreSQL refuses NUL in text, which SQLite stored; U+FFFD as for lone surrogates.
        rows = [tuple(_no_nul(v) for v in row) for row in rows]
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        positions = [list(columns).index(k) for k in table.key]
        last = json.dumps([rows[-1][i] for i in positions]) if rows else None
        with self.transaction() as conn:
            if rows:
                conn.executemany(
                    f"INSERT INTO {table.name} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING",
                    rows,
                )
            conn.execute(
                "INSERT INTO copy_progress (source, name, last_key, copied, done) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, name) DO UPDATE SET "
                "last_key = coalesce(excluded.last_key, copy_progress.last_key), "
                "copied = excluded.copied, done = excluded.done",
                (source, table.name, last, copied, int(done)),
            )
            if done and table.generated_id and self.dialect == "postgresql":
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                )


def _no_nul(value: Any) -> Any:
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value
