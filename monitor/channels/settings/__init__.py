"""Each channel's settings, one module per channel, importing no HTTP client or parser.

`monitor check` validates every configured channel's block; keeping the dataclasses here, apart
from the adapters, means it never pays for httpx or feedparser.
"""
