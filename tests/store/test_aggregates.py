"""Per-minute negative counts: kept by every write and delete of mentions, backfilled on
migration, and equal to what a scan of the mentions says."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.models import Mention, Score, Scored
from monitor.store import MIGRATIONS, Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def scored(
    native_id: str,
    age: timedelta,
    label: str = "negative",
    channel: str = "hackernews",
    topics: tuple[str, ...] = (),
    reach: float | None = None,
) -> Scored:
    mention = Mention(
        channel, native_id, "https://e.example/", "bob", "acme is down", NOW - age, reach
    )
    return Scored(mention, "Acme", Score(-0.5, 0.0, 0.5, 0.5, label), topics)  # type: ignore[arg-type]


def minutes(store: Store, kind: str, value: str, weighted: bool = False) -> dict[datetime, float]:
    times, values = store.negative_minutes("Acme", kind, value, NOW - 30 * DAY, NOW, weighted)
    return dict(zip(times, values, strict=True))


def scan(store: Store) -> dict[tuple[str, str, int], int]:
    """The same counts the slow way, straight from the mentions."""
    rows = store.query(
        "SELECT 'brand' AS k, brand AS v, created_at / 60 AS m, count(*) AS n FROM mentions "
        "WHERE label = 'negative' GROUP BY 2, 3 UNION ALL "
        "SELECT 'channel', channel, created_at / 60, count(*) FROM mentions "
        "WHERE label = 'negative' GROUP BY 2, 3 UNION ALL "
        "SELECT 'topic', topic, created_at / 60, count(*) FROM mention_topics "
        "WHERE label = 'negative' GROUP BY 2, 3"
    )
    return {(r["k"], r["v"], r["m"]): r["n"] for r in rows}


def stored(store: Store) -> dict[tuple[str, str, int], int]:
    rows = store.query(
        "SELECT scope_kind, scope_value, minute, n FROM negative_minutes WHERE n > 0"
    )
    return {(r["scope_kind"], r["scope_value"], r["minute"]): r["n"] for r in rows}


POLL = [
    scored("1", timedelta(minutes=1), topics=("outage",)),
    scored("2", timedelta(minutes=1, seconds=20), channel="reddit", topics=("outage",)),
    scored("3", timedelta(minutes=5)),
    scored("4", timedelta(minutes=5), label="neutral", topics=("outage",)),
    scored("5", timedelta(days=3), reach=1000.0),
]


def test_a_poll_counts_each_negative_mention_once_per_scope_and_minute(database: str) -> None:
    with Store(database) as store:
        store.save_poll("Acme", "hackernews", POLL, "c", 0, NOW)
        assert minutes(store, "brand", "Acme") == {
            NOW - 3 * DAY: 1.0,
            NOW - timedelta(minutes=5): 1.0,
            NOW - timedelta(minutes=2): 1.0,
            NOW - timedelta(minutes=1): 1.0,
        }
        assert minutes(store, "topic", "outage") == {
            NOW - timedelta(minutes=2): 1.0,
            NOW - timedelta(minutes=1): 1.0,
        }
        assert minutes(store, "channel", "reddit") == {NOW - timedelta(minutes=2): 1.0}
        assert stored(store) == scan(store)


def test_repeating_a_poll_counts_nothing_twice(database: str) -> None:
    with Store(database) as store:
        store.save_poll("Acme", "hackernews", POLL, "c", 0, NOW)
        assert store.save_poll("Acme", "hackernews", POLL, "c", 0, NOW) == 0
        assert stored(store) == scan(store)


def test_reach_sums_use_the_mentions_weight(database: str) -> None:
    with Store(database) as store:
        store.save_poll("Acme", "hackernews", POLL, "c", 0, NOW)
        weighted = minutes(store, "brand", "Acme", weighted=True)
        assert round(weighted[NOW - 3 * DAY], 3) == 6.909  # log(1 + 1000)


def test_purge_takes_the_deleted_mentions_out_of_the_counts(database: str) -> None:
    with Store(database) as store:
        store.save_poll("Acme", "hackernews", POLL, "c", 0, NOW)
        store.purge(NOW - timedelta(minutes=3), NOW)
        assert stored(store) == scan(store)
        assert NOW - 3 * DAY not in minutes(store, "brand", "Acme")
        left = store.query("SELECT sum(reach) AS r FROM negative_minutes WHERE n = 0")
        assert not left[0]["r"]  # emptied minutes carry no stray reach either


def test_migration_backfills_the_counts_from_stored_mentions(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Store(path) as store:
        store.save_poll("Acme", "hackernews", POLL, "c", 0, NOW)
        expected = stored(store)
    conn = sqlite3.connect(path)
    for trigger in ("add", "remove", "topic_add", "topic_remove"):
        conn.execute(f"DROP TRIGGER negative_minutes_{trigger}")
    conn.execute("DROP TABLE negative_minutes")
    conn.execute("UPDATE schema_version SET version = 4")
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert stored(store) == expected
        store.save_poll("Acme", "hackernews", [scored("9", timedelta(0))], "c", 0, NOW)
        assert stored(store) == scan(store)  # and kept from then on


def test_counts_are_read_from_an_index_range(tmp_path: Path) -> None:
    with Store(tmp_path / "m.db") as store:
        plan = store.query(
            "EXPLAIN QUERY PLAN SELECT minute, n FROM negative_minutes WHERE brand = ? "
            "AND scope_kind = ? AND scope_value = ? AND minute >= ? AND minute < ?",
            ("Acme", "brand", "Acme", 0, 1),
        )
        assert any("PRIMARY KEY" in row["detail"] for row in plan)
