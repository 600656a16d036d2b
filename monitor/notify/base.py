"""The notifier protocol: one class per kind of receiver, each rendering an Alert or a weekly
Digest safely."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import IO, Protocol

from monitor.config import EmailSettings
from monitor.models import Alert, Digest


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

    def send_alert(self, alert: Alert) -> None:
        """Deliver or raise DeliveryError."""
        ...

    def send_digest(self, digest: Digest) -> None:
        """Deliver a team's weekly digest, rendered for this medium, or raise DeliveryError."""
        ...

    def close(self) -> None:
        """Release what the notifier holds open (an HTTP client); called on shutdown."""
        ...


@dataclass(frozen=True, slots=True)
class Setup:
    """What a receiver may need beside its own config block: the team's name (for error
    messages) and timezone (for times shown), the top-level SMTP settings, the console stream."""

    team: str
    tz: tzinfo
    email: EmailSettings | None = None
    stream: IO[str] | None = None
