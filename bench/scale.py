"""Detection, digest, `mentions` export and `status` on stores of 100k and 1M mentions.

Detection and the digest read index ranges (the window, the baseline days, the week), so their
cost should follow the mentions in those ranges, not the history kept. The 100k store is the
baseline measured in the same run; the ratio shows how much 10x more history costs.

The export and `status` are also measured against the way they worked before, in the same run,
interleaved, median of 3: the export as a list of every mention joined into one string (peak RSS
of the exporting child process, from wait4's ru_maxrss) against streaming rows from a cursor;
`status` with a correlated count per (brand, channel) against the counts poll_state keeps.
Run: python bench/scale.py (about 5 minutes: most of it is writing and exporting 1M mentions).
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
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
LABELS: list[Label] = ["negative", "neutral", "positive"]
CHANNELS = ("hackernews", "reddit", "rss")


def fill(store: Store, count: int, days: int) -> None:
    """`count` mentions spread evenly over `days` days before NOW, 20% negative."""
    rng = random.Random(count)
    span = days * 86400
    batch: dict[str, list[Scored]] = {c: [] for c in CHANNELS}
    for i in range(count):
        channel = CHANNELS[i % 3]
        when = NOW - timedelta(seconds=span * i / count)
        label = rng.choices(LABELS, [2, 4, 4])[0]
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


# The `status` query before poll_state kept counts: one count over the history per row.
OLD_STATUS_SQL = (
    "SELECT p.*, (SELECT count(*) FROM mentions m WHERE m.brand = p.brand "
    "AND m.channel = p.channel) AS mentions FROM poll_state p ORDER BY p.brand, p.channel"
)
# The export before streaming: every mention in a list, then the whole output as one string.
EXPORT_LISTED = """
import sys
from monitor.report import export_mentions
from monitor.store import Store
with Store(sys.argv[1]) as store:
    sys.stdout.write(export_mentions(store.mentions(), "jsonl") + "\\n")
"""
EXPORT_STREAMED = """
import sys
from monitor.report import write_mentions
from monitor.store import Store
with Store(sys.argv[1]) as store:
    write_mentions(store.iter_mentions(), "jsonl", sys.stdout)
"""


def export_run(db: Path, script: str) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one child process exporting every mention to /dev/null."""
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        proc = subprocess.Popen([sys.executable, "-c", script, str(db)], stdout=sink, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"export child failed with exit code {code}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def compare(name: str, unit: str, before: list[float], after: list[float]) -> float:
    old, new = statistics.median(before), statistics.median(after)
    print(f"  {name}: before {old:.1f} {unit}, after {new:.1f} {unit}, ratio {old / new:.1f}x")
    return old / new


def measure_export_and_status(db: Path) -> None:
    listed: list[tuple[float, float]] = []
    streamed: list[tuple[float, float]] = []
    status_old: list[float] = []
    status_new: list[float] = []
    with Store(db) as store:
        for _ in range(3):  # interleaved so a noisy neighbour hurts both sides alike
            listed.append(export_run(db, EXPORT_LISTED))
            streamed.append(export_run(db, EXPORT_STREAMED))
            status_old.append(timed(lambda: store.query(OLD_STATUS_SQL), 1) * 1000)
            status_new.append(timed(store.poll_states, 1) * 1000)
    compare("export peak RSS", "MB", [r for _, r in listed], [r for _, r in streamed])
    compare("export time", "s", [t for t, _ in listed], [t for t, _ in streamed])
    compare("status", "ms", status_old, status_new)


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
    measure_export_and_status(config.database)
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
