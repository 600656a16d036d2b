"""Slack Block Kit rendering of alerts and weekly digests, shared by the webhook and the bot.

Everything placed in mrkdwn is escaped (`&`, `<`, `>`), so a mention's `<!channel>`, `<@U123>` or
`<http://evil|click>` is shown as typed and never pings or links. Only http(s) URLs become links.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from monitor.alert_view import AlertView, Evidence, view
from monitor.digest.view import ChannelRow, IncidentRow, MentionCard, TopicRow, digest_view
from monitor.models import Alert, Digest
from monitor.text import one_line

# Block Kit limits (docs.slack.dev/reference/block-kit): header text 150 chars, section text
# 3000, a section's fields 10 of 2000 each, context 10 elements, 50 blocks per message.
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
MAX_BLOCKS = 50
FALLBACK_LIMIT = 3000


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
