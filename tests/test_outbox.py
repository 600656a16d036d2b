"""The outbox end to end: detection queues alerts, delivery retries, restarts never resend.

Slack is a loopback HTTP server that records requests; email is a real aiosmtpd server.
"""

from __future__ import annotations

import io
import itertools
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from pytest_httpserver import HTTPServer

from monitor.config import Config, load_config
from monitor.models import Alert, AlertMention, Mention
from monitor.outbox import DeliveryReport, Outbox, outbox_for, send_digest_now
from monitor.outbox_payload import build_alert, decode, encode
from monitor.poller import BrandPipeline
from monitor.spikes import Detector
from monitor.store import Store
from tests.helpers import FixedClock, LoopbackWebhook, fixture_path, make_alert

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)

BRAND = (
    "brands:\n  - name: Apex\n    terms: [apex]\n    topics: {quality: [quality, ruining, destroyed]}\n"
    "    spike: {min_count: 5}\n"
)


def angry_snippets() -> list[str]:
    rows = (
        fixture_path("sentiment", "amazonReviewSnippets_GroundTruth.txt").read_text().splitlines()
    )
    return [f"Apex: {r.split(chr(9))[2]}" for r in rows if float(r.split("\t")[1]) < -1.5]


def seed_spike(store: Store, config: Config) -> None:
    """Two quiet weeks, then the angriest Apex DVD player reviews within the last hour."""
    pipeline = BrandPipeline(config.brands[0])
    ids = itertools.count()

    def mention(text: str, when: datetime) -> Mention:
        return Mention(
            "hackernews", str(next(ids)), f"https://e.example/{when:%s}", "buyer", text, when
        )

    calm = [
        mention("Apex: the player works fine.", NOW - timedelta(hours=3 * i)) for i in range(1, 112)
    ]
    angry = [
        mention(t, NOW - timedelta(minutes=55) + timedelta(minutes=i))
        for i, t in enumerate(angry_snippets()[:40])
    ]
    store.save_poll("Apex", "hackernews", pipeline.process(tuple(calm + angry)), None, 0, NOW)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def make_config(write_config: Callable[[str], Path], teams: str, extra: str = "") -> Config:
    return load_config(write_config(BRAND + teams + "routes:\n  - {team: cx}\n" + extra))


def slack_team(server: HTTPServer) -> str:
    return f"teams:\n  cx: {{slack: {{webhook_url: '{server.url_for('/hook')}'}}}}\n"


def detect_and_deliver(
    config: Config, store: Store, clock: FixedClock, stream: io.StringIO | None = None
) -> Outbox:
    outbox = outbox_for(config, store, clock=clock, stream=stream)
    Detector(config, store, outbox.enqueue_alerts, clock=clock).run_once()
    outbox.deliver_once()
    return outbox


def test_alert_survives_a_json_round_trip(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = make_config(write_config, "teams:\n  cx: {console: {}}\n")
    with Store(config.database) as store:
        seed_spike(store, config)
        outbox = outbox_for(config, store, clock=lambda: NOW)
        [change] = Detector(config, store, outbox.enqueue_alerts, clock=lambda: NOW).run_once()
        alert = build_alert(store, change.incident, "opened", timedelta(hours=1), NOW, "k")
    assert decode(Alert, encode(alert)) == alert
    assert len(alert.top_mentions) == 5


def test_one_alert_per_incident_across_a_daemon_restart(
    write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    config = make_config(write_config, "teams:\n  cx: {console: {}}\n")
    printed = io.StringIO()
    with Store(config.database) as store:
        seed_spike(store, config)
        detect_and_deliver(config, store, clock, printed)
    clock.advance(minutes=1)
    with Store(config.database) as restarted:
        detect_and_deliver(config, restarted, clock, printed)
        assert restarted.outbox_counts() == {"sent": 1}
    assert printed.getvalue().count("Negative spike: Apex") == 1


def test_alert_is_queued_in_the_same_transaction_as_its_incident(
    write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    config = make_config(write_config, "teams:\n  cx: {console: {}}\n")

    def broken_enqueue(*args: object) -> None:
        raise OSError("disk full")

    with Store(config.database) as store:
        seed_spike(store, config)
        assert Detector(config, store, broken_enqueue, clock=clock).run_once() == []
        assert store.incidents() == []


def test_slack_outage_then_recovery_delivers_the_queued_alert_exactly_once(
    httpserver: HTTPServer, write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data("internal_error", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    config = make_config(write_config, slack_team(httpserver))
    with Store(config.database) as store:
        seed_spike(store, config)
        outbox = detect_and_deliver(config, store, clock)
        assert store.outbox_counts() == {"pending": 1}
        clock.advance(seconds=5)
        assert outbox.deliver_once().sent == 0  # backoff not over: no request
        clock.advance(seconds=5)
        assert outbox.deliver_once().sent == 1
        clock.advance(hours=1)
        assert outbox.deliver_once().sent == 0
    assert len(httpserver.log) == 2
    assert "Apex" in httpserver.log[1][0].get_data(as_text=True)


def test_slack_429_waits_for_retry_after(
    httpserver: HTTPServer, write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "120"}
    )
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    config = make_config(write_config, slack_team(httpserver))
    with Store(config.database) as store:
        seed_spike(store, config)
        outbox = detect_and_deliver(config, store, clock)
        clock.advance(seconds=119)
        assert outbox.deliver_once().sent == 0
        clock.advance(seconds=1)
        assert outbox.deliver_once().sent == 1
    assert len(httpserver.log) == 2


def test_failing_alert_is_marked_dead_after_max_attempts_and_shown_in_status(
    httpserver: HTTPServer, write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    from click.testing import CliRunner

    from monitor.cli import main

    httpserver.expect_request("/hook").respond_with_data("boom", status=503)
    config = make_config(write_config, slack_team(httpserver), "alerting: {max_attempts: 3}\n")
    with Store(config.database) as store:
        seed_spike(store, config)
        outbox = detect_and_deliver(config, store, clock)
        for _ in range(2):
            clock.advance(hours=1)
            outbox.deliver_once()
        assert store.outbox_counts() == {"dead": 1}
    status = CliRunner().invoke(main, ["-c", str(config.path), "status"]).output
    assert "1 dead" in status and "after 3 attempts" in status
    assert httpserver.url_for("/hook") not in status


def test_resend_after_a_crash_carries_the_same_idempotency_key(
    httpserver: HTTPServer, write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    config = make_config(write_config, slack_team(httpserver))

    class CrashingStore(Store):
        def mark_sent(self, message_id: int, now: datetime) -> None:
            raise KeyboardInterrupt  # the process dies between the send and its record

    with CrashingStore(config.database) as store:
        seed_spike(store, config)
        with pytest.raises(KeyboardInterrupt):
            detect_and_deliver(config, store, clock)
    with Store(config.database) as restarted:
        outbox_for(config, restarted, clock=clock).deliver_once()
        assert restarted.outbox_counts() == {"sent": 1}
    bodies = [request.get_data(as_text=True) for request, _ in httpserver.log]
    assert len(bodies) == 2
    assert (
        "incident-1-1-opened:cx:slack" in bodies[0] and "incident-1-1-opened:cx:slack" in bodies[1]
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Collect(Sink):
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp_port() -> Iterator[int]:
    yield free_port()


def test_smtp_down_then_up_delivers_once(
    write_config: Callable[[str], Path], clock: FixedClock, smtp_port: int
) -> None:
    config = make_config(
        write_config,
        "teams:\n  cx: {email: {to: [cx@apex.example]}}\n",
        f"email: {{host: 127.0.0.1, port: {smtp_port}, security: plain, from: monitor@apex.example, timeout: 2s}}\n",
    )
    handler = Collect()
    with Store(config.database) as store:
        seed_spike(store, config)
        outbox = detect_and_deliver(config, store, clock)  # nothing listens yet
        assert store.outbox_counts() == {"pending": 1}
        controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        try:
            clock.advance(seconds=10)
            assert outbox.deliver_once().sent == 1
            clock.advance(hours=1)
            assert outbox.deliver_once().sent == 0
        finally:
            controller.stop()
    assert len(handler.messages) == 1
    assert b"Apex" in handler.messages[0]


def test_send_digest_now_sends_that_digest_and_leaves_other_queued_messages(
    write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    config = make_config(write_config, "teams:\n  cx: {console: {}}\n")
    with Store(config.database) as store:
        seed_spike(store, config)
        Detector(
            config, store, outbox_for(config, store, clock=clock).enqueue_alerts, clock=clock
        ).run_once()
        assert store.outbox_counts() == {"pending": 1}  # the alert, due now
        results = send_digest_now(config, store, "cx", "2026-W46", clock=clock)
        assert results == [("console", None)]
        assert store.outbox_counts() == {"pending": 1, "sent": 1}
        [alert] = store.messages(status="pending")
        assert alert.kind == "opened"


class Webhook(LoopbackWebhook):
    """A loopback Slack webhook that records each body it gets and, while `hold` is clear,
    keeps every request waiting (a receiver that hangs)."""

    def __init__(self, *, hold: bool = False) -> None:
        self.bodies: list[str] = []
        self.released = threading.Event()
        if not hold:
            self.released.set()
        self.received = threading.Condition()
        super().__init__()

    def receive(self, body: bytes) -> bool:
        with self.received:
            self.bodies.append(body.decode())
            self.received.notify_all()
        self.released.wait(timeout=30)
        return True

    def wait_for(self, count: int) -> bool:
        """Whether `count` bodies arrived within a generous bound (never reached when green)."""
        with self.received:
            return self.received.wait_for(lambda: len(self.bodies) >= count, timeout=10)

    def close(self) -> None:
        self.released.set()
        super().close()


def sample_alert(team: str, n: int) -> Alert:
    """An alert whose one piece of evidence names its team and number, to follow its order."""
    mention = AlertMention("buyer", "hackernews", f"{team} message {n}", "", -0.6, NOW)
    return make_alert(incident_id=n, idempotency_key="", top_mentions=(mention,))


def test_a_hanging_receiver_delays_no_other_team_and_each_lane_keeps_its_order(
    write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    dead, alive = Webhook(hold=True), Webhook()
    config = load_config(
        write_config(
            BRAND + "teams:\n"
            f"  ops: {{slack: {{webhook_url: '{dead.url}'}}}}\n"
            f"  cx: {{slack: {{webhook_url: '{alive.url}'}}}}\n"
            "routes:\n  - {team: cx}\n"
        )
    )
    try:
        with Store(config.database) as store:
            outbox = outbox_for(config, store, clock=clock)
            with store.transaction():
                # The hanging team's messages are queued first: a single queue would serve
                # them before cx's.
                outbox.enqueue("ops", "opened", sample_alert("ops", 1), "incident-1:ops")
                outbox.enqueue("ops", "opened", sample_alert("ops", 2), "incident-2:ops")
                outbox.enqueue("cx", "opened", sample_alert("cx", 3), "incident-3:cx")
                outbox.enqueue("cx", "opened", sample_alert("cx", 4), "incident-4:cx")
            reports: list[DeliveryReport] = []
            delivery = threading.Thread(target=lambda: reports.append(outbox.deliver_once()))
            delivery.start()
            assert alive.wait_for(2), "cx waited behind the hanging ops receiver"
            assert dead.wait_for(1) and not dead.released.is_set()  # ops is still hanging
            dead.released.set()
            delivery.join(timeout=30)
            assert reports == [DeliveryReport(sent=4)]
            assert outbox.deliver_once() == DeliveryReport()
    finally:
        dead.close()
        alive.close()
    assert ["cx message 3" in alive.bodies[0], "cx message 4" in alive.bodies[1]] == [True, True]
    assert ["ops message 1" in dead.bodies[0], "ops message 2" in dead.bodies[1]] == [True, True]
    assert len(alive.bodies) == 2 and len(dead.bodies) == 2  # nothing sent twice


def test_a_lane_stops_at_its_first_retryable_failure_so_order_holds(
    httpserver: HTTPServer, write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    httpserver.expect_request("/hook").respond_with_data("busy", status=500)
    config = make_config(write_config, slack_team(httpserver))
    with Store(config.database) as store:
        outbox = outbox_for(config, store, clock=clock)
        with store.transaction():
            outbox.enqueue("cx", "opened", sample_alert("cx", 1), "incident-1:cx")
            outbox.enqueue("cx", "opened", sample_alert("cx", 2), "incident-2:cx")
        assert outbox.deliver_once() == DeliveryReport(retrying=1)
        assert len(httpserver.log) == 1  # the second did not overtake, nor wait out a failure
        second = store.messages_with_keys(["incident-2:cx:slack"])[0]
        assert (second.status, second.attempts) == ("pending", 0)
