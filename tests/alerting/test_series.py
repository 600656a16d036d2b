"""Window sums from per-bucket totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerting.series import BucketCounts

T0 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_sums_buckets_starting_inside_the_half_open_range() -> None:
    counts = BucketCounts([T0 + i * MINUTE for i in range(5)], [1, 2, 3, 4, 5])
    assert counts(T0 + MINUTE, T0 + 3 * MINUTE) == 5  # buckets 1 and 2, not 3
    assert counts(T0 - timedelta(days=1), T0 + timedelta(days=1)) == 15


def test_gaps_and_ranges_outside_the_data_count_nothing() -> None:
    counts = BucketCounts([T0, T0 + 10 * MINUTE], [4, 6])
    assert counts(T0 + MINUTE, T0 + 10 * MINUTE) == 0
    assert counts(T0 + timedelta(hours=1), T0 + timedelta(hours=2)) == 0
    assert counts(T0 + MINUTE, T0) == 0


def test_unordered_buckets_are_refused() -> None:
    with pytest.raises(ValueError, match="ascending"):
        BucketCounts([T0 + MINUTE, T0], [1, 1])
