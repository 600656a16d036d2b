"""What every channel adapter shares: its settings, its protocol, and a careful HTTP client."""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from monitor import __version__
from monitor.models import FetchResult, Mention, Query

log = logging.getLogger(__name__)
F = TypeVar("F")

USER_AGENT = (
    f"monitor/{__version__} (self-hosted brand monitor; +https://github.com/monitor/monitor)"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelSettings:
    """Settings every channel accepts. Adapters subclass this with their own fields."""

    default_base_url: ClassVar[str] = ""

    every: timedelta = timedelta(minutes=5)
    backfill: timedelta = timedelta(days=14)
    base_url: str = ""
    max_requests: int = 20
    timeout: timedelta = timedelta(seconds=15)
    max_response_bytes: int = 5 * 1024 * 1024
    max_retries: int = 4
    # A Retry-After longer than this ends the poll; the next scheduled poll tries again.
    max_retry_wait: timedelta = timedelta(seconds=60)

    def __post_init__(self) -> None:
        if self.every.total_seconds() < 1:
            raise ValueError("every must be at least 1s")
        if self.max_requests < 1:
            raise ValueError("max_requests must be at least 1")

    @property
    def api_root(self) -> str:
        return (self.base_url or self.default_base_url).rstrip("/")


class Channel(Protocol):
    """A source of mentions. `fetch` never raises for one bad item: it skips and counts it."""

    name: str

    def fetch(self, query: Query, cursor: str | None, now: datetime) -> FetchResult: ...


class ChannelError(Exception):
    """A poll failed in a way the user should see in `monitor status`. Never carries a secret."""


class AuthError(ChannelError):
    pass


class RateLimited(ChannelError):
    pass


class BudgetExhausted(ChannelError):
    """The poll used its `max_requests`; adapters stop paginating and keep what they have."""


def redact_url(url: str | httpx.URL) -> str:
    """A URL fit for logs and errors: no query string, no userinfo (either may hold a key)."""
    parts = urlsplit(str(url))
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_URL_SECRETS = re.compile(r"(https?://)(?:[^\s/@]+@)?([^\s?#'\"]+)(?:[?#][^\s'\"]*)?")


def redact_text(text: str) -> str:
    """Any text with every URL's query string and userinfo removed (an unexpected error's message)."""
    return _URL_SECRETS.sub(r"\1\2", text)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class HttpClient:
    """One reused httpx.Client per adapter, with the behaviour every source needs.

    Timeouts, a response size cap, a User-Agent naming the project, and 429/5xx/transport errors
    retried with exponential backoff that honours Retry-After. `sleep` and `clock` are injected
    so tests run without waiting.
    """

    def __init__(
        self,
        channel: str,
        settings: ChannelSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        user_agent: str = USER_AGENT,
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.sleep = sleep
        self.clock = clock
        seconds = settings.timeout.total_seconds()
        self.client = httpx.Client(
            timeout=httpx.Timeout(seconds, connect=min(seconds, 10.0)),
            headers={"User-Agent": user_agent, "Accept": "application/json, */*;q=0.5"},
            follow_redirects=True,
        )
        self.requests = 0

    def begin_poll(self) -> None:
        self.requests = 0

    @property
    def budget_left(self) -> int:
        return self.settings.max_requests - self.requests

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send with retries. Returns a 2xx/3xx response (or one in `ok_statuses`), else raises."""
        where = f"{self.channel}: {method} {redact_url(url)}"
        attempt = 0
        while True:
            if self.requests >= self.settings.max_requests:
                raise BudgetExhausted(
                    f"{where}: request budget of {self.settings.max_requests} per poll used up; "
                    "raise max_requests to fetch more per poll"
                )
            self.requests += 1
            attempt += 1
            wait: float | None
            try:
                response = self._send(method, url, params, headers, json_body, data)
            except httpx.TimeoutException:
                problem, wait = "timed out", None
            except httpx.TransportError as exc:
                problem, wait = f"connection failed ({type(exc).__name__})", None
            else:
                status = response.status_code
                if status < 400 or status in ok_statuses:
                    return response
                if status in (401, 403):
                    raise AuthError(
                        f"{where}: HTTP {status}: the source refused our credentials; check the "
                        f"token or key configured under channels.{self.channel}"
                    )
                if status != 429 and status < 500:
                    raise ChannelError(f"{where}: HTTP {status}: {_short_body(response)}")
                problem = f"HTTP {status}"
                wait = retry_after_seconds(response.headers.get("Retry-After"), self.clock())
            if attempt > self.settings.max_retries:
                error = RateLimited if problem == "HTTP 429" else ChannelError
                raise error(f"{where}: {problem} after {attempt} attempts; will retry next poll")
            delay = wait if wait is not None else min(2.0 ** (attempt - 1), 30.0)
            if delay > self.settings.max_retry_wait.total_seconds():
                error = RateLimited if problem == "HTTP 429" else ChannelError
                raise error(
                    f"{where}: {problem}; the source asks to wait {delay:.0f}s, next poll retries"
                )
            log.warning(
                "http_retry channel=%s url=%s problem=%r attempt=%d wait=%.1fs",
                self.channel,
                redact_url(url),
                problem,
                attempt,
                delay,
            )
            self.sleep(delay)

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        json_body: Any,
        data: Mapping[str, str] | None,
    ) -> httpx.Response:
        """Stream the body so an oversized response is cut off, not read into memory."""
        limit = self.settings.max_response_bytes
        request = self.client.build_request(
            method, url, params=params, headers=headers, json=json_body, data=data
        )
        response = self.client.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise ChannelError(
                    f"{self.channel}: {redact_url(url)} answered {declared} bytes, over "
                    f"max_response_bytes={limit}; raise it under channels.{self.channel}"
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > limit:
                    raise ChannelError(
                        f"{self.channel}: {redact_url(url)} answered more than "
                        f"max_response_bytes={limit}; raise it under channels.{self.channel}"
                    )
        finally:
            response.close()
        # The body is already decoded: drop the headers that describe the encoded one, or httpx
        # would try to gunzip it a second time.
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=bytes(body), request=request
        )

    def get_json(self, url: str, **kwargs: Any) -> Any:
        response = self.request("GET", url, **kwargs)
        return parse_json(response, self.channel)


def parse_json(response: httpx.Response, channel: str) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ChannelError(
            f"{channel}: {redact_url(response.request.url)} returned malformed JSON "
            f"({exc.__class__.__name__} at byte {getattr(exc, 'pos', '?')}); will retry next poll"
        ) from None


def json_or_none(response: httpx.Response) -> Any:
    """The body as JSON, or None when it is not (an error page, a cut-off answer)."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _short_body(response: httpx.Response) -> str:
    return " ".join(response.text[:200].split()) or "(empty body)"


def parse_time(value: Any) -> datetime:
    """An ISO 8601 string or epoch seconds -> aware UTC datetime. Raises ValueError/TypeError."""
    if isinstance(value, int | float) and not isinstance(value, bool):
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


def time_or_none(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


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
