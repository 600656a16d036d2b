"""Backtest speed: 8 weeks of one brand with 1M mentions replayed at a 1-minute step.

A fresh SQLite file gets 1M mentions of one brand over 12 weeks (4 weeks of baseline before the
8 replayed), a fifth of them negative with a daily curve and a few planted bursts, stored
through the store's import path (the per-minute aggregates follow through its triggers). Then
`monitor.backtest.replay` runs at detect_every = 1 minute over the last 8 weeks.

Baseline, in the same run: the same steps with counts read by rescanning the raw negative
mentions of the 29 days behind each step (what a detector without aggregates does), timed on
a sample of steps and scaled to all of them. Both are timed interleaved on the same one-day
slices (median of 3); the full 8-week replay is then timed once against the target (< 60 s).
The machine's load average is printed with the figures: other work on a 2-core machine
stretches every timing here.
Run: python bench/backtest.py [--mentions 1000000]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.alerting import BucketCounts, Scope, step  # noqa: E402
from monitor.backtest import replay  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.models import Mention, Score, Scored  # noqa: E402
from monitor.spikes import detector_settings, history_span  # noqa: E402
from monitor.store import Store, ts  # noqa: E402

END = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)
WEEKS = 8
CONFIG = "brands:\n  - name: Acme\n    terms: [acme]\nalerting: {detect_every: 1m}\n"


def seed(store: Store, total: int) -> None:
    rng = random.Random(11)
    start = END - timedelta(weeks=WEEKS + 4)
    span = (END - start).total_seconds()
    bursts = [start + timedelta(days=d, hours=13) for d in (33, 47, 61, 75)]
    batch: list[Scored] = []
    for i in range(total):
        # Day-shaped arrival times: accept a uniform draw with the daily curve's probability.
        while True:
            when = start + timedelta(seconds=rng.random() * span)
            hour = when.hour + when.minute / 60
            if rng.random() < 0.35 + 0.65 * math.exp(-(((hour - 15) / 5) ** 2)):
                break
        negative = rng.random() < 0.2 or (
            any(b <= when < b + timedelta(hours=2) for b in bursts) and rng.random() < 0.9
        )
        label = "negative" if negative else "neutral"
        mention = Mention("hackernews", str(i), "", "u", "acme outage login", when)
        batch.append(Scored(mention, "Acme", Score(-0.5 if negative else 0.0, 0, 1, 0, label)))
        if len(batch) == 100_000:
            store.import_mentions(batch, END)
            batch = []
    store.import_mentions(batch, END)
    # Bursts on top: 400 extra negatives in two hours on four days.
    extra = [
        Scored(
            Mention(
                "hackernews",
                f"b{j}-{k}",
                "",
                "u",
                "acme login broken",
                b + timedelta(seconds=18 * k),
            ),
            "Acme",
            Score(-0.6, 0, 0.5, 0.5, "negative"),
        )
        for j, b in enumerate(bursts)
        for k in range(400)
    ]
    store.import_mentions(extra, END)


def raw_scan_steps(store: Store, config_path: Path, start: datetime, steps: int) -> float:
    """Seconds for `steps` detection steps whose counts come from rescanning raw mentions."""
    config = load_config(config_path)
    settings = detector_settings(config.brands[0].spike)
    scope = Scope("Acme", "brand", "Acme")
    first = store.first_mention_at("Acme")
    began = time.perf_counter()
    for i in range(steps):
        now = start + timedelta(minutes=i)
        rows = store.query(
            "SELECT created_at / 60 AS m, count(*) AS n FROM mentions WHERE brand = 'Acme' "
            "AND label = 'negative' AND created_at >= ? AND created_at < ? GROUP BY m ORDER BY m",
            (ts(now - history_span(settings)), ts(now)),
        )
        counts = BucketCounts(
            [datetime.fromtimestamp(r["m"] * 60, UTC) for r in rows], [r["n"] for r in rows]
        )
        step(None, counts, now, settings, scope, (), first)
    return time.perf_counter() - began


def replay_seconds(
    store: Store, config_path: Path, start: datetime, end: datetime
) -> tuple[float, int]:
    config = load_config(config_path)
    began = time.perf_counter()
    found = list(replay(config, store, start, end))
    return time.perf_counter() - began, len(found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mentions", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "monitor.yaml"
        config_path.write_text(CONFIG + f"database: {tmp}/bench.db\n")
        with Store(Path(tmp) / "bench.db") as store:
            began = time.perf_counter()
            seed(store, args.mentions)
            print(f"seeded {args.mentions} mentions in {time.perf_counter() - began:.1f}s")
            ours, theirs = [], []
            sample = 120
            for day in (10, 30, 50):
                start = END - timedelta(days=day)
                theirs.append(raw_scan_steps(store, config_path, start, sample) / sample)
                ours.append(
                    replay_seconds(store, config_path, start, start + timedelta(days=1))[0] / 1441
                )
            per_ours, per_theirs = statistics.median(ours), statistics.median(theirs)
            steps = WEEKS * 7 * 1440 + 1
            print(
                f"per step: aggregates {per_ours * 1e3:.2f} ms, raw rescan {per_theirs * 1e3:.2f} ms"
            )
            print(f"ratio (raw rescan / aggregates): {per_theirs / per_ours:.1f}x")
            print(
                f"raw rescan over {WEEKS} weeks ({steps} steps), estimated: {per_theirs * steps:.0f}s"
            )
            seconds, found = replay_seconds(store, config_path, END - timedelta(weeks=WEEKS), END)
            print(
                f"backtest of {WEEKS} weeks at 1-minute steps: {seconds:.1f}s, {found} notifications "
                f"(target < 60 s: {'met' if seconds < 60 else 'NOT met'})"
            )
            print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
