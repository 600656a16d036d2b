"""X (Twitter) settings, apart from the adapter so validating a config imports no HTTP client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from monitor.channels.settings.base import ChannelSettings, require_secret
from monitor.validate import Secret


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(ChannelSettings):
    default_base_url: ClassVar[str] = "https://api.twitter.com"

    bearer_token: Secret
    max_results: int = 100
    # 512 on self-serve access; Enterprise allows 4096.
    max_query_length: int = 512

    def __post_init__(self) -> None:
        ChannelSettings.__post_init__(self)
        require_secret(
            self.bearer_token, "bearer_token", "your X app's Bearer Token", "X_BEARER_TOKEN"
        )
        if not 10 <= self.max_results <= 100:
            raise ValueError("max_results must be between 10 and 100")
