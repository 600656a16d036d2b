"""YouTube videos and their comments through the Data API v3, kept inside a daily quota budget.

A poll runs `search` (type=video, order=date) for videos published since the newest one seen,
less an overlap because search indexes new videos late; each video is a mention. Then it reads
`commentThreads` (order=time) of the videos published within `comment_window`, least recently
read first, down to the newest comment read before. Search costs 100 quota units a page and
commentThreads 1. Google resets the quota at midnight Pacific time, so the units spent are counted
per Pacific day, in the cursor and in memory per API key (brands sharing a key share its quota),
and a call that would pass `daily_quota_units` is not made. A walk cut short by the request or
quota budget leaves a marker (search: the unread `before` time; comments: the next page token)
and the next poll resumes there.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.channels.base import (
    BaseChannel,
    ChannelError,
    Haul,
    parse_safely,
    parse_time,
    quoted_terms,
    time_or_none,
)
from monitor.channels.settings.youtube import SEARCH_COST, Settings
from monitor.http import AuthError, BudgetExhausted, RateLimited, parse_json
from monitor.models import FetchResult, Mention, Query
from monitor.text import html_to_text
from monitor.validate import Secret

log = logging.getLogger(__name__)

NAME = "youtube"
COMMENTS_COST = 1
VIDEO_URL = "https://www.youtube.com/watch?v={video}"
COMMENT_URL = "https://www.youtube.com/watch?v={video}&lc={comment}"
QUOTA_TZ = ZoneInfo("America/Los_Angeles")
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_SLOW_DOWN_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"}
)
_KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "accessNotConfigured", "SERVICE_DISABLED"})
_BARE_TERM = re.compile(r"^[@#]?\w+$")

# Units spent per API key and Pacific day by every adapter in this process: the quota belongs
# to the key's Google project, and the poller runs one adapter per brand.
_SPENT: dict[Secret, tuple[str, int]] = {}


class QuotaSpent(BudgetExhausted):
    """Today's quota budget cannot pay for the next call."""


class _Unavailable(Exception):
    """A video's comments cannot be read (turned off, or the video is gone)."""


class _StaleToken(Exception):
    """Google no longer accepts a saved comment page token."""


def _iso(moment: datetime) -> str:
    """One fixed UTC format, so stored times also compare correctly as strings."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def quota_day(now: datetime) -> str:
    return now.astimezone(QUOTA_TZ).date().isoformat()


class Adapter(BaseChannel[Settings]):
    name = NAME

    def fetch(self, query: Query, cursor: str | None, now: datetime) -> FetchResult:
        state = self.begin_poll(cursor)
        terms = build_query(query.terms)
        search: dict[str, str] = state.get("search") or {}
        if (
            not isinstance(search, dict)
            or "after" not in search
            or not all(isinstance(v, str) and time_or_none(v) for v in search.values())
        ):
            search = {"after": _iso(now - self.settings.backfill)}  # none or damaged: backfill
        saved_videos = state.get("videos")
        videos: dict[str, dict[str, Any]] = {
            k: v
            for k, v in (saved_videos if isinstance(saved_videos, dict) else {}).items()
            if isinstance(v, dict)
        }
        self._open_day(now, state.get("quota"))
        haul = Haul()
        warnings: list[str] = []
        stopped = self._run(lambda: self._search(terms, search, videos, haul), haul, warnings)
        videos = _recent(videos, now - self.settings.comment_window, self.settings.max_videos)
        if not stopped:
            self._run(lambda: self._comments(videos, haul, now), haul, warnings)
        day, units = _SPENT[self.settings.api_key]
        quota = {"day": day, "units": units}
        return self.result(haul, {"search": search, "videos": videos, "quota": quota}, warnings)

    def _open_day(self, now: datetime, saved: Any) -> None:
        """Units spent this Pacific day: the larger of the cursor's and this process's count."""
        day = quota_day(now)
        units = saved.get("units", 0) if isinstance(saved, dict) and saved.get("day") == day else 0
        known_day, known_units = _SPENT.get(self.settings.api_key, (day, 0))
        if known_day == day:
            units = max(units, known_units)
        _SPENT[self.settings.api_key] = (day, units)
        if units + COMMENTS_COST > self.settings.daily_quota_units:
            local = now.astimezone(QUOTA_TZ)
            midnight = (local + timedelta(days=1)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            hours = (midnight - local).total_seconds() / 3600
            raise RateLimited(
                f"{NAME}: today's quota budget of {self.settings.daily_quota_units} units is "
                f"spent ({units} used on {day}, Pacific time); polling resumes after midnight "
                f"Pacific time, in {hours:.1f}h"
            )

    def _run(self, phase: Callable[[], None], haul: Haul, warnings: list[str]) -> bool:
        """Run one phase of the poll; True when the rest of the poll must not run."""
        try:
            phase()
        except QuotaSpent as exc:  # a cheaper phase may still fit in what is left
            warnings.append(str(exc))
        except BudgetExhausted as exc:
            warnings.append(str(exc))
            return True
        except RateLimited as exc:
            if not haul.pages:
                raise
            warnings.append(str(exc))
            return True
        return False

    def _search(
        self, terms: str, search: dict[str, str], videos: dict[str, Any], haul: Haul
    ) -> None:
        if "before" in search:
            self._search_walk(terms, search, videos, haul)
        self._search_walk(terms, search, videos, haul)

    def _search_walk(
        self, terms: str, search: dict[str, str], videos: dict[str, Any], haul: Haul
    ) -> None:
        """Videos newest first down to `after` (and up to `before` while a gap is unread)."""
        params = {
            "part": "snippet",
            "q": terms,
            "type": "video",
            "order": "date",
            "maxResults": 50,
            "publishedAfter": _iso(parse_time(search["after"]) - self.settings.overlap),
        }
        if "before" in search:
            params["publishedBefore"] = search["before"]
        token = None
        while True:
            body = self._call("search", params | ({"pageToken": token} if token else {}))
            haul.pages += 1
            for item in _items(body):
                video = haul.add(parse_safely(parse_video, item))
                if video is None:
                    continue
                published = _iso(video.created_at)
                videos.setdefault(video.native_id[2:], {"published": published, "floor": published})
                search["before"] = min(search.get("before", published), published)
                search["top"] = max(search.get("top", published), published)
            token = body.get("nextPageToken")
            if not token:
                break
        search["after"] = max(search["after"], search.pop("top", search["after"]))
        search.pop("before", None)

    def _comments(self, videos: dict[str, dict[str, Any]], haul: Haul, now: datetime) -> None:
        # Least recently finished first, so no video waits behind a busy one for ever.
        order = sorted(videos, key=lambda video: videos[video].get("checked", ""))
        for video in order:
            if not videos[video].get("closed"):
                self._comment_walk(video, videos[video], haul, now)

    def _comment_walk(self, video: str, seen: dict[str, Any], haul: Haul, now: datetime) -> None:
        """Comments of one video newest first down to its floor, resuming a saved page token."""
        floor = parse_time(seen["floor"])
        while True:
            params = {
                "part": "snippet",
                "videoId": video,
                "order": "time",
                "maxResults": 100,
                "textFormat": "html",
            }
            if seen.get("token"):
                params["pageToken"] = seen["token"]
            try:
                body = self._call("commentThreads", params)
            except _StaleToken as exc:
                if "pageToken" not in params:
                    raise ChannelError(
                        f"{NAME}: commentThreads answered {exc} without a token"
                    ) from None
                # Start again from the newest page: the floor still bounds the walk.
                log.warning("stale_page_token channel=%s video=%s", NAME, video)
                del seen["token"]
                continue
            except _Unavailable as exc:
                log.info("comments_unavailable channel=%s video=%s reasons=%s", NAME, video, exc)
                seen["closed"] = True
                return
            haul.pages += 1
            oldest = None
            for item in _items(body):
                comment = parse_safely(parse_comment, item, video)
                if comment is None:
                    haul.skipped += 1
                    continue
                oldest = comment.created_at
                if comment.created_at >= floor:
                    haul.add(comment)
                    seen["top"] = max(seen.get("top", seen["floor"]), _iso(comment.created_at))
            token = body.get("nextPageToken")
            if not token or (oldest is not None and oldest < floor):
                break
            seen["token"] = token
        seen["floor"] = seen.pop("top", seen["floor"])
        seen.pop("token", None)
        seen["checked"] = _iso(now)

    def _call(self, resource: str, params: dict[str, Any]) -> dict[str, Any]:
        """One API call, paid from the quota."""
        cost = SEARCH_COST if resource == "search" else COMMENTS_COST
        key = self.settings.api_key
        day, units = _SPENT[key]
        limit = self.settings.daily_quota_units
        if units + cost > limit:
            raise QuotaSpent(
                f"{NAME}: {resource} costs {cost} quota units and {units} of today's {limit} "
                "are spent; it waits for the quota to reset at midnight Pacific time"
            )
        before = self.http.requests
        try:
            response = self.http.request(
                "GET",
                f"{self.settings.api_root}/{resource}",
                params=params | {"key": key.reveal()},
                ok_statuses=(400, 401, 403, 404),
            )
        finally:
            # Count every attempt, retries too: Google charges failed requests, and counting
            # high only stops a poll early, where counting low could run the quota dry.
            _SPENT[key] = (day, _SPENT[key][1] + cost * (self.http.requests - before))
        if response.status_code < 400:
            body = parse_json(response, NAME)
            if not isinstance(body, dict):
                raise ChannelError(f"{NAME}: {resource} answered something other than an object")
            return body
        raise self._refusal(resource, response.status_code, _reasons(response.content))

    def _refusal(self, resource: str, status: int, reasons: set[str]) -> Exception:
        """The exception that says what Google's error reasons mean for this poll."""
        named = ", ".join(sorted(reasons)) or f"HTTP {status}"
        if reasons & _QUOTA_REASONS:
            day, units = _SPENT[self.settings.api_key]
            _SPENT[self.settings.api_key] = (day, max(units, self.settings.daily_quota_units))
            return RateLimited(
                f"{NAME}: Google reports the project's daily quota used up ({named}); it resets at "
                "midnight Pacific time. If other programs use this key, lower daily_quota_units"
            )
        if reasons & _SLOW_DOWN_REASONS:
            return RateLimited(f"{NAME}: Google asks to slow down ({named}); the next poll retries")
        if (
            status == 401
            or reasons & _KEY_REASONS
            or any(r.startswith("API_KEY_") for r in reasons)
            or (status == 403 and resource == "search")
        ):
            return AuthError(
                f"{NAME}: Google refused the API key ({named}); set channels.{NAME}.api_key to a "
                "key for the YouTube Data API v3 (Google Cloud console, APIs & Services, "
                "Credentials) and check that API is enabled for the key's project"
            )
        if resource == "commentThreads" and "invalidPageToken" in reasons:
            return _StaleToken(named)
        # Only Google's own reasons close a video: a bare 404 is more likely a wrong base_url.
        if resource == "commentThreads" and status in (403, 404) and reasons:
            return _Unavailable(named)
        return ChannelError(f"{NAME}: {resource} answered HTTP {status} ({named}); will retry")


def _reasons(content: bytes) -> set[str]:
    """Google's error reasons: `errors[].reason` and the newer `details[].reason`."""
    try:
        error = json.loads(content).get("error")
    except (ValueError, AttributeError):
        return set()
    if not isinstance(error, dict):
        return set()
    found = set()
    for key in ("errors", "details"):
        for entry in error.get(key) or []:
            if isinstance(entry, dict) and isinstance(entry.get("reason"), str):
                found.add(entry["reason"])
    return found


def _items(body: dict[str, Any]) -> list[Any]:
    items = body.get("items", [])
    if not isinstance(items, list):
        raise ChannelError(f"{NAME}: the API answered an items field that is not a list")
    return items


def _recent(videos: dict[str, dict[str, Any]], since: datetime, limit: int) -> dict[str, Any]:
    """The newest `limit` videos published since `since`: those whose comments are read."""
    fresh = [
        (v["published"], k) for k, v in videos.items() if v.get("published", "") >= _iso(since)
    ]
    return {k: videos[k] for _, k in sorted(fresh, reverse=True)[:limit]}


def build_query(terms: tuple[str, ...]) -> str:
    """Terms joined with YouTube's OR operator `|`, phrases quoted."""
    return "|".join(quoted_terms(NAME, terms, _BARE_TERM))


def parse_video(item: Any) -> Mention | None:
    """One search result -> Mention, or None when it lacks a video id, a time or words."""
    try:
        video = item["id"]["videoId"]
        snippet = item["snippet"]
        created_at = parse_time(snippet["publishedAt"])
        title = html_to_text(snippet.get("title"))
        description = html_to_text(snippet.get("description"))
    except (KeyError, TypeError, ValueError):
        return None
    text = "\n\n".join(part for part in (title, description) if part)
    if not isinstance(video, str) or not video or not text:
        return None
    return Mention(
        channel=NAME,
        native_id=f"v:{video}",
        url=VIDEO_URL.format(video=video),
        author=str(snippet.get("channelTitle") or snippet.get("channelId") or "unknown"),
        text=text,
        created_at=created_at,
    )


def parse_comment(item: Any, video: str) -> Mention | None:
    """One comment thread -> Mention of its top-level comment, or None when malformed."""
    try:
        comment = item["snippet"]["topLevelComment"]
        snippet = comment["snippet"]
        comment_id = comment["id"]
        created_at = parse_time(snippet["publishedAt"])
        text = html_to_text(snippet.get("textDisplay") or snippet.get("textOriginal"))
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(comment_id, str) or not comment_id or not text:
        return None
    return Mention(
        channel=NAME,
        native_id=f"c:{comment_id}",
        url=COMMENT_URL.format(video=video, comment=comment_id),
        author=str(snippet.get("authorDisplayName") or "unknown"),
        text=text,
        created_at=created_at,
    )
