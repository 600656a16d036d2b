"""The weekly sentiment digest per team: what it covers and its numbers.

Weeks are ISO weeks (Monday to Monday) in the team's IANA timezone, so a mention at 23:30 on
Sunday local time belongs to the week it was written in, whatever the UTC offset or DST.
Every figure is computed in SQL over index ranges (see store.DigestQueries).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.alerting.drivers import collapse_duplicates
from monitor.config import Config, DigestSettings
from monitor.models import (
    Digest,
    DigestAuthor,
    DigestChannel,
    DigestDay,
    DigestIncident,
    DigestMention,
    DigestTopic,
    Sentiment,
    StoredMention,
)
from monitor.store import DigestScope, Store

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
EMPTY = Sentiment(0, 0, 0, 0, None)
STANDOUTS = 5
# Ranked standouts read to find five distinct texts when some are reposts of one another.
STANDOUT_POOL = 40


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


def a_week_before(moment: datetime, tz: ZoneInfo) -> datetime:
    """The same wall-clock time in `tz` seven days earlier (across a DST change too)."""
    # Arithmetic on an aware datetime keeps its wall clock and recomputes the UTC offset.
    return moment.astimezone(tz) - timedelta(days=7)


def digest_settings(config: Config, team: str) -> DigestSettings:
    return config.teams[team].digest or config.digest


def _mention(m: StoredMention) -> DigestMention:
    return DigestMention(
        m.brand, m.author, m.channel, m.text, m.url, m.created_at, m.compound, m.author_reach
    )


def uncovered_sources(config: Config, store: Store, team: str, week: str) -> list[str]:
    """The team's sources whose first poll came after the week began (or never happened):
    the daemon's history does not cover the week for them, so its figures would be partial."""
    scope = team_scope(config, team)
    start = week_bounds(week, ZoneInfo(config.teams[team].timezone))[0]
    first = {(s.brand, s.channel): s.first_poll_at for s in store.poll_states()}
    return [
        f"{brand} on {channel}"
        for brand in scope.brands
        for channel in config.brand(brand).channels
        if not scope.channels or channel in scope.channels
        if (at := first.get((brand, channel))) is None or at >= start
    ]


def coverage_note(config: Config, store: Store, team: str, week: str) -> str | None:
    missing = uncovered_sources(config, store, team, week)
    if not missing:
        return None
    return (
        f"Partial week: monitoring of {', '.join(missing)} started after {week} began, "
        "so its figures and the change against the week before are incomplete."
    )


def build_digest(config: Config, store: Store, team: str, week: str, *, now: datetime) -> Digest:
    tz = ZoneInfo(config.teams[team].timezone)
    scope = team_scope(config, team)
    bounds = week_bounds(week, tz)
    start, end = bounds[0], bounds[-1]
    before = a_week_before(start, tz)
    # A week not yet over is compared with the same part of the week before, like with like.
    before_end = a_week_before(now, tz) if now < end else start
    channels_now = store.digest_by_channel(scope, start, end)
    channels_before = store.digest_by_channel(scope, before, before_end)
    topics_now = store.digest_by_topic(scope, start, end)
    topics_before = store.digest_by_topic(scope, before, before_end)
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
        previous_total=store.digest_sentiment(scope, before, before_end),
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
        most_negative=_standouts(store, scope, start, end, negative=True),
        most_positive=_standouts(store, scope, start, end, negative=False),
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
                i.drivers,
            )
            for i in store.incidents_between(scope.brands, start, end)
        ),
        authors=tuple(DigestAuthor(*row) for row in store.digest_authors(scope, start, end)),
        generated_at=now,
        coverage_note=coverage_note(config, store, team, week),
    )


def default_week(config: Config, team: str, now: datetime) -> str:
    """The last complete week in the team's timezone."""
    return previous_week(now, ZoneInfo(config.teams[team].timezone))


def _standouts(
    store: Store, scope: DigestScope, start: datetime, end: datetime, *, negative: bool
) -> tuple[DigestMention, ...]:
    """The week's five standout mentions, a text reposted or copied by many standing once."""
    ranked = store.digest_standouts(scope, start, end, negative=negative, limit=STANDOUT_POOL)
    distinct = collapse_duplicates(ranked, text=lambda m: m.text)
    return tuple(_mention(m) for m, _ in distinct[:STANDOUTS])
