"""The long-running service: APScheduler 3 jobs for polling, detection, delivery and digests."""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import signal
import threading
from collections.abc import Callable, Collection
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import IO, Any

from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.alerting.grouping import Decision
from monitor.config import Config
from monitor.digest import DigestScheduler, digest_settings
from monitor.models import Clock, utcnow
from monitor.outbox import DeliveryReport, outbox_for
from monitor.poller import Poller
from monitor.spikes import Detector
from monitor.store import Store

log = logging.getLogger(__name__)


class AlreadyRunning(Exception):
    pass


class DaemonLock:
    """An exclusive lock file beside the database, so two daemons never poll into one store."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the daemon's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "unknown"
            handle.close()
            raise AlreadyRunning(
                f"another monitor daemon (pid {pid}) is already using {self.path.with_suffix('')}; "
                "stop it first, or point this one at another database"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class RunningJobs:
    """Counts jobs in flight, so a stop can wait for them, but only for so long."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def track(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def tracked(*args: Any, **kwargs: Any) -> Any:
            with self._changed:
                self._count += 1
            try:
                return func(*args, **kwargs)
            finally:
                with self._changed:
                    self._count -= 1
                    self._changed.notify_all()

        return tracked

    def wait_idle(self, timeout: float) -> int:
        """Wait until no job runs or `timeout` seconds pass; return how many still run."""
        with self._changed:
            self._changed.wait_for(lambda: self._count == 0, timeout)
            return self._count


def _jitter(every: timedelta) -> int:
    # Spread polls so many (brand, channel) jobs do not hit their APIs on the same second.
    return int(min(every.total_seconds() * 0.1, 30))


class Daemon:
    """Wires jobs onto a scheduler. `schedule` works on any APScheduler 3 scheduler."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Clock = utcnow,
        stream: IO[str] | None = None,
        stop_grace: float = 5.0,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        # How long a stop waits for running jobs; supervisors kill a slow stop (systemd after
        # 90s, many container runtimes after 10s), so the daemon must end well inside that.
        self.stop_grace = stop_grace
        self.running = RunningJobs()
        self.outbox = outbox_for(config, store, clock=clock, stream=stream)
        self.detector = Detector(config, store, self.outbox.enqueue_alerts, clock=clock)
        self.poller = Poller(config, store, clock=clock, on_new_negatives=self.alert_now)
        self.digests = DigestScheduler(config, store, self.outbox.enqueue, clock=clock)
        # Detection runs from its own job and from any poll job; two passes at once could open
        # the same incident twice. Two deliveries at once could send a message twice.
        self._detecting = threading.Lock()
        self._delivering = threading.Lock()
        alerting = config.alerting
        self.extra_jobs: list[tuple[str, Callable[[], Any], timedelta]] = [
            # Still scheduled: incidents resolve and reminders fall due without new mentions.
            ("detect", self.detect, alerting.detect_every),
            ("deliver", self.deliver, alerting.deliver_every),
            ("retention", self.purge, timedelta(hours=6)),
        ]

    def detect(self, brands: Collection[str] | None = None) -> list[Decision]:
        with self._detecting:
            return self.detector.run_once(brands)

    def deliver(self) -> DeliveryReport:
        with self._delivering:
            return self.outbox.deliver_once()

    def alert_now(self, brand: str) -> None:
        """Right after a poll stored new negative mentions: detect for its brand, deliver.

        Alert latency is then the poll interval plus milliseconds, not plus the detect and
        deliver intervals.
        """
        if any(change.kind for change in self.detect([brand])):
            self.deliver()

    def purge(self) -> dict[str, int]:
        """Drop what `retention` no longer keeps; delivered messages go after 30 days."""
        now = self.clock()
        counts = self.store.purge(
            now - timedelta(days=self.config.retention.mentions_days), now - timedelta(days=30)
        )
        log.info("retention_purge %s", " ".join(f"{k}={v}" for k, v in counts.items()))
        return counts

    def schedule(self, scheduler: BaseScheduler) -> None:
        now = self.clock()
        for i, (brand, channel) in enumerate(self.poller.jobs()):
            every = self.config.polls[brand, channel].every
            scheduler.add_job(
                self.running.track(self.poller.poll),
                IntervalTrigger(seconds=every.total_seconds(), jitter=_jitter(every)),
                args=(brand, channel),
                id=f"poll:{brand}:{channel}",
                name=f"poll {brand} on {channel}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(every.total_seconds()),
                next_run_time=now + timedelta(seconds=i * 0.2),
                replace_existing=True,
            )
        for team in self.digests.teams():
            day, at = digest_settings(self.config, team).schedule.split()
            hour, minute = at.split(":")
            scheduler.add_job(
                self.running.track(self.digests.run_due),
                CronTrigger(
                    day_of_week=day,
                    hour=int(hour),
                    minute=int(minute),
                    timezone=self.config.teams[team].timezone,
                ),
                id=f"digest:{team}",
                name=f"weekly digest for {team}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
                replace_existing=True,
            )
        # A daemon that was down when a digest fell due sends it once, now.
        scheduler.add_job(
            self.running.track(self.digests.run_due),
            id="digest:catch-up",
            next_run_time=now + timedelta(seconds=5),
            replace_existing=True,
        )
        for job_id, func, every in self.extra_jobs:
            scheduler.add_job(
                self.running.track(func),
                IntervalTrigger(seconds=every.total_seconds()),
                id=job_id,
                name=job_id,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(every.total_seconds()),
                next_run_time=now + timedelta(seconds=2),
                replace_existing=True,
            )

    def run(self) -> bool:
        """Run until SIGTERM/SIGINT, then give running jobs `stop_grace` seconds to finish.

        Returns False if a job was still running then (say a poll stuck in a slow-drip read):
        its thread cannot be stopped, so the caller must end the process with os._exit. That
        loses nothing: each poll commits mentions and cursor in one transaction, so an
        unfinished poll simply repeats at the next start.
        """
        scheduler = BlockingScheduler(timezone="UTC")
        self.schedule(scheduler)

        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("stopping signal=%s", signal.Signals(signum).name)
            if scheduler.state != STATE_STOPPED:
                # Not wait=True: that waits for running jobs, and a stuck one holds it forever.
                scheduler.shutdown(wait=False)

        with DaemonLock(self.config.database):
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            log.info(
                "daemon_start jobs=%d database=%s", len(scheduler.get_jobs()), self.config.database
            )
            try:
                scheduler.start()
            finally:
                busy = self.running.wait_idle(self.stop_grace)
                if busy:
                    log.warning(
                        "stop_grace_expired jobs_running=%d grace=%.0fs; exiting without them, "
                        "an unfinished poll repeats at the next start",
                        busy,
                        self.stop_grace,
                    )
                else:
                    self.poller.close()
                log.info("daemon_stopped")
        return busy == 0
