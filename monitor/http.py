"""The one HTTP client for channels and notifiers: limits, retries, and nothing secret in errors.

Every request gets a User-Agent naming the project, connect/read timeouts, an overall deadline
(a server dripping one byte at a time never trips a per-read timeout), a response size cap, and
429/5xx/transport errors retried with exponential backoff that honours Retry-After.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from monitor import __version__
from monitor.http_settings import HttpSettings

log = logging.getLogger(__name__)

USER_AGENT = (
    f"monitor/{__version__} (self-hosted brand monitor; +https://github.com/monitor/monitor)"
)


class HttpError(Exception):
    """A request failed in a way the user should see. Never carries a secret."""


class AuthError(HttpError):
    pass


class RateLimited(HttpError):
    pass


class BudgetExhausted(HttpError):
    """The client used its `max_requests`; callers stop paginating and keep what they have."""


class DeadlineExceeded(HttpError):
    """The answer did not arrive in full within the overall deadline."""


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
    """One reused httpx.Client per caller. `sleep`, `clock` and `monotonic` are injected so
    tests run without waiting."""

    def __init__(
        self,
        name: str,
        settings: HttpSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.channel = name
        self.settings = settings
        self.sleep = sleep
        self.clock = clock
        self.monotonic = monotonic
        self.client = httpx.Client(
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
                    raise HttpError(f"{where}: HTTP {status}: {_short_body(response)}")
                problem = f"HTTP {status}"
                wait = retry_after_seconds(response.headers.get("Retry-After"), self.clock())
            if attempt > self.settings.max_retries:
                error = RateLimited if problem == "HTTP 429" else HttpError
                raise error(f"{where}: {problem} after {attempt} attempts; will retry next poll")
            delay = wait if wait is not None else min(2.0 ** (attempt - 1), 30.0)
            if delay > self.settings.max_retry_wait.total_seconds():
                error = RateLimited if problem == "HTTP 429" else HttpError
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
        """Stream the body so an oversized or dripping response is cut off, not waited for."""
        limit = self.settings.max_response_bytes
        allowed = self.settings.deadline_seconds
        started = self.monotonic()
        request = self.client.build_request(
            method,
            url,
            params=params,
            headers=headers,
            json=json_body,
            data=data,
            timeout=self._timeout(allowed),
        )
        response = self.client.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise HttpError(
                    f"{self.channel}: {redact_url(url)} answered {declared} bytes, over "
                    f"max_response_bytes={limit}; raise it under channels.{self.channel}"
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > limit:
                    raise HttpError(
                        f"{self.channel}: {redact_url(url)} answered more than "
                        f"max_response_bytes={limit}; raise it under channels.{self.channel}"
                    )
                # Each read is bounded by the timeout; the sum of reads only by this check.
                if self.monotonic() - started > allowed:
                    raise DeadlineExceeded(
                        f"{self.channel}: {redact_url(url)} did not finish answering within "
                        f"the {allowed:g}s deadline ({len(body)} bytes so far); raise deadline "
                        f"under channels.{self.channel} if the source is just slow"
                    )
        finally:
            response.close()
        # The body is already decoded: drop the headers that describe the encoded one, or httpx
        # would try to gunzip it a second time.
        kept = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(
            response.status_code, headers=kept, content=bytes(body), request=request
        )

    def _timeout(self, allowed: float) -> httpx.Timeout:
        """No single wait may be longer than the whole request is allowed to take."""
        seconds = min(self.settings.timeout.total_seconds(), allowed)
        return httpx.Timeout(seconds, connect=min(seconds, 10.0))

    def get_json(self, url: str, **kwargs: Any) -> Any:
        response = self.request("GET", url, **kwargs)
        return parse_json(response, self.channel)


def parse_json(response: httpx.Response, name: str) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpError(
            f"{name}: {redact_url(response.request.url)} returned malformed JSON "
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
