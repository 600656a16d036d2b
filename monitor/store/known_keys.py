"""Which mention keys an SQLite file already holds, asked from a process of its own.

An import's workers look up a job's keys before scoring it, so a re-run of an interrupted or
repeated import skips what is stored without paying for sentiment again. Each opens the file
read-only, without a Store: opening a Store may write (migrations, an unfinished bulk load).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from monitor.store.connection import BUSY_TIMEOUT_S

_CHUNK = 500  # native_ids per query, well inside SQLite's limit on bound parameters


class KnownKeys:
    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_S,
        )

    def stored(self, brand: str, channel: str, native_ids: Sequence[str]) -> set[str]:
        """Those of ``native_ids`` stored for (brand, channel)."""
        found: set[str] = set()
        for start in range(0, len(native_ids), _CHUNK):
            chunk = native_ids[start : start + _CHUNK]
            found.update(
                native_id
                for (native_id,) in self._conn.execute(
                    "SELECT native_id FROM mentions WHERE brand = ? AND channel = ? "
                    f"AND native_id IN ({', '.join('?' * len(chunk))})",
                    (brand, channel, *chunk),
                )
            )
        return found

    def close(self) -> None:
        self._conn.close()
