"""Weekly digests through each notifier: a real SMTP server, a loopback Slack, the console."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from monitor.models import DigestAuthor, OutboxMessage
from monitor.notify.base import DeliveryError
from monitor.notify.console import ConsoleNotifier
from monitor.notify.email import render_text
from monitor.notify.slack import SlackNotifier, slack_message
from monitor.outbox import send
from monitor.outbox_payload import encode
from tests.helpers import (
    PNG_SIGNATURE,
    Server,
    digest_mention,
    empty_digest,
    expect_api,
    expect_hook,
    html_part,
    make_digest,
    notifier,
    sent_json,
    slack_texts,
    text_part,
)

# -- email --------------------------------------------------------------------------------------


def test_digest_email_arrives_with_text_html_and_an_inline_chart(
    smtp_server: Callable[..., Server],
) -> None:
    server = smtp_server()
    notifier(server.port).send_digest(make_digest())
    msg = server.recorder.received()
    assert msg.get_content_type() == "multipart/alternative"
    text, related = msg.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.iter_parts()
    assert html.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    assert image.get_content().startswith(PNG_SIGNATURE)
    assert "100 mentions, up 25% on the week before (80)" in text_part(msg)
    assert "100 mentions, up 25% on the week before (80)" in html_part(msg)


def test_digest_html_shows_the_chart_by_its_content_id(
    smtp_server: Callable[..., Server],
) -> None:
    server = smtp_server()
    notifier(server.port).send_digest(make_digest())
    msg = server.recorder.received()
    image = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    content_id = image["Content-ID"]
    assert re.fullmatch(r"<[^<>@\s]+@monitor>", content_id)
    assert re.findall(r'src="([^"]*)"', html_part(msg)) == [f"cid:{content_id[1:-1]}"]


def test_digest_subject_names_the_brand_week_and_year(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    notifier(server.port).send_digest(make_digest())
    assert server.recorder.received()["Subject"] == (
        "Weekly sentiment digest: Acme, week 47 (2026)"
    )


def test_a_resent_digest_keeps_its_message_id(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    sender = notifier(server.port)
    sender.send_digest(make_digest())
    sender.send_digest(make_digest())
    ids = [server.recorder.received(i)["Message-ID"] for i in range(2)]
    assert ids == ["<digest-cx-2026-W47-1795424400@monitor>"] * 2
    other_week = make_digest(week="2026-W48")
    assert sender.build_digest_message(other_week)["Message-ID"] != ids[0]


def test_a_digest_built_again_gets_a_new_message_id() -> None:
    sender = notifier(1)
    rebuilt = make_digest(generated_at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    first = sender.build_digest_message(make_digest())["Message-ID"]
    assert sender.build_digest_message(rebuilt)["Message-ID"] != first


def test_a_brand_name_cannot_add_headers_to_the_digest_email(
    smtp_server: Callable[..., Server],
) -> None:
    server = smtp_server()
    notifier(server.port).send_digest(make_digest(brands=("Acme\r\nBcc: victim@example.com",)))
    envelope, _ = server.recorder.messages[0]
    msg = server.recorder.received()
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert envelope.rcpt_tos == ["support@acme.example", "oncall@acme.example"]


def test_empty_week_email_has_no_image(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    notifier(server.port).send_digest(empty_digest())
    msg = server.recorder.received()
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    assert "No mentions this week" in html_part(msg) and "<img" not in html_part(msg)


# -- Slack --------------------------------------------------------------------------------------


def test_slack_digest_is_posted_to_the_webhook(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data("ok")
    webhook.send_digest(make_digest())
    assert sent_json(httpserver) == slack_message(make_digest())


def test_mention_markup_arrives_unformatted_in_a_slack_digest(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data("ok")
    loud = digest_mention(author="*boss*", text="~struck~ _leaning_ `rm -rf` ```block``` from ~x~")
    webhook.send_digest(
        make_digest(most_negative=(loud,), authors=(DigestAuthor("*boss*", "reddit", 3, -0.5),))
    )
    texts = slack_texts(sent_json(httpserver))
    joined = "\n".join(texts)
    for live in ("*boss*", "~struck~", "_leaning_", "`rm -rf`", "```block", "~x~"):
        assert live not in joined
    assert "∗boss∗" in joined and "ˋrm -rfˋ" in joined
    # The only code block is the digest's own table of days.
    assert sum(t.count("```") for t in texts) == 2


def test_slack_digest_with_a_bot_token_goes_to_the_configured_channel(
    httpserver: HTTPServer, bot: SlackNotifier
) -> None:
    expect_api(httpserver).respond_with_json({"ok": True, "ts": "1.2"})
    bot.send_digest(make_digest())
    body = sent_json(httpserver)
    assert body["channel"] == "#support"
    assert body["blocks"] == slack_message(make_digest())["blocks"]


def test_slack_digest_to_a_revoked_webhook_fails_for_good(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data("no_service", status=404)
    with pytest.raises(DeliveryError) as caught:
        webhook.send_digest(make_digest())
    assert caught.value.permanent
    assert "hooksecret" not in str(caught.value)


# -- console and outbox -------------------------------------------------------------------------


def test_console_prints_the_digest_text() -> None:
    out = io.StringIO()
    ConsoleNotifier(out).send_digest(make_digest())
    assert render_text(make_digest()).rstrip() in out.getvalue()


def test_outbox_delivers_a_queued_digest() -> None:
    out = io.StringIO()
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    message = OutboxMessage(
        id=1,
        key="digest-cx-2026-W47:console",
        incident_id=None,
        team="cx",
        receiver="console",
        kind="digest",
        payload=encode(make_digest()),
        status="pending",
        attempts=0,
        next_attempt_at=None,
        created_at=now,
        sent_at=None,
        last_error=None,
    )
    send(ConsoleNotifier(out), message)
    assert "Week 47, 16–22 Nov 2026 (Europe/London)" in out.getvalue()
