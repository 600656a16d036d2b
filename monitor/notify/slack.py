"""Slack alerts and weekly digests: an incoming webhook, or `chat.postMessage` with a bot token.

Both send the same Block Kit message with a `text` fallback (shown in notifications). With a bot
token a posted page's `channel` and `ts` are kept, and an incident's growth edits that message in
place with `chat.update` (which notifies no one); a webhook cannot edit what it posted. Everything
placed in mrkdwn is escaped (`&`, `<`, `>`), so a mention's `<!channel>`, `<@U123>` or
`<http://evil|click>` is shown as typed and never pings or links. Only http(s) URLs become links.
Errors name what to fix and never carry the webhook URL or the token.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import httpx

from monitor.alert_view import AlertView, Evidence, view
from monitor.config import SlackReceiver, TeamConfig
from monitor.digest.view import ChannelRow, IncidentRow, MentionCard, TopicRow, digest_view
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
from monitor.text import one_line

# Block Kit limits (docs.slack.dev/reference/block-kit): header text 150 chars, section text
# 3000, a section's fields 10 of 2000 each, context 10 elements, 50 blocks per message.
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
MAX_BLOCKS = 50
FALLBACK_LIMIT = 3000

_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,512}")


# mrkdwn has no escape for its formatting characters, so a stranger's `*boss*`, `_x_`, `~x~` or
# backticks would bold, italicise, strike or open a code block. They are shown as look-alikes
# Slack does not parse. (Zero-width joiners between them are no answer: they are stripped as
# invisible, and terminal and table output loses them.)
_LOOKALIKES = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})


def escape(text: str) -> str:
    """Slack's three control characters, escaped as Slack asks; everything else is literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inert(text: str) -> str:
    """What a stranger wrote (author, text, a link's host), for mrkdwn: escaped, and unable to
    format. Our own names (channels, topics, brands) keep their characters."""
    return escape(text).translate(_LOOKALIKES)


def link(url: str, label: str) -> str:
    """`<url|label>` for a URL that `render.safe_url` already vetted (http(s), no `<>|`)."""
    target = escape(url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E"))
    return f"<{target}|{inert(label.replace('|', '/'))}>"


def build_message(
    alert: Alert, tz: tzinfo = UTC, edited_at: datetime | None = None
) -> dict[str, Any]:
    """The Block Kit payload (without `channel`), always within Slack's limits; an edit of a
    sent message says when it was last updated."""
    v = view(alert, tz)
    reference = v.reference
    if edited_at is not None:
        reference = f"updated {edited_at.astimezone(tz):%H:%M} · {reference}"
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
            "elements": [mrkdwn_block(cut_text(escape(reference), SECTION_LIMIT))],
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
        f"*{index}. {inert(m.author)}* on {escape(m.channel)} · {escape(m.when)} · score {m.score}"
    )
    body = f">{inert(m.text)}" if m.text else ">(no text)"
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


def slack_message(d: Digest) -> dict[str, Any]:
    """The digest as a Block Kit payload (without `channel`), within Slack's limits."""
    v = digest_view(d)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": one_line(v.title, HEADER_LIMIT)}},
        {
            "type": "context",
            "elements": [
                mrkdwn_block(cut_text(escape(f"{v.week_label} · team {v.team}"), SECTION_LIMIT))
            ],
        },
        section_block(escape(v.headline + (f"\n_{v.notice}_" if v.notice else ""))),
    ]
    if not v.empty:
        fields = [
            mrkdwn_block(
                f"*{k.label}*\n{escape(k.value)}  ({escape(k.change.text)}"
                f"{' vs ' + escape(k.previous) if k.previous != '–' else ''})"
            )
            for k in v.kpis
        ]
        blocks.append({"type": "section", "fields": fields[:MAX_FIELDS]})
        blocks.append(
            {
                "type": "context",
                "elements": [mrkdwn_block(cut_text(escape(v.legend), SECTION_LIMIT))],
            }
        )
        days = "\n".join(
            f"{r.day:<10}  {r.mentions:>9}"
            if r.future
            else f"{r.day:<10}  {'no mentions':>9}"
            if r.mentions == "0"
            else f"{r.day:<10}  {r.mentions:>9}  {r.negative_share:>5} neg  {r.mean:>5}"
            for r in v.days
        )
        blocks.append(
            section_block(f"*By day* (mentions, negative share, mood score)\n```{days}```")
        )
        if v.channels:
            blocks.append(_listed("By channel", [_slack_channel(r) for r in v.channels], 0))
        if v.topics:
            blocks.append(_listed("Topics", [_slack_topic(r) for r in v.topics], v.topics_more))
    blocks.append(
        _listed("Incidents", [_slack_incident(r) for r in v.incidents], v.incidents_more)
        if v.incidents
        else section_block("*Incidents*\nNo incidents this week.")
    )
    for heading, cards in (
        ("Most negative mentions", v.negative),
        ("Most positive mentions", v.positive),
    ):
        if cards:
            blocks.append({"type": "divider"})
            blocks.append(section_block(f"*{heading}*"))
            blocks.extend(section_block(_slack_card(i, m)) for i, m in enumerate(cards, 1))
    if v.authors:
        blocks.append(
            _listed(
                "Most active authors",
                [
                    f"• {inert(r.author)} ({escape(r.channel)}): {r.mentions} mentions, "
                    f"mood {r.mean}"
                    for r in v.authors
                ],
                0,
            )
        )
    blocks = blocks[: MAX_BLOCKS - 1]
    blocks.append(
        {"type": "context", "elements": [mrkdwn_block(cut_text(escape(v.footer), SECTION_LIMIT))]}
    )
    return {
        "text": cut_text(escape(f"{v.subject}. {v.headline}"), SECTION_LIMIT),
        "blocks": blocks,
        # Strangers' links must not make Slack fetch them and post previews into the channel.
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _listed(heading: str, lines: list[str], more: int) -> dict[str, Any]:
    """A section of bullet lines, as many whole lines as fit, then 'and N more'."""
    text = f"*{heading}*"
    for i, line in enumerate(lines):
        rest = len(lines) - i + more
        if len(text) + 1 + len(line) + len(f"\n…and {rest} more") > SECTION_LIMIT:
            return section_block(f"{text}\n…and {rest} more")
        text += "\n" + line
    return section_block(f"{text}\n…and {more} more" if more else text)


def _slack_channel(r: ChannelRow) -> str:
    return (
        f"• *{escape(r.channel)}*: {r.mentions} mentions ({r.mentions_change.text}) · "
        f"{r.negative_share} negative ({r.negative_change.text}) · mood {r.mean}"
    )


def _slack_topic(r: TopicRow) -> str:
    return f"• *{escape(r.topic)}*: {r.mentions} mentions · {r.negative_share} negative " + (
        f"(last week {r.previous_share}, {r.negative_change.text})"
        if r.previous_share != "–"
        else "(no mentions last week)"
    )


def _slack_incident(r: IncidentRow) -> str:
    icon = "🔴" if r.severity == "critical" else "🟠"
    return (
        f"• {icon} *{escape(r.scope)}* ({r.severity}) · opened {escape(r.opened)} · "
        f"peak {escape(r.peak)} · {escape(r.duration)} · {escape(r.status)}"
        + (f" · about: {escape(r.drivers)}" if r.drivers else "")
    )


def _slack_card(index: int, m: MentionCard) -> str:
    shown = Evidence(
        author=m.author,
        channel=f"{m.channel} ({m.brand})" if m.brand else m.channel,
        text=m.text,
        url=m.url,
        host=m.host,
        score=m.score,
        when=m.when + (f" · reach {m.reach}" if m.reach else ""),
    )
    return evidence_line(index, shown)


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
