"""App Store customer reviews from Apple's public RSS feed (JSON flavour), per app and country.

The feed lists an app's reviews newest first, 50 to a page, and serves at most 10 pages. Reviews
cannot be searched by term: every review of a configured app is about the brand, so the matcher
takes them as they are. The cursor keeps, per (app, country) feed, the `updated` time of the
newest review read. A walk pages down until it passes that time (less an overlap, because Apple
serves the feed from a cache), and only a finished walk moves the time forward: a poll that runs
out of requests re-reads, it never skips.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from monitor.channels.base import (
    BaseChannel,
    ChannelError,
    Haul,
    parse_safely,
    parse_time,
    time_or_none,
)
from monitor.channels.settings.appstore import MAX_PAGES, Settings
from monitor.http import BudgetExhausted, RateLimited, parse_json, redact_url
from monitor.models import FetchResult, Mention, Query
from monitor.text import cap_text, html_to_text

log = logging.getLogger(__name__)

NAME = "appstore"
# Apple refuses page 11 and beyond ("page depth is limited to 10").
REVIEWS_URL = "https://apps.apple.com/{country}/app/id{app}?see-all=reviews"
_PAGE = re.compile(r"/page=(\d+)/")


class Adapter(BaseChannel[Settings]):
    name = NAME

    def fetch(self, query: Query, cursor: str | None, now: datetime) -> FetchResult:
        saved = self.begin_poll(cursor)
        state: dict[str, dict[str, str]] = {
            feed: value for feed, value in saved.items() if _feed_state_ok(value)
        }
        feeds = [f"{a}/{c.lower()}" for a in self.settings.apps for c in self.settings.countries]
        # Least recently finished first, so a poll cut short by its budget starves no feed.
        feeds.sort(key=lambda feed: state.get(feed, {}).get("checked", ""))
        haul = Haul()
        warnings: list[str] = []
        for feed in feeds:
            try:
                newest = self._walk(feed, state.get(feed), now, haul)
            except (BudgetExhausted, RateLimited) as exc:
                warnings.append(str(exc))
                break
            except ChannelError as exc:
                warnings.append(str(exc))
                continue
            state[feed] = {"updated": newest.isoformat(), "checked": now.isoformat()}
        return self.result(haul, {f: state[f] for f in feeds if f in state}, warnings)

    def _walk(
        self, feed: str, previous: dict[str, str] | None, now: datetime, haul: Haul
    ) -> datetime:
        """Read one feed's reviews down to the floor into `haul`; return the newest time seen.

        Raises ChannelError when the walk cannot be trusted to be complete, so the feed's
        cursor stays where it was.
        """
        app, country = feed.split("/")
        if previous:
            newest = parse_time(previous["updated"])
            floor = newest - self.settings.overlap
        else:
            newest = floor = now - self.settings.backfill
        last_page = MAX_PAGES
        for page in range(1, MAX_PAGES + 1):
            feed_body = self._page(app, country, page)
            if page == 1:
                last_page = _last_page(feed_body)
            reviews = [e for e in _entries(feed_body) if not _is_app_summary(e)]
            if not reviews and page < last_page:
                # Apple now and then serves an empty page inside a feed: ending the walk here
                # would move the cursor past the reviews below it.
                raise ChannelError(
                    f"{NAME}: page {page} of {last_page} for app {app} in {country} came back "
                    "empty; the next poll reads this feed again"
                )
            oldest: datetime | None = None
            for entry in reviews:
                mention = parse_safely(parse_review, entry, app, country)
                if mention is None:
                    haul.skipped += 1
                    continue
                oldest = mention.created_at
                if mention.created_at >= floor:
                    haul.add(mention)
                    newest = max(newest, mention.created_at)
            if oldest is None or oldest < floor or page >= last_page:
                break
        return newest

    def _page(self, app: str, country: str, page: int) -> dict[str, Any]:
        url = (
            f"{self.settings.api_root}/{country}/rss/customerreviews/page={page}/id={app}"
            "/sortby=mostrecent/json"
        )
        response = self.http.request("GET", url, ok_statuses=(401, 403))
        if response.status_code in (401, 403):
            # The feed needs no credentials: a refusal is Apple blocking or throttling us.
            raise ChannelError(
                f"{NAME}: {redact_url(url)} answered HTTP {response.status_code}; the feed needs "
                f"no key, so check app id {app} exists in the {country} store, and poll less "
                "often (raise `every`) if it keeps happening"
            )
        body = parse_json(response, NAME)
        feed = body.get("feed") if isinstance(body, dict) else None
        if not isinstance(feed, dict):
            raise ChannelError(f"{NAME}: {redact_url(url)} answered without a feed object")
        return feed


def _feed_state_ok(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("updated"), str)
        and isinstance(value.get("checked", ""), str)
        and time_or_none(value["updated"]) is not None
    )


def _entries(feed: dict[str, Any]) -> list[Any]:
    entries = feed.get("entry", [])
    if isinstance(entries, dict):  # a page holding one entry comes unwrapped
        return [entries]
    if not isinstance(entries, list):
        raise ChannelError(f"{NAME}: the feed's entry field is neither a list nor an entry")
    return entries


def _last_page(feed: dict[str, Any]) -> int:
    """The page number of the feed's rel="last" link, capped at what Apple serves."""
    links = feed.get("link")
    for link in links if isinstance(links, list) else []:
        attributes = link.get("attributes", {}) if isinstance(link, dict) else {}
        if attributes.get("rel") == "last":
            match = _PAGE.search(str(attributes.get("href", "")))
            if match:
                return min(int(match.group(1)), MAX_PAGES)
    return MAX_PAGES


def _is_app_summary(entry: Any) -> bool:
    """Older feeds lead page 1 with the app itself: it has a name and no stars."""
    return isinstance(entry, dict) and "im:rating" not in entry and "im:name" in entry


def _label(node: Any) -> str:
    label = node.get("label") if isinstance(node, dict) else None
    if isinstance(label, str):
        return label
    raise ValueError("missing label")


def parse_review(entry: Any, app: str, country: str) -> Mention | None:
    """One feed entry -> Mention, or None when it lacks an id, a time, stars or words."""
    try:
        review_id = _label(entry["id"])
        created_at = parse_time(_label(entry["updated"]))
        rating = int(_label(entry["im:rating"]))
        author = _label(entry["author"]["name"])
        title = html_to_text(_label(entry["title"])) if "title" in entry else ""
        content = html_to_text(_label(entry["content"]))
    except (KeyError, TypeError, ValueError):
        return None
    if not review_id or not 1 <= rating <= 5 or not (title or content):
        return None
    return Mention(
        channel=NAME,
        native_id=f"{country}:{review_id}",
        url=REVIEWS_URL.format(country=country, app=app),
        author=author.strip() or "unknown",
        text=cap_text("\n\n".join(part for part in (title, content) if part)),
        created_at=created_at,
        rating=rating,
    )
