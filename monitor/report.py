"""Text the CLI prints: status tables and mention exports (table, JSON lines, CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TextIO

from monitor.health import age
from monitor.models import Incident, OutboxMessage, StoredMention
from monitor.silences import Silence, silencing
from monitor.store import PollState
from monitor.terminal import safe_for_terminal
from monitor.text import one_line

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iso(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else "-"


def cell(text: str, limit: int) -> str:
    """A stranger's text as one table cell: safe for the terminal, one line, cut to `limit`."""
    return one_line(safe_for_terminal(text), limit)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Aligned columns; every cell is made safe for the terminal and kept on one line."""
    cells = [[str(h) for h in headers]] + [
        ["-" if c is None else " ".join(safe_for_terminal(str(c)).split()) for c in r] for r in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def status_table(states: Sequence[PollState]) -> str:
    """One row per (brand, channel), then every problem in full, one row each."""
    if not states:
        return "no polls yet: run `monitor poll --once` or `monitor run`"
    problems = {(s.brand, s.channel): poll_problems(s) for s in states}
    out = table(
        [
            "brand",
            "channel",
            "last poll",
            "last ok",
            "mentions",
            "skipped",
            "muted",
            "cursor",
            "errors",
        ],
        [
            (
                s.brand,
                s.channel,
                iso(s.last_poll_at),
                iso(s.last_ok_at),
                s.mentions,
                s.skipped_total,
                s.muted_total,
                cell(s.cursor or "-", 40),
                len(problems[s.brand, s.channel]) or "-",
            )
            for s in states
        ],
    )
    rows = [("ERROR", b, c, p) for (b, c), found in problems.items() for p in found]
    if rows:
        out += "\n\n" + table(["", "brand", "channel", "problem"], rows)
    return out


def poll_problems(state: PollState) -> list[str]:
    """What is wrong with a (brand, channel), one entry per problem.

    A failed poll stored its one error; a poll that worked but lost some feeds stored one
    warning per feed, joined with "; " by the poller.
    """
    if not state.last_error:
        return []
    if state.failures:
        polls = "last poll" if state.failures == 1 else f"last {state.failures} polls"
        return [f"{polls} failed: {state.last_error}"]
    return [p.strip() for p in state.last_error.split("; ") if p.strip()]


def mention_record(m: StoredMention) -> dict[str, object]:
    return {
        "channel": m.channel,
        "native_id": m.native_id,
        "brand": m.brand,
        "url": m.url,
        "author": m.author,
        "author_reach": m.author_reach,
        "text": m.text,
        "created_at": iso(m.created_at),
        "compound": m.compound,
        "label": m.label,
        "topics": list(m.topics),
        "rating": m.rating,
    }


MENTION_FIELDS = [
    "channel",
    "native_id",
    "brand",
    "url",
    "author",
    "author_reach",
    "text",
    "created_at",
    "compound",
    "label",
    "topics",
    "rating",
]


def write_mentions(mentions: Iterable[StoredMention], fmt: str, out: TextIO) -> None:
    """Write an export as the mentions arrive: jsonl and csv hold one row in memory at a time.

    The table is for reading on a terminal, so it is aligned over all rows and held in memory;
    use --limit with it on a large store.
    """
    if fmt == "jsonl":
        for m in mentions:
            out.write(json.dumps(mention_record(m), ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=MENTION_FIELDS)
        writer.writeheader()
        for m in mentions:
            row = mention_record(m)
            row["topics"] = ";".join(m.topics)
            writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    else:
        out.write(mentions_table(mentions) + "\n")


def export_mentions(mentions: Iterable[StoredMention], fmt: str) -> str:
    """The whole export as one string, without the final newline (click.echo adds it)."""
    out = io.StringIO()
    write_mentions(mentions, fmt, out)
    return out.getvalue().rstrip("\r\n")


def mentions_table(mentions: Iterable[StoredMention]) -> str:
    rows = [
        (
            iso(m.created_at),
            m.brand,
            m.channel,
            m.label,
            f"{m.compound:+.3f}",
            cell(m.author, 16),
            cell(m.text, 70),
        )
        for m in mentions
    ]
    if not rows:
        return "no mentions match"
    return table(["created_at", "brand", "channel", "label", "compound", "author", "text"], rows)


def spreadsheet_safe(value: object) -> object:
    """Text a spreadsheet would run as a formula, prefixed with a quote so it shows as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def incident_state(incident: Incident, silences: Sequence[Silence], now: datetime) -> str:
    """`open`, `open, silenced #3`, `open, acked`, `resolved`."""
    notes = []
    if incident.status == "open":
        silence = silencing(incident, silences, now)
        if silence is not None:
            notes.append(f"silenced #{silence.id}")
        if incident.acked_at is not None:
            notes.append("acked")
    return ", ".join([incident.status, *notes])


def incidents_table(
    incidents: Sequence[Incident], now: datetime, silences: Sequence[Silence] = ()
) -> str:
    if not incidents:
        return "no incidents"
    return table(
        [
            "id",
            "status",
            "severity",
            "scope",
            "opened",
            "duration",
            "count",
            "expected",
            "ratio",
            "peak",
        ],
        [
            (
                i.id,
                incident_state(i, silences, now),
                i.severity,
                i.brand
                if i.scope_kind == "brand"
                else f"{i.brand} / {i.scope_kind} {i.scope_value}",
                iso(i.opened_at),
                _duration(((i.resolved_at or now) - i.opened_at).total_seconds()),
                f"{i.count:g}",
                f"{i.expected:.2f}",
                f"{i.ratio:.1f}x",
                f"{i.peak_ratio:.1f}x",
            )
            for i in incidents
        ],
    )


def incident_record(i: Incident, silences: Sequence[Silence], now: datetime) -> dict[str, object]:
    silence = silencing(i, silences, now) if i.status == "open" else None
    return {
        "id": i.id,
        "brand": i.brand,
        "scope_kind": i.scope_kind,
        "scope_value": i.scope_value,
        "status": i.status,
        "severity": i.severity,
        "opened_at": iso(i.opened_at),
        "resolved_at": iso(i.resolved_at) if i.resolved_at else None,
        "acked_at": iso(i.acked_at) if i.acked_at else None,
        "silenced_by": silence.id if silence else None,
        "count": i.count,
        "expected": i.expected,
        "ratio": i.ratio,
        "peak_ratio": i.peak_ratio,
    }


def silence_record(s: Silence, now: datetime) -> dict[str, object]:
    return {
        "id": s.id,
        "brand": s.brand,
        "scope": s.scope,
        "starts_at": iso(s.starts_at),
        "ends_at": iso(s.ends_at),
        "active": s.active(now),
        "reason": s.reason,
    }


def silences_table(silences: Sequence[Silence], now: datetime) -> str:
    if not silences:
        return "no silences in force"
    return table(
        ["id", "brand", "scope", "ends", "left", "reason"],
        [
            (
                s.id,
                s.brand,
                s.scope,
                iso(s.ends_at),
                age(s.ends_at - now) if s.active(now) else "ended",
                cell(s.reason or "-", 60),
            )
            for s in silences
        ],
    )


def message_record(m: OutboxMessage) -> dict[str, object]:
    return {
        "id": m.id,
        "status": m.status,
        "kind": m.kind,
        "team": m.team,
        "receiver": m.receiver,
        "incident_id": m.incident_id,
        "attempts": m.attempts,
        "created_at": iso(m.created_at),
        "next_attempt_at": iso(m.next_attempt_at) if m.next_attempt_at else None,
        "sent_at": iso(m.sent_at) if m.sent_at else None,
        "last_error": m.last_error,
    }


def messages_table(messages: Sequence[OutboxMessage]) -> str:
    if not messages:
        return "no messages"
    return table(
        ["id", "status", "kind", "team", "receiver", "attempts", "created", "last error"],
        [
            (
                m.id,
                m.status,
                m.kind,
                m.team,
                m.receiver,
                m.attempts,
                iso(m.created_at),
                cell(m.last_error or "-", 80),
            )
            for m in messages
        ],
    )


def outbox_summary(counts: dict[str, int], problems: Sequence[OutboxMessage]) -> str:
    lines = ["alerts: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("pending", "sent", "dead"))]
    for m in problems:
        lines.append(
            f"  {m.status} #{m.id} {m.kind} -> {m.team}/{m.receiver} after {m.attempts} attempts: "
            + cell(m.last_error or "-", 120)
        )
    return "\n".join(lines)
