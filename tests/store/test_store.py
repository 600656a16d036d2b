"""The store, on SQLite and PostgreSQL: one transaction per poll, idempotent upserts, migrations."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.models import Mention, Score, Scored
from monitor.store import MIGRATIONS, Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def scored(native_id: str, text: str = "acme is fine", topics: tuple[str, ...] = ()) -> Scored:
    mention = Mention(
        "hackernews",
        native_id,
        f"https://e.example/{native_id}",
        "bob",
        text,
        NOW - timedelta(minutes=5),
    )
    return Scored(mention, "Acme", Score(-0.5, 0.0, 0.5, 0.5, "negative"), topics)


class Crash(Exception):
    pass


def test_crash_before_commit_leaves_neither_mentions_nor_cursor(database: str) -> None:
    store = Store(database)

    def crash() -> None:
        raise Crash

    with pytest.raises(Crash):
        store.save_poll(
            "Acme", "hackernews", [scored("1")], '{"after": 5}', 0, NOW, before_commit=crash
        )
    assert store.mentions() == []
    assert store.get_cursor("Acme", "hackernews") is None


def test_repeat_poll_stores_each_mention_once(database: str) -> None:
    store = Store(database)
    assert store.save_poll("Acme", "hackernews", [scored("1"), scored("2")], "c1", 0, NOW) == 2
    assert store.save_poll("Acme", "hackernews", [scored("2"), scored("3")], "c2", 0, NOW) == 1
    assert sorted(m.native_id for m in store.mentions()) == ["1", "2", "3"]
    assert store.get_cursor("Acme", "hackernews") == "c2"


def test_refetched_mention_changes_nothing(database: str) -> None:
    store = Store(database)
    store.save_poll("Acme", "hackernews", [scored("1", "first text")], "c1", 0, NOW)
    store.save_poll(
        "Acme", "hackernews", [scored("1", "edited text")], "c2", 0, NOW + timedelta(hours=1)
    )
    assert [m.text for m in store.mentions()] == ["first text"]


def test_text_is_capped_at_10_kb(database: str) -> None:
    store = Store(database)
    store.save_poll("Acme", "hackernews", [scored("1", "é" * 20_000)], None, 0, NOW)
    assert len(store.mentions()[0].text.encode()) <= 10 * 1024


def test_a_nul_in_a_strangers_text_is_dropped_before_it_is_stored(database: str) -> None:
    # PostgreSQL refuses NUL in text; unreplaced, one such mention would fail its whole poll.
    with Store(database) as store:
        store.save_poll("Acme", "hackernews", [scored("1\x00", "acme\x00 is down")], "c", 0, NOW)
        [mention] = store.mentions()
        assert (mention.native_id, mention.text) == ("1", "acme is down")


def test_topics_are_stored_for_topic_queries(database: str) -> None:
    store = Store(database)
    store.save_poll("Acme", "hackernews", [scored("1", topics=("outage", "billing"))], None, 0, NOW)
    assert store.mentions()[0].topics == ("outage", "billing")
    rows = store.query("SELECT topic FROM mention_topics ORDER BY topic")
    assert [r["topic"] for r in rows] == ["billing", "outage"]


def test_poll_error_is_recorded_without_touching_the_cursor(database: str) -> None:
    store = Store(database)
    store.save_poll("Acme", "hackernews", [], "c1", 0, NOW)
    store.record_poll_error("Acme", "hackernews", "hackernews: HTTP 503", NOW)
    [state] = store.poll_states()
    assert (state.cursor, state.last_error, state.failures) == ("c1", "hackernews: HTTP 503", 1)


def test_new_database_is_at_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    assert store.schema_version == len(MIGRATIONS)
    assert store.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"


def test_migrations_run_forward_from_an_older_version(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 0")
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)


def test_database_from_a_newer_monitor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 999")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="upgrade monitor"):
        Store(path)
