"""Slack notifier against a real HTTP server on 127.0.0.1 that records what Slack would receive."""

from __future__ import annotations

import re
import socket

import pytest
from pytest_httpserver import HTTPServer

from monitor.config import SlackReceiver
from monitor.notify.base import DeliveryError
from monitor.notify.slack import SlackNotifier
from monitor.validate import Secret
from tests.helpers import (
    HOOK_PATH,
    HOSTILE,
    TOKEN,
    alert_mention,
    expect_api,
    expect_hook,
    free_port,
    make_alert,
    resolved_alert,
    sent_json,
    slack_texts,
)

# Slack's link syntax and nothing else may start with `<` in what we send.
LINK = re.compile(r"<https?://[^|<>\s]+\|[^|<>]+>")


def test_webhook_posts_block_kit_with_a_text_fallback(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data("ok")
    webhook.send_alert(make_alert())
    request, _ = httpserver.log[0]
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.headers["User-Agent"].startswith("monitor/")
    payload = sent_json(httpserver)
    assert payload["text"].startswith("CRITICAL: Negative spike: Acme / topic outage.")
    assert [b["type"] for b in payload["blocks"][:2]] == ["header", "section"]
    assert "channel" not in payload
    assert payload["unfurl_links"] is False


def test_alert_shows_count_ratio_and_top_five_mentions(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data("ok")
    webhook.send_alert(make_alert())
    text = "\n".join(slack_texts(sent_json(httpserver)))
    assert "*Negative mentions*\n42 in 1 h (expected 3.5)" in text
    assert "*Ratio*\n12.0× expected" in text
    assert "<https://news.ycombinator.com/item?id=1006|Open on news.ycombinator.com>" in text
    assert "user2" in text and "user1" not in text


def test_bot_token_posts_to_chat_postmessage_with_bearer_and_channel(
    httpserver: HTTPServer, bot: SlackNotifier
) -> None:
    expect_api(httpserver).respond_with_json({"ok": True, "channel": "C123", "ts": "1.2"})
    bot.send_alert(make_alert())
    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    payload = sent_json(httpserver)
    assert payload["channel"] == "#support"
    assert payload["blocks"][0]["type"] == "header"


def test_one_http_client_is_reused_across_alerts(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data("ok")
    client = webhook.client
    webhook.send_alert(make_alert())
    webhook.send_alert(resolved_alert())
    assert webhook.client is client and len(httpserver.log) == 2


def test_idempotency_key_travels_in_a_context_block(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data("ok")
    webhook.send_alert(make_alert(idempotency_key="incident-7-opened-1"))
    context = sent_json(httpserver)["blocks"][-1]
    assert context["type"] == "context"
    assert context["elements"][0]["text"] == "ref: incident-7-opened-1 · incident #7"


def test_webhook_429_gives_retry_after_from_the_header(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "30"}
    )
    with pytest.raises(DeliveryError) as caught:
        webhook.send_alert(make_alert())
    assert caught.value.retry_after == 30.0
    assert not caught.value.permanent


def test_api_http_429_gives_retry_after_from_the_header(
    httpserver: HTTPServer, bot: SlackNotifier
) -> None:
    expect_api(httpserver).respond_with_json(
        {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "7"}
    )
    with pytest.raises(DeliveryError) as caught:
        bot.send_alert(make_alert())
    assert caught.value.retry_after == 7.0
    assert not caught.value.permanent


def test_webhook_500_is_retryable(httpserver: HTTPServer, webhook: SlackNotifier) -> None:
    expect_hook(httpserver).respond_with_data("oops", status=500)
    with pytest.raises(DeliveryError) as caught:
        webhook.send_alert(make_alert())
    assert not caught.value.permanent
    assert caught.value.retry_after is None
    assert "HTTP 500" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "code"), [(404, "no_service"), (410, "no_service"), (403, "invalid_token")]
)
def test_revoked_webhook_is_permanent_and_says_to_create_a_new_one(
    httpserver: HTTPServer, webhook: SlackNotifier, status: int, code: str
) -> None:
    expect_hook(httpserver).respond_with_data(code, status=status)
    with pytest.raises(DeliveryError) as caught:
        webhook.send_alert(make_alert())
    assert caught.value.permanent
    assert code in str(caught.value)
    assert "create a new incoming webhook" in str(caught.value)


def test_webhook_invalid_payload_is_permanent(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data("invalid_payload", status=400)
    with pytest.raises(DeliveryError) as caught:
        webhook.send_alert(make_alert())
    assert caught.value.permanent
    assert "invalid_payload" in str(caught.value)


def test_api_invalid_auth_is_permanent_and_names_the_token_to_fix(
    httpserver: HTTPServer, bot: SlackNotifier
) -> None:
    # Slack reports API errors with HTTP 200 and ok: false.
    expect_api(httpserver).respond_with_json({"ok": False, "error": "invalid_auth"})
    with pytest.raises(DeliveryError) as caught:
        bot.send_alert(make_alert())
    assert caught.value.permanent
    assert "invalid_auth" in str(caught.value) and "slack.token" in str(caught.value)


@pytest.mark.parametrize("code", ["account_inactive", "token_revoked"])
def test_api_dead_token_is_permanent(httpserver: HTTPServer, bot: SlackNotifier, code: str) -> None:
    expect_api(httpserver).respond_with_json({"ok": False, "error": code})
    with pytest.raises(DeliveryError) as caught:
        bot.send_alert(make_alert())
    assert caught.value.permanent and "reinstall" in str(caught.value)


def test_api_not_in_channel_says_to_invite_the_app(
    httpserver: HTTPServer, bot: SlackNotifier
) -> None:
    expect_api(httpserver).respond_with_json({"ok": False, "error": "not_in_channel"})
    with pytest.raises(DeliveryError) as caught:
        bot.send_alert(make_alert())
    assert caught.value.permanent
    assert "#support" in str(caught.value) and "/invite" in str(caught.value)


def test_api_channel_not_found_is_permanent(httpserver: HTTPServer, bot: SlackNotifier) -> None:
    expect_api(httpserver).respond_with_json({"ok": False, "error": "channel_not_found"})
    with pytest.raises(DeliveryError) as caught:
        bot.send_alert(make_alert())
    assert caught.value.permanent and "slack.channel" in str(caught.value)


def test_api_ok_false_ratelimited_is_retryable(httpserver: HTTPServer, bot: SlackNotifier) -> None:
    expect_api(httpserver).respond_with_json({"ok": False, "error": "ratelimited"})
    with pytest.raises(DeliveryError) as caught:
        bot.send_alert(make_alert())
    assert not caught.value.permanent


def test_api_internal_error_is_retryable(httpserver: HTTPServer, bot: SlackNotifier) -> None:
    expect_api(httpserver).respond_with_json({"ok": False, "error": "internal_error"})
    with pytest.raises(DeliveryError) as caught:
        bot.send_alert(make_alert())
    assert not caught.value.permanent


def test_nothing_listening_is_retryable() -> None:
    url = f"http://127.0.0.1:{free_port()}{HOOK_PATH}"
    notifier = SlackNotifier(SlackReceiver(webhook_url=Secret(url)))
    with pytest.raises(DeliveryError) as caught:
        notifier.send_alert(make_alert())
    notifier.close()
    assert not caught.value.permanent
    assert "connection failed" in str(caught.value)


def test_a_server_that_never_answers_times_out_retryably() -> None:
    # The kernel completes the handshake from the backlog; nobody ever reads or replies.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}{HOOK_PATH}"
        notifier = SlackNotifier(SlackReceiver(webhook_url=Secret(url)), timeout=0.05)
        with pytest.raises(DeliveryError) as caught:
            notifier.send_alert(make_alert())
        notifier.close()
    assert not caught.value.permanent
    assert "did not answer in time" in str(caught.value)


def _failures(httpserver: HTTPServer) -> list[DeliveryError]:
    """One DeliveryError from each way a webhook and a bot post can fail."""
    errors: list[DeliveryError] = []
    hook_url = httpserver.url_for(HOOK_PATH)
    receivers = [
        SlackReceiver(webhook_url=Secret(hook_url)),
        SlackReceiver(token=Secret(TOKEN), channel="#c", api_url=httpserver.url_for("/api")),
        SlackReceiver(webhook_url=Secret(f"http://127.0.0.1:{free_port()}{HOOK_PATH}")),
        SlackReceiver(webhook_url=Secret("hooks.slack.com" + HOOK_PATH)),  # no scheme
        SlackReceiver(token=Secret(TOKEN + "\n"), channel="#c", api_url=hook_url),
    ]
    answers: list[tuple[int, str]] = [
        (404, "no_service"),
        (500, "boom"),
        (429, "rate_limited"),
        (302, ""),
        (400, "invalid_payload"),
        (200, '{"ok": false, "error": "invalid_auth"}'),
        (200, '{"ok": false, "error": "weird_new_code"}'),
    ]
    notifiers = [SlackNotifier(receiver) for receiver in receivers]
    for status, body in answers:
        httpserver.clear()
        for path in (HOOK_PATH, "/api/chat.postMessage"):
            httpserver.expect_request(path).respond_with_data(
                body, status=status, headers={"Location": hook_url}
            )
        for notifier in notifiers:
            try:
                notifier.send_alert(make_alert())
            except DeliveryError as exc:
                errors.append(exc)
    for notifier in notifiers:
        notifier.close()
    return errors


def test_no_error_message_contains_the_webhook_url_or_token(httpserver: HTTPServer) -> None:
    errors = _failures(httpserver)
    # 7 answers x 5 receivers, less the two HTTP 200 answers a webhook takes as success.
    assert len(errors) == 33
    for exc in errors:
        shown = f"{exc} {exc!r} {exc.__cause__!r} {exc.__context__!r}"
        assert "hooksecretXYZ" not in shown
        assert "tokensecretABC" not in shown
        # A traceback must not print an httpx error underneath, whose text may hold the URL.
        assert exc.__cause__ is None
        assert exc.__context__ is None or exc.__suppress_context__


def test_hostile_mention_arrives_inert_in_slack(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data("ok")
    webhook.send_alert(make_alert(top_mentions=(HOSTILE,)))
    texts = slack_texts(sent_json(httpserver))
    joined = "\n".join(texts)
    for live in ("<!channel>", "<@U123>", "<http://evil.example|click>", "<script>", "\x1b"):
        assert live not in joined
    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;http://evil.example|click&gt;" in joined
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in joined
    assert "\r" not in joined and "Bcc: victim" in joined  # shown on the author's one line
    for text in texts:
        # Whatever `<` remains opens a link we built, to an http(s) target with nothing odd in it.
        assert LINK.sub("", text).count("<") == 0, text
    assert "<http://evil.example/a%22%3E%3Cscript%3Ealert(2)%3C/script%3E%7Cclick%3E|" in joined


def test_blocks_stay_within_slack_limits_for_huge_input(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data("ok")
    huge = tuple(
        alert_mention(
            i, author="&" * 5000, text="<&>" * 4000, url="https://x.example/" + "a" * 1900
        )
        for i in range(60)
    )
    topics = tuple((f"topic-{i}-" + "&" * 200, i) for i in range(100))
    webhook.send_alert(
        make_alert(top_mentions=huge, top_topics=topics, scope_value="o" * 500, brand="B" * 300)
    )
    payload = sent_json(httpserver)
    blocks = payload["blocks"]
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) <= 150
    for block in blocks:
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
    assert len(payload["text"]) <= 40000
    assert all(not re.search(r"&[a-z]*$", t.rstrip("…")) for t in slack_texts(payload))


def test_resolve_message_shows_duration_and_peak(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data("ok")
    webhook.send_alert(resolved_alert())
    payload = sent_json(httpserver)
    assert payload["blocks"][0]["text"]["text"].startswith("✅ Resolved")
    joined = "\n".join(slack_texts(payload))
    assert "lasted 2 h 15 min" in joined and "*Peak ratio*\n14.2× expected" in joined


def test_test_alert_is_marked_as_a_test(httpserver: HTTPServer, webhook: SlackNotifier) -> None:
    expect_hook(httpserver).respond_with_data("ok")
    webhook.send_alert(make_alert(kind="test"))
    payload = sent_json(httpserver)
    assert payload["text"].startswith("TEST: TEST alert (sample data)")
    assert payload["blocks"][1]["text"]["text"].startswith("*TEST ALERT* — ")


MARKUP = alert_mention(
    author="*boss*",
    text="~struck~ _leaning_ `rm -rf` ```block``` *loud* from ~x~",
)


def test_mention_markup_arrives_unformatted_in_a_slack_alert(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    expect_hook(httpserver).respond_with_data("ok")
    webhook.send_alert(make_alert(top_mentions=(MARKUP,)))
    joined = "\n".join(slack_texts(sent_json(httpserver)))
    for live in ("*boss*", "~struck~", "_leaning_", "`rm -rf`", "```", "*loud*", "~x~"):
        assert live not in joined
    # Still readable, in characters Slack does not parse and every terminal prints.
    assert "∗boss∗" in joined and "∼struck∼" in joined and "ˋrm -rfˋ" in joined
