"""Bluesky posts through the XRPC query app.bsky.feed.searchPosts, newest first.

`since` bounds each search at what the last poll covered, less an overlap for indexing lag, and
the search `cursor` pages back down to it. A poll cut short (request budget, rate limit) leaves a
gap in the cursor: the search cursor where it stopped and the `since` it was reading down to.
The next poll closes the gap before it reads anything newer. Anonymous search goes to the public
AppView; with an app password the adapter signs in (com.atproto.server.createSession) and
searches through the account's PDS, which proxies the query to the AppView.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from monitor.channels.base import (
    BaseChannel,
    ChannelError,
    Haul,
    parse_safely,
    round_robin,
    search_terms,
    time_or_none,
)
from monitor.channels.settings.bluesky import Settings
from monitor.http import AuthError, HttpClient, RateLimited, json_or_none, parse_json
from monitor.models import FetchResult, Mention, Query
from monitor.text import cap_text

log = logging.getLogger(__name__)

NAME = "bluesky"
APP_PASSWORDS = "https://bsky.app/settings/app-passwords"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
_TOKEN_ERRORS = ("ExpiredToken", "InvalidToken")


@dataclass(slots=True)
class _Feed:
    """One term's search and its part of the cursor, updated page by page."""

    q: str
    state: dict[str, Any]
    read_top: bool = False


@dataclass(slots=True)
class _Haul(Haul):
    def take(self, posts: list[Any]) -> datetime | None:
        """Keep the good posts, count the bad; return the newest indexedAt seen."""
        newest = None
        for post in posts:
            mention = parse_safely(parse_post, post)
            if mention is None:
                self.skipped += 1
                continue
            self.mentions[mention.native_id] = mention
            indexed = time_or_none(post.get("indexedAt")) or mention.created_at
            newest = indexed if newest is None else max(newest, indexed)
        return newest


class Adapter(BaseChannel[Settings]):
    name = NAME

    def __init__(self, settings: Settings, http: HttpClient) -> None:
        super().__init__(settings, http)
        self._access: str | None = None
        # From RateLimit-* headers: send nothing before this (kept across polls).
        self._resume_at: datetime | None = None

    def fetch(self, query: Query, cursor: str | None, now: datetime) -> FetchResult:
        saved = self.begin_poll(cursor)
        if self._resume_at and now < self._resume_at:
            return FetchResult((), cursor, warnings=(_pause_message(self._resume_at),))
        feeds = [_Feed(q, _feed_state(saved.get(q))) for q in search_terms(query.terms)]
        haul = _Haul()
        warnings = round_robin(feeds, lambda feed: self._step(feed, now, haul))
        return self.result(haul, {f.q: f.state for f in feeds}, warnings)

    def _step(self, feed: _Feed, now: datetime, haul: _Haul) -> bool:
        """Send one request for this feed; False once it has nothing left to read this poll."""
        gap = feed.state["gap"]
        if gap:
            posts, after = self._search(feed.q, gap["since"], gap["cursor"], now)
            haul.take(posts)
            more = after and posts
            feed.state["gap"] = {"cursor": after, "since": gap["since"]} if more else None
            return True
        if feed.read_top:
            return False
        top = time_or_none(feed.state["top"])
        since = _iso(top - self.settings.overlap if top else now - self.settings.backfill)
        posts, after = self._search(feed.q, since, None, now)
        feed.read_top = True
        newest = haul.take(posts)
        if newest is not None:
            feed.state["top"] = _iso(max(newest, top) if top else newest)
        if after and posts:
            feed.state["gap"] = {"cursor": after, "since": since}
        return feed.state["gap"] is not None

    def _search(
        self, q: str, since: str, after: str | None, now: datetime
    ) -> tuple[list[Any], str | None]:
        params = {"q": q, "sort": "latest", "since": since, "limit": self.settings.page_size}
        if after:
            params["cursor"] = after
        body = parse_json(self._get(params, now), NAME)
        posts = body.get("posts") if isinstance(body, dict) else None
        if not isinstance(posts, list):
            raise ChannelError(f"{NAME}: searchPosts answered without a posts list; will retry")
        next_cursor = body.get("cursor")
        return posts, next_cursor if isinstance(next_cursor, str) and next_cursor else None

    def _get(self, params: dict[str, Any], now: datetime) -> httpx.Response:
        response = self._send(params, now)
        error = _xrpc_error(response)
        stale = response.status_code == 401 or error in _TOKEN_ERRORS
        if self.settings.signs_in and stale:
            self._access = None  # the session expired or was revoked: sign in again, once
            response = self._send(params, now)
            error = _xrpc_error(response)
        status = response.status_code
        if status < 400:
            return response
        if status == 429:
            raise RateLimited(_pause_message(self._resume_at or now))
        if status in (401, 403) or error in _TOKEN_ERRORS:
            raise AuthError(self._refusal(status, error))
        raise ChannelError(f"{NAME}: searchPosts failed (HTTP {status} {error}); will retry")

    def _send(self, params: dict[str, Any], now: datetime) -> httpx.Response:
        if self._resume_at and now < self._resume_at:
            raise RateLimited(_pause_message(self._resume_at))
        headers = (
            {"Authorization": f"Bearer {self._session(now)}"} if self.settings.signs_in else None
        )
        response = self.http.request(
            "GET",
            self.settings.api_root + SEARCH,
            params=params,
            headers=headers,
            ok_statuses=(400, 401, 403, 429),
        )
        self._note_limits(response, now)
        return response

    def _session(self, now: datetime) -> str:
        if self._access:
            return self._access
        assert self.settings.app_password
        response = self.http.request(
            "POST",
            self.settings.api_root + CREATE_SESSION,
            json_body={
                "identifier": self.settings.identifier,
                "password": self.settings.app_password.reveal(),
            },
            ok_statuses=(400, 401, 429),
        )
        self._note_limits(response, now)
        if response.status_code == 429:
            raise RateLimited(_pause_message(self._resume_at or now))
        body = json_or_none(response)
        token = body.get("accessJwt") if isinstance(body, dict) else None
        if response.status_code >= 400 or not isinstance(token, str) or not token:
            raise AuthError(
                f"{NAME}: signing in as {self.settings.identifier!r} failed (HTTP "
                f"{response.status_code} {_xrpc_error(response)}); check "
                f"channels.bluesky.identifier and app_password (create an app password at "
                f"{APP_PASSWORDS})"
            )
        self._access = token
        return token

    def _refusal(self, status: int, error: str) -> str:
        if self.settings.signs_in:
            return (
                f"{NAME}: {self.settings.api_root} refused the session of "
                f"{self.settings.identifier!r} (HTTP {status} {error}); check "
                "channels.bluesky.identifier and app_password"
            )
        return (
            f"{NAME}: {self.settings.api_root} refused anonymous search (HTTP {status} {error}); "
            f"set channels.bluesky.identifier and app_password (an app password from "
            f"{APP_PASSWORDS}) to search through your account"
        )

    def _note_limits(self, response: httpx.Response, now: datetime) -> None:
        """Bluesky sends RateLimit-Remaining and RateLimit-Reset (epoch seconds)."""
        if response.status_code != 429 and response.headers.get("RateLimit-Remaining") != "0":
            return
        try:
            self._resume_at = datetime.fromtimestamp(int(response.headers["RateLimit-Reset"]), UTC)
        except (KeyError, ValueError, OverflowError, OSError):
            self._resume_at = now + timedelta(minutes=5)
        log.warning("rate_limited channel=%s until=%s", NAME, self._resume_at)


def _pause_message(until: datetime) -> str:
    return (
        f"{NAME}: rate limit reached; Bluesky asks to wait until "
        f"{until:%Y-%m-%d %H:%M:%S}Z, polling resumes after that"
    )


def _xrpc_error(response: httpx.Response) -> str:
    """The `error` name of an XRPC error body, or '' (it is never the request's secret)."""
    if response.status_code < 400:
        return ""
    body = json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    return error[:60] if isinstance(error, str) else ""


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _feed_state(raw: Any) -> dict[str, Any]:
    """A feed's saved state, or a fresh one (which backfills) when it is missing or damaged."""
    raw = raw if isinstance(raw, dict) else {}
    top, gap = raw.get("top"), raw.get("gap")
    top = top if time_or_none(top) else None
    valid_gap = isinstance(gap, dict) and isinstance(gap.get("cursor"), str)
    if not (valid_gap and time_or_none(gap.get("since"))):
        gap = None
    return {"top": top, "gap": gap}


def parse_post(post: Any) -> Mention | None:
    """One app.bsky.feed.defs#postView -> Mention, or None when it lacks what a mention needs."""
    if not isinstance(post, dict):
        return None
    uri, author, record = post.get("uri"), post.get("author"), post.get("record")
    if not isinstance(uri, str) or not isinstance(author, dict) or not isinstance(record, dict):
        return None
    parts = uri.split("/")  # at://{did}/app.bsky.feed.post/{rkey}
    did, handle, text = author.get("did"), author.get("handle"), record.get("text")
    if len(parts) != 5 or parts[3] != "app.bsky.feed.post" or not isinstance(did, str):
        return None
    if not isinstance(text, str) or not text.strip():
        return None
    created_at = time_or_none(record.get("createdAt"))
    if created_at is None:
        return None
    # Handles can fail verification ("handle.invalid"); the DID always resolves.
    profile = handle if isinstance(handle, str) and handle != "handle.invalid" else did
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    return Mention(
        channel=NAME,
        native_id=uri,
        url=f"https://bsky.app/profile/{profile}/post/{parts[4]}",
        author=profile,
        text=cap_text(text.strip()),  # plain text, not HTML: nothing to strip or decode
        created_at=created_at,
        lang=lang,
    )
