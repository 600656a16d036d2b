"""Console notifier: readable alerts on a stream, with nothing a stranger wrote left live."""

from __future__ import annotations

import io
import re

import pytest

from monitor.config import (
    ConsoleReceiver,
    EmailReceiver,
    EmailSettings,
    SlackReceiver,
    TeamConfig,
)
from monitor.notify import build_notifiers, close_notifiers
from monitor.notify.base import DeliveryError
from monitor.notify.console import ConsoleNotifier
from monitor.validate import Secret
from tests.helpers import HOSTILE, alert_mention, make_alert, resolved_alert


def printed(alert_kwargs: dict[str, object] | None = None, *, resolved: bool = False) -> str:
    stream = io.StringIO()
    alert = resolved_alert() if resolved else make_alert(**(alert_kwargs or {}))
    ConsoleNotifier(stream).send_alert(alert)
    return stream.getvalue()


def test_alert_prints_title_facts_and_top_five_mentions() -> None:
    out = printed()
    assert " CRITICAL  Negative spike: Acme / topic outage" in out
    assert re.search(r"Negative mentions +42 in 1 h \(expected 3\.5\)", out)
    assert re.search(r"Ratio +12\.0× expected", out)
    assert "Most negative mentions:" in out
    assert [n for n in range(1, 8) if f"  {n}. user" in out] == [1, 2, 3, 4, 5]
    assert "     https://news.ycombinator.com/item?id=1006\n" in out
    assert out.rstrip().endswith("─" * 78)
    assert "ref: incident-7-opened-1 · incident #7" in out


def test_lines_fit_an_80_column_terminal_except_urls() -> None:
    out = printed({"top_mentions": (alert_mention(text="word " * 100),)})
    long = [line for line in out.splitlines() if len(line) > 78]
    assert all(line.strip().startswith("http") for line in long), long


def test_resolve_shows_duration_and_peak() -> None:
    out = printed(resolved=True)
    assert " RESOLVED  Resolved: negative spike for Acme / topic outage" in out
    assert "lasted 2 h 15 min" in out
    assert re.search(r"Peak ratio +14\.2× expected", out)


def test_test_alert_is_marked_as_a_test() -> None:
    out = printed({"kind": "test"})
    assert "*** TEST ALERT: nothing is wrong" in out


def test_hostile_mention_arrives_inert_on_the_console() -> None:
    out = printed({"top_mentions": (HOSTILE,)})
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", out)
    assert "\r" not in out
    assert "\nSubject: injected" not in out and "\nBcc:" not in out
    # Plain text cannot link or ping: the markup is shown as the stranger typed it.
    assert "<!channel> <@U123> <http://evil.example|click> <script>alert(1)</script>" in out


def test_default_stream_is_stderr_at_send_time(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleNotifier().send_alert(make_alert())
    captured = capsys.readouterr()
    assert "Negative spike: Acme" in captured.err and captured.out == ""


def test_a_closed_stream_is_a_retryable_delivery_error() -> None:
    stream = io.StringIO()
    stream.close()
    with pytest.raises(DeliveryError) as caught:
        ConsoleNotifier(stream).send_alert(make_alert())
    assert not caught.value.permanent


def test_build_notifiers_makes_one_per_receiver_with_the_stream_injected() -> None:
    team = TeamConfig(
        slack=SlackReceiver(webhook_url=Secret("https://hooks.slack.com/services/T/B/x")),
        email=EmailReceiver(to=("support@acme.example",)),
        console=ConsoleReceiver(),
        timezone="Europe/London",
    )
    stream = io.StringIO()
    notifiers = build_notifiers(team, EmailSettings(host="127.0.0.1"), stream=stream)
    try:
        assert [n.kind for n in notifiers] == ["slack", "email", "console"]
        notifiers[2].send_alert(make_alert())
        assert "Started            2024-06-21 11:00 BST" in stream.getvalue()
    finally:
        close_notifiers(notifiers)


def test_build_notifiers_refuses_an_email_receiver_without_smtp_settings() -> None:
    team = TeamConfig(email=EmailReceiver(to=("support@acme.example",)))
    with pytest.raises(ValueError, match="no top-level email: block"):
        build_notifiers(team, None, name="support")
