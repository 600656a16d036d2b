"""Numbers and dates as the digest's reader sees them, in fixed English whatever the locale.

Week-over-week changes are computed from the figures as shown (rounded), so a reader who checks
the arithmetic finds it right: "40% negative, 50% last week" always says "-10 points" (percentage points).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from monitor.alert_view import clean
from monitor.digest.build import parse_week
from monitor.models import Digest, Label, Sentiment

NAME_LIMIT = 60  # topics, channels, brands in tables

# Fixed English names: the daemon's locale must not change the report.
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Tone = Literal["good", "bad", "flat"]


@dataclass(frozen=True, slots=True)
class Change:
    """A week-over-week change as shown: '+12%', '-10 points', '+0.05', 'new' or 'n/a'."""

    text: str
    tone: Tone  # good / bad for the brand, or flat (no judgement: volume, neutral share)


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
    """'+25%', '-10 points', '+0.05'; zero without a sign ('0 points', '0.00')."""
    if value == 0:
        return f"{abs(value)}{unit}"
    return f"{value:+}{unit}"


def share_change(label: Label, week: Sentiment, previous: Sentiment) -> Change:
    """Percentage points between the shares as shown ("points"); tone from the label's side."""
    if not week.mentions or not previous.mentions:
        return Change("n/a", "flat")
    points = _shown_percent(getattr(week, label), week.mentions) - _shown_percent(
        getattr(previous, label), previous.mentions
    )
    tone: Tone = "flat"
    if points and label != "neutral":
        better = (points < 0) if label == "negative" else (points > 0)
        tone = "good" if better else "bad"
    return Change(_signed(Decimal(points), " points"), tone)


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


def day_name(d: date) -> str:
    return f"{DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]}"


def span(first: date, last: date) -> str:
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
    return f"Week {number}, {span(monday, monday + timedelta(days=6))} ({d.timezone})"


def local_time(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{day_name(local.date())} {local:%H:%M} {local.tzname() or ''}".rstrip()


def brands_label(brands: Sequence[str], team: str) -> str:
    names = [clean(b, NAME_LIMIT) for b in brands] or [clean(team, NAME_LIMIT)]
    if len(names) <= 3:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{', '.join(names[:2])} and {len(names) - 2} more brands"
