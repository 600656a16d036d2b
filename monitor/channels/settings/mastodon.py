"""Mastodon settings, apart from the adapter so validating a config imports no HTTP client."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import ClassVar
from urllib.parse import urlsplit

from monitor.channels.settings.base import ChannelSettings
from monitor.validate import Secret


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(ChannelSettings):
    default_base_url: ClassVar[str] = ""

    instances: tuple[str, ...] = ("https://mastodon.social",)
    # Instance URL (or host) -> access token with read:statuses. Sent to that instance only.
    tokens: dict[str, Secret] = field(default_factory=dict)
    # Full-text search on instances with a token (Mastodon does not search for anonymous apps).
    search: bool = True
    page_size: int = 40
    overlap: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        ChannelSettings.__post_init__(self)
        if self.base_url:
            raise ValueError("mastodon polls each of `instances`; list server URLs there")
        if not self.instances:
            raise ValueError(
                "instances must list at least one server, like https://mastodon.social"
            )
        roots = [instance_root(i) for i in self.instances]
        strangers = [k for k in self.tokens if instance_root(k) not in roots]
        if strangers:
            raise ValueError(f"tokens names {strangers}, which are not among instances")
        if not 1 <= self.page_size <= 40:
            raise ValueError("page_size must be between 1 and 40")

    def token_for(self, root: str) -> Secret | None:
        return next((t for k, t in self.tokens.items() if instance_root(k) == root), None)


def instance_root(text: str) -> str:
    """`mastodon.social` or `https://mastodon.social/` -> `https://mastodon.social`."""
    raw = text.strip().rstrip("/")
    parts = urlsplit(raw if "://" in raw else f"https://{raw}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not a server URL like https://mastodon.social")
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path}"
