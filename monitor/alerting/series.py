"""Counts from per-bucket totals: the `counts(start, end)` the detector reads, in memory.

The detector asks for a few hundred window sums per evaluation (baseline days, neighbours, the
week behind the novelty floor), and a backtest evaluates every minute of eight weeks. Reading
the scope's per-minute aggregates once and laying their prefix sums on a regular grid turns
each window into two list lookups, and a run of windows spaced by whole buckets (the same hour
on 28 days, 168 hours back to back) into list slices.
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
    """Sum of the buckets whose start time lies in [start, end); times ascending.

    Windows are found by binary search until `grid_after` runs of windows have been asked for;
    then the prefix sums are laid on the buckets' regular grid, which a replay's thousands of
    evaluations share. A live pass (one evaluation, six runs) never pays for laying it.
    """

    def __init__(
        self, times: Sequence[datetime], values: Sequence[float], *, grid_after: int = 64
    ) -> None:
        if len(times) != len(values):
            raise ValueError("times and values must be the same length")
        if any(b < a for a, b in itertools.pairwise(times)):
            raise ValueError("bucket times must be in ascending order")
        self.times = list(times)
        self.prefix = [0.0, *itertools.accumulate(float(v) for v in values)]
        self.resolution: timedelta | None = None  # the grid's spacing, once laid
        self._laid = False
        self._runs_before_grid = grid_after
        self._dense: list[float] = []
        self._grid_us = 1
        self._jumps: dict[timedelta, int | None] = {}

    def _lay_grid(self) -> None:
        """`_dense[i]` is the prefix sum of the buckets before grid point i (`times[0] + i *
        resolution`): copied from `prefix`, never re-added, so every window sum is the same
        float as the binary search gives. Built with C-level maps: it runs once per scope."""
        self._laid = True
        self._jumps.clear()
        times, n = self.times, len(self.times)
        if not times:
            return
        deltas = map(operator.sub, times, itertools.repeat(times[0]))
        offsets = list(map(operator.floordiv, deltas, itertools.repeat(_US)))
        grid = math.gcd(*offsets) or 1
        if offsets[-1] // grid + 1 > _GRID_SLACK * n + 1024:
            return  # too irregular: binary search stays
        points = list(map(operator.floordiv, offsets, itertools.repeat(grid)))
        gaps = map(operator.sub, points[1:], points[:-1])
        runs = itertools.chain.from_iterable(map(itertools.repeat, self.prefix[1:n], gaps))
        self._dense = [0.0, *runs, self.prefix[n]]
        self._grid_us, self.resolution = grid, grid * _US

    def _index(self, when: datetime) -> int:
        """How many grid points lie before `when`; may fall outside [0, len(_dense) - 1]."""
        return -(micros(self.times[0] - when) // self._grid_us)

    def _jump(self, step: timedelta) -> int | None:
        """Grid points in `step`, or None when it is not a whole number of them."""
        if step not in self._jumps:
            jump, rest = divmod(micros(step), self._grid_us)
            self._jumps[step] = None if rest else jump
        return self._jumps[step]

    def __call__(self, start: datetime, end: datetime) -> float:
        if end <= start:
            return 0.0
        if self.resolution is None:
            hi = bisect.bisect_left(self.times, end)
            return self.prefix[hi] - self.prefix[bisect.bisect_left(self.times, start)]
        dense, last = self._dense, len(self._dense) - 1
        return (
            dense[min(last, max(0, self._index(end)))]
            - dense[min(last, max(0, self._index(start)))]
        )

    def shifted(
        self, start: datetime, end: datetime, step: timedelta, multiples: Sequence[int]
    ) -> list[float]:
        """`[self(start - m * step, end - m * step) for m in multiples]`, in that order."""
        if not self._laid:
            self._runs_before_grid -= 1
            if self._runs_before_grid < 0:
                self._lay_grid()
        # A shift by whole buckets moves both ends by the same number of grid points.
        jump = self._jump(step) if self.resolution is not None else None
        if jump is None or end <= start or not multiples:
            return [self(start - m * step, end - m * step) for m in multiples]
        lo, hi = self._index(start), self._index(end)
        dense, last = self._dense, len(self._dense) - 1
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
