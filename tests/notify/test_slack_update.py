"""An incident's growth edits the page already sent (chat.update) instead of paging again.

Driven through the real outbox and a real SQLite store against a loopback Slack Web API
(`slack_api` in conftest) that answers as Slack does.
"""

from __future__ import annotations

import io
import json
import random
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor.cli import main
from monitor.config import Config, SlackReceiver, load_config
from monitor.models import Incident, Mention, Score, Scored
from monitor.notify.base import DeliveryError
from monitor.notify.slack import PostedRef, SlackNotifier
from monitor.outbox import Outbox, outbox_for
from monitor.spikes import Detector
from monitor.store import MIGRATIONS, Store
from monitor.validate import Secret
from tests.helpers import HOOK_PATH, HOSTILE, TOKEN, FixedClock, make_alert, slack_texts
from tests.notify.conftest import SlackApi

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
GRIPES = [
    "acme billing page is slow again",
    "acme charged me twice this month, annoying",
    "acme invoice is confusing and wrong",
]
COMPLAINTS = [
    "acme support never answers, awful",
    "acme app crashed and lost my work, terrible",
    "acme refund refused, furious",
]


def config_text(slack: str) -> str:
    return (
        "brands:\n  - name: Acme\n    terms: [acme]\n    channels: [hackernews, reddit]\n"
        "    topics: {outage: [down, outage]}\n    spike: {scopes: [topic]}\n"
        "channels:\n  reddit: {user_agent: monitor-test}\n"
        f"teams:\n  cx: {{slack: {{{slack}}}}}\nroutes:\n  - {{team: cx}}\n"
    )


def bot_config(write_config: Callable[[str], Path], httpserver: HTTPServer) -> Config:
    api = httpserver.url_for("/api")
    return load_config(
        write_config(config_text(f"token: '{TOKEN}', channel: '#support', api_url: '{api}'"))
    )


def negative(i: int, when: datetime, text: str, channel: str, topics: tuple[str, ...]) -> Scored:
    mention = Mention(channel, str(i), f"https://e.example/{i}", f"user{i % 50}", text, when)
    return Scored(mention, "Acme", Score(-0.6, 0.0, 0.5, 0.5, "negative"), topics)


def seed_background(store: Store) -> None:
    """Two weeks of routine reddit billing gripes, one every half hour."""
    rng = random.Random(3)
    rows = [
        negative(
            i,
            NOW - timedelta(days=15) + timedelta(minutes=30 * i),
            rng.choice(GRIPES),
            "reddit",
            (),
        )
        for i in range(15 * 48 - 2)
    ]
    store.save_poll("Acme", "reddit", rows, None, 0, NOW)


def burst(
    store: Store, n: int, start: datetime, span: timedelta, topics: tuple[str, ...] = ()
) -> None:
    first = 1_000_000 + len(store.mentions(brand="Acme", limit=100_000))
    rows = [
        negative(
            first + j,
            start + span * j / n,
            f"{COMPLAINTS[j % 3]} #{first + j}",
            "hackernews",
            topics,
        )
        for j in range(n)
    ]
    store.save_poll("Acme", "hackernews", rows, None, 0, NOW)


def detect(config: Config, store: Store, at: datetime) -> None:
    outbox = outbox_for(config, store, clock=FixedClock(at))
    Detector(config, store, outbox.enqueue_alerts, clock=FixedClock(at)).run_once()
    outbox.deliver_once()


def shown(body: dict[str, Any]) -> str:
    return "\n".join(slack_texts(body))


# -- the notifier ----------------------------------------------------------------------------


def test_a_bot_post_returns_the_channel_and_ts_to_edit_it_by(
    bot: SlackNotifier, slack_api: SlackApi
) -> None:
    ref = bot.send_alert(make_alert())
    assert ref is not None and PostedRef.load(ref) == PostedRef("C0SUPPORT", "1700000000.000001")


def test_a_webhook_post_returns_no_reference(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    assert webhook.send_alert(make_alert()) is None


def test_an_edit_is_a_chat_update_of_that_message_saying_when_in_the_team_zone(
    httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    receiver = SlackReceiver(
        token=Secret(TOKEN), channel="#support", api_url=httpserver.url_for("/api")
    )
    notifier = SlackNotifier(receiver, tz=ZoneInfo("Europe/Paris"), clock=FixedClock(NOW))
    ref = notifier.send_alert(make_alert())
    assert ref is not None
    notifier.edit_alert(make_alert(kind="updated", count=80), ref)
    notifier.close()
    method, body = slack_api.calls[1]
    assert (method, body["channel"], body["ts"]) == (
        "chat.update",
        "C0SUPPORT",
        "1700000000.000001",
    )
    assert "updated 16:00" in shown(body) and "80 negative mentions" in shown(body)
    assert "unfurl_links" not in body  # chat.update keeps the post's own settings


def test_a_webhook_cannot_edit_and_sends_nothing(
    httpserver: HTTPServer, webhook: SlackNotifier
) -> None:
    with pytest.raises(DeliveryError) as raised:
        webhook.edit_alert(make_alert(kind="updated"), PostedRef("C1", "1.2").dump())
    assert raised.value.permanent and httpserver.log == []


# -- through the detector --------------------------------------------------------------------


def test_growth_after_the_page_edits_that_message_and_posts_nothing_else(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    config = bot_config(write_config, httpserver)
    with Store(config.database) as store:
        seed_background(store)
        burst(store, 60, NOW - timedelta(minutes=50), timedelta(minutes=45))
        detect(config, store, NOW)
        burst(store, 40, NOW - timedelta(minutes=4), timedelta(minutes=8))
        detect(config, store, NOW + timedelta(minutes=5))
        detect(config, store, NOW + timedelta(minutes=6))  # nothing new to show
        severities = [i.severity for i in store.incidents()]
    assert slack_api.methods() == ["chat.postMessage", "chat.update"]
    (_, post), (_, update) = slack_api.calls
    assert (update["channel"], update["ts"]) == ("C0SUPPORT", "1700000000.000001")
    assert severities == ["critical"]  # critical from the start: growth cannot escalate it
    assert "60 negative mentions" in shown(post)
    assert "100 negative mentions" in shown(update) and "updated 15:05" in shown(update)


def test_a_topic_joining_after_the_page_edits_it_to_show_the_breakdown(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    config = bot_config(write_config, httpserver)
    with Store(config.database) as store:
        seed_background(store)
        burst(store, 40, NOW - timedelta(minutes=50), timedelta(minutes=45))
        detect(config, store, NOW)
        burst(store, 12, NOW - timedelta(minutes=4), timedelta(minutes=8), ("outage",))
        detect(config, store, NOW + timedelta(minutes=5))
        [topic] = [i for i in store.incidents() if i.scope_kind == "topic"]
    assert topic.grouped_into is not None
    assert slack_api.methods() == ["chat.postMessage", "chat.update"]
    (_, post), (_, update) = slack_api.calls
    assert "Breakdown" not in shown(post)
    assert "outage topic ×12" in shown(update) and update["ts"] == "1700000000.000001"


# -- through the outbox ----------------------------------------------------------------------


def open_incident(store: Store, **overrides: Any) -> Incident:
    incident = Incident(
        id=0,
        brand="Acme",
        scope_kind="brand",
        scope_value="Acme",
        status="open",
        severity="critical",
        opened_at=NOW,
        updated_at=NOW,
        last_fired_at=NOW,
        resolved_at=None,
        last_notified_at=NOW,
        notifications=1,
        count=30,
        expected=2,
        ratio=15,
        peak_ratio=15,
        peak_count=30,
    )
    incident = replace(incident, **overrides)
    with store.transaction():
        return replace(incident, id=store.insert_incident(incident))


def page(store: Store, outbox: Outbox, incident: Incident) -> None:
    with store.transaction():
        outbox.enqueue_alerts(incident, "opened", HOUR, NOW)


def grow(store: Store, outbox: Outbox, incident: Incident, count: float) -> Incident:
    grown = replace(incident, count=count, peak_count=count, ratio=count / 2)
    with store.transaction():
        store.save_incident(grown)
        outbox.enqueue_alerts(grown, "updated", HOUR, NOW)
    return grown


def test_a_restarted_monitor_still_edits_the_message_it_posted(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    config = bot_config(write_config, httpserver)
    with Store(config.database) as store:
        incident = open_incident(store)
        outbox = outbox_for(config, store, clock=FixedClock(NOW))
        page(store, outbox, incident)
        outbox.deliver_once()
    with Store(config.database) as restarted:
        outbox = outbox_for(config, restarted, clock=FixedClock(NOW))
        grow(restarted, outbox, incident, 50)
        assert outbox.deliver_once().sent == 1
    assert slack_api.methods() == ["chat.postMessage", "chat.update"]
    assert slack_api.calls[1][1]["ts"] == "1700000000.000001"
    assert "50 negative mentions" in shown(slack_api.calls[1][1])


def test_a_webhook_receiver_gets_the_page_and_nothing_for_growth(
    write_config: Callable[[str], Path], httpserver: HTTPServer
) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    hook = httpserver.url_for(HOOK_PATH)
    config = load_config(write_config(config_text(f"webhook_url: '{hook}'")))
    with Store(config.database) as store:
        incident = open_incident(store)
        outbox = outbox_for(config, store, clock=FixedClock(NOW))
        page(store, outbox, incident)
        outbox.deliver_once()
        grow(store, outbox, incident, 50)
        outbox.deliver_once()
        assert store.outbox_counts() == {"sent": 1}
    assert len(httpserver.log) == 1


def test_beside_a_bot_a_console_receiver_gets_the_page_and_nothing_for_growth(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    api = httpserver.url_for("/api")
    both = f"token: '{TOKEN}', channel: '#support', api_url: '{api}'}}, console: {{"
    config = load_config(write_config(config_text(both)))
    printed = io.StringIO()
    with Store(config.database) as store:
        incident = open_incident(store)
        outbox = outbox_for(config, store, clock=FixedClock(NOW), stream=printed)
        page(store, outbox, incident)
        outbox.deliver_once()
        grow(store, outbox, incident, 50)
        outbox.deliver_once()
        sent = sorted((m.receiver, m.kind) for m in store.messages())
    assert sent == [("console", "opened"), ("slack", "opened"), ("slack", "updated")]
    assert printed.getvalue().count("negative mentions in the last") == 1
    assert slack_api.methods() == ["chat.postMessage", "chat.update"]


def test_an_update_waits_for_its_page_that_is_still_retrying(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    config = bot_config(write_config, httpserver)
    slack_api.refuse["chat.postMessage"] = ["internal_error"]
    clock = FixedClock(NOW)
    with Store(config.database) as store:
        incident = open_incident(store)
        outbox = outbox_for(config, store, clock=clock)
        page(store, outbox, incident)
        outbox.deliver_once()  # the page fails and backs off
        grow(store, outbox, incident, 50)
        assert outbox.deliver_once().sent == 0  # the update is due, its page is not
        clock.advance(minutes=5)
        outbox.deliver_once()
        outbox.deliver_once()
    assert slack_api.methods() == ["chat.postMessage", "chat.postMessage", "chat.update"]
    assert slack_api.calls[2][1]["ts"] == "1700000000.000001"


def test_an_update_queued_before_an_escalation_does_not_overwrite_it(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    config = bot_config(write_config, httpserver)
    with Store(config.database) as store:
        incident = open_incident(store)
        outbox = outbox_for(config, store, clock=FixedClock(NOW))
        page(store, outbox, incident)
        outbox.deliver_once()
        grown = grow(store, outbox, incident, 50)
        escalated = replace(grown, count=90, peak_count=90, notifications=2)
        with store.transaction():
            outbox.enqueue_alerts(escalated, "escalated", HOUR, NOW)
        outbox.deliver_once()
        outbox.deliver_once()
        kinds = sorted(m.kind for m in store.messages())
    assert slack_api.methods() == ["chat.postMessage", "chat.postMessage"]
    assert kinds == ["escalated", "opened"]


def test_an_update_whose_page_was_sent_without_a_reference_is_dropped(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    config = bot_config(write_config, httpserver)
    with Store(config.database) as store:
        incident = open_incident(store)
        outbox = outbox_for(config, store, clock=FixedClock(NOW))
        page(store, outbox, incident)
        with store.transaction():  # as a monitor older than sent_ref delivered it
            [paged] = store.messages()
            store.mark_sent(paged.id, NOW)
        grow(store, outbox, incident, 50)
        outbox.deliver_once()
        assert store.outbox_counts() == {"sent": 1}
    assert slack_api.calls == []


def test_after_upgrading_a_database_an_old_page_is_left_alone_and_a_new_one_edited(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    config = bot_config(write_config, httpserver)
    with Store(config.database) as store:
        old = open_incident(store)
        outbox = outbox_for(config, store, clock=FixedClock(NOW))
        page(store, outbox, old)
        outbox.deliver_once()
    conn = sqlite3.connect(config.database)  # back to the schema before sent_ref
    conn.execute("ALTER TABLE outbox DROP COLUMN sent_ref")
    conn.execute("UPDATE schema_version SET version = 6")
    conn.commit()
    conn.close()
    with Store(config.database) as upgraded:
        outbox = outbox_for(config, upgraded, clock=FixedClock(NOW))
        new = open_incident(upgraded, scope_kind="topic", scope_value="outage")
        page(upgraded, outbox, new)
        outbox.deliver_once()
        grow(upgraded, outbox, old, 50)
        grow(upgraded, outbox, new, 60)
        outbox.deliver_once()
        assert upgraded.schema_version == len(MIGRATIONS)
    assert slack_api.methods() == ["chat.postMessage", "chat.postMessage", "chat.update"]
    assert slack_api.calls[2][1]["ts"] == "1700000000.000002"


def test_an_update_whose_page_died_is_dropped_and_never_posted(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    config = bot_config(write_config, httpserver)
    slack_api.refuse["chat.postMessage"] = ["channel_not_found"]
    with Store(config.database) as store:
        incident = open_incident(store)
        outbox = outbox_for(config, store, clock=FixedClock(NOW))
        page(store, outbox, incident)
        outbox.deliver_once()
        grow(store, outbox, incident, 50)
        outbox.deliver_once()
        assert store.outbox_counts() == {"dead": 1}
    assert slack_api.methods() == ["chat.postMessage"]


@pytest.mark.parametrize("code", ["message_not_found", "cant_update_message", "edit_window_closed"])
def test_a_refused_edit_is_dead_for_that_update_only_and_posts_nothing(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi, code: str
) -> None:
    config = bot_config(write_config, httpserver)
    slack_api.refuse["chat.update"] = [code]
    with Store(config.database) as store:
        incident = open_incident(store)
        outbox = outbox_for(config, store, clock=FixedClock(NOW))
        page(store, outbox, incident)
        outbox.deliver_once()
        grown = grow(store, outbox, incident, 50)
        assert outbox.deliver_once().dead == 1
        grow(store, outbox, grown, 80)  # the next update edits the page again
        assert outbox.deliver_once().sent == 1
        [dead] = store.messages("dead")
    assert slack_api.methods() == ["chat.postMessage", "chat.update", "chat.update"]
    assert code in (dead.last_error or "") and "dropped" in (dead.last_error or "")


def test_a_rate_limited_edit_is_retried(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    config = bot_config(write_config, httpserver)
    slack_api.refuse["chat.update"] = ["ratelimited"]
    clock = FixedClock(NOW)
    with Store(config.database) as store:
        incident = open_incident(store)
        outbox = outbox_for(config, store, clock=clock)
        page(store, outbox, incident)
        outbox.deliver_once()
        grow(store, outbox, incident, 50)
        assert outbox.deliver_once().retrying == 1
        clock.advance(minutes=5)
        assert outbox.deliver_once().sent == 1
    assert slack_api.methods() == ["chat.postMessage", "chat.update", "chat.update"]


def test_a_newer_update_replaces_an_older_one_not_yet_sent(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    config = bot_config(write_config, httpserver)
    with Store(config.database) as store:
        incident = open_incident(store)
        outbox = outbox_for(config, store, clock=FixedClock(NOW))
        page(store, outbox, incident)
        outbox.deliver_once()
        grow(store, outbox, grow(store, outbox, incident, 50), 80)
        outbox.deliver_once()
    assert slack_api.methods() == ["chat.postMessage", "chat.update"]
    assert "80 negative mentions" in shown(slack_api.calls[1][1])


def test_a_repeated_detection_pass_queues_the_same_update_once(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    config = bot_config(write_config, httpserver)
    with Store(config.database) as store:
        incident = open_incident(store)
        outbox = outbox_for(config, store, clock=FixedClock(NOW))
        page(store, outbox, incident)
        grow(store, outbox, incident, 50)
        grow(store, outbox, incident, 50)
        updates = [m for m in store.messages() if m.kind == "updated"]
    assert len(updates) == 1


def test_untrusted_text_in_an_edit_stays_inert(
    write_config: Callable[[str], Path], httpserver: HTTPServer, slack_api: SlackApi
) -> None:
    config = bot_config(write_config, httpserver)
    with Store(config.database) as store:
        incident = open_incident(store)
        hostile = Mention("reddit", "h1", HOSTILE.url, HOSTILE.author, HOSTILE.text, NOW)
        score = Score(-0.99, 0.0, 0.1, 0.9, "negative")
        store.save_poll("Acme", "reddit", [Scored(hostile, "Acme", score)], None, 0, NOW)
        outbox = outbox_for(config, store, clock=FixedClock(NOW))
        page(store, outbox, incident)
        outbox.deliver_once()
        grow(store, outbox, incident, 50)
        outbox.deliver_once()
    (_, update) = slack_api.calls[1]
    raw = json.dumps(update, ensure_ascii=False)
    assert slack_api.methods() == ["chat.postMessage", "chat.update"]
    assert "mallory" in raw and "&lt;!channel&gt;" in raw
    for live in ("<!channel>", "<@U123>", "<http://evil.example|click>", "\x1b", "\u202e"):
        assert live not in raw


def test_check_names_once_the_receivers_that_get_nothing_for_growth(
    write_config: Callable[[str], Path], httpserver: HTTPServer
) -> None:
    hook = config_text(f"webhook_url: '{httpserver.url_for(HOOK_PATH)}'").replace(
        "}}\nroutes", "}, email: {to: [cx@acme.example]}}\nroutes"
    )
    email = "email: {host: smtp.acme.example, from: monitor@acme.example}\n"
    webhook = CliRunner().invoke(main, ["-c", str(write_config(hook + email)), "check"])
    bot = CliRunner().invoke(main, ["-c", str(bot_config(write_config, httpserver).path), "check"])
    assert webhook.exit_code == 0 and bot.exit_code == 0, webhook.output + bot.output
    [note] = [line for line in webhook.output.splitlines() if line.startswith("note:")]
    assert "cx (slack, email)" in note and "slack.token" in note
    assert "note:" not in bot.output
