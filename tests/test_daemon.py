"""The daemon: one job per (brand, channel), single-instance lock, clean stop on SIGTERM."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from pytest_httpserver import HTTPServer

from monitor.config import load_config
from monitor.daemon import AlreadyRunning, Daemon, DaemonLock
from monitor.demo import AlgoliaServer, write_demo_config
from monitor.demo_script import BRAND, scripted_week
from monitor.store import Store
from tests.helpers import DaemonProcess, FixedClock, algolia_page, real_hn_hits

TWO_BRANDS = (
    "brands:\n"
    "  - {name: Apple, terms: [apple], channels: [hackernews, rss]}\n"
    "  - {name: Google, terms: [google], channels: [hackernews]}\n"
    "channels:\n  hackernews: {every: 2m}\n  rss: {every: 10m, feeds: ['https://e.example/f']}\n"
)


def test_one_poll_job_per_brand_and_channel_that_never_overlaps(
    write_config: Callable[[str], Path],
) -> None:
    config = load_config(write_config(TWO_BRANDS))
    scheduler = BackgroundScheduler(timezone="UTC")
    with Store(config.database) as store:
        Daemon(config, store).schedule(scheduler)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "poll:Apple:hackernews",
        "poll:Apple:rss",
        "poll:Google:hackernews",
        "detect",
        "deliver",
        "retention",
        "digest:catch-up",
    }
    job = jobs["poll:Apple:rss"]
    assert (job.max_instances, job.coalesce) == (1, True)
    assert job.trigger.interval.total_seconds() == 600
    assert job.trigger.jitter == 30


def test_detection_runs_every_minute_and_delivery_every_10s_by_default(
    write_config: Callable[[str], Path],
) -> None:
    config = load_config(write_config(TWO_BRANDS))
    scheduler = BackgroundScheduler(timezone="UTC")
    with Store(config.database) as store:
        Daemon(config, store).schedule(scheduler)
    assert scheduler.get_job("detect").trigger.interval.total_seconds() == 60
    assert scheduler.get_job("deliver").trigger.interval.total_seconds() == 10
    assert scheduler.get_job("deliver").max_instances == 1


def test_each_team_gets_a_weekly_digest_job_in_its_own_timezone(
    write_config: Callable[[str], Path],
) -> None:
    config = load_config(
        write_config(
            TWO_BRANDS
            + "teams:\n  pr: {console: {}, timezone: America/New_York, digest: {schedule: 'tue 08:30'}}\n"
            "routes:\n  - {team: pr}\n"
        )
    )
    scheduler = BackgroundScheduler(timezone="UTC")
    with Store(config.database) as store:
        Daemon(config, store).schedule(scheduler)
    trigger = scheduler.get_job("digest:pr").trigger
    assert str(trigger.timezone) == "America/New_York"
    assert "day_of_week='tue', hour='8', minute='30'" in str(trigger)


def test_second_daemon_on_the_same_database_is_refused(tmp_path: Path) -> None:
    with DaemonLock(tmp_path / "m.db"), pytest.raises(AlreadyRunning, match="already using"):
        DaemonLock(tmp_path / "m.db").acquire()


def test_lock_is_free_again_after_release(tmp_path: Path) -> None:
    with DaemonLock(tmp_path / "m.db"):
        pass
    with DaemonLock(tmp_path / "m.db") as again:
        assert again.path.read_text() == str(os.getpid())


def test_sigterm_stops_the_daemon_cleanly_after_its_poll(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data(
        json.dumps(algolia_page(real_hn_hits()[:2], 0, 100)), content_type="application/json"
    )
    config = write_config(
        "log_level: INFO\nbrands:\n  - {name: Any, terms: [the], channels: [hackernews]}\n"
        f"channels:\n  hackernews: {{base_url: '{httpserver.url_for('')}', every: 1h}}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "-c", str(config), "run"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    try:
        for line in proc.stderr:  # block on the daemon's own log, not on a timer
            seen.append(line)
            if "poll_ok" in line or "poll_failed" in line:
                break
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert any("poll_ok" in line for line in seen)
    assert "daemon_stopped" in rest
    with Store(load_config(config).database) as store:
        assert store.get_cursor("Any", "hackernews") is not None


class DripServer:
    """A loopback HTTP server that answers 200 and then drips one byte of body per 0.2s, forever.

    No read timeout ever fires on such a response: it is the poll that never ends.
    """

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.dripping = threading.Event()
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000000\r\n\r\n{"
            )
            self.dripping.set()
            try:
                while not self.stopped.wait(0.2):
                    conn.sendall(b" ")
            except OSError:
                pass  # the daemon went away, as it should

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def drip_server() -> Iterator[DripServer]:
    server = DripServer()
    yield server
    server.close()


def test_sigterm_stops_the_daemon_within_10s_while_a_poll_is_stuck_in_a_slow_read(
    drip_server: DripServer, write_config: Callable[[str], Path]
) -> None:
    config = write_config(
        "log_level: INFO\nbrands:\n  - {name: Any, terms: [the], channels: [hackernews]}\n"
        f"channels:\n  hackernews: {{base_url: '{drip_server.url}', every: 1h}}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "-c", str(config), "run"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert drip_server.dripping.wait(timeout=60), "the daemon never polled"
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _, log = proc.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        proc.kill()
        proc.wait()
    assert took < 10
    assert proc.returncode == 0
    assert "stop_grace_expired jobs_running=1" in log
    assert "daemon_stopped" in log
    assert "Traceback" not in log
    with DaemonLock(load_config(config).database) as lock:  # released: a new daemon may start
        assert lock.path.read_text() == str(os.getpid())


def test_retention_job_drops_mentions_older_than_mentions_days(
    write_config: Callable[[str], Path],
) -> None:
    from datetime import UTC, datetime, timedelta

    from monitor.models import Mention, Score, Scored

    now = datetime(2026, 11, 23, tzinfo=UTC)
    config = load_config(write_config(TWO_BRANDS + "retention: {mentions_days: 30}\n"))

    def scored(native_id: str, age_days: int) -> Scored:
        m = Mention(
            "hackernews",
            native_id,
            "https://e.example",
            "a",
            "apple",
            now - timedelta(days=age_days),
        )
        return Scored(m, "Apple", Score(-0.5, 0, 0.5, 0.5, "negative"), ("t",))

    with Store(config.database) as store:
        store.save_poll("Apple", "hackernews", [scored("old", 31), scored("new", 29)], None, 0, now)
        counts = Daemon(config, store, clock=lambda: now).purge()
        assert counts["mentions"] == 1 and counts["mention_topics"] == 1
        assert [m.native_id for m in store.mentions()] == ["new"]


def test_a_poll_that_stores_new_negative_mentions_delivers_the_alert_itself(
    tmp_path: Path, clock: FixedClock
) -> None:
    history, burst = scripted_week()
    alerts = io.StringIO()
    with AlgoliaServer(history + burst, clock(), clock=clock) as server:
        config = write_demo_config(tmp_path, server.url)
        with Store(config.database) as store:
            daemon = Daemon(config, store, clock=clock, stream=alerts)
            scheduler = BackgroundScheduler(timezone="UTC")  # never started: jobs run by hand
            daemon.schedule(scheduler)
            poll = scheduler.get_job(f"poll:{BRAND}:hackernews")
            poll.func(*poll.args)  # the quiet week: a baseline, no spike
            assert store.outbox_counts().get("sent", 0) == 0
            clock.advance(minutes=5)  # the angry burst is out
            poll.func(*poll.args)
            assert store.outbox_counts().get("sent") == 1
            daemon.poller.close()
    assert f"Negative spike: {BRAND}" in alerts.getvalue()


def _hn(httpserver: HTTPServer) -> str:
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data(
        json.dumps(algolia_page(real_hn_hits()[:2], 0, 100)), content_type="application/json"
    )
    return f"channels:\n  hackernews: {{base_url: '{httpserver.url_for('')}', every: 1h}}\n"


def test_metrics_and_health_are_scraped_over_http_from_a_running_daemon(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    config = write_config(
        "metrics: {listen: '127.0.0.1:0'}\n"
        "brands:\n  - {name: Any, terms: [the], channels: [hackernews]}\n" + _hn(httpserver)
    )
    daemon = DaemonProcess(config)
    try:
        listening = daemon.wait_for("metrics_listening")
        port = int(listening.split("port=")[1].split()[0])
        daemon.wait_for("poll_ok", "brand=Any")
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(base + "/metrics", timeout=10) as reply:
            body = reply.read().decode()
        with urllib.request.urlopen(base + "/healthz", timeout=10) as reply:
            health = (reply.status, reply.read().decode())
    finally:
        code = daemon.stop()
    assert 'monitor_polls_total{brand="Any",channel="hackernews",outcome="ok"} 1.0' in body
    assert (
        'monitor_last_successful_poll_timestamp_seconds{brand="Any",channel="hackernews"}' in body
    )
    assert "monitor_outbox_dead 0.0" in body
    assert health == (200, "ok\n")
    assert code == 0


def test_sighup_refuses_a_bad_config_and_applies_a_good_one(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    channels = _hn(httpserver)
    config = write_config("brands:\n  - {name: First, terms: [the]}\n" + channels)
    daemon = DaemonProcess(config)
    try:
        daemon.wait_for("poll_ok", "brand=First")
        write_config("brands:\n  - {name: First, terms: [the], chanels: [hackernews]}\n" + channels)
        daemon.proc.send_signal(signal.SIGHUP)
        error = daemon.wait_for("reload_config_error")
        daemon.wait_for("reload_refused", 'kept="old config"')
        write_config(
            "brands:\n  - {name: First, terms: [the]}\n  - {name: Second, terms: [the]}\n"
            + channels
        )
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for("reloaded")
        daemon.wait_for("poll_ok", "brand=Second")  # the new brand is polled at once
    finally:
        code = daemon.stop()
    assert "brands[0].chanels" in error and "did you mean" in error
    assert code == 0


def test_reload_keeps_unchanged_jobs_on_their_schedule_and_drops_removed_ones(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(TWO_BRANDS)
    scheduler = BackgroundScheduler(timezone="UTC")
    with Store(load_config(path).database) as store:
        daemon = Daemon(load_config(path), store)
        daemon.schedule(scheduler)
        scheduler.start(paused=True)
        try:
            kept = scheduler.get_job("poll:Apple:hackernews").next_run_time
            write_config(
                "brands:\n  - {name: Apple, terms: [apple], channels: [hackernews, rss]}\n"
                "channels:\n  hackernews: {every: 2m}\n"
                "  rss: {every: 20m, feeds: ['https://e.example/f']}\n"
            )
            assert daemon.reload(scheduler)
            jobs = {job.id: job for job in scheduler.get_jobs()}
        finally:
            scheduler.shutdown(wait=False)
    assert "poll:Google:hackernews" not in jobs
    assert jobs["poll:Apple:hackernews"].next_run_time == kept
    assert jobs["poll:Apple:rss"].trigger.interval.total_seconds() == 1200


def test_reload_refuses_a_config_that_fails_check_and_keeps_the_old_one(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(TWO_BRANDS)
    scheduler = BackgroundScheduler(timezone="UTC")
    with Store(load_config(path).database) as store:
        daemon = Daemon(load_config(path), store)
        daemon.schedule(scheduler)
        write_config("brands: []\n")
        assert not daemon.reload(scheduler)
    assert [b.name for b in daemon.config.brands] == ["Apple", "Google"]
    assert scheduler.get_job("poll:Google:hackernews") is not None
