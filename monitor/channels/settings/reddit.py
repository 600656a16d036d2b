"""Reddit settings, apart from the adapter so validating a config imports no HTTP client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from monitor.channels.settings.base import ChannelSettings
from monitor.validate import Secret

WEB_ROOT = "https://www.reddit.com"
OAUTH_ROOT = "https://oauth.reddit.com"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(ChannelSettings):
    default_base_url: ClassVar[str] = WEB_ROOT

    # Reddit throttles or blocks generic User-Agents; name the app and a Reddit account.
    user_agent: str
    client_id: Secret | None = None
    client_secret: Secret | None = None
    token_url: str = "https://www.reddit.com/api/v1/access_token"
    # Comment search (`type=comment`) is not in Reddit's API documentation; off unless asked.
    comments: bool = False
    page_size: int = 100
    overlap: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        ChannelSettings.__post_init__(self)
        if len(self.user_agent.strip()) < 8:
            raise ValueError(
                "user_agent must describe this monitor, like 'monitor/0.1 (by u/yourname)'"
            )
        if bool(self.client_id) != bool(self.client_secret):
            raise ValueError("set both client_id and client_secret, or neither")
        if not 1 <= self.page_size <= 100:
            raise ValueError("page_size must be between 1 and 100")

    @property
    def oauth(self) -> bool:
        return bool(self.client_id) and bool(self.client_secret)

    @property
    def api_root(self) -> str:
        return (self.base_url or (OAUTH_ROOT if self.oauth else WEB_ROOT)).rstrip("/")
