"""RSS 2.0 and Atom feeds (Google Alerts included) through feedparser, with conditional GET.

The cursor keeps, per feed, the ETag / Last-Modified validators and the newest entry time seen,
so an unchanged feed costs one 304 and an old entry is not re-processed. One broken feed is
reported and skipped; the other feeds of the poll still land.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import feedparser

from monitor.channels.base import BaseChannel, ChannelError, Haul, feed_failures, parse_safely
from monitor.channels.settings.rss import Settings
from monitor.http import BudgetExhausted, redact_url
from monitor.models import FetchResult, Mention, Query
from monitor.text import html_to_text

log = logging.getLogger(__name__)

NAME = "rss"


class Adapter(BaseChannel[Settings]):
    name = NAME

    def feed_urls(self) -> list[str]:
        base = self.settings.base_url.rstrip("/") + "/"
        return [
            f if f.startswith(("http://", "https://")) else urljoin(base, f.lstrip("/"))
            for f in self.settings.feeds
        ]

    def fetch(self, query: Query, cursor: str | None, now: datetime) -> FetchResult:
        saved = self.begin_poll(cursor)
        state: dict[str, dict[str, Any]] = {
            url: value for url, value in saved.items() if isinstance(value, dict)
        }
        haul = Haul()
        warnings: list[str] = []
        failed: dict[str, ChannelError] = {}
        urls = self.feed_urls()
        for url in urls:
            previous = state.get(url, {})
            try:
                new_state = self._fetch_feed(url, previous, now, haul)
            except BudgetExhausted as exc:
                warnings.append(str(exc))
                break
            except ChannelError as exc:
                failed[url] = exc
                continue
            if new_state is not None:  # None: 304 Not Modified
                state[url] = new_state
            elif "failing_since" in previous:
                state[url] = {k: v for k, v in previous.items() if k != "failing_since"}
        since = {u: state.get(u, {}).get("failing_since") for u in failed}
        problems, failing_since = feed_failures(NAME, failed, len(urls), since, now, redact_url)
        for url, when in failing_since.items():
            state[url] = state.get(url, {}) | {"failing_since": when}
        return self.result(haul, state, [*problems, *warnings])

    def _fetch_feed(
        self, url: str, previous: dict[str, Any], now: datetime, haul: Haul
    ) -> dict[str, Any] | None:
        """Add the feed's entries since its cursor to `haul`; its new state, or None if unchanged."""
        headers = {
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
        }
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("modified"):
            headers["If-Modified-Since"] = previous["modified"]
        response = self.http.request("GET", url, headers=headers)
        if response.status_code == 304:
            return None
        # The response's headers tell feedparser the content type and charset (a Big5 feed
        # says so there); without them a well-formed feed is flagged NonXMLContentType.
        headers = {k.lower(): v for k, v in response.headers.items()}
        try:
            parsed = feedparser.parse(
                without_surrogate_refs(response.content),
                response_headers=headers | {"content-location": url},
            )
        except Exception as exc:  # feedparser has more ways to fail than it documents
            raise ChannelError(
                f"{NAME}: {redact_url(url)} could not be parsed ({type(exc).__name__})"
            ) from None
        # A feed with no entries is healthy if it is a feed at all (a Google Alert with no
        # results yet); only a body feedparser cannot recognise as RSS/Atom is broken.
        if not parsed.entries and parsed.get("bozo") and not parsed.get("version"):
            problem = type(parsed.get("bozo_exception")).__name__
            raise ChannelError(
                f"{NAME}: {redact_url(url)} is not a readable RSS/Atom feed ({problem})"
            )
        saved_newest = previous.get("newest")
        newest_seen = float(saved_newest) if isinstance(saved_newest, int | float) else 0.0
        if newest_seen:
            floor = newest_seen - self.settings.overlap.total_seconds()
        else:
            floor = (now - self.settings.backfill).timestamp()
        newest = newest_seen
        feed_title = html_to_text(parsed.feed.get("title", "")) or urlsplit(url).hostname or url
        for entry in parsed.entries:
            mention = parse_safely(parse_entry, entry, url, feed_title, now)
            if mention is None:
                haul.skipped += 1
                continue
            stamp = mention.created_at.timestamp()
            newest = max(newest, stamp)
            if stamp >= floor:
                haul.add(mention)
        return {
            "etag": response.headers.get("ETag"),
            "modified": response.headers.get("Last-Modified"),
            "newest": newest,
        }


_CHAR_REF = re.compile(rb"&#([xX][0-9a-fA-F]{1,8}|[0-9]{1,10});")


def _no_surrogate(match: re.Match[bytes]) -> bytes:
    ref = match.group(1)
    code = int(ref[1:], 16) if ref[:1] in (b"x", b"X") else int(ref)
    return b"&#xFFFD;" if 0xD800 <= code <= 0xDFFF else match.group(0)


def without_surrogate_refs(body: bytes) -> bytes:
    """`&#xD83D;` names half a UTF-16 pair, which no UTF-8 text can hold; feedparser raises on
    it and loses the whole feed, so it becomes U+FFFD before parsing, like any lone surrogate."""
    return _CHAR_REF.sub(_no_surrogate, body)


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def real_link(link: str) -> str:
    """Google Alerts wraps each link as google.com/url?...&url=REAL; users want the real one."""
    parts = urlsplit(link)
    if parts.hostname and parts.hostname.endswith("google.com") and parts.path == "/url":
        target = parse_qs(parts.query).get("url")
        if target:
            return target[0]
    return link


def parse_entry(entry: Any, feed_url: str, feed_title: str, now: datetime) -> Mention | None:
    title = html_to_text(entry.get("title", ""))
    summary = html_to_text(entry.get("summary", "") or "")
    text = "\n\n".join(p for p in (title, summary) if p)
    link = real_link(entry.get("link", "") or "")
    if not text:
        return None
    native = entry.get("id") or link
    if not native:
        # Neither id nor link: what the entry says is its identity, so every poll that reads
        # it again names it the same and the store keeps it once.
        date = entry.get("published") or entry.get("updated") or ""
        native = _digest(feed_url, title, date, text)
    elif ":" not in native and "/" not in native:
        # Feeds may number their own items 1, 2, 3: qualify ids that are not globally unique.
        native = _digest(f"{feed_url}#{native}")
    return Mention(
        channel=NAME,
        native_id=native,
        url=link or feed_url,
        author=html_to_text(entry.get("author", "")) or feed_title,
        text=text,
        created_at=_entry_time(entry) or now,
        lang=(entry.get("language") or None),
    )


def _digest(*parts: str) -> str:
    return hashlib.sha1("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
