"""Counts from per-bucket totals: the `counts(start, end)` the detector reads, in memory.

The detector asks for a few hundred window sums per evaluation (baseline days, neighbours, the
week behind the novelty floor), and a backtest evaluates every minute of eight weeks. Reading
the scope's per-minute aggregates once and laying their prefix sums on a regular grid turns
each window into two list lookups, and a run of windows spaced by whole buckets (the same hour
on 28 days, 168 hours back to back) into one list comprehension over integers.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

_US = timedelta(microseconds=1)
# Past this many grid points per bucket the times are too irregular to lay on a grid (bucket
# starts that are not whole minutes); windows are then found by binary search instead.
_GRID_SLACK = 64


def micros(delta: timedelta) -> int:
    """Whole microseconds in `delta`: dividing these ints is exact, like dividing timedeltas,
    and several times faster."""
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Counts(Protocol):
    """Negative mentions (or their reach weights) created in [start, end)."""

    def __call__(self, start: datetime, end: datetime) -> float: ...

    def shifted(
        self, start: datetime, end: datetime, step: timedelta, multiples: Sequence[int]
    ) -> list[float]:
        """`[self(start - m * step, end - m * step) for m in multiples]`, in that order."""
        ...


class BucketCounts:
    """Sum of the buckets whose start time lies in [start, end); times ascending."""

    def __init__(self, times: Sequence[datetime], values: Sequence[float]) -> None:
        if len(times) != len(values):
            raise ValueError("times and values must be the same length")
        if any(b < a for a, b in itertools.pairwise(times)):
            raise ValueError("bucket times must be in ascending order")
        self.times = list(times)
        self.prefix = [0.0, *itertools.accumulate(float(v) for v in values)]
        self._grid(self.times)

    def _grid(self, times: list[datetime]) -> None:
        """`dense[i]` is the prefix sum of the buckets before grid point i (`origin + i *
        resolution`): copied from `prefix`, never re-added, so every window sum is the same
        float as the binary search would give."""
        self.origin = times[0] if times else None
        self.offsets = [micros(t - times[0]) for t in times]
        self.dense: list[float] = []
        self._jumps: dict[timedelta, int | None] = {}
        self._grid_us = grid = math.gcd(*self.offsets) or 1
        points = self.offsets[-1] // grid + 1 if times else 1
        self.resolution: timedelta | None = grid * _US
        if points > _GRID_SLACK * len(times) + 1024:
            self.resolution = None
            return
        dense = [0.0] * (points + 1)
        done = 0
        for i, offset in enumerate(self.offsets):
            point = offset // grid
            dense[done + 1 : point + 1] = [self.prefix[i]] * (point - done)
            done = point
        dense[done + 1 :] = [self.prefix[-1]]
        self.dense = dense

    def _index(self, when: datetime) -> int:
        """How many grid points lie before `when`; may fall outside [0, len(dense) - 1]."""
        assert self.origin is not None
        return -(micros(self.origin - when) // self._grid_us)

    def _jump(self, step: timedelta) -> int | None:
        """Grid points in `step`, or None when it is not a whole number of them."""
        if step not in self._jumps:
            jump, rest = divmod(micros(step), self._grid_us)
            self._jumps[step] = None if self.resolution is None or rest else jump
        return self._jumps[step]

    def _prefix_at(self, when: datetime) -> float:
        if self.origin is None:
            return 0.0
        if self.resolution is None:
            offset = -micros(self.origin - when)
            return self.prefix[bisect.bisect_left(self.offsets, offset)]
        return self.dense[min(len(self.dense) - 1, max(0, self._index(when)))]

    def __call__(self, start: datetime, end: datetime) -> float:
        if end <= start:
            return 0.0
        return self._prefix_at(end) - self._prefix_at(start)

    def shifted(
        self, start: datetime, end: datetime, step: timedelta, multiples: Sequence[int]
    ) -> list[float]:
        """`[self(start - m * step, end - m * step) for m in multiples]`, in that order."""
        if end <= start or not multiples or self.origin is None:
            return [0.0] * len(multiples)
        # A shift by whole buckets moves both ends by the same number of grid points.
        jump = self._jump(step)
        if jump is None:
            return [self(start - m * step, end - m * step) for m in multiples]
        lo, hi = self._index(start), self._index(end)
        dense, last = self.dense, len(self.dense) - 1
        if lo - max(multiples) * jump >= 0 and hi - min(multiples) * jump <= last:
            if isinstance(multiples, range) and multiples.step > 0:
                return list(
                    map(
                        operator.sub,
                        _run(dense, hi, jump, multiples),
                        _run(dense, lo, jump, multiples),
                    )
                )
            return [dense[hi - m * jump] - dense[lo - m * jump] for m in multiples]
        return [
            dense[min(last, max(0, hi - m * jump))] - dense[min(last, max(0, lo - m * jump))]
            for m in multiples
        ]


def _run(dense: list[float], top: int, jump: int, multiples: range) -> list[float]:
    """`[dense[top - m * jump] for m in multiples]` as one slice (every index in range)."""
    stride = multiples.step * jump
    stop = top - multiples[-1] * jump - stride
    return dense[top - multiples.start * jump : stop if stop >= 0 else None : -stride]
