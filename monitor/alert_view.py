"""The wording of an alert, shared by every notifier: what it says, not how a target escapes it.

`view(alert)` turns an `Alert` into an `AlertView` of plain strings. Strings that came from a
stranger (author, channel, text, url) are cleaned here of control characters, ANSI escapes and
bidi overrides, cut to size, and links are kept only for http(s) URLs. Each notifier then escapes
the view for its own target (Slack mrkdwn, HTML, email headers); nothing here is target-specific.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from urllib.parse import quote, urlsplit

from monitor.models import Alert, AlertMention
from monitor.text import one_line

EVIDENCE_LIMIT = 5
TEXT_LIMIT = 280
AUTHOR_LIMIT = 80
CHANNEL_LIMIT = 40
TOPIC_LIMIT = 5
URL_LIMIT = 2000

# ANSI/VT sequences as a whole (CSI, OSC, and two-byte ESC forms, in 7- and 8-bit spellings), so
# no "[31m" debris is left once the ESC byte is gone; OSC 8 would otherwise plant a hidden link.
_ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[@-_]"
)
# C0, DEL and C1 (0x9b is an 8-bit CSI), plus the bidi overrides and isolates that can make a
# terminal or mail client show text in a different order than it is stored ("Trojan Source"),
# and the invisible zero-width space, joiner and BOM, which hide text from a reader's eye and
# from a search for a word.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
# Characters RFC 3986 allows in a URI; anything else is percent-encoded. That takes `<`, `>`,
# `|`, `"`, backtick, spaces and non-ASCII out of a link target, whatever the target format.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One mention, cleaned: plain text, one line, cut to size. `url` is None unless http(s)."""

    author: str
    channel: str
    text: str
    url: str | None
    host: str | None
    score: str
    when: str


@dataclass(frozen=True, slots=True)
class AlertView:
    """Everything a notifier shows, as plain strings (not yet escaped for any target)."""

    kind: str
    badge: str  # CRITICAL / WARNING / RESOLVED / TEST
    title: str
    summary: str
    facts: tuple[tuple[str, str], ...]
    evidence: tuple[Evidence, ...]
    topics: str | None
    reference: str
    is_test: bool


def view(alert: Alert, tz: tzinfo = UTC) -> AlertView:
    """Word an alert once, for every notifier. Times are shown in `tz` (the team's zone)."""
    count = format_number(alert.count)
    expected = format_number(alert.expected)
    window = format_duration(alert.window)
    ratio = format_ratio(alert.ratio)
    started = format_time(alert.started_at, tz)
    rate = f"{count} negative mentions in the last {window}, {ratio} the {expected} expected."
    scope = alert.scope
    badge = alert.severity.upper()
    if alert.kind == "opened":
        title = f"Negative spike: {scope}"
        summary = rate
    elif alert.kind == "updated":
        title = f"Growing: negative spike for {scope}"
        summary = f"This incident (since {started}) has grown. {rate}"
    elif alert.kind == "escalated":
        title = f"Escalated to {alert.severity}: negative spike for {scope}"
        summary = f"Severity rose to {alert.severity}. {rate}"
    elif alert.kind == "reminder":
        title = f"Still open: negative spike for {scope}"
        summary = f"This incident is still open (since {started}). {rate}"
    elif alert.kind == "resolved":
        badge = "RESOLVED"
        title = f"Resolved: negative spike for {scope}"
        lasted = (
            format_duration(alert.duration) if alert.duration is not None else "an unknown time"
        )
        summary = (
            f"Negative mentions are back to normal. The spike lasted {lasted} and peaked at "
            f"{format_ratio(alert.peak_ratio)} the expected rate."
        )
    else:
        badge = "TEST"
        title = f"TEST alert (sample data): negative spike for {scope}"
        summary = (
            "This is a TEST sent by monitor test-alert to check that this receiver works. "
            "Nothing is wrong: the figures and mentions below are sample data."
        )
    topics = ", ".join(
        f"{clean(name, CHANNEL_LIMIT)} ({n})" for name, n in alert.top_topics[:TOPIC_LIMIT]
    )
    return AlertView(
        kind=alert.kind,
        badge=badge,
        title=title,
        summary=summary,
        facts=_facts(alert, tz, topics),
        evidence=tuple(evidence(m, tz) for m in most_negative(alert.top_mentions)),
        topics=topics or None,
        reference=f"ref: {alert.idempotency_key} · incident #{alert.incident_id}",
        is_test=alert.kind == "test",
    )


def _facts(alert: Alert, tz: tzinfo, topics: str) -> tuple[tuple[str, str], ...]:
    scope = {"brand": "whole brand", "topic": "topic", "channel": "channel"}[alert.scope_kind]
    if alert.scope_kind != "brand":
        scope = f"{scope} {alert.scope_value}"
    facts = [
        ("Brand", alert.brand),
        ("Scope", scope),
        ("Severity", alert.severity),
        (
            "Negative mentions",
            f"{format_number(alert.count)} in {format_duration(alert.window)} "
            f"(expected {format_number(alert.expected)})",
        ),
        ("Ratio", f"{format_ratio(alert.ratio)} expected"),
    ]
    if alert.kind == "resolved" or alert.peak_ratio > alert.ratio:
        facts.append(("Peak ratio", f"{format_ratio(alert.peak_ratio)} expected"))
    facts.append(("Started", format_time(alert.started_at, tz)))
    if alert.resolved_at is not None and alert.duration is not None:
        facts.append(("Resolved", format_time(alert.resolved_at, tz)))
        facts.append(("Lasted", format_duration(alert.duration)))
    if alert.drivers:
        facts.append(("Drivers", ", ".join(clean(d, CHANNEL_LIMIT) for d in alert.drivers)))
    if alert.breakdown:
        facts.append(
            (
                "Breakdown",
                ", ".join(
                    f"{clean(name, CHANNEL_LIMIT)} ×{format_number(n)}"
                    for name, n in alert.breakdown[:TOPIC_LIMIT]
                ),
            )
        )
    if topics:
        facts.append(("Top topics", topics))
    return tuple(facts)


def most_negative(mentions: tuple[AlertMention, ...]) -> list[AlertMention]:
    """The top five by compound score, most negative first, whatever order the caller used."""
    return sorted(mentions, key=lambda m: m.compound)[:EVIDENCE_LIMIT]


def evidence(mention: AlertMention, tz: tzinfo = UTC) -> Evidence:
    url = safe_url(mention.url)
    return Evidence(
        author=clean(mention.author, AUTHOR_LIMIT) or "(unknown author)",
        channel=clean(mention.channel, CHANNEL_LIMIT),
        text=clean(mention.text, TEXT_LIMIT)
        + (f" (×{mention.duplicates})" if mention.duplicates > 1 else ""),
        url=url,
        host=(clean(urlsplit(url).hostname or "", 100) or "link") if url else None,
        score=f"{mention.compound:+.2f}",
        when=format_time(mention.created_at, tz),
    )


def clean(text: str, limit: int) -> str:
    """A stranger's string made safe to show anywhere: no escapes or controls, one line, cut."""
    return one_line(_CONTROL.sub("", _ANSI.sub("", text)), limit)


def safe_url(url: str) -> str | None:
    """The URL if it is a plain http(s) link, percent-encoded so no target can misread it."""
    url = url.strip()
    if not url or len(url) > URL_LIMIT or _CONTROL.search(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return quote(url, safe=_URL_SAFE)


def format_time(when: datetime, tz: tzinfo = UTC) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or 'UTC'}"


def format_duration(span: timedelta) -> str:
    """`45 s`, `12 min`, `1 h`, `2 h 15 min`, `3 d 4 h`: two units at most, rounded down."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def format_number(value: float) -> str:
    """Counts may be reach-weighted floats; whole numbers print without decimals."""
    if not math.isfinite(value):
        return "n/a"
    if abs(value - round(value)) < 1e-9:
        return str(round(value))
    return f"{value:.2f}" if abs(value) < 1 else f"{value:.1f}"


def format_ratio(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.0f}×" if value >= 100 else f"{value:.1f}×"
