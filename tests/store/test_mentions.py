"""Mention counts `status` reads, kept by save_poll and purge; streaming reads."""

from __future__ import annotations

import gc
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.models import Mention, Score, Scored
from monitor.store import MIGRATIONS, Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def scored(native_id: str, age: timedelta, channel: str = "hackernews") -> Scored:
    mention = Mention(channel, native_id, "https://e.example/", "bob", "acme", NOW - age)
    return Scored(mention, "Acme", Score(0.0, 0.0, 1.0, 0.0, "neutral"))


def counts(store: Store) -> dict[str, int]:
    return {s.channel: s.mentions for s in store.poll_states()}


def test_status_counts_follow_new_and_repeated_polls(database: str) -> None:
    with Store(database) as store:
        store.save_poll("Acme", "hackernews", [scored("1", timedelta(0))], "c", 0, NOW)
        store.save_poll(
            "Acme",
            "hackernews",
            [scored("1", timedelta(0)), scored("2", timedelta(0))],
            "c",
            0,
            NOW,
        )
        store.save_poll("Acme", "reddit", [scored("9", timedelta(0), "reddit")], "c", 0, NOW)
        assert counts(store) == {"hackernews": 2, "reddit": 1}


def test_status_counts_drop_with_the_mentions_purge_deletes(database: str) -> None:
    with Store(database) as store:
        old, new = scored("old", timedelta(days=500)), scored("new", timedelta(days=1))
        store.save_poll("Acme", "hackernews", [old, new], "c", 0, NOW)
        store.save_poll("Acme", "reddit", [scored("r", timedelta(days=1), "reddit")], "c", 0, NOW)
        store.purge(NOW - timedelta(days=400), NOW)
        assert counts(store) == {"hackernews": 1, "reddit": 1}


def test_status_counts_are_backfilled_when_an_older_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Store(path) as store:
        store.save_poll(
            "Acme",
            "hackernews",
            [scored(str(i), timedelta(hours=i)) for i in range(7)],
            "c",
            0,
            NOW,
        )
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE poll_state DROP COLUMN mention_count")
    conn.execute("UPDATE schema_version SET version = 3")
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert counts(store) == {"hackernews": 7}


def test_iter_mentions_yields_every_match_newest_first_across_batches(database: str) -> None:
    with Store(database) as store:
        batch = [scored(str(i), timedelta(minutes=i)) for i in range(25)]
        store.save_poll("Acme", "hackernews", batch, "c", 0, NOW)
        ids = [m.native_id for m in store.iter_mentions(since=NOW - timedelta(minutes=20), batch=4)]
        assert ids == [str(i) for i in range(21)]  # since is inclusive


def test_time_filtered_export_reads_an_index_not_the_whole_table(tmp_path: Path) -> None:
    with Store(tmp_path / "m.db") as store:
        plan = store.query(
            "EXPLAIN QUERY PLAN SELECT * FROM mentions WHERE created_at >= ? "
            "ORDER BY created_at DESC",
            (0,),
        )
        assert any("USING INDEX" in row["detail"] for row in plan)
        assert not any("USE TEMP B-TREE" in row["detail"] for row in plan)


def test_an_iteration_abandoned_after_close_is_collected_quietly(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    store = Store(database)
    store.save_poll(
        "Acme", "hackernews", [scored(str(i), timedelta(0)) for i in range(3)], "c", 0, NOW
    )
    rows = store.iter_mentions(batch=1)
    next(rows)
    store.close()
    del rows
    gc.collect()
    assert unraisable == []


def test_abandoned_exports_give_back_what_they_held(database: str) -> None:
    # More than the PostgreSQL pool's size: each abandoned read must return its connection.
    with Store(database) as store:
        store.save_poll("Acme", "hackernews", [scored("1", timedelta(0))], "c", 0, NOW)
        for _ in range(12):
            rows = store.iter_mentions(batch=1)
            assert next(rows).native_id == "1"
            del rows
            gc.collect()
        assert [m.native_id for m in store.mentions()] == ["1"]
