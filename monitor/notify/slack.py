"""Slack alerts and weekly digests: an incoming webhook, or `chat.postMessage` with a bot token.

Both send the same Block Kit message with a `text` fallback (shown in notifications). Everything
placed in mrkdwn is escaped (`&`, `<`, `>`), so a mention's `<!channel>`, `<@U123>` or
`<http://evil|click>` is shown as typed and never pings or links. Only http(s) URLs become links.
Errors name what to fix and never carry the webhook URL or the token.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, tzinfo
from typing import Any

import httpx

from monitor.channels.base import USER_AGENT, redact_url, retry_after_seconds
from monitor.config import SlackReceiver
from monitor.models import Alert, Clock, Digest, utcnow
from monitor.notify.base import DeliveryError
from monitor.notify.render import AlertView, Evidence, view
from monitor.text import one_line

# Block Kit limits (docs.slack.dev/reference/block-kit): header text 150 chars, section text
# 3000, a section's fields 10 of 2000 each, context 10 elements, 50 blocks per message.
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
MAX_BLOCKS = 50
FALLBACK_LIMIT = 3000

_CODE = re.compile(r"[a-z0-9_]{1,64}")
_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,512}")

# chat.postMessage answers HTTP 200 with {"ok": false, "error": CODE}. These codes cannot
# succeed on a retry; the value says what a human must change.
_TOKEN_FIX = (
    "the bot token is invalid, revoked or belongs to a deactivated app. Fix: reinstall the Slack "
    "app and put its Bot User OAuth Token (xoxb-…) in slack.token"
)
_SCOPE_FIX = (
    "the token may not post messages. Fix: add the chat:write scope under OAuth & Permissions, "
    "reinstall the app and update slack.token"
)
_ADMIN_FIX = (
    "a workspace setting forbids this post. Fix: ask a Slack admin or choose another slack.channel"
)
_BUG = "Slack rejected the message monitor built. This is a bug in monitor; please report it"
_API_PERMANENT = {
    "invalid_auth": _TOKEN_FIX,
    "not_authed": _TOKEN_FIX,
    "account_inactive": _TOKEN_FIX,
    "token_revoked": _TOKEN_FIX,
    "token_expired": _TOKEN_FIX,
    "no_permission": _SCOPE_FIX,
    "missing_scope": _SCOPE_FIX,
    "not_allowed_token_type": _SCOPE_FIX,
    "not_in_channel": "the app is not a member of {channel}. Fix: invite it there (/invite @YourApp), or add the chat:write.public scope for public channels",
    "channel_not_found": "channel {channel} does not exist or the app cannot see it. Fix: check slack.channel (a private channel needs its ID, C…, and the app invited)",
    "is_archived": "channel {channel} is archived. Fix: unarchive it or set another slack.channel",
    "restricted_action": _ADMIN_FIX,
    "restricted_action_read_only_channel": _ADMIN_FIX,
    "restricted_action_thread_only_channel": _ADMIN_FIX,
    "restricted_action_non_threadable_channel": _ADMIN_FIX,
    "ekm_access_denied": _ADMIN_FIX,
    "access_denied": _ADMIN_FIX,
    "team_access_not_granted": _ADMIN_FIX,
    "org_login_required": _ADMIN_FIX,
    "enterprise_is_restricted": _ADMIN_FIX,
    "invalid_blocks": _BUG,
    "invalid_blocks_format": _BUG,
    "invalid_arguments": _BUG,
    "invalid_arg_name": _BUG,
    "invalid_array_arg": _BUG,
    "invalid_json": _BUG,
    "json_not_object": _BUG,
    "invalid_charset": _BUG,
    "invalid_form_data": _BUG,
    "invalid_post_type": _BUG,
    "missing_post_type": _BUG,
    "msg_too_long": _BUG,
    "no_text": _BUG,
    "too_many_attachments": _BUG,
}
_RATE_LIMITED = {"ratelimited", "rate_limited"}

# Incoming webhooks answer a plain-text code with a 4xx status.
_HOOK_GONE = (
    "the webhook was revoked, or its app or workspace removed. Fix: create a new incoming "
    "webhook and put its URL in slack.webhook_url"
)
_HOOK_CHANNEL = (
    "the webhook's channel is gone or archived. Fix: create a new incoming webhook for an "
    "existing channel and update slack.webhook_url"
)
_HOOK_PERMANENT = {
    "no_service": _HOOK_GONE,
    "no_service_id": _HOOK_GONE,
    "no_team": _HOOK_GONE,
    "team_disabled": _HOOK_GONE,
    "invalid_token": _HOOK_GONE,
    "channel_not_found": _HOOK_CHANNEL,
    "channel_is_archived": _HOOK_CHANNEL,
    "user_not_found": _HOOK_CHANNEL,
    "action_prohibited": _ADMIN_FIX,
    "posting_to_general_channel_denied": _ADMIN_FIX,
    "invalid_payload": _BUG,
    "too_many_attachments": _BUG,
    "no_text": _BUG,
}


def escape(text: str) -> str:
    """Slack's three control characters, escaped as Slack asks; everything else is literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """`<url|label>` for a URL that `render.safe_url` already vetted (http(s), no `<>|`)."""
    target = escape(url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E"))
    return f"<{target}|{escape(label.replace('|', '/'))}>"


def build_message(alert: Alert, tz: tzinfo = UTC) -> dict[str, Any]:
    """The Block Kit payload (without `channel`), always within Slack's limits."""
    v = view(alert, tz)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            # plain_text is never parsed for mentions or links, so no escaping is needed here.
            "text": {"type": "plain_text", "text": one_line(_header(v), HEADER_LIMIT)},
        },
        section_block(("*TEST ALERT* — " if v.is_test else "") + escape(v.summary)),
    ]
    fields = [
        mrkdwn_block(cut_text(f"*{escape(k)}*\n{escape(val)}", FIELD_LIMIT)) for k, val in v.facts
    ]
    blocks.extend(
        {"type": "section", "fields": fields[i : i + MAX_FIELDS]}
        for i in range(0, len(fields), MAX_FIELDS)
    )
    if v.evidence:
        blocks.append({"type": "divider"})
        blocks.append(section_block("*Most negative mentions*"))
        blocks.extend(section_block(evidence_line(i, m)) for i, m in enumerate(v.evidence, 1))
    blocks = blocks[: MAX_BLOCKS - 1]
    blocks.append(
        {
            "type": "context",
            "elements": [mrkdwn_block(cut_text(escape(v.reference), SECTION_LIMIT))],
        }
    )
    return {
        "text": cut_text(escape(f"{v.badge}: {v.title}. {v.summary}"), FALLBACK_LIMIT),
        "blocks": blocks,
        # A stranger's link must not make Slack fetch it and post a preview into the channel.
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _header(v: AlertView) -> str:
    icon = {"CRITICAL": "🔴", "WARNING": "🟠", "RESOLVED": "✅", "TEST": "🧪"}.get(v.badge, "")
    return f"{icon} {v.title}".strip()


def evidence_line(index: int, m: Evidence) -> str:
    head = (
        f"*{index}. {escape(m.author)}* on {escape(m.channel)} · {escape(m.when)} · score {m.score}"
    )
    body = f">{escape(m.text)}" if m.text else ">(no text)"
    tail = f"\n{link(m.url, 'Open on ' + (m.host or 'link'))}" if m.url else ""
    return f"{head}\n{body}{tail}"


def mrkdwn_block(text: str) -> dict[str, Any]:
    # verbatim: Slack must not auto-link bare URLs or parse #channel / @name in what we send.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def section_block(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn_block(cut_text(text, SECTION_LIMIT))}


def cut_text(text: str, limit: int) -> str:
    """Cut escaped mrkdwn without leaving half an entity (`&am`) or half a link (`<http…`)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt != -1 and ">" not in cut[lt:]:
        cut = cut[:lt]
    return cut + "…"


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
            self.where = f"slack chat.postMessage to {receiver.channel}{for_team}"

    def close(self) -> None:
        self.client.close()

    def send_alert(self, alert: Alert) -> None:
        self.send(build_message(alert, self.tz))

    def send_digest(self, digest: Digest) -> None:
        """Post the weekly digest's Block Kit summary; the same errors as for an alert."""
        # Imported here: digest_render builds on this module's escaping and block helpers.
        from monitor.digest_render import slack_message

        self.send(slack_message(digest))

    def send(self, payload: dict[str, Any]) -> None:
        """Post a prepared payload; raise DeliveryError naming the fix if Slack refuses it."""
        if self.receiver.webhook_url:
            response = self._post(self.receiver.webhook_url.reveal(), payload, {})
            self._check_webhook(response)
        else:
            token = self.receiver.token.reveal() if self.receiver.token else ""
            if not _TOKEN.fullmatch(token):
                # Caught here because httpx would echo a bad header value in its own error.
                raise DeliveryError(
                    f"{self.where}: slack.token has characters no Slack token has. Fix: copy "
                    "the Bot User OAuth Token (xoxb-…) again, without spaces or quotes",
                    permanent=True,
                )
            url = f"{self.receiver.api_url.rstrip('/')}/chat.postMessage"
            body = {"channel": self.receiver.channel, **payload}
            response = self._post(url, body, {"Authorization": f"Bearer {token}"})
            self._check_api(response)

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
        code = _code(response.text)
        fix = _HOOK_PERMANENT.get(code) or (
            "Slack refused the webhook post. Fix: check slack.webhook_url, or create a new "
            "incoming webhook"
        )
        named = f" {code}" if code else ""
        raise DeliveryError(
            f"{self.where}: HTTP {response.status_code}{named}: {fix}", permanent=True
        )

    def _check_api(self, response: httpx.Response) -> None:
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
            return
        code = _code(str(answer.get("error", "")))
        if code in _RATE_LIMITED:
            raise DeliveryError(
                f"{self.where}: rate limited by Slack ({code}); will retry",
                retry_after=self._retry_after(response),
            )
        fix = _API_PERMANENT.get(code)
        if fix is not None:
            raise DeliveryError(
                f"{self.where}: Slack said {code}: {fix.format(channel=self.receiver.channel)}",
                permanent=True,
            )
        # Unknown and transient codes (internal_error, fatal_error, service_unavailable, …):
        # the outbox retries with backoff and gives up after max_attempts.
        raise DeliveryError(f"{self.where}: Slack said {code or 'ok: false'}; will retry")


def _code(text: str) -> str:
    """Slack's error code, if the body is one; otherwise nothing (the body is not echoed)."""
    text = text.strip()
    return text if _CODE.fullmatch(text) else ""
