"""Stack Exchange questions through /2.3/search/advanced, one search per (site, term).

Each search asks for questions created since its cursor (less an overlap for indexing lag),
sorted by creation date ascending, so every page read moves that search's cursor forward and a
poll cut short resumes where it stopped. The API's own throttles are honoured: `backoff` N means
no call to the same method for N seconds, `quota_remaining` 0 means the day's quota for this IP
(or key) is gone, and a throttle_violation error says how long to stay away.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.channels.base import (
    BaseChannel,
    ChannelError,
    Haul,
    feed_failures,
    parse_safely,
    time_or_none,
)
from monitor.channels.settings.stackexchange import Settings
from monitor.http import AuthError, BudgetExhausted, HttpClient, RateLimited, parse_json
from monitor.models import FetchResult, Mention, Query
from monitor.text import cap_text, html_to_text

log = logging.getLogger(__name__)

NAME = "stackexchange"
METHOD = "search/advanced"
KEYS_PAGE = "https://stackapps.com/apps/oauth/register"
# error_id values that mean the key or token is wrong (api.stackexchange.com/docs/error-handling).
_AUTH_ERRORS = {401, 402, 403, 405, 406}
_THROTTLED = 502
# The cursor's key for {site: when it started failing}; "site:term" keys hold the searches.
FAILING_SINCE = "failing_since"
_AVAILABLE_IN = re.compile(r"available in (\d+) seconds?")


@dataclass(slots=True)
class _Feed:
    """One (site, term) search and its cursor: the newest creation_date read, epoch seconds."""

    site: str
    term: str
    newest: int | None
    since: int
    page: int = 1

    @property
    def key(self) -> str:
        return f"{self.site}:{self.term}"


class Adapter(BaseChannel[Settings]):
    name = NAME

    def __init__(self, settings: Settings, http: HttpClient) -> None:
        super().__init__(settings, http)
        # What the API asked for, kept across polls: no call to METHOD before `_resume_at`.
        self._resume_at: datetime | None = None
        self._resume_reason = ""
        self._quota_max: int | None = None

    def fetch(self, query: Query, cursor: str | None, now: datetime) -> FetchResult:
        saved = self.begin_poll(cursor)
        if self._resume_at and now < self._resume_at:
            if self._resume_reason == "quota":
                raise RateLimited(self._quota_message())
            return FetchResult((), cursor, warnings=(self._backoff_message(),))
        backfill_start = int((now - self.settings.backfill).timestamp())
        overlap = int(self.settings.overlap.total_seconds())
        feeds = []
        for site in self.settings.sites:
            for term in _terms(query.terms):
                newest = _epoch(saved.get(f"{site}:{term}"))
                since = backfill_start if newest is None else newest - overlap
                feeds.append(_Feed(site, term, newest, since))
        haul = Haul()
        warnings: list[str] = []
        failed: dict[str, ChannelError] = {}
        pending = list(feeds)
        try:
            while pending:
                for feed in list(pending):
                    if feed.site in failed:
                        pending.remove(feed)
                        continue
                    try:
                        more = self._step(feed, now, haul)
                    except (AuthError, BudgetExhausted, RateLimited):
                        raise
                    except ChannelError as exc:  # one bad site name must not stop the others
                        failed[feed.site] = exc
                        more = False
                    if not more:
                        pending.remove(feed)
        except (BudgetExhausted, RateLimited) as exc:
            warnings.append(str(exc))
        saved_since = saved.get(FAILING_SINCE)
        problems, failing_since = feed_failures(
            NAME,
            failed,
            len(self.settings.sites),
            saved_since if isinstance(saved_since, dict) else {},
            now,
        )
        state: dict[str, Any] = {f.key: f.newest for f in feeds if f.newest is not None}
        if failing_since:
            state[FAILING_SINCE] = failing_since
        return self.result(haul, state, [*problems, *warnings])

    def _step(self, feed: _Feed, now: datetime, haul: Haul) -> bool:
        """Read one page of this search; False once it has nothing left this poll."""
        if self._resume_at and now < self._resume_at:
            raise RateLimited(self._backoff_message())
        params: dict[str, str | int] = {
            "site": feed.site,
            "q": feed.term,
            "sort": "creation",
            "order": "asc",
            "fromdate": feed.since,
            "page": feed.page,
            "pagesize": self.settings.page_size,
            "filter": "withbody",
        }
        if self.settings.key:
            params["key"] = self.settings.key.reveal()
        response = self.http.request(
            "GET",
            f"{self.settings.api_root}/2.3/{METHOD}",
            params=params,
            ok_statuses=(400, 401, 403, 404),
        )
        body = parse_json(response, NAME)
        if not isinstance(body, dict):
            raise ChannelError(f"{NAME}: {feed.site} answered without a response wrapper")
        if "error_id" in body or response.status_code >= 400:
            self._raise_for_error(body, feed, response.status_code, now)
        items = body.get("items")
        if not isinstance(items, list):
            raise ChannelError(f"{NAME}: {feed.site} answered without an items list")
        for item in items:
            mention = parse_safely(parse_item, item, feed.site)
            if mention is None:
                haul.skipped += 1
                continue
            haul.mentions[mention.native_id] = mention
            created = int(mention.created_at.timestamp())
            feed.newest = created if feed.newest is None else max(feed.newest, created)
        feed.page += 1
        self._note_throttles(body, now)
        return bool(body.get("has_more")) and bool(items)

    def _note_throttles(self, body: dict[str, Any], now: datetime) -> None:
        """Remember `backoff` and a spent quota; the page that carried them is still kept."""
        self._quota_max = body.get("quota_max") if isinstance(body.get("quota_max"), int) else None
        backoff = body.get("backoff")
        if isinstance(backoff, int) and backoff > 0:
            self._pause(now + timedelta(seconds=backoff), "backoff")
            raise RateLimited(self._backoff_message())
        if body.get("quota_remaining") == 0:
            self._pause(now + self.settings.quota_retry, "quota")
            raise RateLimited(self._quota_message())

    def _raise_for_error(
        self, body: dict[str, Any], feed: _Feed, status: int, now: datetime
    ) -> None:
        error_id = body.get("error_id")
        name = str(body.get("error_name") or f"HTTP {status}")
        detail = str(body.get("error_message") or "")
        if error_id == _THROTTLED:
            found = _AVAILABLE_IN.search(detail)
            wait = timedelta(seconds=int(found.group(1))) if found else self.settings.quota_retry
            self._pause(now + wait, "throttled")
            raise RateLimited(self._backoff_message())
        is_key = error_id == 400 and "key" in detail.lower() and self.settings.key
        if error_id in _AUTH_ERRORS or is_key:
            raise AuthError(
                f"{NAME}: the API refused the app key ({name}); check channels.stackexchange.key "
                f"(register an app at {KEYS_PAGE}) or remove it to use the anonymous quota"
            )
        if self.settings.key:  # never echo the key, even if an error message quotes it
            detail = detail.replace(self.settings.key.reveal(), "***")
        raise ChannelError(f"{NAME}: {feed.site}: {name}: {detail[:200]}")

    def _pause(self, until: datetime, reason: str) -> None:
        self._resume_at, self._resume_reason = until, reason
        log.warning(
            "throttled channel=%s method=%s reason=%s until=%s", NAME, METHOD, reason, until
        )

    def _backoff_message(self) -> str:
        return (
            f"{NAME}: the API asked us to leave {METHOD} alone until "
            f"{self._resume_at:%Y-%m-%d %H:%M:%S}Z ({self._resume_reason}); polling resumes then"
        )

    def _quota_message(self) -> str:
        quota = f" of {self._quota_max}" if self._quota_max else ""
        hint = "" if self.settings.key else f"; an app key ({KEYS_PAGE}) raises it to 10,000"
        return (
            f"{NAME}: the daily request quota{quota} for this IP is used up; the next try is at "
            f"{self._resume_at:%Y-%m-%d %H:%M:%S}Z. Poll less often (every:) or fewer sites{hint}"
        )


def _terms(terms: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(t.strip().strip('"') for t in terms if t.strip().strip('"')))


def _epoch(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_item(item: Any, site: str) -> Mention | None:
    """One question -> Mention, or None when it lacks what a mention needs."""
    if not isinstance(item, dict):
        return None
    question_id, link = item.get("question_id"), item.get("link")
    created_at = time_or_none(item.get("creation_date"))
    if not isinstance(question_id, int) or not isinstance(link, str) or created_at is None:
        return None
    title, body = item.get("title"), item.get("body")
    parts = [html_to_text(v) if isinstance(v, str) else "" for v in (title, body)]
    text = cap_text("\n\n".join(p for p in parts if p))
    if not text:
        return None
    owner = item["owner"] if isinstance(item.get("owner"), dict) else {}
    name, reputation = owner.get("display_name"), owner.get("reputation")
    return Mention(
        channel=NAME,
        # Question ids repeat across sites, so the site is part of the identity.
        native_id=f"{site}:{question_id}",
        url=link,
        author=html_to_text(name) if isinstance(name, str) and name else "[unknown]",
        text=text,
        created_at=created_at,
        author_reach=float(reputation) if isinstance(reputation, int) else None,
    )
