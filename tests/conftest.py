"""Shared test fixtures: real payload files, fixed clocks, config files in tmp dirs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import FixedClock


@pytest.fixture
def clock() -> FixedClock:
    # Just after the newest recorded HN hit (2014-06-20).
    return FixedClock(datetime(2014, 6, 21, 12, 0, tzinfo=UTC))


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "monitor.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
