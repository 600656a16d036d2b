"""Posts on X through API v2 recent search (`GET /2/tweets/search/recent`), app bearer token.

Recent search answers newest first and only reaches 7 days back. The cursor holds a floor (the
newest post id read, or a start time until the first post is seen) under which everything has
been read. A walk pages from the newest post down to the floor; when the poll's budget or a rate
limit ends a walk early, the cursor records the unread gap (`until_id`, the oldest post read) and
the next poll reads that gap first. X counts every post it returns against the project's monthly
cap, so a walk cut short keeps what it read instead of reading it again.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.channels.base import (
    BaseChannel,
    ChannelError,
    Haul,
    parse_safely,
    parse_time,
    quoted_terms,
)
from monitor.channels.settings.twitter import Settings
from monitor.http import AuthError, BudgetExhausted, RateLimited, parse_json, retry_after_seconds
from monitor.models import FetchResult, Mention, Query
from monitor.text import html_to_text, one_line

log = logging.getLogger(__name__)

NAME = "twitter"
SEARCH_PATH = "/2/tweets/search/recent"
POST_URL = "https://x.com/{username}/status/{id}"
ANONYMOUS_POST_URL = "https://x.com/i/web/status/{id}"
TWEET_FIELDS = "created_at,public_metrics,lang,author_id,note_tweet"
# start_time must be inside X's 7 days by X's clock: keep a few minutes clear of the edge.
HORIZON = timedelta(days=7) - timedelta(minutes=5)
_SNOWFLAKE_EPOCH_MS = 1288834974657
# X's codes for posts without a language (hashtags only, media only...): a language filter
# in the matcher must not drop them, so they are stored as "unknown".
_NO_LANGUAGE = frozenset({"und", "zxx", "qam", "qct", "qht", "qme", "qst"})
_BARE_TERM = re.compile(r"^[@#$]?\w+$")


def snowflake_time(post_id: int) -> datetime:
    """X ids carry their creation time in milliseconds since X's epoch, in the top bits."""
    return datetime.fromtimestamp(((post_id >> 22) + _SNOWFLAKE_EPOCH_MS) / 1000, UTC)


@dataclass(slots=True)
class _Cursor:
    since_id: int | None = None
    start: datetime | None = None
    # While set, posts between the floor and until_id are still unread; top_id is the newest
    # post read above them and becomes the floor once they are.
    until_id: int | None = None
    top_id: int | None = None

    @classmethod
    def load(cls, raw: dict[str, Any], fresh_start: datetime) -> _Cursor:
        """The saved cursor; a damaged one is logged and replaced by a backfill from fresh_start."""
        try:
            ids = {
                k: int(raw[k]) if raw.get(k) else None for k in ("since_id", "until_id", "top_id")
            }
            start = parse_time(raw["start"]) if raw.get("start") else None
        except (TypeError, ValueError, OverflowError):
            log.warning("cursor_unreadable channel=%s action=backfill", NAME)
            return cls(start=fresh_start)
        if not any(ids.values()) and start is None:
            return cls(start=fresh_start)
        return cls(start=start, **ids)

    def dump(self) -> dict[str, str]:
        raw = {
            "since_id": str(self.since_id) if self.since_id else None,
            "start": self.start.isoformat() if self.start else None,
            "until_id": str(self.until_id) if self.until_id else None,
            "top_id": str(self.top_id) if self.top_id else None,
        }
        return {k: v for k, v in raw.items() if v is not None}

    def clamp(self, horizon: datetime) -> None:
        """Forget what has aged out of recent search: X rejects ids and times older than 7 days."""
        if self.until_id is not None and snowflake_time(self.until_id) <= horizon:
            log.warning("gap_aged_out channel=%s until_id=%s", NAME, self.until_id)
            self.finish()
        if self.since_id is not None and snowflake_time(self.since_id) < horizon:
            self.since_id = None
        if self.since_id is None and (self.start is None or self.start < horizon):
            self.start = horizon

    def read(self, post_id: int) -> None:
        self.until_id = post_id if self.until_id is None else min(self.until_id, post_id)
        self.top_id = post_id if self.top_id is None else max(self.top_id, post_id)

    def finish(self) -> None:
        if self.top_id is not None and (self.since_id is None or self.top_id > self.since_id):
            self.since_id, self.start = self.top_id, None
        self.until_id = self.top_id = None


class Adapter(BaseChannel[Settings]):
    name = NAME

    def fetch(self, query: Query, cursor: str | None, now: datetime) -> FetchResult:
        saved = self.begin_poll(cursor)
        search = build_query(query.terms, self.settings.max_query_length)
        state = _Cursor.load(saved, now - self.settings.backfill)
        state.clamp(now - HORIZON)
        haul = Haul()
        warnings: list[str] = []
        try:
            if state.until_id is not None:
                self._walk(search, state, haul)
            self._walk(search, state, haul)
        except BudgetExhausted as exc:
            warnings.append(str(exc))
        except RateLimited as exc:
            if not haul.pages:
                raise
            warnings.append(str(exc))
        return self.result(haul, state.dump(), warnings)

    def _walk(self, search: str, state: _Cursor, haul: Haul) -> None:
        """Page from the newest post down to the floor (and above until_id, if a gap is open)."""
        params: dict[str, str | int] = {
            "query": search,
            "max_results": self.settings.max_results,
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": "public_metrics,username",
        }
        if state.since_id is not None:
            params["since_id"] = str(state.since_id)
        elif state.start is not None:
            params["start_time"] = state.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        if state.until_id is not None:
            params["until_id"] = str(state.until_id)
        token: str | None = None
        while True:
            body = self._get(params | ({"next_token": token} if token else {}))
            haul.pages += 1
            users = _users(body)
            for post in body.get("data") or []:
                mention = haul.add(parse_safely(parse_post, post, users))
                if mention is not None:
                    state.read(int(mention.native_id))
            meta = body.get("meta")
            token = meta.get("next_token") if isinstance(meta, dict) else None
            if not token:
                break
        state.finish()

    def _get(self, params: dict[str, str | int]) -> dict[str, Any]:
        url = self.settings.api_root + SEARCH_PATH
        headers = {"Authorization": f"Bearer {self.settings.bearer_token.reveal()}"}
        for _ in range(self.settings.max_retries + 1):
            response = self.http.request(
                "GET", url, params=params, headers=headers, ok_statuses=(401, 403, 429)
            )
            if response.status_code < 400:
                body = parse_json(response, NAME)
                if not isinstance(body, dict) or not isinstance(body.get("data", []), list):
                    raise ChannelError(f"{NAME}: recent search answered without a data list")
                return body
            problem = _problem(response.content)
            if response.status_code == 401:
                raise AuthError(
                    f"{NAME}: X rejected the bearer token (HTTP 401); set "
                    f"channels.{NAME}.bearer_token to the Bearer Token of an app in your X "
                    "developer Project (developer console, Keys and tokens)"
                )
            if response.status_code == 403:
                detail = one_line(str(problem.get("detail") or problem.get("title") or ""), 200)
                raise AuthError(
                    f"{NAME}: X refused recent search (HTTP 403: {detail or 'Forbidden'}); the "
                    "bearer token's app must belong to a Project whose access includes "
                    f"GET {SEARCH_PATH}"
                )
            wait = self._wait_for_reset(response, problem)
            log.warning("rate_limited channel=%s wait=%.0fs", NAME, wait)
            self.http.sleep(wait)
        raise RateLimited(f"{NAME}: still rate limited after {self.settings.max_retries + 1} tries")

    def _wait_for_reset(self, response: Any, problem: dict[str, Any]) -> float:
        """Seconds until X lifts the limit; raises RateLimited when that is too long to wait."""
        if str(problem.get("type", "")).endswith("/usage-capped"):
            period = str(problem.get("period") or "monthly").lower()
            raise RateLimited(
                f"{NAME}: X reports the project's {period} post cap is used up (HTTP 429); "
                "polling resumes when the cap resets, or raise the cap in the developer console"
            )
        now = self.http.clock()
        reset = response.headers.get("x-rate-limit-reset", "")
        if reset.isdigit():
            # The reset is in whole seconds: a second's margin avoids waking just before it.
            wait: float | None = max(0.0, int(reset) - now.timestamp()) + 1
            when = datetime.fromtimestamp(int(reset), UTC).strftime("%H:%M:%S UTC")
        else:
            wait = retry_after_seconds(response.headers.get("Retry-After"), now)
            when = "an unknown time" if wait is None else f"{wait:.0f}s from now"
        if wait is None or wait > self.settings.max_retry_wait.total_seconds():
            raise RateLimited(
                f"{NAME}: rate limit reached (HTTP 429); X lifts it at {when}; the next poll "
                "after that continues where this one stopped"
            )
        return wait


def build_query(terms: tuple[str, ...], limit: int) -> str:
    """Terms joined with OR, phrases quoted, reposts left out (they repeat someone's words)."""
    unique = quoted_terms(NAME, terms, _BARE_TERM)
    either = " OR ".join(unique)
    search = f"({either}) -is:retweet" if len(unique) > 1 else f"{either} -is:retweet"
    if len(search) > limit:
        raise ChannelError(
            f"{NAME}: the brand's search query is {len(search)} characters, over the {limit} X "
            f"allows; use fewer or shorter terms (or raise channels.{NAME}.max_query_length "
            "on Enterprise access)"
        )
    return search


def _problem(content: bytes) -> dict[str, Any]:
    try:
        body = json.loads(content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _users(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    includes = body.get("includes")
    users = includes.get("users") if isinstance(includes, dict) else None
    return {str(u["id"]): u for u in users or [] if isinstance(u, dict) and u.get("id") is not None}


def parse_post(post: Any, users: dict[str, dict[str, Any]]) -> Mention | None:
    """One post from `data` -> Mention, or None when it lacks an id, a time or text."""
    if not isinstance(post, dict) or not str(post.get("id", "")).isdigit():
        return None
    post_id = str(post["id"])
    note = post.get("note_tweet")
    # Long posts arrive cut at 280 characters in `text`; the whole of them is in note_tweet.
    raw = note.get("text") if isinstance(note, dict) and note.get("text") else post.get("text")
    text = html_to_text(raw) if isinstance(raw, str) else ""
    try:
        when = post.get("created_at")
        created_at = parse_time(when) if when is not None else snowflake_time(int(post_id))
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    if not text:
        return None
    author_id = str(post.get("author_id") or "")
    user = users.get(author_id, {})
    username = user.get("username") if isinstance(user.get("username"), str) else None
    metrics = user.get("public_metrics")
    followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
    lang = post.get("lang")
    return Mention(
        channel=NAME,
        native_id=post_id,
        url=(
            POST_URL.format(username=username, id=post_id)
            if username
            else ANONYMOUS_POST_URL.format(id=post_id)
        ),
        author=username or author_id or "unknown",
        text=text,
        created_at=created_at,
        author_reach=float(followers) if isinstance(followers, int | float) else None,
        lang=lang if isinstance(lang, str) and lang and lang not in _NO_LANGUAGE else None,
    )
