"""Hacker News settings, apart from the adapter so validating a config imports no HTTP client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from monitor.channels.settings.base import ChannelSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(ChannelSettings):
    default_base_url: ClassVar[str] = "https://hn.algolia.com"

    hits_per_page: int = 100
    # Re-read this much before the cursor: Algolia indexes new items with a short lag.
    overlap: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        ChannelSettings.__post_init__(self)
        if not 1 <= self.hits_per_page <= 1000:
            raise ValueError("hits_per_page must be between 1 and 1000")
