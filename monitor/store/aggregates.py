"""Per-minute negative counts per (brand, scope): what the detector and the backtest read.

`negative_minutes` holds, for each (brand, scope kind, scope value, minute), how many negative
mentions were created in that minute and the sum of their reach weights. Triggers on `mentions`
and `mention_topics` keep it in step inside whatever transaction writes or deletes mentions
(a poll's save, an import, a purge), so it can never drift from the rows it counts; the
migration that creates it backfills from the mentions already stored.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from monitor.store.base import Connection, DbConnection, at, ts

# One row per scope and minute: (brand, kind, value, minute) with minute = created_at / 60.
_TABLE = """CREATE TABLE IF NOT EXISTS negative_minutes (
    brand TEXT NOT NULL, scope_kind TEXT NOT NULL, scope_value TEXT NOT NULL,
    minute INTEGER NOT NULL, n INTEGER NOT NULL, reach REAL NOT NULL,
    PRIMARY KEY (brand, scope_kind, scope_value, minute)) WITHOUT ROWID"""

_UPSERT = (
    "INSERT INTO negative_minutes VALUES ({brand}, '{kind}', {value}, {minute}, 1, {weight}) "
    "ON CONFLICT DO UPDATE SET n = n + 1, reach = reach + excluded.reach"
)
_DECREMENT = (
    "UPDATE negative_minutes SET n = n - 1, reach = reach - {weight} WHERE brand = {brand} "
    "AND scope_kind = '{kind}' AND scope_value = {value} AND minute = {minute}"
)
_TOPIC_WEIGHT = (
    "coalesce((SELECT m.weight FROM mentions m WHERE m.brand = {r}.brand "
    "AND m.channel = {r}.channel AND m.native_id = {r}.native_id), 1.0)"
)


def _trigger(name: str, event: str, table: str, row: str, body: str) -> str:
    return (
        f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {table} "
        f"WHEN {row}.label = 'negative' BEGIN {body}; END"
    )


def _mention_body(sql: str, row: str) -> str:
    common = {
        "brand": f"{row}.brand",
        "minute": f"{row}.created_at / 60",
        "weight": f"{row}.weight",
    }
    return "; ".join(
        sql.format(kind=kind, value=value, **common)
        for kind, value in (("brand", f"{row}.brand"), ("channel", f"{row}.channel"))
    )


def _topic_body(sql: str, row: str) -> str:
    return sql.format(
        brand=f"{row}.brand",
        kind="topic",
        value=f"{row}.topic",
        minute=f"{row}.created_at / 60",
        weight=_TOPIC_WEIGHT.format(r=row),
    )


# What keeps the table in step, by trigger name. A bulk load goes without the two that count
# inserts (`BULK_LOAD_TRIGGERS`) and counts what it loaded once after it (`recount`).
TRIGGERS = {
    name: _trigger(name, event, table, row, body)
    for name, event, table, row, body in (
        ("negative_minutes_add", "INSERT", "mentions", "NEW", _mention_body(_UPSERT, "NEW")),
        ("negative_minutes_remove", "DELETE", "mentions", "OLD", _mention_body(_DECREMENT, "OLD")),
        # A topic row reads its mention's weight, so a purge deletes topics before mentions.
        (
            "negative_minutes_topic_add",
            "INSERT",
            "mention_topics",
            "NEW",
            _topic_body(_UPSERT, "NEW"),
        ),
        (
            "negative_minutes_topic_remove",
            "DELETE",
            "mention_topics",
            "OLD",
            _topic_body(_DECREMENT, "OLD"),
        ),
    )
}
BULK_LOAD_TRIGGERS = ("negative_minutes_add", "negative_minutes_topic_add")


def create_aggregates(db: sqlite_utils.Database) -> None:
    """The table, its upkeep triggers and a backfill from the mentions already stored."""
    fresh = not db.table("negative_minutes").exists()
    db.execute(_TABLE)
    for sql in TRIGGERS.values():
        db.execute(sql)
    if fresh:
        _count(db.conn)


def recount(conn: DbConnection) -> None:
    """Count every stored mention again: after a bulk load, which went without the triggers."""
    conn.execute("DELETE FROM negative_minutes")
    _count(conn)


def _count(conn: DbConnection) -> None:
    conn.execute(
        "INSERT INTO negative_minutes SELECT m.brand, 'channel', m.channel, m.created_at / 60, "
        "count(*), sum(m.weight) FROM mentions m WHERE m.label = 'negative' GROUP BY 1, 3, 4"
    )
    # A brand's minute is the sum of its channels' (every mention has one channel): one scan
    # of the mentions fewer, a third of a recount's time.
    conn.execute(
        "INSERT INTO negative_minutes SELECT brand, 'brand', brand, minute, sum(n), sum(reach) "
        "FROM negative_minutes WHERE scope_kind = 'channel' GROUP BY brand, minute"
    )
    conn.execute(
        "INSERT INTO negative_minutes SELECT t.brand, 'topic', t.topic, t.created_at / 60, "
        "count(*), sum(coalesce(m.weight, 1.0)) FROM mention_topics t LEFT JOIN mentions m "
        "ON m.brand = t.brand AND m.channel = t.channel AND m.native_id = t.native_id "
        "WHERE t.label = 'negative' GROUP BY 1, 3, 4"
    )


class AggregateQueries(Connection):
    """Reads of the per-minute negative counts. Mixed into Store."""

    def negative_minutes(
        self,
        brand: str,
        kind: str,
        value: str,
        start: datetime,
        end: datetime,
        weighted: bool = False,
    ) -> tuple[list[datetime], list[float]]:
        """(minute starts, counts or reach sums) of the scope's non-empty minutes in [start,
        end), ascending: one indexed range read, ready for `BucketCounts`."""
        what = "reach" if weighted else "n"
        with self.lock:
            rows = self.conn.execute(
                f"SELECT minute, {what} FROM negative_minutes WHERE brand = ? AND scope_kind = ? "
                "AND scope_value = ? AND minute >= ? AND minute < ? AND n > 0 ORDER BY minute",
                (brand, kind, value, -(-ts(start) // 60), -(-ts(end) // 60)),
            ).fetchall()
        return [at(m * 60) for m, _ in rows], [float(v) for _, v in rows]
