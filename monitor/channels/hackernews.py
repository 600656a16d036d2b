"""Hacker News stories and comments through the Algolia search API (hn.algolia.com/api/v1).

The API sorts `search_by_date` newest first and stops paginating after 1,000 hits, so we walk
time forward in windows `(lo, hi]`, each small enough to page completely. Before paging a
window we ask only for its hit count (hitsPerPage=0, a few hundred bytes); a window that holds
too many is cut to the size its hit density says will fit, and the next window is sized from
the last one's density, so a backfill downloads each hit about once.

Each complete window is a result of its own (`more=True` while the walk has not reached now),
so a long backfill is saved window by window: a crash or a spent request budget loses at most
one window, and a poll holds one window's mentions in memory, not the whole backfill.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from monitor.channels.base import (
    BaseChannel,
    ChannelError,
    Haul,
    parse_safely,
    search_terms,
    time_or_none,
)
from monitor.channels.settings.hackernews import Settings
from monitor.http import BudgetExhausted
from monitor.models import FetchResult, Mention, Query
from monitor.text import html_to_text

log = logging.getLogger(__name__)

NAME = "hackernews"
ITEM_URL = "https://news.ycombinator.com/item?id={}"
PAGINATION_LIMIT = 1000
# Hits aimed for per window: under the limit, with room for a stretch denser than the last.
TARGET_HITS = 800


class Adapter(BaseChannel[Settings]):
    name = NAME

    def fetch(self, query: Query, cursor: str | None, now: datetime) -> FetchResult:
        """Read from the cursor towards `now`, one complete window per result.

        While `more` is set, call again with the returned cursor and the same `now`: that
        continues this poll, on its request budget.
        """
        saved = self.begin_poll(cursor, now)
        now_ts = int(now.timestamp())
        lo = self._start(saved, now_ts)
        span = _int(saved.get("span")) or now_ts - lo
        haul = Haul()
        terms = search_terms(query.terms)
        try:
            while lo < now_ts:
                hi = min(now_ts, lo + max(1, span))
                counts = [self._count(term, lo, hi) for term in terms]
                densest = max(counts, default=0)
                if densest > PAGINATION_LIMIT and hi - lo > 1:
                    span = _fit(hi - lo, densest)
                    continue
                if not all(
                    self._read(t, lo, hi, n, haul) for t, n in zip(terms, counts, strict=True)
                ):
                    span = max(1, (hi - lo) // 2)  # grew past the limit while we paged it
                    continue
                span = _fit(hi - lo, densest)
                lo = hi
                if haul.mentions and lo < now_ts:
                    break  # one window per result: the caller saves it, then asks for more
        except BudgetExhausted as exc:
            log.warning(
                "budget_exhausted channel=%s brand=%s detail=%r", NAME, query.brand, str(exc)
            )
            return self.result(haul, self._state(saved, lo, span, now_ts))
        return self.result(haul, self._state(saved, lo, span, now_ts), more=lo < now_ts)

    def _start(self, saved: dict[str, Any], now_ts: int) -> int:
        """Where this poll's walk begins: the cursor, less the overlap where indexing may lag."""
        after = _int(saved.get("after"))
        if after is None:
            return now_ts - int(self.settings.backfill.total_seconds())
        read_at = _int(saved.get("read_at")) or after
        if read_at >= now_ts:
            return after  # a later piece of this same poll: go on where the last one ended
        # Windows that ended `overlap` before they were read were complete when read.
        return min(after, read_at - int(self.settings.overlap.total_seconds()))

    def _state(self, saved: dict[str, Any], lo: int, span: int, now_ts: int) -> dict[str, int]:
        if lo == self._start(saved, now_ts) and _int(saved.get("after")) is not None:
            return {k: v for k, v in saved.items() if k in ("after", "read_at", "span")}
        return {"after": lo, "read_at": now_ts, "span": span}

    def _search(self, term: str, lo: int, hi: int, per_page: int, page: int) -> dict[str, Any]:
        body = self.http.get_json(
            f"{self.settings.api_root}/api/v1/search_by_date",
            params={
                # Multi-word terms come quoted: phrases under advancedSyntax.
                "query": term,
                "tags": "(story,comment,poll)",
                "numericFilters": f"created_at_i>{lo},created_at_i<={hi}",
                "hitsPerPage": per_page,
                "page": page,
                "advancedSyntax": "true",
            },
        )
        if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
            raise ChannelError(f"{NAME}: search answered without a hits list; will retry")
        return body

    def _count(self, term: str, lo: int, hi: int) -> int:
        return _int(self._search(term, lo, hi, 0, 0).get("nbHits")) or 0

    def _read(self, term: str, lo: int, hi: int, count: int, haul: Haul) -> bool:
        """Page every hit of (lo, hi] into `haul`; False if the window outgrew the limit."""
        page = 0
        while count:
            body = self._search(term, lo, hi, self.settings.hits_per_page, page)
            if (_int(body.get("nbHits")) or 0) > PAGINATION_LIMIT and hi - lo > 1:
                return False
            for hit in body["hits"]:
                haul.add(parse_safely(parse_hit, hit))
            page += 1
            if page >= (_int(body.get("nbPages")) or 0):
                break
        return True


def _fit(seconds: int, hits: int) -> int:
    """A window length expected to hold TARGET_HITS, from `hits` seen in `seconds`."""
    if hits <= 0:
        return seconds * 4
    return max(1, min(seconds * 4, seconds * TARGET_HITS // hits))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


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
        author_reach=float(points) if isinstance(points, (int, float)) else None,
    )
