"""When each team's weekly digest falls due, and queueing it once per week.

The schedule ('mon 09:00') is read in the team's IANA timezone. The scheduler builds the digest
and hands it to an `Enqueue` (the outbox's `enqueue`), recording the week in the same
transaction, so a digest is queued exactly once even across restarts and missed runs.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from monitor.config import Config
from monitor.digest.build import (
    build_digest,
    digest_settings,
    previous_week,
    team_scope,
    uncovered_sources,
)
from monitor.logs import kv
from monitor.models import Clock, Digest, utcnow
from monitor.store import Store

log = logging.getLogger(__name__)

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Enqueue(Protocol):
    """Queue a payload for every receiver of a team (`Outbox.enqueue`), in the caller's
    transaction."""

    def __call__(self, team: str, kind: str, payload: Digest, key: str) -> None: ...


def last_scheduled(schedule: str, tz: ZoneInfo, now: datetime) -> datetime:
    """The latest moment <= now at which `schedule` ('mon 09:00') fell in `tz`."""
    day, clock_time = schedule.split()
    hour, minute = (int(x) for x in clock_time.split(":"))
    local = now.astimezone(tz)
    for back in range(8):
        candidate_day = local.date() - timedelta(days=back)
        if candidate_day.weekday() != _DAYS.index(day):
            continue
        candidate = datetime.combine(candidate_day, time(hour, minute), tz)
        if candidate <= now:
            return candidate
    raise AssertionError("a weekly schedule always falls within 8 days")  # pragma: no cover


class DigestScheduler:
    """Queues each team's digest once per week, catching up after a missed run."""

    def __init__(
        self, config: Config, store: Store, enqueue: Enqueue, *, clock: Clock = utcnow
    ) -> None:
        self.config = config
        self.store = store
        self.enqueue = enqueue
        self.clock = clock

    def teams(self) -> list[str]:
        return [
            name
            for name in self.config.teams
            if digest_settings(self.config, name).enabled and team_scope(self.config, name).brands
        ]

    def due_week(self, team: str, now: datetime) -> str:
        """The week the team's latest scheduled digest covers: the one before the run."""
        tz = ZoneInfo(self.config.teams[team].timezone)
        return previous_week(
            last_scheduled(digest_settings(self.config, team).schedule, tz, now), tz
        )

    def run_due(self) -> list[tuple[str, str]]:
        """Queue every team's latest due digest not yet queued; [(team, week)] queued now."""
        now = self.clock()
        queued = []
        for team in self.teams():
            week = self.due_week(team, now)
            if self.store.digest_recorded(team, week):
                continue
            missing = uncovered_sources(self.config, self.store, team, week)
            if missing:
                # A first start must not send last week's digest over a half-backfilled week
                # ("+202%"): the first digest is the first week the history fully covers.
                log.info(
                    kv(
                        "digest_skipped_partial_week",
                        team=team,
                        week=week,
                        sources_started_later=len(missing),
                    )
                )
                continue
            digest = build_digest(self.config, self.store, team, week, now=now)
            with self.store.transaction():
                if not self.store.record_digest(team, week, now):
                    continue
                self.enqueue(team, "digest", digest, f"digest-{team}-{week}")
            log.info(kv("digest_queued", team=team, week=week, mentions=digest.week_total.mentions))
            queued.append((team, week))
        return queued
