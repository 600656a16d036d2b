"""Bluesky settings, apart from the adapter so validating a config imports no HTTP client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from monitor.channels.settings.base import ChannelSettings
from monitor.validate import Secret

PUBLIC_APPVIEW = "https://public.api.bsky.app"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(ChannelSettings):
    default_base_url: ClassVar[str] = PUBLIC_APPVIEW

    # The account handle (or its email) and an app password, never the account password.
    identifier: str = ""
    app_password: Secret | None = None
    pds_url: str = "https://bsky.social"
    page_size: int = 100
    overlap: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        ChannelSettings.__post_init__(self)
        if bool(self.identifier.strip()) != bool(self.app_password):
            raise ValueError("set both identifier and app_password, or neither")
        if not 1 <= self.page_size <= 100:
            raise ValueError("page_size must be between 1 and 100")

    @property
    def signs_in(self) -> bool:
        return bool(self.app_password)

    @property
    def api_root(self) -> str:
        default = self.pds_url if self.signs_in else PUBLIC_APPVIEW
        return (self.base_url or default).rstrip("/")
