"""The weekly digest as people read it, worded once for every receiver.

`digest_view(d)` words a `Digest` as plain strings (a `DigestView`); the email templates, the
Slack blocks and the console only lay those strings out. What strangers wrote (authors, mention
text, links) is cleaned by `monitor.alert_view` (no control characters, one line, cut to size,
links only for http(s)) and then escaped by each receiver for its medium: HTML by jinja2
autoescape, Slack mrkdwn by `monitor.notify.slack`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from zoneinfo import ZoneInfo

from monitor.alert_view import (
    AUTHOR_LIMIT,
    CHANNEL_LIMIT,
    clean,
    evidence,
    format_duration,
    format_ratio,
)
from monitor.digest.build import a_week_before, parse_week
from monitor.digest.figures import (
    NAME_LIMIT,
    Change,
    brands_label,
    compound,
    compound_change,
    count,
    day_name,
    local_time,
    percent,
    reach,
    share_change,
    span,
    volume_change,
    week_label,
)
from monitor.models import (
    AlertMention,
    Digest,
    DigestDay,
    DigestIncident,
    DigestMention,
    Label,
    Sentiment,
)

LEGEND = (
    "Mood score: from -1 (most negative) to +1 (most positive), the average of each mention's "
    "VADER score. Points: the change in a share, in percentage points (40% after 50% is -10)."
)

TOP_TOPICS = 10
TOP_AUTHORS = 10
TOP_INCIDENTS = 20

# One palette for the chart, the HTML and the tones of week-over-week changes.
RED = "#c8423b"
GREY = "#b4b9c0"
GREEN = "#2f9e5d"
INK = "#1d2b3a"
TONES = {"good": "#1e7d45", "bad": "#b42318", "flat": "#5f6b77"}


@dataclass(frozen=True, slots=True)
class Kpi:
    label: str  # "Negative"
    value: str  # "40%"
    detail: str  # "312 mentions"
    previous: str  # last week's value as shown, "–" if there was none
    change: Change


@dataclass(frozen=True, slots=True)
class DayRow:
    day: str  # "Mon 16 Nov"
    mentions: str
    negative: str
    neutral: str
    positive: str
    negative_share: str
    mean: str
    future: bool = False  # a day of a week still in progress that has not come yet


@dataclass(frozen=True, slots=True)
class ChannelRow:
    channel: str
    mentions: str
    mentions_change: Change
    negative_share: str
    negative_change: Change
    mean: str
    mean_change: Change


@dataclass(frozen=True, slots=True)
class TopicRow:
    topic: str
    mentions: str
    negative_share: str
    previous_share: str
    negative_change: Change


@dataclass(frozen=True, slots=True)
class MentionCard:
    """One of the week's most negative or positive mentions, cleaned (not yet escaped)."""

    author: str
    channel: str
    brand: str
    text: str
    url: str | None  # None unless a plain http(s) link
    host: str | None
    score: str
    when: str
    reach: str | None


@dataclass(frozen=True, slots=True)
class IncidentRow:
    scope: str
    severity: str
    opened: str
    peak: str
    duration: str
    status: str  # "resolved 17 Nov 16:15 GMT" / "still open"
    open: bool
    drivers: str = ""  # "outage, login broken": what the spike was about


@dataclass(frozen=True, slots=True)
class AuthorRow:
    author: str
    channel: str
    mentions: str
    mean: str


@dataclass(frozen=True, slots=True)
class DigestView:
    """Everything the digest shows, as plain strings (escaped later, for each target)."""

    title: str  # "Weekly sentiment digest: Acme"
    subject: str  # "Weekly sentiment digest: Acme, week 47 (2026)"
    week_label: str  # "Week 47, 16–22 Nov 2026 (Europe/London)"
    team: str
    empty: bool
    # Set when the week is not over (what the figures cover) or only partly monitored.
    notice: str | None
    headline: str
    kpis: tuple[Kpi, ...]
    days: tuple[DayRow, ...]
    channels: tuple[ChannelRow, ...]
    topics: tuple[TopicRow, ...]
    topics_more: int
    negative: tuple[MentionCard, ...]
    positive: tuple[MentionCard, ...]
    incidents: tuple[IncidentRow, ...]
    incidents_more: int
    authors: tuple[AuthorRow, ...]
    scope: str  # "Acme · every channel · every topic"
    footer: str
    legend: str  # what "mood score" and "points" mean, in one line
    chart_alt: str


# -- the view -----------------------------------------------------------------------------------


def digest_view(d: Digest) -> DigestView:
    """Word the digest once, for every target. Times are shown in the team's zone."""
    tz = ZoneInfo(d.timezone)
    year, number = parse_week(d.week)
    monday = date.fromisocalendar(year, number, 1)
    brands = brands_label(d.brands, d.team)
    week, before = d.week_total, d.previous_total
    in_progress = d.generated_at < d.end
    title = f"Weekly sentiment digest{' (week so far)' if in_progress else ''}: {brands}"
    topics = [
        TopicRow(
            topic=clean(t.topic, NAME_LIMIT),
            mentions=count(t.week.mentions),
            negative_share=percent(t.week.negative, t.week.mentions),
            previous_share=percent(t.previous.negative, t.previous.mentions),
            negative_change=share_change("negative", t.week, t.previous),
        )
        for t in d.by_topic
    ]
    incidents = [_incident(i, d, tz) for i in d.incidents]
    today = d.generated_at.astimezone(tz).date()
    several = len(d.brands) != 1  # name each mention's brand only when it could be another
    return DigestView(
        title=title,
        subject=f"{title}, week {number} ({year})",
        week_label=week_label(d),
        team=clean(d.team, NAME_LIMIT),
        empty=d.empty,
        headline=_headline(week, before),
        notice=" ".join(
            note
            for note in (
                f"The week is not over: these figures run to {local_time(d.generated_at, tz)}, "
                "and the changes compare them with the same part of the week before (to "
                f"{local_time(a_week_before(d.generated_at, tz), tz)})."
                if in_progress
                else None,
                d.coverage_note,
            )
            if note
        )
        or None,
        kpis=_kpis(week, before),
        days=tuple(_day_row(day, today) for day in d.days),
        channels=tuple(
            ChannelRow(
                channel=clean(c.channel, CHANNEL_LIMIT),
                mentions=count(c.week.mentions),
                mentions_change=volume_change(c.week.mentions, c.previous.mentions),
                negative_share=percent(c.week.negative, c.week.mentions),
                negative_change=share_change("negative", c.week, c.previous),
                mean=compound(c.week.mean_compound),
                mean_change=compound_change(c.week.mean_compound, c.previous.mean_compound),
            )
            for c in d.by_channel
        ),
        topics=tuple(topics[:TOP_TOPICS]),
        topics_more=max(0, len(topics) - TOP_TOPICS),
        negative=tuple(_card(m, tz, several) for m in d.most_negative),
        positive=tuple(_card(m, tz, several) for m in d.most_positive),
        incidents=tuple(incidents[:TOP_INCIDENTS]),
        incidents_more=max(0, len(incidents) - TOP_INCIDENTS),
        authors=tuple(
            AuthorRow(
                author=clean(a.author, AUTHOR_LIMIT) or "(unknown author)",
                channel=clean(a.channel, CHANNEL_LIMIT),
                mentions=count(a.mentions),
                mean=compound(a.mean_compound),
            )
            for a in d.authors[:TOP_AUTHORS]
        ),
        scope=" · ".join(
            [
                brands if d.brands else "no brands",
                _listing("channel", d.channels),
                _listing("topic", d.topics),
            ]
        ),
        footer=(
            f"Generated {local_time(d.generated_at, tz)} by monitor for team "
            f"{clean(d.team, NAME_LIMIT)}. Changes compare with the week before "
            f"({span(monday - timedelta(days=7), monday - timedelta(days=1))})."
        ),
        legend=LEGEND,
        chart_alt=(
            "Chart: mentions per day, split into negative, neutral and positive, with the "
            "mood score as a line (the same figures are in the table below)."
        ),
    )


def _day_row(day: DigestDay, today: date) -> DayRow:
    if day.day > today:
        return DayRow(day_name(day.day), "not yet", "", "", "", "", "", future=True)
    s = day.sentiment
    return DayRow(
        day=day_name(day.day),
        mentions=count(s.mentions),
        negative=count(s.negative),
        neutral=count(s.neutral),
        positive=count(s.positive),
        negative_share=percent(s.negative, s.mentions),
        mean=compound(s.mean_compound),
    )


def _listing(kind: str, names: Sequence[str]) -> str:
    if not names:
        return f"every {kind}"
    shown = ", ".join(clean(n, NAME_LIMIT) for n in names[:6])
    more = f" and {len(names) - 6} more" if len(names) > 6 else ""
    return f"{kind}{'s' if len(names) > 1 else ''} {shown}{more}"


def _headline(week: Sentiment, before: Sentiment) -> str:
    if not week.mentions:
        if not before.mentions:
            return "No mentions this week."
        # A fall to nothing is more often a stopped poller than a quiet week.
        return (
            f"No mentions this week (the week before: {count(before.mentions)}). If that is "
            "unexpected, `monitor status` shows whether every channel was polled."
        )
    n = f"{count(week.mentions)} mention{'s' if week.mentions != 1 else ''}"
    if not before.mentions:
        trend = "none the week before"
    else:
        change = volume_change(week.mentions, before.mentions).text
        if change == "0%":
            trend = "as many as the week before"
        else:
            word = "up" if change.startswith("+") else "down"
            trend = f"{word} {change.lstrip('+-')} on the week before ({count(before.mentions)})"
    neg = share_change("negative", week, before).text
    pos = share_change("positive", week, before).text
    was = f" (was {compound(before.mean_compound)})" if before.mentions else ""
    shares = (
        f"{percent(week.negative, week.mentions)} negative"
        + (f" ({neg})" if before.mentions else "")
        + f", {percent(week.positive, week.mentions)} positive"
        + (f" ({pos})" if before.mentions else "")
    )
    return f"{n}, {trend}. {shares}; mood score {compound(week.mean_compound)}{was}."


def _kpis(week: Sentiment, before: Sentiment) -> tuple[Kpi, ...]:
    kpis = [
        Kpi(
            "Mentions",
            count(week.mentions),
            "this week",
            count(before.mentions),
            volume_change(week.mentions, before.mentions),
        )
    ]
    labels: tuple[Label, ...] = ("negative", "neutral", "positive")
    for label in labels:
        n = getattr(week, label)
        kpis.append(
            Kpi(
                label.capitalize(),
                percent(n, week.mentions),
                f"{count(n)} mention{'s' if n != 1 else ''}",
                percent(getattr(before, label), before.mentions),
                share_change(label, week, before),
            )
        )
    kpis.append(
        Kpi(
            "Mood score",
            compound(week.mean_compound),
            "from -1 to +1",
            compound(before.mean_compound),
            compound_change(week.mean_compound, before.mean_compound),
        )
    )
    return tuple(kpis)


def _card(m: DigestMention, tz: tzinfo, with_brand: bool) -> MentionCard:
    e = evidence(AlertMention(m.author, m.channel, m.text, m.url, m.compound, m.created_at))
    return MentionCard(
        author=e.author,
        channel=e.channel,
        brand=clean(m.brand, NAME_LIMIT) if with_brand else "",
        text=e.text,
        url=e.url,
        host=e.host,
        score=e.score,
        when=local_time(m.created_at, tz),
        reach=reach(m.author_reach),
    )


def _incident(i: DigestIncident, d: Digest, tz: tzinfo) -> IncidentRow:
    if i.resolved_at is not None:
        duration = format_duration(i.resolved_at - i.opened_at)
        status = f"resolved {local_time(i.resolved_at, tz)}"
    else:
        until = min(d.end, d.generated_at)
        duration = f"{format_duration(until - i.opened_at)} so far"
        status = "still open"
    return IncidentRow(
        scope=clean(i.scope, 2 * NAME_LIMIT),
        severity=i.severity,
        opened=local_time(i.opened_at, tz),
        peak=f"{format_ratio(i.peak_ratio)} expected",
        duration=duration,
        status=status,
        open=i.resolved_at is None,
        drivers=", ".join(clean(t, NAME_LIMIT) for t in i.drivers),
    )
