"""Settings every channel accepts; each channel's module subclasses them with its own fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from monitor.http_settings import HttpSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelSettings(HttpSettings):
    """Settings every channel accepts. Adapters subclass this with their own fields."""

    default_base_url: ClassVar[str] = ""

    every: timedelta = timedelta(minutes=5)
    backfill: timedelta = timedelta(days=14)
    base_url: str = ""

    def __post_init__(self) -> None:
        HttpSettings.__post_init__(self)
        if self.every.total_seconds() < 1:
            raise ValueError("every must be at least 1s")

    @property
    def api_root(self) -> str:
        return (self.base_url or self.default_base_url).rstrip("/")


def require_secret(value: object, name: str, what: str, variable: str) -> None:
    """A credential a channel cannot work without: empty is an error saying how to set it."""
    if not value:
        raise ValueError(f'{name} is empty; set it to {what}, written as "${{{variable}}}"')
