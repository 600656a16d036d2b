"""Notifiers: one per kind of receiver, built from a team's config by `build_notifiers`."""

from __future__ import annotations

from typing import IO
from zoneinfo import ZoneInfo

from monitor.config import EmailSettings, TeamConfig
from monitor.notify.base import DeliveryError, Notifier
from monitor.notify.console import ConsoleNotifier
from monitor.notify.email import EmailNotifier
from monitor.notify.slack import SlackNotifier

__all__ = [
    "ConsoleNotifier",
    "DeliveryError",
    "EmailNotifier",
    "Notifier",
    "SlackNotifier",
    "build_notifiers",
    "close_notifiers",
]


def build_notifiers(
    team: TeamConfig,
    email: EmailSettings | None,
    *,
    stream: IO[str] | None = None,
    name: str = "",
) -> list[Notifier]:
    """One notifier per receiver the team configured, in the order slack, email, console.

    `email` is the top-level SMTP settings (needed only if the team has an email receiver);
    `stream` is where the console notifier prints (sys.stderr by default); `name` is the
    team's name, used in error messages. Times in messages use the team's timezone.
    """
    tz = ZoneInfo(team.timezone)
    notifiers: list[Notifier] = []
    if team.slack is not None:
        notifiers.append(SlackNotifier(team.slack, team=name, tz=tz))
    if team.email is not None:
        if email is None:
            raise ValueError(
                f"team {name or '?'} has an email receiver but the config has no top-level "
                "email: block. Fix: add email: {host: ..., from: ...}"
            )
        notifiers.append(EmailNotifier(email, team.email, team=name, tz=tz))
    if team.console is not None:
        notifiers.append(ConsoleNotifier(stream, tz=tz))
    return notifiers


def close_notifiers(notifiers: list[Notifier]) -> None:
    """Release what notifiers hold open (the Slack HTTP client); call on shutdown."""
    for notifier in notifiers:
        close = getattr(notifier, "close", None)
        if close is not None:
            close()
