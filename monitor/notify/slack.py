"""Slack alerts and weekly digests: an incoming webhook, or `chat.postMessage` with a bot token.

Both send the same Block Kit message (`slack_render`) with a `text` fallback (shown in
notifications). With a bot token a posted page's `channel` and `ts` are kept, and an incident's
growth edits that message in place with `chat.update` (which notifies no one); a webhook cannot
edit what it posted. Errors name what to fix and never carry the webhook URL or the token.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, timedelta, tzinfo
from typing import Any

import httpx

from monitor.config import SlackReceiver, TeamConfig
from monitor.http import USER_AGENT, redact_url, retry_after_seconds
from monitor.models import Alert, Clock, Digest, utcnow
from monitor.notify.base import DeliveryError, Setup
from monitor.notify.slack_errors import (
    API_PERMANENT,
    HOOK_PERMANENT,
    RATE_LIMITED,
    UPDATE_PERMANENT,
    error_code,
)
from monitor.notify.slack_render import (
    FIELD_LIMIT,
    HEADER_LIMIT,
    MAX_BLOCKS,
    MAX_FIELDS,
    SECTION_LIMIT,
    build_message,
    slack_message,
)

# Rendering lives in slack_render; these names stay importable from here.
__all__ = [
    "FIELD_LIMIT",
    "HEADER_LIMIT",
    "MAX_BLOCKS",
    "MAX_FIELDS",
    "SECTION_LIMIT",
    "PostedRef",
    "SlackNotifier",
    "build_message",
    "from_team",
    "slack_message",
]

_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,512}")


def from_team(team: TeamConfig, setup: Setup) -> SlackNotifier | None:
    if team.slack is None:
        return None
    return SlackNotifier(team.slack, team=setup.team, tz=setup.tz, clock=setup.clock)


@dataclass(frozen=True, slots=True)
class PostedRef:
    """Where chat.postMessage put a message: what chat.update needs to edit it."""

    channel: str
    ts: str

    def dump(self) -> str:
        return json.dumps({"channel": self.channel, "ts": self.ts})

    @classmethod
    def load(cls, text: str) -> PostedRef | None:
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        channel, ts = data.get("channel"), data.get("ts")
        if not isinstance(channel, str) or not isinstance(ts, str) or not channel or not ts:
            return None
        return cls(channel, ts)


class SlackNotifier:
    """Post alerts to one Slack channel through one reused HTTP client."""

    kind = "slack"

    def __init__(
        self,
        receiver: SlackReceiver,
        *,
        team: str = "",
        tz: tzinfo = UTC,
        timeout: float = 10.0,
        clock: Clock = utcnow,
    ) -> None:
        self.receiver = receiver
        self.tz = tz
        self.clock = clock
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"User-Agent": USER_AGENT},
            # A redirect from a webhook URL means the URL is wrong; following it would send the
            # alert somewhere nobody configured.
            follow_redirects=False,
        )
        for_team = f" for team {team}" if team else ""
        if receiver.webhook_url:
            self.where = f"slack webhook{for_team}"
        else:
            self.where = f"slack bot in {receiver.channel}{for_team}"

    @property
    def send_timeout(self) -> timedelta:
        limits = self.client.timeout
        return timedelta(seconds=(limits.connect or 0) + (limits.read or 0))

    def close(self) -> None:
        self.client.close()

    def send_alert(self, alert: Alert) -> str | None:
        """Post the alert; with a bot token, the posted message's reference (for `edit_alert`)."""
        answer = self.send(build_message(alert, self.tz))
        channel, ts = answer.get("channel"), answer.get("ts")
        if isinstance(channel, str) and isinstance(ts, str) and channel and ts:
            return PostedRef(channel, ts).dump()
        return None

    def edit_alert(self, alert: Alert, ref: str) -> None:
        """Replace the message `ref` names with this alert (chat.update: it notifies no one).
        Never posts a new message: an edit Slack refuses is lost, not re-sent as a page."""
        posted = PostedRef.load(ref)
        if not self.receiver.token or posted is None:
            raise DeliveryError(
                f"{self.where}: no message to edit (a webhook cannot edit; the reference "
                "is unusable); this update is dropped",
                permanent=True,
            )
        message = build_message(alert, self.tz, edited_at=self.clock())
        # chat.update takes no unfurl options: the message keeps those it was posted with.
        body = {
            "channel": posted.channel,
            "ts": posted.ts,
            "text": message["text"],
            "blocks": message["blocks"],
        }
        self._call("chat.update", body, UPDATE_PERMANENT)

    def send_digest(self, digest: Digest) -> None:
        """Post the weekly digest's Block Kit summary; the same errors as for an alert."""
        self.send(slack_message(digest))

    def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Post a prepared payload; raise DeliveryError naming the fix if Slack refuses it.
        Slack's answer (`channel`, `ts`) for the Web API, nothing for a webhook."""
        if self.receiver.webhook_url:
            response = self._post(self.receiver.webhook_url.reveal(), payload, {})
            self._check_webhook(response)
            return {}
        return self._call("chat.postMessage", {"channel": self.receiver.channel, **payload})

    def _call(
        self, method: str, body: dict[str, Any], permanent: dict[str, str] | None = None
    ) -> dict[str, Any]:
        token = self.receiver.token.reveal() if self.receiver.token else ""
        if not _TOKEN.fullmatch(token):
            # Caught here because httpx would echo a bad header value in its own error.
            raise DeliveryError(
                f"{self.where}: slack.token has characters no Slack token has. Fix: copy "
                "the Bot User OAuth Token (xoxb-…) again, without spaces or quotes",
                permanent=True,
            )
        url = f"{self.receiver.api_url.rstrip('/')}/{method}"
        response = self._post(url, body, {"Authorization": f"Bearer {token}"})
        return self._check_api(response, permanent or {})

    def _post(self, url: str, payload: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        # Errors from here on are raised `from None`: httpx's own messages and the exception
        # chain can carry the request URL, and for a webhook the URL is the secret.
        try:
            return self.client.post(
                url,
                content=json.dumps(payload).encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8", **headers},
            )
        except httpx.TimeoutException:
            raise DeliveryError(f"{self.where}: Slack did not answer in time; will retry") from None
        except httpx.UnsupportedProtocol:
            raise DeliveryError(f"{self.where}: {self._url_fix()}", permanent=True) from None
        except httpx.TransportError as exc:
            raise DeliveryError(
                f"{self.where}: connection failed ({type(exc).__name__}); will retry"
            ) from None
        except httpx.InvalidURL:
            raise DeliveryError(f"{self.where}: {self._url_fix()}", permanent=True) from None

    def _url_fix(self) -> str:
        if self.receiver.webhook_url:
            return (
                "slack.webhook_url is not a usable https URL. Fix: copy it again from the "
                "Slack app's Incoming Webhooks page"
            )
        return (
            f"slack.api_url {redact_url(self.receiver.api_url)!r} is not a usable URL. "
            "Fix: leave it out to use https://slack.com/api"
        )

    def _retry_after(self, response: httpx.Response) -> float | None:
        return retry_after_seconds(response.headers.get("Retry-After"), self.clock())

    def _common(self, response: httpx.Response) -> None:
        """Statuses that mean the same for both endpoints."""
        status = response.status_code
        if status == 429:
            wait = self._retry_after(response)
            after = f" in {wait:.0f}s" if wait is not None else ""
            raise DeliveryError(
                f"{self.where}: rate limited by Slack (HTTP 429); will retry{after}",
                retry_after=wait,
            )
        if status >= 500 or status == 408:
            raise DeliveryError(f"{self.where}: Slack answered HTTP {status}; will retry")
        if 300 <= status < 400:
            raise DeliveryError(
                f"{self.where}: HTTP {status} redirect: {self._url_fix()}", permanent=True
            )

    def _check_webhook(self, response: httpx.Response) -> None:
        self._common(response)
        if response.status_code < 300:
            return
        code = error_code(response.text)
        fix = HOOK_PERMANENT.get(code) or (
            "Slack refused the webhook post. Fix: check slack.webhook_url, or create a new "
            "incoming webhook"
        )
        named = f" {code}" if code else ""
        raise DeliveryError(
            f"{self.where}: HTTP {response.status_code}{named}: {fix}", permanent=True
        )

    def _check_api(self, response: httpx.Response, permanent: dict[str, str]) -> dict[str, Any]:
        self._common(response)
        status = response.status_code
        if status >= 400:
            raise DeliveryError(
                f"{self.where}: HTTP {status} from {redact_url(response.request.url)}. "
                "Fix: check slack.api_url (leave it out for https://slack.com/api) and slack.token",
                permanent=True,
            )
        try:
            answer = response.json()
        except ValueError:
            raise DeliveryError(
                f"{self.where}: Slack answered HTTP {status} without JSON; will retry"
            ) from None
        if not isinstance(answer, dict):
            raise DeliveryError(f"{self.where}: unexpected answer from Slack; will retry")
        if answer.get("ok") is True:
            return answer
        code = error_code(str(answer.get("error", "")))
        if code in RATE_LIMITED:
            raise DeliveryError(
                f"{self.where}: rate limited by Slack ({code}); will retry",
                retry_after=self._retry_after(response),
            )
        fix = permanent.get(code) or API_PERMANENT.get(code)
        if fix is not None:
            raise DeliveryError(
                f"{self.where}: Slack said {code}: {fix.format(channel=self.receiver.channel)}",
                permanent=True,
            )
        # Unknown and transient codes (internal_error, fatal_error, service_unavailable, …):
        # the outbox retries with backoff and gives up after max_attempts.
        raise DeliveryError(f"{self.where}: Slack said {code or 'ok: false'}; will retry")
