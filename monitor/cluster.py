"""Several daemons on one database: each source polled by one daemon at a time, one leader.

Every daemon schedules every poll job; a job first leases its (brand, channel) from the store
and skips quietly when another daemon holds it or polled it less than an interval ago, so N
daemons together poll each source about once per interval. A lease lives `lease_ttl` and is
renewed at every tick while its poll runs: a killed daemon's sources are free a few seconds
later and the next job that fires on another daemon takes them over.

One daemon leads (the store's leader lock; with SQLite the lock file already admits only one
daemon, so it always leads): it alone detects spikes, schedules digests and purges. A standby
tries for the lock at every tick; when it becomes leader it resumes from the store, where
incidents and the outbox record what was already decided and queued.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from monitor.logs import kv
from monitor.models import Clock, utcnow
from monitor.store import LeaderLock, Store

log = logging.getLogger(__name__)

Role = Literal["leader", "standby"]

MAX_TICK = timedelta(seconds=5)
MIN_TICK = timedelta(seconds=0.5)
# A killed daemon's row shows in `monitor status` as gone for a day, then goes.
FORGET_AFTER = timedelta(days=1)
# How long a stopping daemon tries to give back its leases and claims to an unreachable database.
LEAVE_WITHIN = timedelta(seconds=5)


def tick_every(detect_every: timedelta) -> timedelta:
    """How often a daemon beats, renews its leases and checks the leader lock: often enough
    that a standby takes over well inside one detect interval."""
    return max(MIN_TICK, min(MAX_TICK, detect_every / 4))


@dataclass(frozen=True, slots=True)
class Member:
    """This daemon among the others: host:pid:random, unique even across pid reuse."""

    id: str
    host: str
    pid: int
    started_at: datetime

    @classmethod
    def this_process(cls, now: datetime) -> Member:
        host, pid = socket.gethostname(), os.getpid()
        return cls(f"{host}:{pid}:{secrets.token_hex(3)}", host, pid, now)


class Cluster:
    """This daemon's part: its leases, its role, its beat in the `daemons` table."""

    def __init__(
        self,
        store: Store,
        member: Member,
        leader_lock: LeaderLock,
        *,
        version: str,
        tick: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.member = member
        self.leader_lock = leader_lock
        self.version = version
        self.tick_every = tick
        # Three ticks: one missed renewal (a slow commit) does not lose a lease.
        self.lease_ttl = 3 * tick
        self.clock = clock
        # Renews the claims on outbox messages being delivered, with the leases (set by the
        # daemon: the outbox knows which claims it still needs and what a failure means).
        self.renew_claims: Callable[[], object] = lambda: None
        self.leases = Leases(store, member.id, self.lease_ttl, clock)
        self.role: Role = "leader" if self._try_lead() else "standby"
        log.info(kv("daemon_role", daemon=member.id, role=self.role))

    @property
    def leader(self) -> bool:
        return self.role == "leader"

    def _try_lead(self) -> bool:
        try:
            return self.leader_lock.try_lead()
        except Exception as exc:  # the backends raise their own errors; any of them means "not now"
            log.warning(kv("leader_check_failed", error=f"{type(exc).__name__}: {exc}"))
            return False

    def tick(self) -> bool:
        """Check the leader lock, beat, renew the leases of polls in flight and the outbox's
        claims. True when this daemon has just become the leader."""
        leads = self._try_lead()
        became = leads and not self.leader
        if self.leader and not leads:
            log.warning(kv("leader_lost", daemon=self.member.id, note="standing by"))
        if became:
            log.info(kv("leader_elected", daemon=self.member.id))
        self.role = "leader" if leads else "standby"
        now = self.clock()
        try:
            self.store.daemon_beat(
                self.member.id,
                self.member.host,
                self.member.pid,
                self.role,
                self.version,
                self.member.started_at,
                now,
            )
            self.leases.renew()
            if self.leader:
                self.store.forget_daemons(now - FORGET_AFTER)
        except Exception as exc:
            log.warning(kv("cluster_beat_failed", error=f"{type(exc).__name__}: {exc}"))
        self.renew_claims()
        return became

    def start_ticking(self, on_elected: Callable[[], object]) -> Callable[[], None]:
        """Tick on a thread of its own (not a scheduler worker, which a crowd of slow polls
        may all occupy while their leases need renewing). Returns the function that stops it."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.tick_every.total_seconds()):
                if self.tick():
                    on_elected()

        thread = threading.Thread(target=loop, name="cluster-tick", daemon=True)
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join(timeout=self.tick_every.total_seconds() + 5)

        return halt

    def lease(
        self, brand: str, channel: str, again_after: timedelta
    ) -> AbstractContextManager[bool]:
        """Hold the source's lease for the block, if it is free and due: yields whether this
        daemon may poll it. The source falls due again `again_after` from now."""
        return self.leases.lease(brand, channel, again_after)

    def leave(self, within: timedelta = LEAVE_WITHIN) -> None:
        """At a clean stop: give back the leader lock, leases and claims at once; with the
        database out of reach, give up after `within` and let them expire by themselves
        rather than hold up the stop."""
        self.leader_lock.close()
        self.role = "standby"
        done = threading.Event()

        def give_back() -> None:
            try:
                self.store.leave(self.member.id)
            except Exception as exc:
                log.warning(kv("cluster_leave_failed", error=f"{type(exc).__name__}: {exc}"))
            finally:
                done.set()

        threading.Thread(target=give_back, name="cluster-leave", daemon=True).start()
        if not done.wait(within.total_seconds()):
            log.warning(
                kv("cluster_leave_abandoned", note="leases and claims expire by themselves")
            )


class Leases:
    """One holder's poll leases: taken around each poll, renewed while it runs, given back."""

    def __init__(self, store: Store, holder: str, ttl: timedelta, clock: Clock = utcnow) -> None:
        self.store = store
        self.holder = holder
        self.ttl = ttl
        self.clock = clock
        self._polling: set[tuple[str, str]] = set()
        self._guard = threading.Lock()

    @contextmanager
    def lease(self, brand: str, channel: str, again_after: timedelta | None) -> Iterator[bool]:
        """Hold the source's lease for the block, if it is free and due: yields whether this
        holder may poll it. The source falls due again `again_after` from now; with None (a
        poll run by hand) it need not be due, and its due time stays as it was."""
        now = self.clock()
        again = None if again_after is None else now + again_after
        try:
            mine = self.store.take_lease(brand, channel, self.holder, now, now + self.ttl, again)
        except Exception as exc:  # database unreachable: poll nothing until it is back
            log.warning(
                kv("lease_failed", brand=brand, channel=channel, error=f"{type(exc).__name__}")
            )
            mine = False
        if not mine:
            yield False
            return
        with self._guard:
            self._polling.add((brand, channel))
        try:
            yield True
        finally:
            with self._guard:
                self._polling.discard((brand, channel))
            try:
                self.store.release_lease(brand, channel, self.holder)
            except Exception as exc:  # it expires by itself a few seconds later
                log.warning(kv("lease_release_failed", brand=brand, error=f"{type(exc).__name__}"))

    def renew(self) -> None:
        """Extend the leases of the polls in flight; raises if the store is unreachable."""
        with self._guard:
            polling = set(self._polling)
        if polling:
            self.store.renew_leases(self.holder, polling, self.clock() + self.ttl)

    @contextmanager
    def renewed(self, every: timedelta) -> Iterator[None]:
        """Renew on a thread of its own every `every` for the block (a poll run by hand has
        no cluster tick to do it)."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every.total_seconds()):
                try:
                    self.renew()
                except Exception as exc:  # the poll's own store calls will say more
                    log.warning(kv("lease_renewal_failed", error=type(exc).__name__))

        thread = threading.Thread(target=loop, name="lease-renewal", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=every.total_seconds() + 5)
