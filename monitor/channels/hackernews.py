"""Hacker News stories and comments through the Algolia search API (hn.algolia.com/api/v1).

The API sorts `search_by_date` newest first and stops paginating after 1,000 hits, so we walk
time forward in windows: a window `(lo, hi]` is paged completely (and halved while it holds
more than the API will page), then the cursor moves to `hi`. A poll that runs out of request
budget keeps the cursor at the last complete window, so nothing between is ever skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from monitor.channels.base import (
    BaseChannel,
    BudgetExhausted,
    ChannelError,
    ChannelSettings,
    Haul,
    parse_safely,
    search_terms,
    time_or_none,
)
from monitor.models import FetchResult, Mention, Query
from monitor.text import html_to_text

log = logging.getLogger(__name__)

NAME = "hackernews"
ITEM_URL = "https://news.ycombinator.com/item?id={}"
PAGINATION_LIMIT = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(ChannelSettings):
    default_base_url: ClassVar[str] = "https://hn.algolia.com"

    hits_per_page: int = 100
    # Re-read this much before the cursor: Algolia indexes new items with a short lag.
    overlap: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        ChannelSettings.__post_init__(self)
        if not 1 <= self.hits_per_page <= 1000:
            raise ValueError("hits_per_page must be between 1 and 1000")


class Adapter(BaseChannel[Settings]):
    name = NAME

    def fetch(self, query: Query, cursor: str | None, now: datetime) -> FetchResult:
        after = self.begin_poll(cursor).get("after")
        now_ts = int(now.timestamp())
        if not isinstance(after, int) or isinstance(after, bool):
            after = None
        if after is not None:
            start = after - int(self.settings.overlap.total_seconds())
        else:
            start = now_ts - int(self.settings.backfill.total_seconds())
        lo, hi = start, now_ts
        done = start
        haul = Haul()
        try:
            while lo < hi:
                if not self._fetch_window(
                    query, lo, hi, haul
                ):  # too many hits to page: narrow the window
                    hi = lo + max(1, (hi - lo) // 2)
                    continue
                done = lo = hi
                hi = now_ts
        except BudgetExhausted as exc:
            log.warning(
                "budget_exhausted channel=%s brand=%s detail=%r", NAME, query.brand, str(exc)
            )
        if after is not None and done == start:
            done = after
        return self.result(haul, {"after": done})

    def _fetch_window(self, query: Query, lo: int, hi: int, haul: Haul) -> bool:
        """Add every hit in (lo, hi] to `haul`; False if a term has more than can be paged.

        Hits land in `haul` as they arrive, so a poll cut short by its budget keeps them.
        """
        for term in search_terms(query.terms):
            page = 0
            while True:
                body = self.http.get_json(
                    f"{self.settings.api_root}/api/v1/search_by_date",
                    params={
                        # Multi-word terms come quoted: phrases under advancedSyntax.
                        "query": term,
                        "tags": "(story,comment,poll)",
                        "numericFilters": f"created_at_i>{lo},created_at_i<={hi}",
                        "hitsPerPage": self.settings.hits_per_page,
                        "page": page,
                        "advancedSyntax": "true",
                    },
                )
                if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
                    raise ChannelError(f"{NAME}: search answered without a hits list; will retry")
                if int(body.get("nbHits") or 0) > PAGINATION_LIMIT and hi - lo > 1:
                    return False
                for hit in body["hits"]:
                    haul.add(parse_safely(parse_hit, hit))
                page += 1
                if page >= int(body.get("nbPages") or 0):
                    break
        return True


def parse_hit(hit: Any) -> Mention | None:
    """One Algolia hit -> Mention, or None when the item lacks what a mention needs."""
    if not isinstance(hit, dict):
        return None
    object_id = hit.get("objectID")
    when = hit.get("created_at_i", hit.get("created_at"))
    if not object_id or when is None:
        return None
    created_at = time_or_none(when)
    if created_at is None:
        return None
    if hit.get("comment_text"):
        text = html_to_text(hit["comment_text"])
    else:
        parts = [hit.get("title") or "", html_to_text(hit.get("story_text") or "")]
        text = "\n\n".join(p for p in parts if p)
    if not text:
        return None
    points = hit.get("points")
    return Mention(
        channel=NAME,
        native_id=str(object_id),
        url=ITEM_URL.format(object_id),
        author=str(hit.get("author") or "unknown"),
        text=text,
        created_at=created_at,
        author_reach=float(points) if isinstance(points, int | float) else None,
    )
