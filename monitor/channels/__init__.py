"""Channel adapters: one module per source, each exposing `Settings` and `Adapter`.

Adding a channel = one new module + one test file + one line in CHANNELS.
"""

from __future__ import annotations

import importlib
from types import ModuleType

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


def channel_module(name: str) -> ModuleType:
    return importlib.import_module(CHANNELS[name])
