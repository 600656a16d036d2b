"""Notifiers: one file per kind of receiver, each rendering alerts and digests for its medium.

Adding a receiver kind = its file (a Notifier class and a `from_team` factory), its config
block under a team (named like the kind), and one line in `RECEIVERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO
from zoneinfo import ZoneInfo

from monitor.config import Config, EmailSettings, TeamConfig
from monitor.models import Clock, utcnow
from monitor.notify import console, slack
from monitor.notify import email as mail
from monitor.notify.base import DeliveryError, Editor, Notifier, Setup

__all__ = [
    "RECEIVERS",
    "DeliveryError",
    "Editor",
    "Notifier",
    "build_notifiers",
    "close_notifiers",
    "editing_kinds",
    "receiver_kinds",
]

# In this order a team's receivers are built, queued and listed.
RECEIVERS: dict[str, Callable[[TeamConfig, Setup], Notifier | None]] = {
    "slack": slack.from_team,
    "email": mail.from_team,
    "console": console.from_team,
}


def receiver_kinds(config: Config, team: str) -> list[str]:
    """The kinds of receiver the team configured, in `RECEIVERS` order."""
    return [kind for kind in RECEIVERS if getattr(config.teams[team], kind) is not None]


def editing_kinds(config: Config, team: str) -> list[str]:
    """The team's receivers that can edit a sent alert: the only ones an update is queued for."""
    blind = config.teams[team].uneditable()
    return [kind for kind in receiver_kinds(config, team) if kind not in blind]


def build_notifiers(
    team: TeamConfig,
    email: EmailSettings | None,
    *,
    stream: IO[str] | None = None,
    name: str = "",
    clock: Clock = utcnow,
) -> list[Notifier]:
    """One notifier per receiver the team configured, in `RECEIVERS` order.

    `email` is the top-level SMTP settings (needed only if the team has an email receiver);
    `stream` is where the console notifier prints (sys.stderr by default); `name` is the
    team's name, used in error messages. Times in messages use the team's timezone.
    """
    setup = Setup(team=name, tz=ZoneInfo(team.timezone), email=email, stream=stream, clock=clock)
    built = (make(team, setup) for make in RECEIVERS.values())
    return [notifier for notifier in built if notifier is not None]


def close_notifiers(notifiers: list[Notifier]) -> None:
    """Release what notifiers hold open (the Slack HTTP client); call on shutdown."""
    for notifier in notifiers:
        notifier.close()
