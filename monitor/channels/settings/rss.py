"""RSS/Atom settings, apart from the adapter so validating a config imports no HTTP client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from monitor.channels.settings.base import ChannelSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(ChannelSettings):
    default_base_url: ClassVar[str] = ""

    every: timedelta = timedelta(minutes=15)
    # Absolute URLs, or paths resolved against base_url (a proxy root).
    feeds: tuple[str, ...] = ()
    # Entries this much older than the newest one seen are still re-read (late publishers).
    overlap: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        ChannelSettings.__post_init__(self)
        for feed in self.feeds:
            if not feed.startswith(("http://", "https://")) and not self.base_url:
                raise ValueError(f"feed {feed!r} must be an http(s) URL (or set base_url)")
