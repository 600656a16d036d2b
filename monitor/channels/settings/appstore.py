"""App Store settings, apart from the adapter so validating a config imports no HTTP client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from monitor.channels.settings.base import ChannelSettings

MAX_PAGES = 10
_APP_ID = re.compile(r"^\d+$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(ChannelSettings):
    default_base_url: ClassVar[str] = "https://itunes.apple.com"

    apps: tuple[str, ...]
    countries: tuple[str, ...] = ("us",)
    every: timedelta = timedelta(minutes=30)
    overlap: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        ChannelSettings.__post_init__(self)
        if not self.apps:
            raise ValueError("apps must list at least one App Store id, like 284882215")
        bad_apps = [a for a in self.apps if not _APP_ID.match(a)]
        if bad_apps:
            raise ValueError(
                f"apps must be numeric App Store ids (the digits after 'id' in the app's "
                f"apps.apple.com URL); got {bad_apps}"
            )
        bad_countries = [c for c in self.countries if not _COUNTRY.match(c)]
        if not self.countries or bad_countries:
            raise ValueError(
                f"countries must be two-letter store codes like us, gb, jp; got {bad_countries}"
            )
        if self.max_requests < MAX_PAGES:
            raise ValueError(
                f"max_requests must be at least {MAX_PAGES} for appstore: one feed can take "
                f"{MAX_PAGES} pages and a shorter budget could never finish it"
            )
