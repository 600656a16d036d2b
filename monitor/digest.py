"""The weekly sentiment digest per team: what it covers, its numbers, and when it is due.

Weeks are ISO weeks (Monday to Monday) in the team's IANA timezone, so a mention at 23:30 on
Sunday local time belongs to the week it was written in, whatever the UTC offset or DST.
Every figure is computed in SQL over index ranges (see store.DigestQueries).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from monitor.config import Config, DigestSettings
from monitor.models import (
    Clock,
    Digest,
    DigestAuthor,
    DigestChannel,
    DigestDay,
    DigestIncident,
    DigestMention,
    DigestTopic,
    Sentiment,
    StoredMention,
    utcnow,
)
from monitor.store import DigestScope, Store

log = logging.getLogger(__name__)

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EMPTY = Sentiment(0, 0, 0, 0, None)


def team_scope(config: Config, team: str) -> DigestScope:
    """The brands, channels and topics the team's routes cover (any filter widens to all)."""
    routes = [r for r in config.routes if r.team == team]
    all_brands = tuple(b.name for b in config.brands)

    def union(field: str, everything: tuple[str, ...]) -> tuple[str, ...]:
        values: list[str] = []
        for route in routes:
            want = getattr(route.match, field) if route.match else None
            if want is None:
                return everything
            values += [want] if isinstance(want, str) else list(want)
        return tuple(dict.fromkeys(values))

    return DigestScope(
        brands=union("brand", all_brands) if routes else (),
        channels=union("channel", ()),
        topics=union("topic", ()),
    )


def parse_week(text: str) -> tuple[int, int]:
    m = _WEEK.match(text)
    if not m:
        raise ValueError(f"week {text!r} must look like 2026-W47")
    year, week = int(m.group(1)), int(m.group(2))
    date.fromisocalendar(year, week, 1)  # raises ValueError for a week the year lacks
    return year, week


def week_bounds(week: str, tz: ZoneInfo) -> list[datetime]:
    """The 8 local midnights from that week's Monday to the next Monday, aware in `tz`."""
    year, number = parse_week(week)
    monday = date.fromisocalendar(year, number, 1)
    return [datetime.combine(monday + timedelta(days=i), time(0), tz) for i in range(8)]


def week_of(when: datetime, tz: ZoneInfo) -> str:
    year, number, _ = when.astimezone(tz).isocalendar()
    return f"{year}-W{number:02d}"


def previous_week(when: datetime, tz: ZoneInfo) -> str:
    return week_of(when.astimezone(tz) - timedelta(days=7), tz)


def digest_settings(config: Config, team: str) -> DigestSettings:
    return config.teams[team].digest or config.digest


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


def _mention(m: StoredMention) -> DigestMention:
    return DigestMention(
        m.brand, m.author, m.channel, m.text, m.url, m.created_at, m.compound, m.author_reach
    )


def build_digest(config: Config, store: Store, team: str, week: str, *, now: datetime) -> Digest:
    tz = ZoneInfo(config.teams[team].timezone)
    scope = team_scope(config, team)
    bounds = week_bounds(week, tz)
    start, end = bounds[0], bounds[-1]
    before = start - timedelta(days=7)
    before = datetime.combine(before.date(), time(0), tz)  # DST-safe previous Monday midnight
    channels_now = store.digest_by_channel(scope, start, end)
    channels_before = store.digest_by_channel(scope, before, start)
    topics_now = store.digest_by_topic(scope, start, end)
    topics_before = store.digest_by_topic(scope, before, start)
    return Digest(
        team=team,
        timezone=str(tz),
        week=week,
        start=start,
        end=end,
        brands=scope.brands,
        channels=scope.channels,
        topics=scope.topics,
        week_total=store.digest_sentiment(scope, start, end),
        previous_total=store.digest_sentiment(scope, before, start),
        days=tuple(
            DigestDay(b.date(), s)
            for b, s in zip(bounds, store.digest_days(scope, bounds), strict=False)
        ),
        by_channel=tuple(
            DigestChannel(c, channels_now.get(c, EMPTY), channels_before.get(c, EMPTY))
            for c in sorted(channels_now, key=lambda c: (-channels_now[c].mentions, c))
        ),
        by_topic=tuple(
            DigestTopic(t, topics_now[t], topics_before.get(t, EMPTY))
            for t in sorted(topics_now, key=lambda t: (-topics_now[t].mentions, t))
        ),
        most_negative=tuple(
            _mention(m) for m in store.digest_extremes(scope, start, end, negative=True)
        ),
        most_positive=tuple(
            _mention(m) for m in store.digest_extremes(scope, start, end, negative=False)
        ),
        incidents=tuple(
            DigestIncident(
                i.id,
                i.brand
                if i.scope_kind == "brand"
                else f"{i.brand} / {i.scope_kind} {i.scope_value}",
                i.severity,
                i.opened_at,
                i.resolved_at if i.resolved_at and i.resolved_at < end else None,
                i.peak_ratio,
                i.peak_count,
            )
            for i in store.incidents_between(scope.brands, start, end)
        ),
        authors=tuple(DigestAuthor(*row) for row in store.digest_authors(scope, start, end)),
        generated_at=now,
    )


def digest_to_json(digest: Digest) -> str:
    def encode(value: Any) -> Any:
        if isinstance(value, datetime | date):
            return value.isoformat()
        raise TypeError(type(value))

    return json.dumps(asdict(digest), default=encode, ensure_ascii=False)


def digest_from_json(text: str) -> Digest:
    d = json.loads(text)
    when = datetime.fromisoformat

    def sentiment(s: dict[str, Any]) -> Sentiment:
        return Sentiment(**s)

    def mention(m: dict[str, Any]) -> DigestMention:
        return DigestMention(**{**m, "created_at": when(m["created_at"])})

    return Digest(
        team=d["team"],
        timezone=d["timezone"],
        week=d["week"],
        start=when(d["start"]),
        end=when(d["end"]),
        brands=tuple(d["brands"]),
        channels=tuple(d["channels"]),
        topics=tuple(d["topics"]),
        week_total=sentiment(d["week_total"]),
        previous_total=sentiment(d["previous_total"]),
        days=tuple(
            DigestDay(date.fromisoformat(x["day"]), sentiment(x["sentiment"])) for x in d["days"]
        ),
        by_channel=tuple(
            DigestChannel(x["channel"], sentiment(x["week"]), sentiment(x["previous"]))
            for x in d["by_channel"]
        ),
        by_topic=tuple(
            DigestTopic(x["topic"], sentiment(x["week"]), sentiment(x["previous"]))
            for x in d["by_topic"]
        ),
        most_negative=tuple(mention(m) for m in d["most_negative"]),
        most_positive=tuple(mention(m) for m in d["most_positive"]),
        incidents=tuple(
            DigestIncident(
                **{
                    **i,
                    "opened_at": when(i["opened_at"]),
                    "resolved_at": when(i["resolved_at"]) if i["resolved_at"] else None,
                }
            )
            for i in d["incidents"]
        ),
        authors=tuple(DigestAuthor(**a) for a in d["authors"]),
        generated_at=when(d["generated_at"]),
    )


class DigestScheduler:
    """Queues each team's digest once per week, catching up after a missed run."""

    def __init__(self, config: Config, store: Store, *, clock: Clock = utcnow) -> None:
        self.config = config
        self.store = store
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
        from monitor.outbox import receiver_kinds

        now = self.clock()
        queued = []
        for team in self.teams():
            week = self.due_week(team, now)
            if self.store.digest_recorded(team, week):
                continue
            digest = build_digest(self.config, self.store, team, week, now=now)
            payload = digest_to_json(digest)
            with self.store.transaction():
                if not self.store.record_digest(team, week, now):
                    continue
                for receiver in receiver_kinds(self.config, team):
                    key = f"digest-{team}-{week}:{receiver}"
                    self.store.enqueue(key, None, team, receiver, "digest", payload, now)
            log.info(
                "digest_queued team=%s week=%s mentions=%d", team, week, digest.week_total.mentions
            )
            queued.append((team, week))
        return queued


def default_week(config: Config, team: str, now: datetime) -> str:
    """The last complete week in the team's timezone."""
    return previous_week(now, ZoneInfo(config.teams[team].timezone))


def preview_digest(
    config: Config, store: Store, team: str, week: str, directory: Path, *, now: datetime
) -> list[Path]:
    """Write digest.html, digest.txt, chart.png and slack.json for the team's week; send nothing."""
    from monitor.digest_render import write_preview

    return write_preview(build_digest(config, store, team, week, now=now), directory)


def send_digest_now(
    config: Config, store: Store, team: str, week: str, *, clock: Clock = utcnow
) -> list[tuple[str, str | None]]:
    """Queue the team's digest for every receiver and deliver it at once: [(receiver, error)]."""
    from monitor.outbox import outbox_for, receiver_kinds

    now = clock()
    payload = digest_to_json(build_digest(config, store, team, week, now=now))
    keys = {}
    with store.transaction():
        for receiver in receiver_kinds(config, team):
            # A manual send has its own key: it neither blocks nor repeats the scheduled one.
            keys[receiver] = f"digest-{team}-{week}-manual-{int(now.timestamp())}:{receiver}"
            store.enqueue(keys[receiver], None, team, receiver, "digest", payload, now)
    outbox_for(config, store, clock=clock).deliver_once()
    sent = {m.key: m for m in store.messages(limit=500) if m.key in keys.values()}
    return [
        (
            receiver,
            None if sent[key].status == "sent" else (sent[key].last_error or sent[key].status),
        )
        for receiver, key in keys.items()
    ]
