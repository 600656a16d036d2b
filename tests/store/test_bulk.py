"""Bulk loads: the deferrable indexes are the migrations' own, and a load that dies before
building them again leaves a file the next open repairs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor.store import Store
from monitor.store.bulk import DEFERRABLE_INDEXES, missing_indexes


def _index_columns(path: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    with sqlite3.connect(path) as conn:
        names = [
            (name, table)
            for name, table in conn.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name IN ('mentions', 'mention_topics') AND sql IS NOT NULL"
            )
        ]
        return {
            name: (table, tuple(r[2] for r in conn.execute(f'PRAGMA index_info("{name}")')))
            for name, table in names
        }


def _missing(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return missing_indexes(conn)


def _drop_deferrable(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        for name in DEFERRABLE_INDEXES:
            conn.execute(f'DROP INDEX "{name}"')


def test_the_deferrable_indexes_are_the_secondary_indexes_the_migrations_create(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "migrated.db"):
        pass
    migrated = _index_columns(tmp_path / "migrated.db")
    _drop_deferrable(tmp_path / "migrated.db")
    with Store(tmp_path / "migrated.db"):
        pass
    assert set(migrated) == set(DEFERRABLE_INDEXES)
    assert _index_columns(tmp_path / "migrated.db") == migrated


def test_opening_a_store_builds_the_indexes_an_interrupted_load_left_out(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Store(path):
        pass
    _drop_deferrable(path)
    assert _missing(path) == list(DEFERRABLE_INDEXES)
    with Store(path):
        pass
    assert _missing(path) == []


def test_a_bulk_load_builds_the_indexes_again_when_it_fails(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Store(path) as store:
        with pytest.raises(RuntimeError), store.bulk_load():
            assert _missing(path) == list(DEFERRABLE_INDEXES)
            raise RuntimeError("the load broke")
        assert _missing(path) == []
