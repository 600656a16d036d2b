"""Stack Exchange settings, apart from the adapter so validating a config imports no HTTP client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from monitor.channels.settings.base import ChannelSettings
from monitor.validate import Secret


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(ChannelSettings):
    default_base_url: ClassVar[str] = "https://api.stackexchange.com"

    # One request per (site, term) per quiet poll against 300 a day without a key.
    every: timedelta = timedelta(minutes=15)
    sites: tuple[str, ...] = ("stackoverflow",)
    # An app key raises the daily quota from 300 to 10,000 requests per IP; it is not secret
    # to Stack Exchange, but it is yours, so it is kept out of logs like any credential.
    key: Secret | None = None
    page_size: int = 100
    overlap: timedelta = timedelta(minutes=10)
    # The API does not say when a used-up daily quota refills; look again this often.
    quota_retry: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        ChannelSettings.__post_init__(self)
        if not self.sites or not all(s.strip() for s in self.sites):
            raise ValueError("sites must list Stack Exchange site names, like stackoverflow")
        if not 1 <= self.page_size <= 100:
            raise ValueError("page_size must be between 1 and 100")
