"""An import's worker: reading created_at (ISO 8601 with or without an offset, epoch
seconds) and saying why a time cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.import_worker import parse_time

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_epoch_seconds_and_offsets_are_read_as_utc() -> None:
    assert parse_time("1762000000") == datetime.fromtimestamp(1762000000, UTC)
    assert parse_time("2026-11-01T13:00:00+01:00") == T0


def test_an_iso_time_its_offset_pushes_out_of_the_calendar_is_named_out_of_range() -> None:
    with pytest.raises(ValueError, match="out of range in UTC"):
        parse_time("0001-01-01T00:30:00+01:00")
    with pytest.raises(ValueError, match="neither ISO 8601 nor epoch seconds"):
        parse_time("yesterday")
