"""The long-running service: APScheduler 3 jobs for polling, detection, delivery and digests."""

from __future__ import annotations

import functools
import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable, Collection
from datetime import timedelta
from types import FrameType
from typing import IO, Any

from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor import __version__
from monitor.alerting.grouping import Decision
from monitor.cluster import Cluster, Member, tick_every
from monitor.config import Config, ConfigError, load_config
from monitor.digest import DigestScheduler, digest_settings
from monitor.health import health_of
from monitor.lock import AlreadyRunning, DaemonLock
from monitor.logs import kv, setup_logging
from monitor.metrics import Metrics, MetricsServer, serve
from monitor.models import Clock, utcnow
from monitor.outbox import DeliveryReport, outbox_for
from monitor.poller import Poller
from monitor.spikes import Detector
from monitor.store import Store

log = logging.getLogger(__name__)

__all__ = ["AlreadyRunning", "Daemon", "DaemonLock"]


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


def _same(old: Any, new: Any) -> bool:
    # str() leaves out the time zone a cron trigger fires in; start dates always differ.
    return (str(old), str(getattr(old, "timezone", ""))) == (
        str(new),
        str(getattr(new, "timezone", "")),
    )


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
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.clock = clock
        self.stream = stream
        self.timer = timer
        # How long a stop waits for running jobs; supervisors kill a slow stop (systemd after
        # 90s, many container runtimes after 10s), so the daemon must end well inside that.
        self.stop_grace = stop_grace
        self.running = RunningJobs()
        self.metrics = Metrics(snapshot=store.metrics_snapshot)
        self.started_at = clock()
        # Detection runs from its own job and from any poll job; two passes at once could open
        # the same incident twice. Two deliveries at once could send a message twice.
        self._detecting = threading.Lock()
        self._delivering = threading.Lock()
        # Pollers replaced by a reload; their jobs may still be running, so they close at stop.
        self._retired: list[Poller] = []
        self.cluster = Cluster(
            store,
            Member.this_process(self.started_at),
            store.leader_lock(),
            version=__version__,
            tick=tick_every(config.alerting.detect_every),
            clock=clock,
        )
        self._use(config)
        self.cluster.renew_claims = lambda: self.outbox.renew_claims()

    def _use(self, config: Config) -> None:
        """Build every stage from `config`; the scheduled jobs call whatever is current."""
        self.config = config
        self.outbox = outbox_for(
            config,
            self.store,
            clock=self.clock,
            stream=self.stream,
            metrics=self.metrics,
            holder=self.cluster.member.id,
            claim_ttl=self.cluster.lease_ttl,
        )
        self.detector = Detector(config, self.store, self.outbox.enqueue_alerts, clock=self.clock)
        self.poller = Poller(
            config,
            self.store,
            clock=self.clock,
            on_new_negatives=self.alert_now,
            metrics=self.metrics,
        )
        self.digests = DigestScheduler(config, self.store, self.outbox.enqueue, clock=self.clock)

    def extra_jobs(self) -> list[tuple[str, Callable[[], Any], timedelta]]:
        alerting = self.config.alerting
        return [
            # Still scheduled: incidents resolve and reminders fall due without new mentions.
            ("detect", self.detect_job, alerting.detect_every),
            ("deliver", self.deliver, alerting.deliver_every),
            ("retention", self.purge, timedelta(hours=6)),
        ]

    def beat(self) -> None:
        """The leader's heartbeat `monitor status` reads: it is alive and not stuck."""
        self.store.beat(
            os.getpid(), socket.gethostname(), self.started_at, __version__, self.clock()
        )

    def detect_job(self) -> list[Decision]:
        # Detection, digests and purge are the leader's: one pass at a time over the store.
        if not self.cluster.leader:
            return []
        self.beat()
        changes = self.detect()
        # Incidents whose silence ended while they stayed open get their held notice now.
        if self.outbox.release_held():
            self.deliver()
        return changes

    def detect(self, brands: Collection[str] | None = None) -> list[Decision]:
        with self._detecting:
            started = self.timer()
            try:
                return self.detector.run_once(brands)
            finally:
                self.metrics.detect_finished(self.timer() - started)

    def deliver(self) -> DeliveryReport:
        with self._delivering:
            return self.outbox.deliver_once()

    def alert_now(self, brand: str) -> None:
        """Right after a poll stored new negative mentions: detect for its brand, deliver.

        Alert latency is then the poll interval plus milliseconds, not plus the detect and
        deliver intervals. A standby leaves it to the leader's next detect.
        """
        if self.cluster.leader and any(change.kind for change in self.detect([brand])):
            self.deliver()

    def purge(self) -> dict[str, int]:
        """Drop what `retention` no longer keeps; delivered messages go after 30 days."""
        if not self.cluster.leader:
            return {}
        now = self.clock()
        counts = self.store.purge(
            now - timedelta(days=self.config.retention.mentions_days), now - timedelta(days=30)
        )
        log.info(kv("retention_purge", **counts))
        return counts

    def _poll(self, brand: str, channel: str) -> object:
        every = self.config.polls[brand, channel].every
        # Due again just before this job's next run can fire (its jitter only delays it).
        again = max(timedelta(0), every - timedelta(seconds=_jitter(every) + 1))
        with self.cluster.lease(brand, channel, again) as mine:
            if not mine:
                return None  # another daemon polls it now, or did less than an interval ago
            # Looked up at run time, so a reload's new poller serves the existing job.
            return self.poller.poll(brand, channel)

    def _first_poll(self, i: int, every: timedelta) -> timedelta:
        """One daemon alone polls every source at once, 0.2 s apart. Sharing a database, each
        daemon starts each job at a random point of its interval: the first daemon whose job
        fires after a source falls due polls it, so without random phases one daemon would
        win every source and the others only ever watch."""
        if self.store.dialect == "sqlite":
            return timedelta(seconds=i * 0.2)
        return timedelta(seconds=random.uniform(0, every.total_seconds()))

    def _run_due_digests(self) -> object:
        return self.digests.run_due() if self.cluster.leader else None

    def _resume(self) -> None:
        """A standby just became the leader: detect and send due digests now, from the store."""
        changes = self.detect_job()
        self._run_due_digests()
        log.info(kv("leader_resumed", incident_changes=len(changes)))

    def schedule(self, scheduler: BaseScheduler, *, reload: bool = False) -> None:
        """Add every job. With `reload`, jobs whose trigger is unchanged keep their next run
        time, jobs the config no longer has are removed, and no catch-up runs are added."""
        now = self.clock()
        wanted: set[str] = set()

        def add(job_id: str, trigger: Any, **kwargs: Any) -> None:
            wanted.add(job_id)
            existing = scheduler.get_job(job_id)
            if reload and existing is not None and _same(existing.trigger, trigger):
                return
            if existing is not None:
                # A changed interval counts from now; only a new job runs at once.
                kwargs.pop("next_run_time", None)
            scheduler.add_job(
                trigger=trigger,
                id=job_id,
                max_instances=1,
                coalesce=True,
                replace_existing=True,
                **kwargs,
            )

        for i, (brand, channel) in enumerate(self.poller.jobs()):
            every = self.config.polls[brand, channel].every
            add(
                f"poll:{brand}:{channel}",
                IntervalTrigger(seconds=every.total_seconds(), jitter=_jitter(every)),
                func=self.running.track(self._poll),
                args=(brand, channel),
                name=f"poll {brand} on {channel}",
                misfire_grace_time=int(every.total_seconds()),
                next_run_time=now + self._first_poll(i, every),
            )
        for team in self.digests.teams():
            day, at = digest_settings(self.config, team).schedule.split()
            hour, minute = at.split(":")
            add(
                f"digest:{team}",
                CronTrigger(
                    day_of_week=day,
                    hour=int(hour),
                    minute=int(minute),
                    timezone=self.config.teams[team].timezone,
                ),
                func=self.running.track(self._run_due_digests),
                name=f"weekly digest for {team}",
                misfire_grace_time=3600,
            )
        if not reload:
            # A daemon that was down when a digest fell due sends it once, now.
            scheduler.add_job(
                self.running.track(self._run_due_digests),
                id="digest:catch-up",
                next_run_time=now + timedelta(seconds=5),
                replace_existing=True,
            )
        for job_id, func, every in self.extra_jobs():
            add(
                job_id,
                IntervalTrigger(seconds=every.total_seconds()),
                func=self.running.track(func),
                name=job_id,
                misfire_grace_time=int(every.total_seconds()),
                next_run_time=now + timedelta(seconds=2),
            )
        if reload:
            for job in scheduler.get_jobs():
                if job.id not in wanted and job.id != "digest:catch-up":
                    job.remove()

    def reload(self, scheduler: BaseScheduler) -> bool:
        """Re-read the config (SIGHUP). A config that fails `check` is refused, its errors
        logged, and the running one kept. Returns whether the new config is in use."""
        path = self.config.path
        try:
            config = load_config(path)
        except ConfigError as exc:
            for error in exc.errors:
                log.error(kv("reload_config_error", path=path, error=error))
            log.error(kv("reload_refused", path=path, errors=len(exc.errors), kept="old config"))
            return False
        if config.database != self.config.database:
            log.error(
                kv(
                    "reload_refused",
                    path=path,
                    error="database changed; restart the daemon to switch databases",
                )
            )
            return False
        if config.metrics.listen != self.config.metrics.listen:
            log.warning(kv("reload_metrics_listen_unchanged", note="restart to move /metrics"))
        setup_logging(config.log_level, config.log_format)
        self._retired.append(self.poller)
        self._use(config)
        self.schedule(scheduler, reload=True)
        log.info(kv("reloaded", path=path, jobs=len(scheduler.get_jobs())))
        return True

    def health(self) -> tuple[bool, list[str]]:
        """For /healthz: the same rule as `monitor status`; this daemon holds the lock."""
        health = health_of(self.config, self.store, self.clock(), lock_held=True)
        return health.healthy, list(health.reasons)

    def run(self) -> bool:
        """Run until SIGTERM/SIGINT, then give running jobs `stop_grace` seconds to finish.
        SIGHUP reloads the config.

        Returns False if a job was still running then (say a poll stuck in a slow-drip read):
        its thread cannot be stopped, so the caller must end the process with os._exit. That
        loses nothing: each poll commits mentions and cursor in one transaction, so an
        unfinished poll simply repeats at the next start.
        """
        scheduler = BlockingScheduler(timezone="UTC")
        self.schedule(scheduler)

        def stop(signum: int, frame: FrameType | None) -> None:
            log.info(kv("stopping", signal=signal.Signals(signum).name))
            if scheduler.state != STATE_STOPPED:
                # Not wait=True: that waits for running jobs, and a stuck one holds it forever.
                scheduler.shutdown(wait=False)

        def hangup(signum: int, frame: FrameType | None) -> None:
            # In a thread: the handler interrupts the main thread, which may hold the
            # scheduler's lock mid-update; the thread waits for it like any other caller.
            threading.Thread(target=self.reload, args=(scheduler,), name="reload").start()

        def elected() -> None:
            # On the scheduler, like any job: the tick thread only notices the election.
            # However late a busy pool of workers gets to it (the default grace is 1 s).
            scheduler.add_job(
                self.running.track(self._resume),
                id="resume",
                replace_existing=True,
                misfire_grace_time=None,
            )

        server: MetricsServer | None = None
        # SQLite: one daemon per file (the lock file). PostgreSQL: no file to lock; any number
        # of daemons share the work through leases and the leader lock.
        with DaemonLock(self.config.database):
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            signal.signal(signal.SIGHUP, hangup)
            self.started_at = self.clock()
            self.cluster.tick()
            if self.cluster.leader:
                self.beat()
            halt_ticks = self.cluster.start_ticking(elected)
            if self.config.metrics.listen:
                server = serve(self.config.metrics.listen, self.metrics, self.health)
            log.info(
                kv("daemon_start", jobs=len(scheduler.get_jobs()), database=self.config.database)
            )
            try:
                scheduler.start()
            finally:
                if server is not None:
                    server.stop()
                busy = self.running.wait_idle(self.stop_grace)
                halt_ticks()
                # Stuck jobs end with the process right after: their leases go back too.
                self.cluster.leave()
                if busy:
                    log.warning(
                        kv(
                            "stop_grace_expired",
                            jobs_running=busy,
                            grace=f"{self.stop_grace:.0f}s",
                            note="exiting without them; an unfinished poll repeats at next start",
                        )
                    )
                else:
                    for poller in [*self._retired, self.poller]:
                        poller.close()
                log.info(kv("daemon_stopped"))
        return busy == 0
