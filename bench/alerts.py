"""Spike detection scored on NAB's labelled series: ours vs today's detector vs two peers.

Each 5- or 30-minute value becomes that many negative mentions of one brand and is replayed,
bucket by bucket, through each detector. Ours runs through `monitor.alerting.step`, the function
the live detector calls. "before" is monitor/spikes.py's evaluate + transition with today's
defaults, reimplemented on counts. The peers: an ElastAlert2-style spike rule (the last hour vs
the hour before, ratio >= 3, at least 10, windows cleared after an alert) and a Huginn-style peak
detector (above mean + 3 sigma of the previous 14 days, 2 days between peaks), both fed the same
hourly count.

Per series and in total: upward windows detected (a page inside the window), pages outside the
windows per week, delay from window start to the first page, and NAB's standard-profile score
(windows, probation and scaled sigmoid as in NAB's sweeper). Windows in which volume dropped
(Thanksgiving, Christmas, the snowstorm in the taxi series) are not negative spikes: they are left
out of the score and pages inside them are counted apart.

    python bench/alerts.py
    python bench/alerts.py --end-to-end art_increase_spike_density

`--end-to-end NAME` also writes that series as negative mentions to a .jsonl file, loads it with
`monitor import`'s import_file into a fresh database and replays it with `monitor backtest`'s
replay at the series' bucket step, then checks that it pages at exactly the times the direct
replay does: the bench's figures are the product's.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import json
import math
import statistics
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.alerting import PAGES, DetectorSettings, Scope, step
from monitor.alerting.series import BucketCounts
from monitor.alerting.stats import poisson_tail
from monitor.models import Incident

DATA = Path(__file__).resolve().parent / "data"
HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
SCOPE = Scope("bench", "brand", "bench")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    times: list[datetime]
    values: list[int]
    bucket: timedelta
    windows: list[tuple[datetime, datetime]]

    def counts(self) -> BucketCounts:
        return BucketCounts(self.times, self.values)


def load(name: str) -> Series:
    with (DATA / f"{name}.csv").open() as f:
        rows = list(csv.DictReader(f))
    times = [datetime.fromisoformat(r["timestamp"]).replace(tzinfo=UTC) for r in rows]
    labels = json.loads((DATA / "windows.json").read_text())
    key = next(k for k in labels if k.endswith(f"/{name}.csv"))
    windows = [
        (
            datetime.fromisoformat(s).replace(tzinfo=UTC),
            datetime.fromisoformat(e).replace(tzinfo=UTC),
        )
        for s, e in labels[key]
    ]
    bucket = statistics.mode(b - a for a, b in itertools.pairwise(times))
    return Series(name, times, [round(float(r["value"])) for r in rows], bucket, windows)


# ---------------------------------------------------------------- detectors: each returns page times


def run_ours(series: Series, settings: DetectorSettings) -> list[datetime]:
    counts = series.counts()
    pages: list[datetime] = []
    current: Incident | None = None
    earlier: list[Incident] = []
    horizon = timedelta(days=settings.baseline_days + 2)
    for t in series.times:
        now = t + series.bucket
        recent = [i for i in earlier if i.resolved_at and i.resolved_at > now - horizon]
        _, change = step(current, counts, now, settings, SCOPE, recent, series.times[0])
        if change is None:
            continue
        if change.kind in PAGES:
            pages.append(now)
        if change.incident.status == "resolved":
            earlier.append(change.incident)
            current = None
        else:
            current = change.incident
    return pages


def _mean_with(observations: list[float], recent_expected: float) -> float:
    # The plain recent rate joins as one more observation, as in spikes.py.
    return (sum(observations) + recent_expected) / (len(observations) + 1)


def run_before(series: Series) -> list[datetime]:
    """monitor/spikes.py with today's defaults (window 60m, baseline 14 days, min_count 5,
    min_ratio 3, p 0.001, critical_ratio 10, resolve_after 30m), on counts."""
    counts = series.counts()
    first = series.times[0]
    pages: list[datetime] = []
    state: dict[str, object] | None = None
    for t in series.times:
        now = t + series.bucket
        count = counts(now - HOUR, now)
        if now - first < timedelta(days=3):
            expected = 2.0
        else:
            start = max(first, now - timedelta(days=14))
            history = now - HOUR - start
            recent = counts(start, now - HOUR)
            recent_expected = recent * (HOUR / history) if history > timedelta(0) else 0.0

            by_day = {
                k: counts(now - timedelta(days=k) - HOUR, now - timedelta(days=k))
                for k in range(1, 15)
            }

            usable = [k for k in range(1, 15) if now - timedelta(days=k) - HOUR >= first]
            weekend = now.weekday() >= 5
            same_type = [k for k in usable if ((now - timedelta(days=k)).weekday() >= 5) == weekend]
            expected = _mean_with([by_day[k] for k in same_type], recent_expected)
            same_weekday = [k for k in usable if k % 7 == 0]
            if len(same_weekday) >= 2:
                expected = max(
                    expected, _mean_with([by_day[k] for k in same_weekday], recent_expected)
                )
            expected = max(expected, 0.05)
        ratio = count / expected
        firing = count >= 5 and ratio >= 3 and poisson_tail(math.floor(count), expected) < 0.001
        critical = ratio >= 10
        if state is None:
            if firing:
                state = {"critical": critical, "last_fired": now}
                pages.append(now)
            continue
        if firing:
            state["last_fired"] = now
            if critical and not state["critical"]:
                state["critical"] = True
                pages.append(now)
        elif now - state["last_fired"] >= timedelta(minutes=30):  # type: ignore[operator]
            state = None
    return pages


def run_elastalert(series: Series) -> list[datetime]:
    counts = series.counts()
    pages: list[datetime] = []
    filled_from = series.times[0]
    for t in series.times:
        now = t + series.bucket
        if now - filled_from < 2 * HOUR:  # both windows must be full again after a clear
            continue
        cur, ref = counts(now - HOUR, now), counts(now - 2 * HOUR, now - HOUR)
        if cur >= 10 and cur >= 3 * ref:
            pages.append(now)
            filled_from = now
    return pages


def run_huginn(series: Series) -> list[datetime]:
    counts = series.counts()
    pages: list[datetime] = []
    history: deque[tuple[datetime, float]] = deque()
    total = squares = 0.0
    last_peak: datetime | None = None
    for t in series.times:
        now = t + series.bucket
        value = counts(now - HOUR, now)
        while history and history[0][0] < now - timedelta(days=14):
            _, old = history.popleft()
            total -= old
            squares -= old * old
        if len(history) >= 2:
            mean = total / len(history)
            std = math.sqrt(max(0.0, squares / len(history) - mean * mean))
            spaced = last_peak is None or now - last_peak > timedelta(days=2)
            if value > mean + 3 * std and spaced:
                pages.append(now)
                last_peak = now
        history.append((now, value))
        total += value
        squares += value * value
    return pages


# ---------------------------------------------------------------- scoring


def scaled_sigmoid(position: float) -> float:
    return -1.0 if position > 3.0 else 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def is_drop(series: Series, window: tuple[datetime, datetime]) -> bool:
    """Did volume fall in the window against the same hours a week before and after?

    Only a week the series covers whole is compared: the taxi series ends two days after its
    snowstorm window, and the week after, mostly past the data, had read as a fall to zero
    that made the storm's collapse in traffic look like a rise."""
    counts = series.counts()
    inside = counts(window[0], window[1])
    first, end = series.times[0], series.times[-1] + series.bucket
    around = [
        counts(window[0] + d, window[1] + d)
        for d in (-WEEK, WEEK)
        if first <= window[0] + d and window[1] + d <= end
    ]
    return bool(around) and inside < statistics.mean(around)


@dataclass(frozen=True, slots=True)
class Score:
    windows: int
    detected: int
    drop_windows: int
    pages_in_drops: int
    pages_outside: int
    weeks: float
    delays: list[timedelta]
    raw: float  # NAB raw score over upward windows

    def __add__(self, other: Score) -> Score:
        return Score(
            self.windows + other.windows,
            self.detected + other.detected,
            self.drop_windows + other.drop_windows,
            self.pages_in_drops + other.pages_in_drops,
            self.pages_outside + other.pages_outside,
            self.weeks + other.weeks,
            self.delays + other.delays,
            self.raw + other.raw,
        )

    @property
    def nab(self) -> float:
        null, perfect = -float(self.windows), float(self.windows)
        return 100.0 * (self.raw - null) / (perfect - null) if self.windows else float("nan")


def score(series: Series, pages: Sequence[datetime]) -> Score:
    """NAB standard profile (tp 1, fn 1, fp 0.11) with its probation period and sigmoid."""
    n = len(series.times)
    probation = int(min(math.floor(0.15 * n), 0.15 * 5000))
    drops = [w for w in series.windows if is_drop(series, w)]
    ups = [w for w in series.windows if w not in drops]
    rows = {t: i for i, t in enumerate(series.times)}
    # A page at `now` judges the bucket that just closed, i.e. the row starting one bucket before.
    page_rows = sorted({rows[p - series.bucket] for p in pages if p - series.bucket in rows})
    page_rows = [i for i in page_rows if i >= probation]

    def row_range(w: tuple[datetime, datetime]) -> tuple[int, int]:
        first = bisect.bisect_left(series.times, w[0])
        return first, bisect.bisect_right(series.times, w[1]) - 1

    up_ranges = [row_range(w) for w in ups]
    drop_ranges = [row_range(w) for w in drops]
    raw, detected, outside, in_drops = 0.0, 0, 0, 0
    delays: list[timedelta] = []
    seen: set[int] = set()
    for i in page_rows:
        hit = next((j for j, (a, b) in enumerate(up_ranges) if a <= i <= b), None)
        if hit is not None:
            if hit not in seen:
                seen.add(hit)
                a, b = up_ranges[hit]
                raw += scaled_sigmoid(-(b - i + 1) / (b - a + 1)) / scaled_sigmoid(-1.0)
                delays.append(series.times[i] + series.bucket - ups[hit][0])
            continue
        if any(a <= i <= b for a, b in drop_ranges):
            in_drops += 1
            continue
        outside += 1
        before = [(a, b) for a, b in up_ranges if b < i]
        if before:
            a, b = before[-1]
            raw += 0.11 * scaled_sigmoid((i - b) / (b - a))
        else:
            raw -= 0.11
    detected = len(seen)
    raw -= len(ups) - detected
    weeks = (series.times[-1] - series.times[probation]) / WEEK
    return Score(len(ups), detected, len(drops), in_drops, outside, weeks, delays, raw)


# ---------------------------------------------------------------- report

NAMES = [
    "art_daily_jumpsup",
    "art_increase_spike_density",
    "art_load_balancer_spikes",
    "art_daily_small_noise",
    "art_noisy",
    "elb_request_count_8c0756",
    "nyc_taxi",
]
DETECTORS = ["ours", "before", "elastalert2", "huginn"]


def run_series(name: str, settings: DetectorSettings) -> dict[str, Score]:
    series = load(name)
    pages = {
        "ours": run_ours(series, settings),
        "before": run_before(series),
        "elastalert2": run_elastalert(series),
        "huginn": run_huginn(series),
    }
    return {d: score(series, p) for d, p in pages.items()}


def row(label: str, s: Score) -> str:
    delay = (
        f"{statistics.median(d.total_seconds() for d in s.delays) / 3600:6.1f}h"
        if s.delays
        else "      -"
    )
    drops = f"{s.pages_in_drops:3d} in {s.drop_windows}" if s.drop_windows else "      -"
    nab = f"{s.nab:6.1f}" if s.windows else "     -"
    return (
        f"  {label:<12} {s.detected:3d}/{s.windows:<3d} {s.pages_outside:5d} "
        f"{s.pages_outside / s.weeks:7.2f} {delay} {drops:>9} {nab}"
    )


def end_to_end(name: str) -> None:
    """Series -> .jsonl -> import_file -> backtest.replay: the same pages as run_ours."""
    import tempfile  # only this mode needs the product's store, config and importer

    from monitor.backtest import replay
    from monitor.config import load_config
    from monitor.importer import import_file
    from monitor.store import Store

    series = load(name)
    direct = run_ours(series, DetectorSettings())
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / f"{name}.jsonl"
        with data.open("w") as out:
            for t, v in zip(series.times, series.values, strict=True):
                for k in range(v):
                    row = {
                        "native_id": f"{t:%s}-{k}",
                        "created_at": t.isoformat(),
                        "text": "bench is terrible, awful, broken",
                    }
                    out.write(json.dumps(row) + "\n")
        config_path = Path(tmp) / "monitor.yaml"
        config_path.write_text(
            f"database: {tmp}/bench.db\nbrands:\n  - name: bench\n    terms: [bench]\n"
            f"alerting: {{detect_every: {int(series.bucket.total_seconds())}s}}\n"
        )
        config = load_config(config_path)
        with Store(config.database) as store:
            report = import_file(config, store, data, brand="bench")
            print(report.summary().splitlines()[0])
            start, end = series.times[0] + series.bucket, series.times[-1] + series.bucket
            found = replay(config, store, start, end)
            pages = [n.at for n in found if n.kind in PAGES]
    same = pages == direct
    print(
        f"{name}: direct replay {len(direct)} pages, import + backtest {len(pages)} pages: "
        f"{'identical' if same else 'DIFFERENT'}"
    )
    if not same:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", nargs="*", default=NAMES)
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="override a default"
    )
    parser.add_argument(
        "--end-to-end", metavar="NAME", help="replay NAME through import + backtest"
    )
    args = parser.parse_args()
    if args.end_to_end:
        end_to_end(args.end_to_end)
        return
    settings = DetectorSettings()
    for item in args.set:
        key, _, value = item.partition("=")
        current = getattr(settings, key)
        parsed: object = (
            timedelta(hours=float(value))  # durations in hours: --set resolve_after=12
            if isinstance(current, timedelta)
            else type(current)(value)
        )
        overrides: dict[str, Any] = {key: parsed}
        settings = replace(settings, **overrides)
    with ProcessPoolExecutor(max_workers=2) as pool:
        runs = pool.map(run_series, args.series, [settings] * len(args.series))
        results = dict(zip(args.series, runs, strict=True))
    header = f"  {'detector':<12} {'win':>7} {'out':>5} {'out/wk':>7} {'delay':>7} {'drop pages':>9} {'NAB':>6}"
    total: dict[str, Score] = {}
    for name, scores in results.items():
        print(f"{name}\n{header}")
        for d in DETECTORS:
            print(row(d, scores[d]))
            total[d] = total[d] + scores[d] if d in total else scores[d]
    print(f"TOTAL (NAB normalised over all upward windows; delay = median)\n{header}")
    for d in DETECTORS:
        print(row(d, total[d]))
    ours = total["ours"].nab
    for peer in ("before", "elastalert2", "huginn"):
        print(f"  NAB ours - {peer}: {ours - total[peer].nab:+.1f}")


if __name__ == "__main__":
    main()
