"""The notifier protocol: one class per kind of receiver, each rendering an Alert or a weekly
Digest safely."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, tzinfo
from typing import IO, Protocol, runtime_checkable

from monitor.config import EmailSettings
from monitor.models import Alert, Clock, Digest, utcnow


class DeliveryError(Exception):
    """A message could not be delivered.

    `retry_after` is the receiver's own wait (Slack 429 Retry-After), `permanent` says a retry
    cannot help (a revoked webhook, a rejected address): the outbox marks the row dead at once.
    Messages never contain a secret (webhook URL, token, password).
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Notifier(Protocol):
    # "slack", "email" or "console": with the team name, it keys the outbox row.
    kind: str

    @property
    def send_timeout(self) -> timedelta:
        """The longest one send may wait on the receiver before the notifier gives up: a
        sender starts a message only while its claim on it outlasts this."""
        ...

    def send_alert(self, alert: Alert) -> str | None:
        """Deliver or raise DeliveryError; the receiver's reference to the delivered message
        if it can edit it later (a Slack bot's channel and ts), else None."""
        ...

    def send_digest(self, digest: Digest) -> None:
        """Deliver a team's weekly digest, rendered for this medium, or raise DeliveryError."""
        ...

    def close(self) -> None:
        """Release what the notifier holds open (an HTTP client); called on shutdown."""
        ...


@runtime_checkable
class Editor(Protocol):
    """A notifier that can replace a message it delivered (an incident's growth edits its page
    instead of paging again). Receivers without this send nothing for `updated`."""

    def edit_alert(self, alert: Alert, ref: str) -> None:
        """Replace the message `ref` (from `send_alert`) with `alert`, notifying no one, or
        raise DeliveryError. Never delivers a new message."""
        ...


@dataclass(frozen=True, slots=True)
class Setup:
    """What a receiver may need beside its own config block: the team's name (for error
    messages) and timezone (for times shown), the top-level SMTP settings, the console stream,
    the clock (the time an edited message shows)."""

    team: str
    tz: tzinfo
    email: EmailSettings | None = None
    stream: IO[str] | None = None
    clock: Clock = utcnow
