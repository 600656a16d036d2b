"""`monitor db copy`: every table arrives, counts are checked, a stopped copy resumes. The
destination is each backend in turn (`database`), the source an SQLite file as when moving an
installation to PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.cli_db import source_name
from monitor.dbcopy import CopyError, copy_database
from monitor.models import Incident, Mention, Score, Scored
from monitor.store import Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NEGATIVE = Score(-0.6, 0.0, 0.4, 0.6, "negative")
NEUTRAL = Score(0.0, 0.0, 1.0, 0.0, "neutral")


def _scored(
    i: int, text: str = "acme broke again", topics: tuple[str, ...] = ("outage",)
) -> Scored:
    mention = Mention(
        "hackernews",
        f"n{i}",
        f"https://e.example/{i}",
        f"user{i}",
        text,
        NOW - timedelta(minutes=i),
    )
    return Scored(mention, "Acme", NEGATIVE if i % 2 else NEUTRAL, topics)


def _incident() -> Incident:
    return Incident(
        0, "Acme", "brand", "Acme", "open", "warning", NOW, NOW, NOW, None, NOW, 1,
        40.0, 5.0, 8.0, 8.0, 40.0, drivers=("outage",),
    )  # fmt: skip


def _installation(path: Path, mentions: int = 25) -> Store:
    store = Store(path)
    store.save_poll("Acme", "hackernews", [_scored(i) for i in range(mentions)], "c1", 0, NOW)
    incident_id = store.insert_incident(_incident())
    store.enqueue("k1", incident_id, "support", "slack", "opened", "{}", NOW)
    store.record_digest("support", "2026-W46", NOW)
    store.add_silence("Acme", None, None, NOW, NOW + timedelta(hours=2), "release")
    return store


def _minutes(store: Store) -> list[float]:
    return store.negative_minutes("Acme", "topic", "outage", NOW - timedelta(days=1), NOW)[1]


def test_copy_moves_every_table_and_rebuilds_the_aggregates(tmp_path: Path, database: str) -> None:
    with _installation(tmp_path / "a.db") as src, Store(database) as dst:
        report = copy_database(src, dst, "a.db", batch=7)
        assert report.copied == {
            "mentions": 25, "mention_topics": 25, "poll_state": 1, "incidents": 1,
            "outbox": 1, "digests": 1, "silences": 1,
        }  # fmt: skip
        assert dst.get_cursor("Acme", "hackernews") == "c1"
        assert dst.incidents()[0].drivers == ("outage",)
        assert [m.key for m in dst.messages()] == ["k1"]
        assert dst.digest_recorded("support", "2026-W46")
        assert _minutes(dst) == _minutes(src) != []
        assert dst.poll_states()[0].mentions == 25


def test_new_rows_after_a_copy_get_ids_past_the_copied_ones(tmp_path: Path, database: str) -> None:
    with _installation(tmp_path / "a.db") as src, Store(database) as dst:
        copy_database(src, dst, "a.db")
        second = dst.insert_incident(replace(_incident(), scope_kind="topic"))
        assert second > src.incidents()[0].id


def test_a_stopped_copy_resumes_after_its_last_batch_without_duplicates(
    tmp_path: Path, database: str
) -> None:
    class Stop(Exception):
        pass

    def stop_after_two_batches(table: str, done: int, total: int) -> None:
        if table == "mentions" and done >= 10:
            raise Stop

    with _installation(tmp_path / "a.db") as src, Store(database) as dst:
        with pytest.raises(Stop):
            copy_database(src, dst, "a.db", batch=5, progress=stop_after_two_batches)
        assert dst.label_counts() == {"negative": 5, "neutral": 5}
        report = copy_database(src, dst, "a.db", batch=5)
        assert report.resumed == {"mentions": 10}
        assert report.copied["mentions"] == 25
        assert dst.label_counts() == src.label_counts()
        assert _minutes(dst) == _minutes(src)


def test_copy_refuses_a_destination_that_already_holds_other_data(tmp_path: Path) -> None:
    with (
        _installation(tmp_path / "a.db") as src,
        _installation(tmp_path / "b.db") as dst,
        pytest.raises(CopyError, match="already holds data"),
    ):
        copy_database(src, dst, "a.db")


def test_rows_written_to_the_source_after_the_copy_fail_the_count_check(
    tmp_path: Path, database: str
) -> None:
    with _installation(tmp_path / "a.db") as src, Store(database) as dst:
        copy_database(src, dst, "a.db")
        src.save_poll("Acme", "hackernews", [_scored(99)], "c2", 0, NOW)
        with pytest.raises(CopyError, match="mentions: 26 in the source, 25 in the destination"):
            copy_database(src, dst, "a.db")


def test_a_nul_in_a_stored_text_arrives_as_a_replacement_character(
    tmp_path: Path, database: str
) -> None:
    with Store(tmp_path / "a.db") as src, Store(database) as dst:
        src.save_poll("Acme", "rss", [_scored(1, text="bad\x00acme")], None, 0, NOW)
        src.conn.execute("UPDATE mentions SET text = 'bad' || char(0) || 'acme'")
        copy_database(src, dst, "a.db")
        assert [m.text for m in dst.iter_mentions()] == ["bad\ufffdacme"]


def test_cli_copy_prints_the_counts_and_exits_zero(tmp_path: Path) -> None:
    _installation(tmp_path / "a.db").close()
    result = CliRunner().invoke(
        main, ["db", "copy", "--from", str(tmp_path / "a.db"), "--to", str(tmp_path / "b.db")]
    )
    assert result.exit_code == 0, result.output
    assert "counts match in every table" in result.output
    assert "mentions: 25\n" in result.output


def test_cli_copy_run_again_says_everything_came_by_the_earlier_run(tmp_path: Path) -> None:
    _installation(tmp_path / "a.db").close()
    args = ["db", "copy", "--from", str(tmp_path / "a.db"), "--to", str(tmp_path / "b.db")]
    CliRunner().invoke(main, args)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "55 rows in the destination, 0 copied now" in result.output
    assert "mentions: 25 (all by an earlier run)" in result.output


def test_cli_copy_that_does_not_check_out_exits_three(tmp_path: Path) -> None:
    _installation(tmp_path / "a.db").close()
    _installation(tmp_path / "b.db").close()
    result = CliRunner().invoke(
        main, ["db", "copy", "--from", str(tmp_path / "a.db"), "--to", str(tmp_path / "b.db")]
    )
    assert result.exit_code == 3
    assert "already holds data" in result.output


def test_source_name_never_keeps_a_password() -> None:
    name = source_name("postgresql://monitor:s3cret@db.example:5432/monitor?sslmode=require")
    assert name == "postgresql://monitor@db.example:5432/monitor"
