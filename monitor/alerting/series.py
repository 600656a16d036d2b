"""Counts from per-bucket totals: the `counts(start, end)` the detector reads, in memory.

The detector asks for a few hundred window sums per evaluation (baseline days, neighbours, the
week behind the novelty floor). Reading the scope's per-minute aggregates once and answering
from prefix sums keeps that to one store query per scope and pass.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from datetime import datetime


class BucketCounts:
    """Sum of the buckets whose start time lies in [start, end); times ascending."""

    def __init__(self, times: Sequence[datetime], values: Sequence[float]) -> None:
        if len(times) != len(values):
            raise ValueError("times and values must be the same length")
        if any(b < a for a, b in itertools.pairwise(times)):
            raise ValueError("bucket times must be in ascending order")
        self.times = list(times)
        self.prefix = [0.0, *itertools.accumulate(float(v) for v in values)]

    def __call__(self, start: datetime, end: datetime) -> float:
        if end <= start:
            return 0.0
        hi = bisect.bisect_left(self.times, end)
        return self.prefix[hi] - self.prefix[bisect.bisect_left(self.times, start)]
