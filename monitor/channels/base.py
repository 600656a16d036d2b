"""What every channel adapter shares: its settings, its protocol, and parsing helpers.

The HTTP client lives in monitor.http; the names adapters (and, for now, notify.slack) use from
it are re-exported here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, ParamSpec, Protocol, TypeVar

from monitor.channels.settings.base import ChannelSettings
from monitor.http import (
    USER_AGENT,
    AuthError,
    BudgetExhausted,
    DeadlineExceeded,
    HttpClient,
    HttpError,
    RateLimited,
    json_or_none,
    parse_json,
    redact_text,
    redact_url,
    retry_after_seconds,
)
from monitor.models import FetchResult, Mention, Query

__all__ = [
    "USER_AGENT",
    "AuthError",
    "BaseChannel",
    "BudgetExhausted",
    "Channel",
    "ChannelError",
    "ChannelSettings",
    "DeadlineExceeded",
    "Haul",
    "HttpClient",
    "RateLimited",
    "feed_failures",
    "json_or_none",
    "load_cursor",
    "parse_json",
    "parse_safely",
    "parse_time",
    "quoted_terms",
    "redact_text",
    "redact_url",
    "retry_after_seconds",
    "round_robin",
    "search_terms",
    "time_or_none",
]

log = logging.getLogger(__name__)
F = TypeVar("F")
P = ParamSpec("P")

# A poll failed in a way the user should see in `monitor status`: any HTTP error is one.
ChannelError = HttpError


class Channel(Protocol):
    """A source of mentions. `fetch` never raises for one bad item: it skips and counts it."""

    name: str

    def fetch(self, query: Query, cursor: str | None, now: datetime) -> FetchResult: ...

    def close(self) -> None: ...


S = TypeVar("S", bound=ChannelSettings)


class BaseChannel(Generic[S]):
    """What every adapter does alike: settings and client, the cursor in and out, closing.

    Subclasses set `name` and write `fetch`; everything else they hold is their source's own.
    """

    name: ClassVar[str]

    def __init__(self, settings: S, http: HttpClient) -> None:
        self.settings = settings
        self.http = http
        self._poll_at: datetime | None = None

    def begin_poll(self, cursor: str | None, now: datetime | None = None) -> dict[str, Any]:
        """A fresh request budget, and the saved state (empty, so a backfill, if damaged).

        An adapter that answers `more=True` passes `now`: a fetch with the same `now` continues
        that poll, and spends what is left of its budget instead of starting a new one.
        """
        if now is None or now != self._poll_at:
            self.http.begin_poll()
        self._poll_at = now
        return load_cursor(cursor, self.name)

    def result(
        self,
        haul: Haul,
        state: Mapping[str, Any],
        warnings: Iterable[str] = (),
        *,
        more: bool = False,
    ) -> FetchResult:
        return FetchResult(
            mentions=tuple(haul.mentions.values()),
            cursor=json.dumps(state, sort_keys=True),
            skipped=haul.skipped,
            requests=self.http.requests,
            warnings=tuple(warnings),
            more=more,
        )

    def close(self) -> None:
        self.http.close()


def parse_time(value: Any) -> datetime:
    """An ISO 8601 string or epoch seconds -> aware UTC datetime. Raises ValueError/TypeError."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise TypeError(f"not a timestamp: {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def round_robin(feeds: list[F], step: Callable[[F], bool]) -> list[str]:
    """Advance each feed a page at a time until `step` says it is done.

    Turns keep one busy feed from starving the others of the poll's request budget; a spent
    budget or a rate limit ends the poll, and is returned as its warning.
    """
    pending = list(feeds)
    try:
        while pending:
            for feed in list(pending):
                if not step(feed):
                    pending.remove(feed)
    except (BudgetExhausted, RateLimited) as exc:
        return [str(exc)]
    return []


def search_terms(terms: tuple[str, ...]) -> list[str]:
    """A brand's terms as search queries: blanks dropped, multi-word terms as quoted phrases."""
    queries = []
    for term in terms:
        bare = term.strip().strip('"')
        if bare:
            queries.append(f'"{bare}"' if " " in bare else bare)
    return queries


def quoted_terms(channel: str, terms: tuple[str, ...], bare: re.Pattern[str]) -> list[str]:
    """A brand's terms for a search operator: each once, quoted unless it matches `bare`."""
    parts: list[str] = []
    for term in terms:
        word = term.strip().strip('"').replace('"', "").strip()
        if word:
            parts.append(word if bare.match(word) else f'"{word}"')
    if not parts:
        raise ChannelError(f"{channel}: the brand has no search terms; add some under its terms")
    return list(dict.fromkeys(parts))


def time_or_none(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def parse_safely(
    parse: Callable[P, Mention | None], *args: P.args, **kwargs: P.kwargs
) -> Mention | None:
    """Run an item parser; one item it cannot handle is skipped (None), never the whole poll.

    Every item is a stranger's: whatever shape it takes that the parser did not foresee must
    cost that item only, or the cursor never moves past it.
    """
    try:
        return parse(*args, **kwargs)
    except Exception as exc:
        log.warning(
            "item_skipped parser=%s error=%s",
            getattr(parse, "__qualname__", parse),
            type(exc).__name__,
        )
        return None


def feed_failures(
    channel: str,
    failed: Mapping[str, ChannelError],
    total: int,
    since: Mapping[str, Any],
    now: datetime,
    label: Callable[[str], str] = str,
) -> tuple[list[str], dict[str, str]]:
    """Feeds (feeds, sites, instances) that failed this poll -> one warning each, and since when.

    `failed` maps a feed to its error, `since` to the cursor's saved `failing_since`; messages
    name each feed by `label(feed)`, which must hold no secret. When every one of the `total` feeds failed the source is down, not
    degraded: that fails the poll, so it is recorded, shown and backed off like any failure.
    """
    if failed and len(failed) >= total:
        errors = list(failed.values())
        if len(errors) == 1:
            raise errors[0]
        kinds = {type(e) for e in errors}
        kind = kinds.pop() if len(kinds) == 1 else ChannelError
        raise kind(
            f"{channel}: all {total} failed: "
            + "; ".join(f"{label(f)}: {_own(channel, e)}" for f, e in failed.items())
        )
    failing_since = {}
    for feed in failed:
        saved = since.get(feed)
        failing_since[feed] = saved if isinstance(saved, str) else now.isoformat()
    warnings = [
        f"{channel}: {label(feed)} failing since {failing_since[feed]}: {_own(channel, error)}"
        for feed, error in failed.items()
    ]
    return warnings, failing_since


def _own(channel: str, error: Exception) -> str:
    return str(error).removeprefix(f"{channel}: ")


def load_cursor(cursor: str | None, channel: str) -> dict[str, Any]:
    """An adapter's saved JSON state; a damaged one is logged and replaced by a backfill."""
    if not cursor:
        return {}
    try:
        saved = json.loads(cursor)
    except ValueError:
        saved = None
    if not isinstance(saved, dict):
        log.warning("cursor_unreadable channel=%s action=backfill", channel)
        return {}
    return saved


@dataclass(slots=True)
class Haul:
    """What one poll collected: mentions by native id, bad items skipped, pages read."""

    mentions: dict[str, Mention] = field(default_factory=dict)
    skipped: int = 0
    pages: int = 0

    def add(self, mention: Mention | None) -> Mention | None:
        if mention is None:
            self.skipped += 1
        else:
            self.mentions[mention.native_id] = mention
        return mention
