"""Channel adapters: one module per source exposing `Adapter`; its `Settings` live apart, in
monitor/channels/settings/<name>.py, and the adapter module re-exports them.

Adding a channel = an adapter module + a settings module + a test file + a line in each registry.
Both lookups import on demand, and validating a config (`monitor check`) uses only
`settings_class`, so it never imports an adapter, httpx or feedparser.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from monitor.channels.settings.base import ChannelSettings

CHANNELS: dict[str, str] = {
    "hackernews": "monitor.channels.hackernews",
    "rss": "monitor.channels.rss",
    "reddit": "monitor.channels.reddit",
    "mastodon": "monitor.channels.mastodon",
    "bluesky": "monitor.channels.bluesky",
    "stackexchange": "monitor.channels.stackexchange",
    "appstore": "monitor.channels.appstore",
    "twitter": "monitor.channels.twitter",
    "youtube": "monitor.channels.youtube",
}

SETTINGS: dict[str, str] = {name: f"monitor.channels.settings.{name}" for name in CHANNELS}


def channel_module(name: str) -> ModuleType:
    return importlib.import_module(CHANNELS[name])


def settings_class(name: str) -> type[ChannelSettings]:
    """Channel `name`'s settings dataclass, without importing its adapter."""
    settings: type[ChannelSettings] = importlib.import_module(SETTINGS[name]).Settings
    return settings
