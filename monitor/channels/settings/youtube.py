"""YouTube settings, apart from the adapter so validating a config imports no HTTP client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from monitor.channels.settings.base import ChannelSettings, require_secret
from monitor.validate import Secret

SEARCH_COST = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(ChannelSettings):
    default_base_url: ClassVar[str] = "https://www.googleapis.com/youtube/v3"

    api_key: Secret
    daily_quota_units: int = 10000
    every: timedelta = timedelta(minutes=30)
    comment_window: timedelta = timedelta(days=7)
    max_videos: int = 25
    overlap: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        ChannelSettings.__post_init__(self)
        require_secret(self.api_key, "api_key", "a YouTube Data API v3 key", "YOUTUBE_API_KEY")
        if self.daily_quota_units < SEARCH_COST:
            raise ValueError(
                f"daily_quota_units must be at least {SEARCH_COST}: one search costs {SEARCH_COST}"
            )
        if self.max_videos < 0:
            raise ValueError("max_videos must be 0 or more")
