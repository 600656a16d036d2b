"""Window sums from per-bucket totals."""

from __future__ import annotations

import bisect
import random
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


def binary_search_sum(counts: BucketCounts, start: datetime, end: datetime) -> float:
    """The window sum as it was found before the grid: two binary searches into the prefix."""
    if end <= start:
        return 0.0
    hi = bisect.bisect_left(counts.times, end)
    return counts.prefix[hi] - counts.prefix[bisect.bisect_left(counts.times, start)]


def reach_minutes(rng: random.Random, minutes: int) -> BucketCounts:
    """Reach-weighted minutes (fractional, so float sums differ with the order of adding),
    with most minutes empty as a quiet scope's are."""
    kept = [i for i in range(minutes) if rng.random() < 0.3]
    values = [rng.random() * 50 for _ in kept]
    return BucketCounts([T0 + i * MINUTE for i in kept], values, grid_after=0)


def test_window_sums_on_the_grid_are_the_binary_search_floats_exactly() -> None:
    rng = random.Random(3)
    counts = reach_minutes(rng, 3000)
    counts.shifted(T0, T0 + MINUTE, MINUTE, [0])  # lays the grid
    assert counts.resolution == MINUTE
    for _ in range(2000):
        start = T0 + timedelta(seconds=rng.randrange(-600 * 60, 3600 * 60))
        end = start + timedelta(seconds=rng.randrange(-60, 900 * 60))
        assert counts(start, end) == binary_search_sum(counts, start, end)


def test_shifted_runs_equal_one_sum_per_window_even_past_either_end_of_the_data() -> None:
    counts = reach_minutes(random.Random(4), 3000)
    end = T0 + timedelta(minutes=1500, seconds=30)
    for step in (timedelta(hours=1), timedelta(minutes=7), timedelta(seconds=90)):
        for start in (end - timedelta(hours=1), end + MINUTE):
            multiples = range(-40, 60, 3)
            expected = [
                binary_search_sum(counts, start - m * step, end - m * step) for m in multiples
            ]
            assert counts.shifted(start, end, step, multiples) == expected


def test_irregular_bucket_times_fall_back_to_binary_search() -> None:
    times = [T0, T0 + timedelta(microseconds=1), T0 + timedelta(days=2, seconds=7)]
    counts = BucketCounts(times, [1.5, 2.25, 4.0], grid_after=0)
    assert counts.shifted(
        T0 + timedelta(days=3), T0 + timedelta(days=4), timedelta(days=1), [1, 3]
    ) == [4.0, 3.75]
    assert counts.resolution is None
    assert counts(T0, T0 + timedelta(microseconds=1)) == 1.5


def test_buckets_sharing_a_start_time_are_both_counted() -> None:
    counts = BucketCounts([T0, T0, T0 + 2 * MINUTE], [1, 2, 4], grid_after=0)
    assert counts(T0, T0 + MINUTE) == 3
    assert counts.shifted(T0 + 2 * MINUTE, T0 + 3 * MINUTE, 2 * MINUTE, [0, 1, 2]) == [4, 3, 0]


def test_no_buckets_sum_to_zero() -> None:
    counts = BucketCounts([], [], grid_after=0)
    assert counts(T0, T0 + MINUTE) == 0
    assert counts.shifted(T0, T0 + MINUTE, MINUTE, [0, 1]) == [0, 0]


def test_a_run_of_windows_reaching_back_to_the_first_bucket_includes_it() -> None:
    minutes = range(180)
    counts = BucketCounts([T0 + i * MINUTE for i in minutes], list(minutes), grid_after=0)
    hour = timedelta(hours=1)
    sums = counts.shifted(T0 + 2 * hour, T0 + 3 * hour, hour, range(3))
    assert sums == [sum(range(120, 180)), sum(range(60, 120)), sum(range(60))]


def test_the_grid_is_laid_only_after_enough_runs_of_windows_to_pay_for_it() -> None:
    counts = BucketCounts([T0 + i * MINUTE for i in range(600)], [1.0] * 600, grid_after=6)
    hour = timedelta(hours=1)
    runs = [counts.shifted(T0 + 9 * hour, T0 + 10 * hour, hour, range(9)) for _ in range(6)]
    assert counts.resolution is None  # six runs, as one live evaluation asks: binary search
    runs.append(counts.shifted(T0 + 9 * hour, T0 + 10 * hour, hour, range(9)))
    assert counts.resolution == MINUTE
    assert runs == [[60.0] * 9] * 7
