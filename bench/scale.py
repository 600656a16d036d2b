"""Detection pass and weekly digest build time on stores of 100k and 1M mentions.

Both read index ranges (the window, the baseline days, the week), so their cost should follow
the mentions in those ranges, not the history kept. The 100k store is the baseline measured in
the same run; the ratio shows how much 10x more history costs. Run: python bench/scale.py
(about 2 minutes: most of it is writing the 1M-mention store).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.digest import build_digest, week_of  # noqa: E402
from monitor.models import Label, Mention, Score, Scored  # noqa: E402
from monitor.outbox import outbox_for  # noqa: E402
from monitor.spikes import Detector  # noqa: E402
from monitor.store import Store  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CONFIG = """\
database: {db}
brands:
  - name: Acme
    terms: [acme]
    channels: [hackernews, reddit, rss]
    topics: {{outage: [down], billing: [refund], support: [support], app: [app]}}
    spike: {{scopes: [topic, channel]}}
channels:
  reddit: {{user_agent: "bench/0.1"}}
teams:
  cx: {{console: {{}}, timezone: Europe/London}}
routes:
  - {{team: cx}}
"""
TOPICS = ("outage", "billing", "support", "app")
CHANNELS = ("hackernews", "reddit", "rss")


def fill(store: Store, count: int, days: int) -> None:
    """`count` mentions spread evenly over `days` days before NOW, 20% negative."""
    rng = random.Random(count)
    span = days * 86400
    batch: dict[str, list[Scored]] = {c: [] for c in CHANNELS}
    for i in range(count):
        channel = CHANNELS[i % 3]
        when = NOW - timedelta(seconds=span * i / count)
        label: Label = rng.choices(["negative", "neutral", "positive"], [2, 4, 4])[0]
        compound = {"negative": -0.5, "neutral": 0.0, "positive": 0.5}[label]
        topics = tuple(t for t in TOPICS if rng.random() < 0.15)
        m = Mention(
            channel,
            str(i),
            f"https://e.example/{i}",
            f"user{i % 5000}",
            "acme text",
            when,
            float(i % 300),
        )
        batch[channel].append(Scored(m, "Acme", Score(compound, 0.2, 0.6, 0.2, label), topics))
        if len(batch[channel]) == 20_000:
            store.save_poll("Acme", channel, batch[channel], None, 0, NOW)
            batch[channel] = []
    for channel, rows in batch.items():
        store.save_poll("Acme", channel, rows, None, 0, NOW)


def timed(func: object, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        func()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


def measure(workdir: Path, count: int, days: int) -> tuple[float, float]:
    path = workdir / f"monitor{count}.yaml"
    path.write_text(CONFIG.format(db=workdir / f"bench{count}.db"))
    config = load_config(path)
    with Store(config.database) as store:
        started = time.perf_counter()
        fill(store, count, days)
        print(
            f"  wrote {count:,} mentions over {days} days in {time.perf_counter() - started:.0f}s"
        )
        outbox = outbox_for(config, store, clock=lambda: NOW)
        detector = Detector(config, store, outbox.enqueue_alerts, clock=lambda: NOW)
        scopes = 1 + len(TOPICS) + len(CHANNELS)
        detect = timed(detector.run_once)
        week = week_of(NOW - timedelta(days=7), ZoneInfo(config.teams["cx"].timezone))
        digest = timed(lambda: build_digest(config, store, "cx", week, now=NOW))
        print(
            f"  detection pass ({scopes} scopes): {detect * 1000:.1f} ms; digest for {week}: {digest * 1000:.1f} ms"
        )
    return detect, digest


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print("100k mentions (a year of a small brand):")
        small = measure(Path(tmp), 100_000, 40)
        print("1M mentions (ten times the history):")
        large = measure(Path(tmp), 1_000_000, 400)
    print(
        f"ratio 1M / 100k: detection {large[0] / small[0]:.2f}x, digest {large[1] / small[1]:.2f}x"
    )


if __name__ == "__main__":
    main()
