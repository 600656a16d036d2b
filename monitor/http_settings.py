"""How long, how big and how often one HTTP client may talk to one service.

Apart from monitor.http so that validating a config (`monitor check`) does not import httpx.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    """How long, how big and how often one client may talk to one service."""

    timeout: timedelta = timedelta(seconds=15)
    # The whole request, body included, must finish within this; None means 2 x timeout.
    deadline: timedelta | None = None
    max_response_bytes: int = 5 * 1024 * 1024
    max_retries: int = 4
    # A Retry-After longer than this ends the poll; the next scheduled poll tries again.
    max_retry_wait: timedelta = timedelta(seconds=60)
    max_requests: int = 20

    def __post_init__(self) -> None:
        if self.timeout.total_seconds() <= 0:
            raise ValueError("timeout must be more than 0s")
        if self.deadline is not None and self.deadline.total_seconds() <= 0:
            raise ValueError("deadline must be more than 0s (or left out for 2 x timeout)")
        if self.max_requests < 1:
            raise ValueError("max_requests must be at least 1")

    @property
    def deadline_seconds(self) -> float:
        return (self.deadline or self.timeout * 2).total_seconds()
