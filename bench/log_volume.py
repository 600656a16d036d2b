"""Log volume per day of monitor.example.yaml at INFO: before (APScheduler's run lines on) and
after (monitor.logs.setup_logging).

Method: the real Daemon schedules its jobs on a real (unstarted) APScheduler; each job's runs per
day come from its trigger. Per run, APScheduler's executor writes two INFO lines ("Running job",
"executed successfully") and our code writes: poll 1 (poll_ok), retention 1 (retention_purge),
detect and deliver 0 on a quiet day (they log only when an incident changes or a message goes).
Each line is formatted by the real formatter of each set-up (APScheduler's own templates with the
real job's str()), so bytes are measured, not guessed. Quiet-day figures: incidents, deliveries
and warnings add the same lines before and after.
Run: python bench/log_volume.py
"""

from __future__ import annotations

import io
import logging
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.daemon import Daemon  # noqa: E402
from monitor.logs import kv, setup_logging  # noqa: E402
from monitor.store import Store  # noqa: E402

RUN_AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def runs_per_day(job: Job) -> float:
    if isinstance(job.trigger, IntervalTrigger):
        return 86400 / job.trigger.interval.total_seconds()
    if isinstance(job.trigger, CronTrigger):
        return 1 / 7  # the weekly digest
    return 0.0  # one-shot catch-up at start


def our_lines(job: Job) -> list[str]:
    if job.id.startswith("poll:"):
        _, brand, channel = job.id.split(":", 2)
        return [
            kv(
                "poll_ok",
                brand=brand,
                channel=channel,
                fetched=3,
                matched=1,
                stored=1,
                skipped=0,
                requests=1,
            )
        ]
    if job.id == "retention":
        return [kv("retention_purge", mentions=120, outbox=4, incidents=0)]
    return []


def emitted(job: Job, setup: str) -> list[str]:
    """The lines one run of `job` writes to stderr under a logging set-up."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers)
    root.handlers.clear()
    if setup == "before":  # today's cli.setup_logging
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.getLogger("apscheduler.executors").setLevel(logging.NOTSET)
    else:
        setup_logging("INFO", "text", stream)
    executor = logging.getLogger("apscheduler.executors.default")
    executor.info('Running job "%s" (scheduled at %s)', job, RUN_AT)
    for line in our_lines(job):
        logging.getLogger("monitor").info(line)
    executor.info('Job "%s" executed successfully', job)
    root.handlers[:] = saved
    return stream.getvalue().splitlines()


def main() -> None:
    config = load_config(ROOT / "monitor.example.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        daemon = Daemon(config, Store(Path(tmp) / "bench.db"))
        scheduler = BackgroundScheduler(timezone="UTC")
        daemon.schedule(scheduler)
        jobs = scheduler.get_jobs()
        totals = {"before": [0.0, 0.0], "after": [0.0, 0.0]}
        print(f"{'job':<34}{'runs/day':>10}{'lines/run before':>18}{'after':>7}")
        for job in jobs:
            per_day = runs_per_day(job)
            counts = []
            for setup in ("before", "after"):
                lines = emitted(job, setup)
                totals[setup][0] += per_day * len(lines)
                totals[setup][1] += per_day * sum(len(line) + 1 for line in lines)
                counts.append(len(lines))
            print(f"{job.id:<34}{per_day:>10.1f}{counts[0]:>18}{counts[1]:>7}")
        daemon.poller.close()
    (lb, bb), (la, ba) = totals["before"], totals["after"]
    print(f"before: {lb:,.0f} lines/day, {bb / 1e6:.2f} MB/day")
    print(f"after:  {la:,.0f} lines/day, {ba / 1e6:.3f} MB/day")
    print(f"ratio before/after: {lb / la:.1f}x lines, {bb / ba:.1f}x bytes")


if __name__ == "__main__":
    main()
