"""The weekly digest as people read it: an HTML email, plain text, a PNG chart, a Slack message.

`digest_view(d)` words a `Digest` once, as plain strings (a `DigestView`); the templates and the
Slack builder only lay those strings out. What strangers wrote (authors, mention text, links) is
cleaned by `monitor.notify.render` (no control characters, one line, cut to size, links only for
http(s)) and then escaped for each target: HTML by jinja2 autoescape, Slack mrkdwn by
`monitor.notify.slack.escape`.

Week-over-week changes are computed from the figures as shown (rounded), so a reader who checks
the arithmetic finds it right: "40% negative, 50% last week" always says "-10 pp".
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from monitor.digest import parse_week
from monitor.models import (
    AlertMention,
    Digest,
    DigestDay,
    DigestIncident,
    DigestMention,
    Label,
    Sentiment,
)
from monitor.notify.email import jinja_templates
from monitor.notify.render import (
    AUTHOR_LIMIT,
    CHANNEL_LIMIT,
    Evidence,
    clean,
    evidence,
    format_duration,
    format_ratio,
)
from monitor.notify.slack import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    MAX_FIELDS,
    SECTION_LIMIT,
    cut_text,
    escape,
    evidence_line,
    mrkdwn_block,
    section_block,
)
from monitor.report import table
from monitor.text import one_line

# Files `write_preview` writes; the HTML refers to the chart by this name (by cid: in email).
HTML_FILE = "digest.html"
TEXT_FILE = "digest.txt"
CHART_FILE = "chart.png"
SLACK_FILE = "slack.json"

TOP_TOPICS = 10
TOP_AUTHORS = 10
TOP_INCIDENTS = 20
NAME_LIMIT = 60  # topics, channels, brands in tables

# Fixed English names: the daemon's locale must not change the report.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# One palette for the chart, the HTML and the tones of week-over-week changes.
RED = "#c8423b"
GREY = "#b4b9c0"
GREEN = "#2f9e5d"
INK = "#1d2b3a"
TONES = {"good": "#1e7d45", "bad": "#b42318", "flat": "#5f6b77"}

Tone = Literal["good", "bad", "flat"]


@dataclass(frozen=True, slots=True)
class Change:
    """A week-over-week change as shown: '+12%', '-10 pp', '+0.05', 'new' or 'n/a'."""

    text: str
    tone: Tone  # good / bad for the brand, or flat (no judgement: volume, neutral share)


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
    in_progress: str | None  # set when the week is not over: what the figures cover
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
    chart_alt: str


# -- numbers as shown ---------------------------------------------------------------------------


def _half_up(value: float, digits: int = 0) -> Decimal:
    """Round the way people do (0.5 up, not to even), on the value as printed."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def count(n: int) -> str:
    return f"{n:,}"


def percent(part: int, whole: int) -> str:
    """'40%'; '<1%' and '>99%' rather than a 0% or 100% that is not quite true."""
    if not whole:
        return "–"
    shown = _shown_percent(part, whole)
    if shown == 0 and part:
        return "<1%"
    if shown == 100 and part < whole:
        return ">99%"
    return f"{shown}%"


def _shown_percent(part: int, whole: int) -> int:
    return int(_half_up(part / whole * 100))


def _signed(value: Decimal, unit: str = "") -> str:
    """'+25%', '-10 pp', '+0.05'; zero without a sign ('0 pp', '0.00')."""
    if value == 0:
        return f"{abs(value)}{unit}"
    return f"{value:+}{unit}"


def share_change(label: Label, week: Sentiment, previous: Sentiment) -> Change:
    """Percentage points between the shares as shown; tone from the label's side."""
    if not week.mentions or not previous.mentions:
        return Change("n/a", "flat")
    points = _shown_percent(getattr(week, label), week.mentions) - _shown_percent(
        getattr(previous, label), previous.mentions
    )
    tone: Tone = "flat"
    if points and label != "neutral":
        better = (points < 0) if label == "negative" else (points > 0)
        tone = "good" if better else "bad"
    return Change(_signed(Decimal(points), " pp"), tone)


def volume_change(week: int, previous: int) -> Change:
    if not previous:
        return Change("new" if week else "n/a", "flat")
    return Change(_signed(_half_up((week - previous) / previous * 100), "%"), "flat")


def compound(value: float | None) -> str:
    return "–" if value is None else _signed(_half_up(value, 2))


def compound_change(week: float | None, previous: float | None) -> Change:
    if week is None or previous is None:
        return Change("n/a", "flat")
    delta = _half_up(week, 2) - _half_up(previous, 2)
    tone: Tone = "flat" if delta == 0 else ("good" if delta > 0 else "bad")
    return Change(_signed(delta), tone)


def reach(value: float | None) -> str | None:
    if value is None or value < 0:
        return None
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.0f}"


# -- dates as shown -----------------------------------------------------------------------------


def _day(d: date) -> str:
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]}"


def _span(first: date, last: date) -> str:
    """'16–22 Nov 2026', '30 Nov – 6 Dec 2026', '29 Dec 2025 – 4 Jan 2026'."""
    start = f"{first.day} {_MONTHS[first.month - 1]}"
    if first.year != last.year:
        return f"{start} {first.year} – {last.day} {_MONTHS[last.month - 1]} {last.year}"
    if first.month != last.month:
        return f"{start} – {last.day} {_MONTHS[last.month - 1]} {last.year}"
    return f"{first.day}–{last.day} {_MONTHS[last.month - 1]} {last.year}"


def week_label(d: Digest) -> str:
    """'Week 47, 16–22 Nov 2026 (Europe/London)': the ISO week in the team's zone."""
    year, number = parse_week(d.week)
    monday = date.fromisocalendar(year, number, 1)
    return f"Week {number}, {_span(monday, monday + timedelta(days=6))} ({d.timezone})"


def _when(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{_day(local.date())} {local:%H:%M} {local.tzname() or ''}".rstrip()


def brands_label(brands: Sequence[str], team: str) -> str:
    names = [clean(b, NAME_LIMIT) for b in brands] or [clean(team, NAME_LIMIT)]
    if len(names) <= 3:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{', '.join(names[:2])} and {len(names) - 2} more brands"


# -- the view -----------------------------------------------------------------------------------


def digest_view(d: Digest) -> DigestView:
    """Word the digest once, for every target. Times are shown in the team's zone."""
    tz = ZoneInfo(d.timezone)
    year, number = parse_week(d.week)
    monday = date.fromisocalendar(year, number, 1)
    brands = brands_label(d.brands, d.team)
    week, before = d.week_total, d.previous_total
    title = f"Weekly sentiment digest: {brands}"
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
        in_progress=(
            f"The week is not over: these figures run to {_when(d.generated_at, tz)}, and "
            "the changes compare them with the whole week before."
            if d.generated_at < d.end
            else None
        ),
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
            f"Generated {_when(d.generated_at, tz)} by monitor for team "
            f"{clean(d.team, NAME_LIMIT)}. Mean compound is VADER's score from -1 (most "
            "negative) to +1 (most positive). Changes compare with the week before "
            f"({_span(monday - timedelta(days=7), monday - timedelta(days=1))}); shares in "
            "percentage points (pp)."
        ),
        chart_alt=(
            "Chart: mentions per day, split into negative, neutral and positive, with the "
            "mean compound as a line (the same figures are in the table below)."
        ),
    )


def _day_row(day: DigestDay, today: date) -> DayRow:
    if day.day > today:
        return DayRow(_day(day.day), "not yet", "", "", "", "", "", future=True)
    s = day.sentiment
    return DayRow(
        day=_day(day.day),
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
    return f"{n}, {trend}. {shares}; mean compound {compound(week.mean_compound)}{was}."


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
            "Mean compound",
            compound(week.mean_compound),
            "scale -1 to +1",
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
        when=_when(m.created_at, tz),
        reach=reach(m.author_reach),
    )


def _incident(i: DigestIncident, d: Digest, tz: tzinfo) -> IncidentRow:
    if i.resolved_at is not None:
        duration = format_duration(i.resolved_at - i.opened_at)
        status = f"resolved {_when(i.resolved_at, tz)}"
    else:
        until = min(d.end, d.generated_at)
        duration = f"{format_duration(until - i.opened_at)} so far"
        status = "still open"
    return IncidentRow(
        scope=clean(i.scope, 2 * NAME_LIMIT),
        severity=i.severity,
        opened=_when(i.opened_at, tz),
        peak=f"{format_ratio(i.peak_ratio)} expected",
        duration=duration,
        status=status,
        open=i.resolved_at is None,
    )


# -- HTML and text ------------------------------------------------------------------------------


def render_html(d: Digest, *, chart_src: str | None = CHART_FILE) -> str:
    """The HTML digest. `chart_src` is where the chart is ('chart.png' beside the file for a
    preview, 'cid:…' in an email); None leaves the chart out. An empty week never shows one."""
    v = digest_view(d)
    return jinja_templates.get_template("digest_email.html").render(
        view=v,
        chart_src=None if v.empty else chart_src,
        tones=TONES,
        colours={"negative": RED, "neutral": GREY, "positive": GREEN},
    )


def render_text(d: Digest) -> str:
    """The plain-text digest: the email's text part and what the console prints."""
    v = digest_view(d)
    return jinja_templates.get_template("digest_email.txt").render(view=v, **_text_tables(v))


def _text_tables(v: DigestView) -> dict[str, str]:
    def indent(text: str) -> str:
        return "\n".join("  " + line for line in text.splitlines())

    return {
        "summary_table": indent(
            table(
                ["", "This week", "Last week", "Change"],
                [(k.label, k.value, k.previous, k.change.text) for k in v.kpis],
            )
        ),
        "days_table": indent(
            table(
                ["Day", "Mentions", "Negative", "Neutral", "Positive", "Neg. share", "Mean"],
                [
                    (r.day, r.mentions, r.negative, r.neutral, r.positive, r.negative_share, r.mean)
                    for r in v.days
                ],
            )
        ),
        "channels_table": indent(
            table(
                ["Channel", "Mentions", "Change", "Negative", "Change", "Mean", "Change"],
                [
                    (
                        r.channel,
                        r.mentions,
                        r.mentions_change.text,
                        r.negative_share,
                        r.negative_change.text,
                        r.mean,
                        r.mean_change.text,
                    )
                    for r in v.channels
                ],
            )
        ),
        "topics_table": indent(
            table(
                ["Topic", "Mentions", "Negative", "Last week", "Change"],
                [
                    (
                        r.topic,
                        r.mentions,
                        r.negative_share,
                        r.previous_share,
                        r.negative_change.text,
                    )
                    for r in v.topics
                ],
            )
        ),
        "authors_table": indent(
            table(
                ["Author", "Channel", "Mentions", "Mean"],
                [(r.author, r.channel, r.mentions, r.mean) for r in v.authors],
            )
        ),
    }


# -- the chart ----------------------------------------------------------------------------------


def render_chart(d: Digest, *, dpi: int = 150) -> bytes:
    """A PNG (900×420 at the default dpi, sharp when shown 600 px wide): mentions per day
    stacked by label, mean compound as a line on a -1..1 axis. An empty week gives a small
    chart that says so. Drawn on a bare matplotlib Figure: no pyplot, no global backend."""
    fig = Figure(figsize=(6.0, 2.8 if not d.empty else 1.4), dpi=dpi, layout="constrained")
    fig.patch.set_facecolor("white")
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#9aa3ad")
    ax.tick_params(colors="#4a5561", labelsize=8, length=3)
    x = list(range(len(d.days)))
    ax.set_xticks(x, [f"{_DAYS[day.day.weekday()]} {day.day.day}" for day in d.days])
    if d.empty:
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        ax.set_xlim(-0.5, len(x) - 0.5)
        ax.text(
            0.5,
            0.55,
            "No mentions this week",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=10,
            color="#4a5561",
        )
        return _png(fig)
    bottom = [0] * len(x)
    for label, colour in (("negative", RED), ("neutral", GREY), ("positive", GREEN)):
        heights = [getattr(day.sentiment, label) for day in d.days]
        ax.bar(x, heights, 0.62, bottom=bottom, color=colour, label=label.capitalize(), zorder=2)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.grid(axis="y", color="#e6e9ed", linewidth=0.8, zorder=0)
    ax.set_ylabel("Mentions", fontsize=8, color="#4a5561")
    ax.set_xlim(-0.5, len(x) - 0.5)

    line = ax.twinx()
    line.set_ylim(-1.05, 1.05)
    line.set_yticks([-1, -0.5, 0, 0.5, 1], ["-1", "-0.5", "0", "+0.5", "+1"])
    line.tick_params(colors="#4a5561", labelsize=8, length=3)
    for side in ("top", "left", "bottom"):
        line.spines[side].set_visible(False)
    line.spines["right"].set_color("#9aa3ad")
    line.axhline(0, color="#9aa3ad", linewidth=0.8, linestyle=(0, (2, 2)), zorder=1)
    days = [(i, day.sentiment.mean_compound) for i, day in enumerate(d.days)]
    # Days without mentions have no mean: the line breaks there rather than inventing a zero.
    line.plot(
        x,
        [float("nan") if m is None else m for _, m in days],
        color=INK,
        linewidth=1.8,
        marker="o",
        markersize=3.5,
        label="Mean compound",
        zorder=3,
    )
    line.set_ylabel("Mean compound", fontsize=8, color="#4a5561")
    handles = [*ax.get_legend_handles_labels()[0], *line.get_legend_handles_labels()[0]]
    fig.legend(
        handles=handles,
        loc="outside upper center",
        ncols=4,
        frameon=False,
        fontsize=8,
        handlelength=1.2,
        columnspacing=1.4,
    )
    return _png(fig)


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    # No Software/date metadata: the same digest always gives the same bytes.
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


# -- Slack --------------------------------------------------------------------------------------


def slack_message(d: Digest) -> dict[str, Any]:
    """The digest as a Block Kit payload (without `channel`), within Slack's limits."""
    v = digest_view(d)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": one_line(v.title, HEADER_LIMIT)}},
        {
            "type": "context",
            "elements": [
                mrkdwn_block(cut_text(escape(f"{v.week_label} · team {v.team}"), SECTION_LIMIT))
            ],
        },
        section_block(escape(v.headline + (f"\n_{v.in_progress}_" if v.in_progress else ""))),
    ]
    if not v.empty:
        fields = [
            mrkdwn_block(
                f"*{k.label}*\n{escape(k.value)}  ({escape(k.change.text)}"
                f"{' vs ' + escape(k.previous) if k.previous != '–' else ''})"
            )
            for k in v.kpis
        ]
        blocks.append({"type": "section", "fields": fields[:MAX_FIELDS]})
        days = "\n".join(
            f"{r.day:<10}  {r.mentions:>9}"
            if r.future
            else f"{r.day:<10}  {'no mentions':>9}"
            if r.mentions == "0"
            else f"{r.day:<10}  {r.mentions:>9}  {r.negative_share:>5} neg  {r.mean:>5}"
            for r in v.days
        )
        blocks.append(
            section_block(f"*By day* (mentions, negative share, mean compound)\n```{days}```")
        )
        if v.channels:
            blocks.append(_listed("By channel", [_slack_channel(r) for r in v.channels], 0))
        if v.topics:
            blocks.append(_listed("Topics", [_slack_topic(r) for r in v.topics], v.topics_more))
    blocks.append(
        _listed("Incidents", [_slack_incident(r) for r in v.incidents], v.incidents_more)
        if v.incidents
        else section_block("*Incidents*\nNo incidents this week.")
    )
    for heading, cards in (
        ("Most negative mentions", v.negative),
        ("Most positive mentions", v.positive),
    ):
        if cards:
            blocks.append({"type": "divider"})
            blocks.append(section_block(f"*{heading}*"))
            blocks.extend(section_block(_slack_card(i, m)) for i, m in enumerate(cards, 1))
    if v.authors:
        blocks.append(
            _listed(
                "Most active authors",
                [
                    f"• {escape(r.author)} ({escape(r.channel)}): {r.mentions} mentions, "
                    f"mean {r.mean}"
                    for r in v.authors
                ],
                0,
            )
        )
    blocks = blocks[: MAX_BLOCKS - 1]
    blocks.append(
        {"type": "context", "elements": [mrkdwn_block(cut_text(escape(v.footer), SECTION_LIMIT))]}
    )
    return {
        "text": cut_text(escape(f"{v.subject}. {v.headline}"), SECTION_LIMIT),
        "blocks": blocks,
        # Strangers' links must not make Slack fetch them and post previews into the channel.
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _listed(heading: str, lines: list[str], more: int) -> dict[str, Any]:
    """A section of bullet lines, as many whole lines as fit, then 'and N more'."""
    text = f"*{heading}*"
    for i, line in enumerate(lines):
        rest = len(lines) - i + more
        if len(text) + 1 + len(line) + len(f"\n…and {rest} more") > SECTION_LIMIT:
            return section_block(f"{text}\n…and {rest} more")
        text += "\n" + line
    return section_block(f"{text}\n…and {more} more" if more else text)


def _slack_channel(r: ChannelRow) -> str:
    return (
        f"• *{escape(r.channel)}*: {r.mentions} mentions ({r.mentions_change.text}) · "
        f"{r.negative_share} negative ({r.negative_change.text}) · mean {r.mean}"
    )


def _slack_topic(r: TopicRow) -> str:
    return f"• *{escape(r.topic)}*: {r.mentions} mentions · {r.negative_share} negative " + (
        f"(last week {r.previous_share}, {r.negative_change.text})"
        if r.previous_share != "–"
        else "(no mentions last week)"
    )


def _slack_incident(r: IncidentRow) -> str:
    icon = "🔴" if r.severity == "critical" else "🟠"
    return (
        f"• {icon} *{escape(r.scope)}* ({r.severity}) · opened {escape(r.opened)} · "
        f"peak {escape(r.peak)} · {escape(r.duration)} · {escape(r.status)}"
    )


def _slack_card(index: int, m: MentionCard) -> str:
    shown = Evidence(
        author=m.author,
        channel=f"{m.channel} ({m.brand})" if m.brand else m.channel,
        text=m.text,
        url=m.url,
        host=m.host,
        score=m.score,
        when=m.when + (f" · reach {m.reach}" if m.reach else ""),
    )
    return evidence_line(index, shown)


# -- preview ------------------------------------------------------------------------------------


def write_preview(d: Digest, directory: Path) -> list[Path]:
    """Write digest.html (chart referenced as chart.png beside it), digest.txt, chart.png (not
    for an empty week) and slack.json into `directory`; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    files: list[tuple[str, str | bytes]] = [
        (HTML_FILE, render_html(d, chart_src=CHART_FILE)),
        (TEXT_FILE, render_text(d)),
    ]
    if not d.empty:
        files.append((CHART_FILE, render_chart(d)))
    files.append((SLACK_FILE, json.dumps(slack_message(d), indent=2, ensure_ascii=False) + "\n"))
    paths = []
    for name, content in files:
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        paths.append(path)
    return paths
