"""Mastodon statuses from hashtag timelines and, with a token, full-text search, per instance.

Hashtag timelines page forward with `min_id`, so a poll cut short keeps every page it read and
the next one resumes where it stopped. Search (`/api/v2/search`) answers newest first; a poll cut
short there leaves a gap (the `max_id` it reached and the floor it was reading down to) that the
next poll closes before it reads anything newer. Vanilla Mastodon ids are time-based snowflakes:
that lets the first poll start `backfill` ago, and every later poll re-read an `overlap`, because
a post that federates late keeps an id from the time it was published.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx

from monitor.channels.base import (
    BaseChannel,
    ChannelError,
    Haul,
    feed_failures,
    parse_safely,
    parse_time,
    search_terms,
    time_or_none,
)
from monitor.channels.settings.mastodon import Settings, instance_root
from monitor.http import AuthError, BudgetExhausted, HttpClient, RateLimited, parse_json
from monitor.models import FetchResult, Mention, Query
from monitor.text import cap_text, html_to_text
from monitor.validate import Secret

log = logging.getLogger(__name__)

NAME = "mastodon"
# The key, in an instance's part of the cursor, for when it started failing.
FAILING_SINCE = "failing_since"
# Ids whose top bits read as a time before 2014 are not snowflakes; leave them opaque.
_SNOWFLAKE_FLOOR_MS = 1_388_534_400_000


@dataclass(slots=True)
class _Feed:
    """One hashtag timeline or one search on one instance, and its part of the cursor."""

    root: str
    token: Secret | None
    kind: Literal["tag", "search"]
    name: str
    state: dict[str, Any]
    next_min_id: str | None = None
    read_top: bool = False

    @property
    def key(self) -> str:
        return ("#" if self.kind == "tag" else "?") + self.name

    @property
    def host(self) -> str:
        return urlsplit(self.root).netloc


@dataclass(slots=True)
class _Haul(Haul):
    def take(self, statuses: list[Any], host: str) -> tuple[str | None, str | None]:
        """Keep the good statuses, count the bad; return the newest and oldest ids seen."""
        ids = [s["id"] for s in statuses if isinstance(s, dict) and isinstance(s.get("id"), str)]
        for status in statuses:
            mention = parse_safely(parse_status, status, host)
            if mention is None:
                self.skipped += 1
            else:
                self.mentions[mention.native_id] = mention
        self.pages += 1
        if not ids:
            return None, None
        return max(ids, key=_id_order), min(ids, key=_id_order)


class Adapter(BaseChannel[Settings]):
    name = NAME

    def __init__(self, settings: Settings, http: HttpClient) -> None:
        super().__init__(settings, http)
        # Instance root -> no request before this, from its X-RateLimit headers (kept across polls).
        self._paused: dict[str, datetime] = {}

    def fetch(self, query: Query, cursor: str | None, now: datetime) -> FetchResult:
        saved = self.begin_poll(cursor)
        roots = [instance_root(i) for i in self.settings.instances]
        feeds = [f for root in roots for f in self._feeds(root, query, saved.get(root))]
        haul = _Haul()
        failed: dict[str, ChannelError] = {}
        warnings: list[str] = []
        pending = list(feeds)
        try:
            while pending:
                for feed in list(pending):
                    if feed.root in failed or self._paused_until(feed.root, now):
                        pending.remove(feed)
                        continue
                    try:
                        more = self._step(feed, now, haul)
                    except RateLimited:
                        more = False  # the instance is paused; the others go on
                    except BudgetExhausted:
                        raise
                    except ChannelError as exc:
                        failed[feed.root] = exc
                        more = False
                    if not more:
                        pending.remove(feed)
        except BudgetExhausted as exc:
            warnings.append(str(exc))
        since = {r: s.get(FAILING_SINCE) for r in failed if isinstance(s := saved.get(r), dict)}
        problems, failing_since = feed_failures(NAME, failed, len(roots), since, now)
        warnings.extend(self._pause_notes(roots, now))
        state: dict[str, dict[str, Any]] = {root: {} for root in roots}
        for feed in feeds:
            state[feed.root][feed.key] = feed.state
        for root, when in failing_since.items():
            state[root][FAILING_SINCE] = when
        return self.result(haul, state, [*problems, *warnings])

    def _feeds(self, root: str, query: Query, saved: Any) -> list[_Feed]:
        saved = saved if isinstance(saved, dict) else {}
        token = self.settings.token_for(root)
        feeds = [_Feed(root, token, "tag", tag, {}) for tag in hashtags(query.terms)]
        if token and self.settings.search:
            feeds += [_Feed(root, token, "search", q, {}) for q in search_terms(query.terms)]
        for feed in feeds:
            feed.state = _clean_state(saved.get(feed.key))
        return feeds

    def _step(self, feed: _Feed, now: datetime, haul: _Haul) -> bool:
        """Send one request for this feed; False once it has nothing left to read this poll."""
        if feed.kind == "tag":
            return self._step_tag(feed, now, haul)
        return self._step_search(feed, now, haul)

    def _step_tag(self, feed: _Feed, now: datetime, haul: _Haul) -> bool:
        if feed.next_min_id is None:
            last = feed.state.get("min_id")
            feed.next_min_id = (
                rewind(last, self.settings.overlap)
                if isinstance(last, str)
                else snowflake_at(now - self.settings.backfill)
            )
        path = f"/api/v1/timelines/tag/{quote(feed.name, safe='')}"
        params = {"min_id": feed.next_min_id, "limit": self.settings.page_size}
        statuses = self._get(feed, path, params, now)
        if statuses is None:  # the tag was never used on this server
            return False
        if not isinstance(statuses, list):
            raise ChannelError(f"{NAME}: {feed.host} answered a timeline that is not a list")
        newest, _ = haul.take(statuses, feed.host)
        if newest is None:
            return False
        feed.next_min_id = newest
        feed.state["min_id"] = max(newest, feed.state.get("min_id") or newest, key=_id_order)
        return len(statuses) >= self.settings.page_size

    def _step_search(self, feed: _Feed, now: datetime, haul: _Haul) -> bool:
        full = self.settings.page_size
        gap = feed.state.get("gap")
        if isinstance(gap, dict):
            statuses = self._search(feed, {"min_id": gap["floor"], "max_id": gap["max_id"]}, now)
            _, oldest = haul.take(statuses, feed.host)
            more = len(statuses) >= full and oldest
            feed.state["gap"] = {"max_id": oldest, "floor": gap["floor"]} if more else None
            return True
        if feed.read_top:
            return False
        top = feed.state.get("top")
        floor = (
            rewind(top, self.settings.overlap)
            if isinstance(top, str)
            else snowflake_at(now - self.settings.backfill)
        )
        statuses = self._search(feed, {"min_id": floor}, now)
        feed.read_top = True
        newest, oldest = haul.take(statuses, feed.host)
        if newest is not None:
            feed.state["top"] = max(newest, top or newest, key=_id_order)
        if len(statuses) >= full and oldest:
            feed.state["gap"] = {"max_id": oldest, "floor": floor}
        return bool(feed.state.get("gap"))

    def _search(self, feed: _Feed, bounds: dict[str, str], now: datetime) -> list[Any]:
        params = {"q": feed.name, "type": "statuses", "limit": self.settings.page_size} | bounds
        body = self._get(feed, "/api/v2/search", params, now)
        statuses = body.get("statuses") if isinstance(body, dict) else None
        if not isinstance(statuses, list):
            raise ChannelError(f"{NAME}: {feed.host} has no usable /api/v2/search; skipped")
        return statuses

    def _get(self, feed: _Feed, path: str, params: dict[str, Any], now: datetime) -> Any:
        """The decoded body, or None for 404. Raises RateLimited after pausing the instance."""
        headers = {"Authorization": f"Bearer {feed.token.reveal()}"} if feed.token else None
        response = self.http.request(
            "GET",
            feed.root + path,
            params=params,
            headers=headers,
            ok_statuses=(401, 403, 404, 429),
        )
        status = response.status_code
        self._note_limits(feed.root, response, now)
        if status == 429:
            raise RateLimited(f"{NAME}: {feed.host} answered HTTP 429")
        if status in (401, 403):
            raise AuthError(_refusal(feed, status))
        if status == 404:
            return None
        return parse_json(response, NAME)

    def _note_limits(self, root: str, response: httpx.Response, now: datetime) -> None:
        """Mastodon counts requests per 5 minutes; at 0 left, wait for the reset it names."""
        if response.status_code != 429 and response.headers.get("X-RateLimit-Remaining") != "0":
            return
        self._paused[root] = _reset_time(response.headers.get("X-RateLimit-Reset"), now)
        log.warning("rate_limited channel=%s instance=%s until=%s", NAME, root, self._paused[root])

    def _paused_until(self, root: str, now: datetime) -> datetime | None:
        until = self._paused.get(root)
        return until if until and now < until else None

    def _pause_notes(self, roots: list[str], now: datetime) -> list[str]:
        notes = []
        for root in roots:
            until = self._paused_until(root, now)
            if until:
                notes.append(
                    f"{NAME}: {urlsplit(root).netloc} asked us to wait until "
                    f"{until:%Y-%m-%d %H:%M:%S}Z (rate limit); it is skipped until then"
                )
        return notes


def _refusal(feed: _Feed, status: int) -> str:
    if feed.token:
        return (
            f"{NAME}: {feed.host} refused the access token (HTTP {status}); check "
            f"channels.mastodon.tokens for {feed.root} (it needs the read:statuses scope)"
        )
    return (
        f"{NAME}: {feed.host} requires a signed-in app for this (HTTP {status}); create an "
        f"application with the read:statuses scope under Preferences > Development on "
        f"{feed.host} and set its token under channels.mastodon.tokens"
    )


def _reset_time(value: str | None, now: datetime) -> datetime:
    """X-RateLimit-Reset is an ISO 8601 time in Mastodon; fall back to its 5-minute window."""
    try:
        return max(now, parse_time(value))
    except (TypeError, ValueError, OverflowError, OSError):
        return now + timedelta(minutes=5)


def hashtags(terms: tuple[str, ...]) -> list[str]:
    """Each term as the hashtag Mastodon would index: `Acme Corp` -> `acmecorp`."""
    tags: list[str] = []
    for term in terms:
        bare = term.strip().lstrip("#@").split("@")[0]
        tag = re.sub(r"\W", "", bare).lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def snowflake_at(when: datetime) -> str:
    """The smallest vanilla Mastodon id minted at `when` (milliseconds in the top bits)."""
    return str(int(when.timestamp() * 1000) << 16)


def rewind(status_id: str, by: timedelta) -> str:
    """A snowflake id `by` earlier; ids that are not snowflakes are opaque and kept as they are."""
    if status_id.isdigit() and int(status_id) >> 16 > _SNOWFLAKE_FLOOR_MS:
        return str(((int(status_id) >> 16) - int(by.total_seconds() * 1000)) << 16)
    return status_id


def _id_order(status_id: str) -> tuple[int, str]:
    """Mastodon's documented id order: longer is newer, then lexical."""
    return len(status_id), status_id


def _clean_state(raw: Any) -> dict[str, Any]:
    """A feed's saved ids, dropping anything damaged (a fresh feed backfills)."""
    raw = raw if isinstance(raw, dict) else {}
    state = {k: raw[k] for k in ("min_id", "top") if isinstance(raw.get(k), str)}
    gap = raw.get("gap")
    if isinstance(gap, dict) and all(isinstance(gap.get(k), str) for k in ("max_id", "floor")):
        state["gap"] = {"max_id": gap["max_id"], "floor": gap["floor"]}
    return state


def parse_status(status: Any, host: str) -> Mention | None:
    """One Status entity -> Mention, or None when it lacks what a mention needs."""
    if isinstance(status, dict) and isinstance(status.get("reblog"), dict):
        status = status["reblog"]
    if not isinstance(status, dict):
        return None
    uri, account = status.get("uri"), status.get("account")
    if not isinstance(uri, str) or not uri or not isinstance(account, dict):
        return None
    acct = account.get("acct")
    if not isinstance(acct, str) or not acct:
        return None
    created_at = time_or_none(status.get("created_at"))
    if created_at is None:
        return None
    content, spoiler = status.get("content"), status.get("spoiler_text")
    parts = [
        spoiler.strip() if isinstance(spoiler, str) else "",
        html_to_text(content) if isinstance(content, str) else "",
    ]
    text = cap_text("\n\n".join(p for p in parts if p))
    if not text:
        return None
    followers = account.get("followers_count")
    url = status.get("url")
    lang = status.get("language")
    return Mention(
        channel=NAME,
        native_id=uri,
        url=url if isinstance(url, str) and url else uri,
        author=acct if "@" in acct else f"{acct}@{host}",
        text=text,
        created_at=created_at,
        author_reach=float(followers)
        if isinstance(followers, int) and not isinstance(followers, bool)
        else None,
        lang=lang if isinstance(lang, str) else None,
    )
