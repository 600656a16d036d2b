"""Several daemons on one store: poll leases around each poll job, one sender per message,
and `monitor status` listing every daemon with the sources it holds. SQLite here; the same
behaviour across real processes on PostgreSQL is in tests/integration/test_cluster.py."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor.cli import main
from monitor.cluster import Cluster, Member, tick_every
from monitor.config import Config, load_config
from monitor.daemon import Daemon
from monitor.models import utcnow
from monitor.outbox import outbox_for
from monitor.store import Store
from monitor.store.cluster import SoleLeader
from tests.helpers import FixedClock, LoopbackWebhook, algolia_page, make_alert, real_hn_hits


@pytest.fixture
def config(httpserver: HTTPServer, write_config: Callable[[str], Path]) -> Config:
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data(
        json.dumps(algolia_page(real_hn_hits()[:2], 0, 100)), content_type="application/json"
    )
    return load_config(
        write_config(
            "brands:\n  - {name: Any, terms: [the], channels: [hackernews]}\n"
            f"channels:\n  hackernews: {{base_url: '{httpserver.url_for('')}', every: 5m}}\n"
            "teams:\n  cx: {console: {}}\nroutes:\n  - {team: cx}\n"
        )
    )


def cluster(store: Store, clock: FixedClock, name: str) -> Cluster:
    member = Member(name, "box", 1, clock())
    return Cluster(store, member, SoleLeader(), version="t", tick=timedelta(seconds=5), clock=clock)


def test_a_second_daemons_poll_job_skips_a_source_the_first_just_polled(
    config: Config, httpserver: HTTPServer, clock: FixedClock
) -> None:
    with Store(config.database) as one, Store(config.database) as two:
        first = Daemon(config, one, clock=clock)
        second = Daemon(config, two, clock=clock)
        first._poll("Any", "hackernews")
        requests = len(httpserver.log)
        clock.advance(seconds=30)  # the second daemon's job fires half a minute later
        assert second._poll("Any", "hackernews") is None
        first.poller.close()
        second.poller.close()
    assert requests > 0 and len(httpserver.log) == requests


def test_the_source_falls_due_for_any_daemon_one_interval_after_its_poll(
    config: Config, httpserver: HTTPServer, clock: FixedClock
) -> None:
    with Store(config.database) as one, Store(config.database) as two:
        first = Daemon(config, one, clock=clock)
        second = Daemon(config, two, clock=clock)
        first._poll("Any", "hackernews")
        requests = len(httpserver.log)
        clock.advance(minutes=5)
        assert second._poll("Any", "hackernews") is not None
        first.poller.close()
        second.poller.close()
    assert len(httpserver.log) > requests


def test_a_lease_is_held_while_its_poll_runs_and_free_after(
    tmp_path: Path, clock: FixedClock
) -> None:
    with Store(tmp_path / "m.db") as store:
        a, b = cluster(store, clock, "a"), cluster(store, clock, "b")
        with a.lease("Any", "rss", timedelta(0)) as mine:
            assert mine
            with b.lease("Any", "rss", timedelta(0)) as theirs:
                assert not theirs
        with b.lease("Any", "rss", timedelta(0)) as theirs:
            assert theirs


def test_a_tick_renews_the_lease_of_a_poll_still_running(tmp_path: Path, clock: FixedClock) -> None:
    with Store(tmp_path / "m.db") as store:
        a, b = cluster(store, clock, "a"), cluster(store, clock, "b")
        with a.lease("Any", "rss", timedelta(0)):
            for _ in range(4):  # a slow poll: twice its lease's lifetime
                clock.advance(seconds=5)
                a.tick()
            with b.lease("Any", "rss", timedelta(0)) as theirs:
                assert not theirs


def test_a_killed_pollers_lease_is_taken_over_once_it_expires(
    tmp_path: Path, clock: FixedClock
) -> None:
    with Store(tmp_path / "m.db") as store:
        a, b = cluster(store, clock, "a"), cluster(store, clock, "b")
        killed = a.lease("Any", "rss", timedelta(0))
        assert killed.__enter__()  # and never exits: the process died mid-poll
        clock.advance(seconds=a.lease_ttl.total_seconds())
        with b.lease("Any", "rss", timedelta(0)) as theirs:
            assert theirs


def test_without_its_database_a_daemon_polls_nothing_and_does_not_crash(
    tmp_path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(tmp_path / "m.db")
    a = cluster(store, clock, "a")
    store.close()
    with a.lease("Any", "rss", timedelta(0)) as mine:
        assert not mine
    assert not a.tick()
    assert "lease_failed" in caplog.text and "cluster_beat_failed" in caplog.text


def test_a_standby_ticks_quickly_enough_to_take_over_within_a_detect_interval() -> None:
    assert tick_every(timedelta(minutes=1)) == timedelta(seconds=5)
    assert tick_every(timedelta(seconds=4)) == timedelta(seconds=1)


class HeldHook(LoopbackWebhook):
    """A Slack webhook that holds each request until released, counting what it got."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.arrived = threading.Event()
        self.release = threading.Event()
        super().__init__()

    def receive(self, body: bytes) -> bool:
        self.bodies.append(body)
        self.arrived.set()
        self.release.wait(timeout=30)
        return True


@pytest.fixture
def held_hook() -> Iterator[HeldHook]:
    hook = HeldHook()
    yield hook
    hook.release.set()
    hook.close()


def test_two_daemons_delivering_at_once_send_a_message_once(
    held_hook: HeldHook, write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    config = load_config(
        write_config(
            "brands:\n  - {name: Apex, terms: [apex]}\n"
            f"teams:\n  cx: {{slack: {{webhook_url: '{held_hook.url}'}}}}\n"
            "routes:\n  - {team: cx}\n"
        )
    )
    with Store(config.database) as one, Store(config.database) as two:
        first = outbox_for(config, one, clock=clock, holder="a")
        second = outbox_for(config, two, clock=clock, holder="b")
        with one.transaction():
            first.enqueue("cx", "opened", make_alert(), "incident-1:cx")
        sending = threading.Thread(target=first.deliver_once)
        sending.start()
        assert held_hook.arrived.wait(timeout=30)  # the first is mid-request
        assert second.deliver_once().sent == 0
        held_hook.release.set()
        sending.join(timeout=30)
        assert second.deliver_once().sent == 0
        assert [m.status for m in one.messages()] == ["sent"]
    assert len(held_hook.bodies) == 1


def test_status_lists_each_daemon_with_its_role_and_the_sources_it_polls(
    config: Config,
) -> None:
    with Store(config.database) as store:
        a = cluster(store, FixedClock(utcnow()), "box:1:aa")  # `status` reads the real time
        a.tick()
        with a.lease("Any", "hackernews", timedelta(0)):
            result = CliRunner().invoke(main, ["-c", str(config.path), "status", "--json"])
            text = CliRunner().invoke(main, ["-c", str(config.path), "status"]).output
    [daemon] = json.loads(result.output)["daemons"]
    assert (daemon["host"], daemon["pid"], daemon["role"]) == ("box", 1, "leader")
    assert daemon["sources"] == [{"brand": "Any", "channel": "hackernews"}]
    assert "  box pid 1: leader" in text and "    Any on hackernews" in text


def test_a_daemon_that_stops_leaves_the_status_list(config: Config, clock: FixedClock) -> None:
    with Store(config.database) as store:
        daemon = Daemon(config, store, clock=clock, stream=io.StringIO())
        daemon.cluster.tick()
        assert [d.id for d in store.daemons()] == [daemon.cluster.member.id]
        daemon.cluster.leave()
        assert store.daemons() == []
        daemon.poller.close()
