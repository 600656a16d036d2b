"""Several `monitor run` processes on one real PostgreSQL: faults with real processes.

Sources are a loopback hn.algolia.com that records how many requests it serves at once per
query; Slack is a loopback webhook. Intervals are seconds so each test takes a few of them.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.demo import demo_config_text
from monitor.demo_script import ScriptedMention, hit, scripted_week
from monitor.store import Store
from tests.helpers import DaemonProcess, LoopbackWebhook, RecordingSource
from tests.postgres_server import PostgresServer


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> Iterator[str]:
    name = postgres_server.fresh_database(postgres_server.template)
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


def config_text(source: RecordingSource, brands: list[str], every: str, teams: str = "") -> str:
    lines = [
        "database: ${DATABASE_URL}",
        "log_level: INFO",
        "brands:",
        *(f"  - {{name: {b}, terms: [{b.lower()}], channels: [hackernews]}}" for b in brands),
        "channels:",
        f"  hackernews: {{base_url: '{source.url}', every: {every}, backfill: 1d}}",
        "alerting: {detect_every: 2s, deliver_every: 1s}",
    ]
    return (
        "\n".join(lines)
        + "\n"
        + (teams or "teams:\n  cx: {console: {}}\nroutes:\n  - {team: cx}\n")
    )


def mentions_of(brands: list[str], now: datetime) -> list[dict[str, object]]:
    return [
        hit(
            ScriptedMention(
                1000 * i + j, "someone", f"{b.lower()} works fine", -timedelta(hours=j + 1), 1
            ),
            now,
        )
        for i, b in enumerate(brands)
        for j in range(3)
    ]


@pytest.fixture
def start(
    write_config: Callable[[str], Path], database_url: str
) -> Iterator[Callable[[str], DaemonProcess]]:
    started: list[DaemonProcess] = []

    def run(text: str) -> DaemonProcess:
        daemon = DaemonProcess(write_config(text), env={"DATABASE_URL": database_url})
        started.append(daemon)
        return daemon

    yield run
    for daemon in started:
        daemon.proc.kill()
        daemon.proc.wait()


def test_two_daemons_never_poll_the_same_source_at_once(
    start: Callable[[str], DaemonProcess],
) -> None:
    brands = [f"Brand{i}" for i in range(8)]
    # Each poll takes half its 1s interval: without leases the two daemons' polls overlap.
    source = RecordingSource(mentions_of(brands, datetime.now(UTC)), delay=0.25)
    try:
        text = config_text(source, brands, "1s")
        one, two = start(text), start(text)
        one.wait_for("poll_ok", timeout=90)  # both at work, however loaded the machine
        two.wait_for("poll_ok", timeout=90)  # random job phases: each daemon wins some sources
        served = sum(source.requests.values())
        assert source.wait_until(lambda: sum(source.requests.values()) >= served + 60)
        assert one.stop() == 0 and two.stop() == 0
    finally:
        source.close()
    assert set(source.most_at_once) == {b.lower() for b in brands}
    assert max(source.most_at_once.values()) == 1


def test_a_killed_pollers_source_is_polled_by_the_other_and_nothing_is_lost_or_doubled(
    start: Callable[[str], DaemonProcess], database_url: str
) -> None:
    brands = ["Alpha", "Beta"]
    source = RecordingSource(mentions_of(brands, datetime.now(UTC)))
    source.hold_query = "alpha"
    try:
        text = config_text(source, brands, "3s")
        poller = start(text)
        assert source.held.wait(timeout=60), "the first daemon never polled Alpha"
        other = start(text)
        other.wait_for("daemon_start")
        beta = source.requests.get("beta", 0)
        # Beta polled again and again: over an interval has passed, so the other daemon's
        # Alpha job has fired (at a random point of its first interval) and was refused.
        assert source.wait_until(lambda: source.requests.get("beta", 0) >= beta + 3)
        before = source.requests["alpha"]
        poller.kill()  # mid-poll: its lease on Alpha is never given back
        source.release.set()
        assert source.wait_until(lambda: source.requests["alpha"] > before)
        other.wait_for("poll_ok", "brand=Alpha")
        assert other.stop() == 0
    finally:
        source.close()
    with Store(database_url) as store:
        stored = sorted(m.native_id for m in store.mentions(brand="Alpha"))
    assert stored == ["0", "1", "2"]  # every mention once
    assert source.most_at_once["alpha"] == 1


class SlackHook(LoopbackWebhook):
    """A Slack webhook that leaves its first request unanswered (the sender dies with it in
    flight) and accepts every later one, recording what it accepted."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, object]] = []
        self.before_kill = 0  # requests that came while the first sender was alive
        self.killed = threading.Event()
        self.first = threading.Event()
        self.done = threading.Event()
        super().__init__()

    def receive(self, body: bytes) -> bool:
        if not self.first.is_set():
            self.first.set()
            self.done.wait(timeout=60)
            return False
        if not self.killed.is_set():
            self.before_kill += 1
        self.accepted.append(json.loads(body))
        return True

    def close(self) -> None:
        self.done.set()
        super().close()


def alerting_config(source: RecordingSource, hook_url: str) -> str:
    """The demo's scripted week with its alerts going to a Slack webhook."""
    return (
        demo_config_text(source.url.rstrip("/"), Path("demo.db"))
        .replace("database: demo.db", "database: ${DATABASE_URL}")
        .replace("log_level: WARNING", "log_level: INFO")
        .replace(
            "customer-care: {console: {}", f"customer-care: {{slack: {{webhook_url: '{hook_url}'}}"
        )
    )


def _sender(database_url: str, daemons: list[DaemonProcess]) -> DaemonProcess:
    """The daemon whose mark is on the message being sent (every daemon delivers, so the
    standby may be the one that claimed it first); a daemon's id holds its pid."""
    with Store(database_url) as store:
        [row] = store.query("SELECT attempt_by FROM outbox WHERE attempt_by IS NOT NULL")
    pid = int(row["attempt_by"].split(":")[-2])
    [sender] = [d for d in daemons if d.proc.pid == pid]
    return sender


def test_kill_9_of_the_sender_mid_alert_and_the_other_daemon_sends_each_alert_exactly_once(
    start: Callable[[str], DaemonProcess], database_url: str
) -> None:
    now = datetime.now(UTC)
    history, burst = scripted_week()
    source = RecordingSource([hit(m, now) for m in history + burst])
    hook = SlackHook()
    # The killed sender marked its alert as being sent: presumed dead soon after its last beat.
    text = alerting_config(source, hook.url).replace(
        "deliver_every: 1s}", "deliver_every: 1s, presumed_dead_after: 2s}"
    )
    try:
        leader = start(text)
        leader.wait_for("daemon_role", "role=leader")
        standby = start(text)
        standby.wait_for("daemon_role", "role=standby")
        assert hook.first.wait(timeout=60), "no daemon sent the alert"
        sender = _sender(database_url, [leader, standby])
        other = standby if sender is leader else leader
        sender.kill()  # mid-request: the alert was detected, queued, claimed and not accepted
        hook.killed.set()
        if sender is leader:
            other.wait_for("leader_elected")
        # Once the sender's claim runs out (15 s, plus a whole Slack timeout and a margin).
        other.wait_for("resent_unknown_outcome", timeout=90)
        other.wait_for("delivered")
        with Store(database_url) as store:
            queued = store.messages()
            incidents = store.incidents()
        assert other.stop() == 0
    finally:
        hook.close()
        source.close()
    assert hook.before_kill == 0  # the other daemon never sent what the sender had claimed
    assert [m.status for m in queued] == ["sent"] * len(queued)
    keys = [m.key for m in queued]
    assert len(hook.accepted) == len(queued) == len(set(keys))
    assert len({(i.brand, i.scope_kind, i.scope_value) for i in incidents}) == len(incidents)


def test_a_daemon_survives_a_database_restart_and_carries_on(
    start: Callable[[str], DaemonProcess], postgres_server: PostgresServer
) -> None:
    source = RecordingSource(mentions_of(["Alpha"], datetime.now(UTC)))
    try:
        daemon = start(config_text(source, ["Alpha"], "1s"))
        daemon.wait_for("poll_ok")
        postgres_server.restart()
        daemon.wait_for("leader_lost")
        daemon.wait_for("leader_elected")
        daemon.wait_for("poll_ok")
        assert daemon.stop() == 0
    finally:
        source.close()
    assert not any("Traceback" in line for line in daemon.log)


class CuttableProxy:
    """A TCP proxy in front of PostgreSQL for one daemon: `cut` closes every connection through
    it and refuses new ones (the daemon's network to the database is down), `restore` lets
    connections through again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.sockets: list[socket.socket] = []
        self.guard = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.guard:
                self.sockets += [client, upstream]
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()

    def cut(self) -> None:
        self.open = False
        with self.guard:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.open = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)


class CuttingHook(LoopbackWebhook):
    """A Slack webhook that accepts every post, recording it; during the first it runs
    `on_first` before answering (the sender is cut off from its database mid-send)."""

    def __init__(self, on_first: Callable[[], object]) -> None:
        self.accepted: list[dict[str, object]] = []
        self.first = threading.Event()
        self.on_first = on_first
        super().__init__()

    def receive(self, body: bytes) -> bool:
        self.accepted.append(json.loads(body))
        if not self.first.is_set():
            self.on_first()
            self.first.set()
        return True


def within(daemon: DaemonProcess, seconds: float, *fragments: str) -> str:
    """The daemon's next log line holding every fragment, within `seconds` however much else it
    logs meanwhile."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = daemon.lines.get(timeout=left)
        except queue.Empty:
            break
        daemon.log.append(line)
        if all(f in line for f in fragments):
            return line
    raise AssertionError(f"no {fragments} within {seconds}s; log:\n" + "".join(daemon.log[-60:]))


# The longest a claim lives here: three ticks of 0.5 s, Slack's timeout (15 s), the margin (3 s).
CLAIM_S = 20


def test_a_daemon_cut_off_from_the_database_mid_send_and_the_other_send_each_alert_once(
    start: Callable[[str], DaemonProcess],
    write_config: Callable[..., Path],
    database_url: str,
    postgres_server: PostgresServer,
) -> None:
    history, burst = scripted_week()
    source = RecordingSource([hit(m, datetime.now(UTC)) for m in history + burst])
    proxy = CuttableProxy(postgres_server.port)
    cut_at: list[float] = []

    def cut() -> None:
        proxy.cut()
        cut_at.append(time.monotonic())

    hook = CuttingHook(cut)
    text = alerting_config(source, hook.url)
    proxied = database_url.replace(f":{postgres_server.port}/", f":{proxy.port}/")
    cut_off = DaemonProcess(write_config(text, "cut.yaml"), env={"DATABASE_URL": proxied})
    try:
        within(cut_off, 60, "daemon_role", "role=leader")
        # It runs alone until its first alert is on its way, so it is the one sending it.
        assert hook.first.wait(timeout=60), "the daemon never sent its alert"
        unrecorded = within(cut_off, 60, "outcome_unrecorded")
        marked = unrecorded.split("id=")[1].split()[0]
        other = start(text)
        within(other, 60, "daemon_role", "role=leader")  # the cut-off daemon's session ended
        # No event says "the other daemon chose not to send it": give it the time in which it
        # would have, its claim run out and a few of its deliver runs (every second) since.
        time.sleep(max(0.0, cut_at[0] + CLAIM_S + 4 - time.monotonic()))
        proxy.restore()
        within(cut_off, 90, "delivered", f"id={marked} ")
        with Store(database_url) as store:
            queued = store.messages()
        assert other.stop() == 0
        assert cut_off.stop() == 0
    finally:
        cut_off.proc.kill()
        hook.close()
        proxy.close()
        source.close()
    assert [m.status for m in queued] == ["sent"] * len(queued)
    assert len(hook.accepted) == len(queued) == len({m.key for m in queued})


def test_a_daemon_cut_off_from_the_database_stops_on_sigterm_all_the_same(
    write_config: Callable[..., Path], database_url: str, postgres_server: PostgresServer
) -> None:
    source = RecordingSource(mentions_of(["Alpha"], datetime.now(UTC)))
    proxy = CuttableProxy(postgres_server.port)
    proxied = database_url.replace(f":{postgres_server.port}/", f":{proxy.port}/")
    text = config_text(source, ["Alpha"], "1s")
    daemon = DaemonProcess(write_config(text), env={"DATABASE_URL": proxied})
    try:
        daemon.wait_for("poll_ok")
        proxy.cut()
        daemon.wait_for("leader_lost")  # its store calls now wait on a server out of reach
        # Before, every thread queued on the store's lock behind a 30 s checkout, the stop's
        # last goodbye included: it had not exited 30 s after SIGTERM.
        assert daemon.stop() == 0
    finally:
        daemon.proc.kill()
        proxy.close()
        source.close()
    log = daemon.rest()
    assert any("daemon_stopped" in line for line in log)
    assert not any("Traceback" in line for line in log)
