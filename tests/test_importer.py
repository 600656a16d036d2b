"""`monitor import`: good and bad rows with line numbers, CSV and JSONL, idempotent re-import,
real VADER scores, the pool path, and the aggregates detection reads."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import Config, load_config
from monitor.importer import ImportFileError, import_file, worth_bulk_loading
from monitor.lock import DaemonLock
from monitor.store import Store
from monitor.store.bulk import DEFERRABLE_INDEXES, missing_indexes

CONFIG = (
    "brands:\n  - name: Acme\n    terms: [acme]\n    topics: {outage: [down, outage]}\n"
    "  - name: Zed\n    terms: [zed]\n"
)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def config(write_config: Callable[[str], Path]) -> Config:
    return load_config(write_config(CONFIG))


def jsonl(path: Path, rows: list[dict[str, object] | str]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
        encoding="utf-8",
    )
    return path


GOOD = [
    {"native_id": "1", "created_at": "2026-11-01T12:00:00Z", "text": "Acme is down, awful outage"},
    {"native_id": "2", "created_at": T0.timestamp() + 60, "text": "Acme support was lovely"},
    {
        "native_id": "3",
        "created_at": "2026-11-01T13:02:00+01:00",
        "text": "zed works",
        "brand": "Zed",
        "channel": "reddit",
        "author": "bob",
        "url": "https://e.example/3",
        "reach": 120,
    },
]


def test_good_rows_are_scored_and_stored_and_bad_ones_reported_by_line(
    config: Config, tmp_path: Path
) -> None:
    path = jsonl(
        tmp_path / "m.jsonl",
        [
            GOOD[0],
            "{not json",
            GOOD[1],
            {"native_id": "4", "text": "no time"},
            {"native_id": "5", "created_at": "yesterday-ish", "text": "acme"},
            {"native_id": "6", "created_at": 1, "text": "acme", "brand": "Nope"},
            GOOD[2],
        ],
    )
    with Store(config.database) as store:
        report = import_file(config, store, path, brand="Acme")
        mentions = {m.native_id: m for m in store.mentions()}
    assert (report.rows, report.stored, report.bad) == (7, 3, 4)
    assert [line for line, _ in report.errors] == [2, 4, 5, 6]
    assert "created_at is missing" in report.errors[1][1]
    assert "neither ISO 8601 nor epoch" in report.errors[2][1]
    assert mentions["1"].label == "negative" and mentions["1"].channel == "import"
    assert mentions["1"].topics == ("outage",)
    assert mentions["2"].label == "positive"
    assert mentions["3"].brand == "Zed" and mentions["3"].channel == "reddit"
    assert mentions["3"].created_at == T0 + timedelta(minutes=2)
    assert "line 2: not JSON" in report.summary()


def test_reimporting_the_same_file_stores_nothing_new(config: Config, tmp_path: Path) -> None:
    path = jsonl(tmp_path / "m.jsonl", GOOD)
    with Store(config.database) as store:
        import_file(config, store, path, brand="Acme")
        again = import_file(config, store, path, brand="Acme")
        assert len(store.mentions()) == 3
        assert {s.channel: s.mentions for s in store.poll_states()} == {"import": 2, "reddit": 1}
    assert (again.stored, again.duplicates) == (0, 3)


def test_a_rerun_skips_the_rows_already_stored_without_scoring_them(
    config: Config, tmp_path: Path
) -> None:
    rows = _rows(300)
    first_half = jsonl(tmp_path / "half.jsonl", rows[:150])
    whole = jsonl(tmp_path / "whole.jsonl", [*rows[:120], "{broken", *rows[120:]])
    with Store(config.database) as store:
        import_file(config, store, first_half, brand="Acme")
        report = import_file(config, store, whole, brand="Acme", batch=40, workers=2, pool=True)
        assert len(store.mentions(limit=1000)) == 300
    assert (report.stored, report.duplicates, report.known) == (150, 150, 150)
    assert "150 already stored (150 skipped unscored), 1 bad" in report.summary()
    assert [line for line, _ in report.errors] == [121]


def test_a_csv_with_quoted_newlines_reports_the_right_lines(config: Config, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "native_id,created_at,text,brand\n"
        '1,2026-11-01T12:00:00Z,"Acme is down,\nagain",Acme\n'
        "2,,Acme no time,Acme\n"
        "3,1762000000,zed is fine,Zed\n",
        encoding="utf-8",
    )
    with Store(config.database) as store:
        report = import_file(config, store, path)
        assert len(store.mentions()) == 2
    assert report.errors == [(4, "created_at is missing")]


def test_imported_negatives_reach_the_aggregates_detection_reads(
    config: Config, tmp_path: Path
) -> None:
    path = jsonl(tmp_path / "m.jsonl", GOOD)
    with Store(config.database) as store:
        import_file(config, store, path, brand="Acme")
        times, values = store.negative_minutes("Acme", "topic", "outage", T0, T0 + timedelta(1))
    assert (times, values) == ([T0], [1.0])


def test_batches_scored_in_the_process_pool_match_in_process_scores(
    config: Config, tmp_path: Path
) -> None:
    rows = [
        {"native_id": str(i), "created_at": T0.timestamp() + i, "text": text}
        for i, text in enumerate(["acme is terrible", "acme is great", "acme exists"] * 4)
    ]
    path = jsonl(tmp_path / "m.jsonl", list(rows))
    with Store(tmp_path / "a.db") as single, Store(tmp_path / "b.db") as pooled:
        import_file(config, single, path, brand="Acme", workers=1)
        import_file(config, pooled, path, brand="Acme", batch=5, workers=2, pool=True)
        assert [m.compound for m in single.mentions()] == [m.compound for m in pooled.mentions()]


def test_unknown_format_is_refused(config: Config, tmp_path: Path) -> None:
    path = tmp_path / "m.xml"
    path.write_text("<x/>", encoding="utf-8")
    with Store(config.database) as store, pytest.raises(ImportFileError, match=r"jsonl or \.csv"):
        import_file(config, store, path)


def test_the_command_prints_a_summary(write_config: Callable[[str], Path], tmp_path: Path) -> None:
    path = write_config(CONFIG)
    data = jsonl(tmp_path / "m.jsonl", [*GOOD, "oops"])
    result = CliRunner().invoke(main, ["-c", str(path), "import", str(data), "--brand", "Acme"])
    assert result.exit_code == 0, result.output
    assert "stored 3 new" in result.output and "line 4: not JSON" in result.output


MIXED = [GOOD[0], "{not json", GOOD[1], {"native_id": "4", "text": "no time"}, "[1]", GOOD[2]]


def test_bad_rows_keep_their_line_numbers_when_parsed_in_the_pool(
    config: Config, tmp_path: Path
) -> None:
    path = jsonl(tmp_path / "m.jsonl", list(MIXED))
    with Store(config.database) as store:
        report = import_file(config, store, path, brand="Acme", batch=2, workers=2, pool=True)
        assert len(store.mentions()) == 3
    assert report.workers == 2
    assert report.errors == [(2, "not JSON (Expecting property name enclosed in double quotes)"),
                             (4, "created_at is missing"), (5, "not a JSON object")]  # fmt: skip


def test_a_file_of_one_job_is_imported_in_this_process(config: Config, tmp_path: Path) -> None:
    path = jsonl(tmp_path / "m.jsonl", GOOD)
    with Store(config.database) as store:
        report = import_file(config, store, path, brand="Acme", workers=2)
    assert report.workers == 1 and "one process" in report.summary()


def test_rows_are_stored_while_the_file_is_still_being_read(config: Config, tmp_path: Path) -> None:
    rows = [
        {"native_id": str(i), "created_at": T0.timestamp() + i, "text": f"acme row {i} " * 5}
        for i in range(3000)
    ]
    path = jsonl(tmp_path / "m.jsonl", list(rows))
    size = path.stat().st_size
    seen: list[tuple[int, int]] = []

    def show(done: int, total: int) -> None:
        seen.append((done, total))

    with Store(config.database) as store:
        import_file(config, store, path, brand="Acme", batch=100, progress=show, workers=1)
    assert seen[0][0] < size / 4  # the first batch went in long before the end of the file
    assert seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_file_too_small_to_pay_for_a_pool_is_imported_in_this_process(
    config: Config, tmp_path: Path
) -> None:
    rows = [
        {"native_id": str(i), "created_at": T0.timestamp() + i, "text": "acme is fine"}
        for i in range(40)
    ]
    path = jsonl(tmp_path / "m.jsonl", list(rows))
    with Store(config.database) as store:
        report = import_file(config, store, path, brand="Acme", batch=5, workers=2)
    assert (report.stored, report.workers) == (40, 1)


def test_a_created_at_out_of_range_costs_that_row_only(config: Config, tmp_path: Path) -> None:
    far = {"native_id": "9", "created_at": 1e20, "text": "acme from the far future"}
    path = jsonl(tmp_path / "m.jsonl", [GOOD[0], far, GOOD[1]])
    with Store(config.database) as store:
        report = import_file(config, store, path, brand="Acme")
    assert (report.stored, report.errors) == (
        2,
        [(2, "created_at 1e+20 is out of range for epoch seconds")],
    )


def test_imported_fields_are_stored_as_valid_utf8_without_nul(
    config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(
        '{"native_id": "7\\u0000", "created_at": 1762000000, "text": "acme \\ud83d down\\u0000",'
        ' "author": "\\udc00bob", "channel": "red\\u0000dit"}\n',
        encoding="utf-8",
    )
    with Store(config.database) as store:
        import_file(config, store, path, brand="Acme")
        [mention] = store.mentions()
    assert (mention.native_id, mention.text, mention.author, mention.channel) == (
        "7",
        "acme \ufffd down",
        "\ufffdbob",
        "reddit",
    )


def _rows(n: int) -> list[dict[str, object] | str]:
    return [
        {"native_id": str(i), "created_at": T0.timestamp() + i, "text": f"acme is down {i}"}
        for i in range(n)
    ]


def test_a_load_without_indexes_builds_them_after_and_finds_the_same_rows(
    config: Config, tmp_path: Path
) -> None:
    path = jsonl(tmp_path / "m.jsonl", _rows(300))
    missing_during: list[list[str]] = []

    def look(done: int, total: int) -> None:
        with sqlite3.connect(config.database) as conn:
            missing_during.append(missing_indexes(conn))

    with Store(config.database) as store:
        report = import_file(config, store, path, brand="Acme", batch=100, bulk_load=True,
                             progress=look)  # fmt: skip
        again = import_file(config, store, path, brand="Acme", batch=100, bulk_load=True)
        window = store.negative_evidence("Acme", "brand", "Acme", T0, T0 + timedelta(hours=1), 500)
        negative = store.label_counts("Acme")["negative"]
    assert missing_during == [list(DEFERRABLE_INDEXES)] * 3
    with sqlite3.connect(config.database) as conn:
        assert missing_indexes(conn) == []
    assert (report.stored, again.stored, again.duplicates) == (300, 0, 300)
    assert len(window) == negative > 250  # read through the rebuilt (brand, label) index


def _aggregates(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT * FROM negative_minutes WHERE n > 0 ORDER BY 1, 2, 3, 4"
        ).fetchall()


def test_a_bulk_load_counts_the_same_aggregates_as_a_load_row_by_row(
    config: Config, tmp_path: Path
) -> None:
    rows = _rows(300) + [
        {"native_id": f"z{i}", "created_at": T0.timestamp() + 7 * i, "text": "zed is awful",
         "brand": "Zed", "channel": "reddit", "reach": 50 * i}
        for i in range(40)
    ] + [
        {"native_id": f"h{i}", "created_at": T0.timestamp() + 11 * i, "text": "acme is awful",
         "channel": "hackernews"}
        for i in range(40)
    ]  # fmt: skip
    path = jsonl(tmp_path / "m.jsonl", rows)
    with Store(tmp_path / "bulk.db") as bulk, Store(tmp_path / "rows.db") as by_row:
        import_file(config, bulk, path, brand="Acme", batch=100, bulk_load=True)
        import_file(config, by_row, path, brand="Acme", batch=100, bulk_load=False)
    counted = _aggregates(tmp_path / "bulk.db")
    assert {(brand, kind, value) for brand, kind, value, *_ in counted} == {
        ("Acme", "brand", "Acme"), ("Acme", "channel", "import"),
        ("Acme", "channel", "hackernews"), ("Acme", "topic", "outage"), ("Zed", "brand", "Zed"),
        ("Zed", "channel", "reddit"),
    }  # fmt: skip
    assert counted == _aggregates(tmp_path / "rows.db")


def test_a_store_opened_mid_bulk_load_finishes_it_and_the_counts_stay_exact(
    config: Config, tmp_path: Path
) -> None:
    path = jsonl(tmp_path / "m.jsonl", _rows(300))
    missing_after_open: list[list[str]] = []

    def open_another(done: int, total: int) -> None:
        if not missing_after_open:
            with Store(config.database), sqlite3.connect(config.database) as conn:
                missing_after_open.append(missing_indexes(conn))

    with Store(config.database) as store, Store(tmp_path / "rows.db") as by_row:
        import_file(config, store, path, brand="Acme", batch=100, bulk_load=True,
                    progress=open_another)  # fmt: skip
        import_file(config, by_row, path, brand="Acme", batch=100, bulk_load=False)
    assert missing_after_open == [[]]  # the other open built them; the load went on with them
    assert _aggregates(config.database) == _aggregates(tmp_path / "rows.db")


@pytest.mark.parametrize(
    ("stored", "rows", "daemon", "new", "worth"),
    [
        (0, 100_000, False, 1.0, True),  # a large file into an empty database
        (0, 100_000, True, 1.0, False),  # a running daemon reads the indexes meanwhile
        (300_000, 100_000, False, 1.0, False),  # rebuilding over 300k stored rows costs more
        (0, 10_000, False, 1.0, False),  # too few rows to gain from it
        (0, 100_000, False, 0.0, False),  # a re-run: its first rows were all stored already
    ],
)
def test_the_indexes_are_deferred_only_for_a_large_load_of_new_rows_into_a_smaller_database(
    tmp_path: Path, stored: int, rows: int, daemon: bool, new: float, worth: bool
) -> None:
    path = tmp_path / "m.db"
    with Store(path) as store, DaemonLock(path) if daemon else contextlib.nullcontext():
        if stored:
            with store.transaction() as conn:
                conn.execute(
                    f"INSERT INTO mentions (rowid, brand, channel, native_id, text, created_at, "
                    f"label) VALUES ({stored}, 'Acme', 'import', 'x', 'acme', 0, 'neutral')"
                )
        assert worth_bulk_loading(store, rows, path, new) is worth


KILLED_MID_LOAD = """
import os, signal, sys
from pathlib import Path
from monitor.config import load_config
from monitor.importer import import_file
from monitor.store import Store

config = load_config(Path(sys.argv[1]))
with Store(config.database) as store:
    import_file(config, store, Path(sys.argv[2]), brand="Acme", batch=100, workers=1,
                bulk_load=True, progress=lambda done, total: os.kill(os.getpid(), signal.SIGKILL))
"""


def test_an_import_killed_mid_load_leaves_indexes_and_counts_the_next_open_finishes(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config_path = write_config(CONFIG)
    config = load_config(config_path)
    path = jsonl(tmp_path / "m.jsonl", _rows(300))
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_LOAD, str(config_path), str(path)], check=False
    )
    assert killed.returncode == -signal.SIGKILL
    with sqlite3.connect(config.database) as conn:
        assert missing_indexes(conn) == list(DEFERRABLE_INDEXES)
    assert _aggregates(config.database) == []  # the 100 rows stored are not counted yet
    with Store(config.database) as store:
        counts = store.negative_minutes("Acme", "brand", "Acme", T0, T0 + timedelta(1))[1]
        assert sum(counts) == 100  # this open counted them
        report = import_file(config, store, path, brand="Acme", batch=100)
    with sqlite3.connect(config.database) as conn:
        assert missing_indexes(conn) == []
    assert (report.stored, report.duplicates, report.known) == (200, 100, 100)
