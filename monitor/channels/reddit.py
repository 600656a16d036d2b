"""Reddit posts (and, where Reddit answers it, comments) through the search listing.

Reddit's search sorts `new` newest first and has no time filter, so a poll reads the newest page
and follows `after` back until it reaches what the last poll covered, less an overlap for
Reddit's indexing lag. A poll cut short (request budget, Reddit's rate-limit window) leaves a gap
in the cursor: the `after` token where it stopped and the floor it was reading down to. The next
poll closes the gap before it reads anything newer, so nothing in between is skipped.
"""

from __future__ import annotations

import base64
import html
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

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
from monitor.channels.settings.reddit import WEB_ROOT, Settings
from monitor.http import AuthError, HttpClient, RateLimited, json_or_none, parse_json, redact_url
from monitor.models import FetchResult, Mention, Query
from monitor.text import cap_text, html_to_text

log = logging.getLogger(__name__)

NAME = "reddit"
APPS_PAGE = "https://www.reddit.com/prefs/apps"

Kind = Literal["link", "comment"]


@dataclass(slots=True)
class _Feed:
    """One search (links or comments) and its part of the cursor, updated page by page."""

    kind: Kind
    q: str
    state: dict[str, Any]
    read_top: bool = False


@dataclass(slots=True)
class _Haul(Haul):
    def take(self, children: list[Any], floor: float) -> tuple[bool, float | None]:
        """Keep children at or above `floor`; say whether the floor was reached, and the newest."""
        reached, newest = False, None
        for child in children:
            mention = parse_safely(parse_child, child)
            if mention is None:
                self.skipped += 1
                continue
            when = mention.created_at.timestamp()
            newest = when if newest is None else max(newest, when)
            if when < floor:
                reached = True
            else:
                self.mentions[mention.native_id] = mention
        return reached, newest


class Adapter(BaseChannel[Settings]):
    name = NAME

    def __init__(self, settings: Settings, http: HttpClient) -> None:
        super().__init__(settings, http)
        self._token: str | None = None
        self._token_expires = datetime.min.replace(tzinfo=UTC)
        # From Reddit's x-ratelimit headers: send nothing before this (kept across polls).
        self._resume_at: datetime | None = None

    def fetch(self, query: Query, cursor: str | None, now: datetime) -> FetchResult:
        states = self.begin_poll(cursor)
        if self._resume_at and now < self._resume_at:
            return FetchResult((), cursor, warnings=(_window_message(self._resume_at),))
        q = search_query(query.terms)
        kinds: list[Kind] = ["link", "comment"] if self.settings.comments else ["link"]
        feeds = [_Feed(kind, q, _feed_state(states.get(f"{kind}:{q}"))) for kind in kinds]
        haul = _Haul()
        warnings = round_robin(feeds, lambda feed: self._step(feed, now, haul))
        return self.result(haul, {f"{f.kind}:{f.q}": f.state for f in feeds}, warnings)

    def _step(self, feed: _Feed, now: datetime, haul: _Haul) -> bool:
        """Send one request for this feed; False once it has nothing left to read this poll."""
        gap = feed.state.get("gap")
        if gap:
            children, after = self._search(feed, gap["after"], now)
            reached, _ = haul.take(children, gap["floor"])
            more = after and not reached and children
            feed.state["gap"] = {"after": after, "floor": gap["floor"]} if more else None
            return True
        if feed.read_top:
            return False
        top = feed.state.get("top")
        if top is None:
            floor = (now - self.settings.backfill).timestamp()
        else:
            floor = top - self.settings.overlap.total_seconds()
        children, after = self._search(feed, None, now)
        feed.read_top = True
        reached, newest = haul.take(children, floor)
        if newest is not None:
            feed.state["top"] = newest if top is None else max(newest, top)
        if after and children and not reached:
            feed.state["gap"] = {"after": after, "floor": floor}
        return feed.state["gap"] is not None

    def _search(
        self, feed: _Feed, after: str | None, now: datetime
    ) -> tuple[list[Any], str | None]:
        params: dict[str, str | int] = {
            "q": feed.q,
            "sort": "new",
            "type": feed.kind,
            "limit": self.settings.page_size,
            "include_over_18": "on",
        }
        if after:
            params["after"] = after
        path = "/search" if self.settings.oauth else "/search.json"
        body = parse_json(self._get(self.settings.api_root + path, params, now), NAME)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("children"), list):
            raise ChannelError(f"{NAME}: search answered without a listing; will retry next poll")
        children, next_after = data["children"], data.get("after")
        return children, next_after if isinstance(next_after, str) and next_after else None

    def _get(self, url: str, params: dict[str, str | int], now: datetime) -> httpx.Response:
        response = self._send(url, params, now)
        if response.status_code == 401 and self.settings.oauth:
            self._token = None  # expired or revoked: ask for a fresh token, once
            response = self._send(url, params, now)
        if response.status_code >= 400:
            raise AuthError(_refusal(response.status_code, self.settings.oauth))
        return response

    def _send(self, url: str, params: dict[str, str | int], now: datetime) -> httpx.Response:
        if self._resume_at and now < self._resume_at:
            raise RateLimited(_window_message(self._resume_at))
        headers = {"User-Agent": self.settings.user_agent}
        if self.settings.oauth:
            headers["Authorization"] = f"bearer {self._access_token(now)}"
        response = self.http.request(
            "GET", url, params=params, headers=headers, ok_statuses=(401, 403)
        )
        self._note_window(response, now)
        return response

    def _access_token(self, now: datetime) -> str:
        if self._token and now < self._token_expires:
            return self._token
        assert self.settings.client_id and self.settings.client_secret
        pair = f"{self.settings.client_id.reveal()}:{self.settings.client_secret.reveal()}"
        response = self.http.request(
            "POST",
            self.settings.token_url,
            data={"grant_type": "client_credentials"},
            headers={
                "User-Agent": self.settings.user_agent,
                "Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii"),
            },
            ok_statuses=(400, 401, 403),
        )
        body = json_or_none(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code >= 400 or not isinstance(token, str) or not token:
            raise AuthError(
                f"{NAME}: Reddit refused the app credentials (HTTP {response.status_code}) at "
                f"{redact_url(self.settings.token_url)}; check channels.reddit.client_id and "
                f"client_secret against the app listed at {APPS_PAGE}"
            )
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        self._token = token
        # Renew a minute early so a token never expires between check and use.
        self._token_expires = now + timedelta(seconds=max(0.0, lifetime - 60))
        return token

    def _note_window(self, response: httpx.Response, now: datetime) -> None:
        """Reddit counts requests per window and says how many are left and when it resets."""
        try:
            remaining = float(response.headers.get("x-ratelimit-remaining", "nan"))
            reset = float(response.headers.get("x-ratelimit-reset", "nan"))
        except ValueError:
            return
        if remaining < 1 and reset >= 0:
            self._resume_at = now + timedelta(seconds=reset)
            log.warning("rate_window_used channel=%s resume_in=%.0fs", NAME, reset)


def _window_message(until: datetime) -> str:
    return (
        f"{NAME}: Reddit's rate-limit window is used up until "
        f"{until:%Y-%m-%d %H:%M:%S}Z; polling resumes after that"
    )


def _refusal(status: int, oauth: bool) -> str:
    if oauth:
        return (
            f"{NAME}: Reddit refused the OAuth token (HTTP {status}); check "
            f"channels.reddit.client_id and client_secret against the app at {APPS_PAGE}"
        )
    return (
        f"{NAME}: Reddit refused anonymous access (HTTP {status}); make "
        f"channels.reddit.user_agent descriptive, or create an app at {APPS_PAGE} and set "
        "client_id and client_secret"
    )


def search_query(terms: tuple[str, ...]) -> str:
    """Any of the terms, in Reddit's search syntax; multi-word terms as phrases."""
    return " OR ".join(search_terms(terms))


def _feed_state(raw: Any) -> dict[str, Any]:
    """A feed's saved state, or a fresh one (which backfills) when it is missing or damaged."""
    raw = raw if isinstance(raw, dict) else {}
    top, gap = raw.get("top"), raw.get("gap")
    if not isinstance(top, int | float) or isinstance(top, bool):
        top = None
    valid_gap = isinstance(gap, dict) and isinstance(gap.get("after"), str)
    if not (valid_gap and isinstance(gap.get("floor"), int | float)):
        gap = None
    return {"top": top, "gap": gap}


def parse_child(child: Any) -> Mention | None:
    """One listing child (t3 post or t1 comment) -> Mention, or None when it lacks what we need."""
    if not isinstance(child, dict) or child.get("kind") not in ("t1", "t3"):
        return None
    data = child.get("data")
    if not isinstance(data, dict):
        return None
    fullname, permalink = data.get("name"), data.get("permalink")
    if not isinstance(fullname, str) or not isinstance(permalink, str):
        return None
    created_at = time_or_none(data.get("created_utc"))
    if created_at is None:
        return None
    if child["kind"] == "t3":
        title = data.get("title")
        parts = [html_to_text(title) if isinstance(title, str) else "", _body(data, "selftext")]
    else:
        parts = [_body(data, "body")]
    text = cap_text("\n\n".join(p for p in parts if p))
    if not text:
        return None
    score = data.get("score")
    reach = float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None
    return Mention(
        channel=NAME,
        native_id=fullname,
        url=WEB_ROOT + permalink,
        author=str(data.get("author") or "[unknown]"),
        text=text,
        created_at=created_at,
        author_reach=reach,
    )


def _body(data: dict[str, Any], name: str) -> str:
    """Prefer Reddit's rendered HTML, which it escapes once more inside the JSON."""
    rendered = data.get(f"{name}_html")
    if isinstance(rendered, str) and rendered:
        return html_to_text(html.unescape(rendered))
    raw = data.get(name)
    return html_to_text(raw) if isinstance(raw, str) else ""
