"""Alerts and weekly digests printed to a terminal: what `monitor demo` shows, and a receiver
for local runs.

Mention text arrives here already stripped of control characters and ANSI escapes (see
`alert_view.clean`), so a stranger cannot move the cursor, recolour the screen or plant a hidden link.
"""

from __future__ import annotations

import sys
import textwrap
from datetime import UTC, timedelta, tzinfo
from typing import IO

from monitor.alert_view import AlertView, view
from monitor.config import TeamConfig
from monitor.models import Alert, Digest
from monitor.notify.base import DeliveryError, Setup
from monitor.notify.email import render_text

WIDTH = 78


def format_alert(alert: Alert, tz: tzinfo = UTC, width: int = WIDTH) -> str:
    """The alert as a boxed, wrapped, multi-line block of plain text."""
    v = view(alert, tz)
    rule = "═" * width
    lines = [rule, f" {v.badge}  {v.title}", rule]
    if v.is_test:
        lines += [" *** TEST ALERT: nothing is wrong, this checks the receiver works ***", ""]
    lines += _wrap(v.summary, width, " ")
    lines.append("")
    label_width = max(len(label) for label, _ in v.facts) + 2
    for label, value in v.facts:
        lines += _wrap(
            value,
            width,
            f"   {label:<{label_width}}",
            " " * (3 + label_width),
        )
    lines += _evidence(v, width)
    lines += ["", f" {v.reference}", "─" * width]
    return "\n".join(lines) + "\n"


def _evidence(v: AlertView, width: int) -> list[str]:
    if not v.evidence:
        return []
    lines = ["", " Most negative mentions:"]
    for i, m in enumerate(v.evidence, 1):
        lines.append("")
        lines += _wrap(f"{m.author} on {m.channel} · {m.when} · score {m.score}", width, f"  {i}. ")
        lines += _wrap(f"“{m.text}”" if m.text else "(no text)", width, "     ")
        if m.url:
            # Never wrapped: a URL broken over lines cannot be clicked or copied.
            lines.append(f"     {m.url}")
    return lines


def _wrap(text: str, width: int, first: str, rest: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=rest if rest is not None else " " * len(first),
        break_on_hyphens=False,
    ) or [first.rstrip()]


def from_team(team: TeamConfig, setup: Setup) -> ConsoleNotifier | None:
    return ConsoleNotifier(setup.stream, tz=setup.tz) if team.console is not None else None


class ConsoleNotifier:
    """Print alerts to a stream; sys.stderr (looked up at each alert) unless one is given."""

    kind = "console"

    def __init__(self, stream: IO[str] | None = None, *, tz: tzinfo = UTC) -> None:
        self.stream = stream
        self.tz = tz

    @property
    def send_timeout(self) -> timedelta:
        return timedelta(0)  # a local stream

    def send_alert(self, alert: Alert) -> None:
        self._write(format_alert(alert, self.tz), "alert")

    def send_digest(self, digest: Digest) -> None:
        """Print the digest's text version (times in the digest's own team timezone)."""
        rule = "═" * WIDTH
        self._write(f"{rule}\n{render_text(digest).rstrip()}\n{'─' * WIDTH}\n", "digest")

    def close(self) -> None:
        """Nothing to release: the stream belongs to whoever passed it."""

    def _write(self, text: str, what: str) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError) as exc:
            # A closed pipe or stream (ValueError: I/O on closed file) is the reader's problem.
            raise DeliveryError(f"console: cannot write the {what} ({exc}); will retry") from None
