"""Daemon liveness and the status decision: `monitor status [--json]` and its exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import Config, load_config
from monitor.daemon import Daemon, DaemonLock
from monitor.health import assess, daemon_line, health_of
from monitor.models import utcnow
from monitor.store import Heartbeat, Store
from tests.helpers import FixedClock

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
CONFIG = (
    "brands:\n  - {name: Acme, terms: [acme], channels: [hackernews]}\n"
    "channels:\n  hackernews: {every: 5m}\n"
    "teams:\n  cx: {console: {}}\nroutes:\n  - {team: cx}\n"
)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def config(write_config: Callable[[str], Path]) -> Config:
    return load_config(write_config(CONFIG))


def _beat(age: timedelta) -> Heartbeat:
    return Heartbeat(4242, "box", NOW - timedelta(days=1), NOW - age, "0.1.0")


def _assess(beat: Heartbeat | None, lock_held: bool) -> tuple[bool, list[str], str]:
    health = assess({}, [], beat, lock_held, {}, 0, 0, MINUTE, NOW)
    return health.healthy, list(health.reasons), daemon_line(health.daemon, NOW)


def test_a_running_daemon_that_beat_recently_is_healthy() -> None:
    assert _assess(_beat(timedelta(seconds=12)), True) == (
        True,
        [],
        "daemon: running, pid 4242, last beat 12 s ago",
    )


def test_a_held_lock_with_a_stale_heartbeat_is_degraded() -> None:
    healthy, reasons, line = _assess(_beat(timedelta(minutes=5)), True)
    assert not healthy
    assert reasons == ["daemon holds its lock but has stopped beating (last beat 5 min ago)"]
    assert line.endswith("(STALE: the process may hang)")


def test_a_killed_daemon_reads_as_not_running_with_its_last_beat() -> None:
    assert _assess(_beat(timedelta(hours=3)), False)[2] == "daemon: not running (last beat 3 h ago)"


def test_the_daemon_beats_on_its_detect_job(config: Config) -> None:
    clock = FixedClock(NOW)
    with Store(config.database) as store:
        daemon = Daemon(config, store, clock=clock)
        daemon.detect_job()
        clock.advance(minutes=1)
        daemon.detect_job()
        beat = store.heartbeat()
    assert beat is not None and beat.beat_at == NOW + MINUTE


def test_a_source_failing_for_three_intervals_is_degraded(config: Config) -> None:
    with Store(config.database) as store:
        store.save_poll("Acme", "hackernews", [], "c", 0, NOW - timedelta(hours=1))
        for minutes in (14, 9, 4):
            store.record_poll_error("Acme", "hackernews", "HTTP 503", NOW - minutes * MINUTE)
        early = health_of(config, store, NOW - 3 * MINUTE, lock_held=False)
        late = health_of(config, store, NOW + MINUTE, lock_held=False)
    assert early.healthy
    assert late.reasons == ("source Acme on hackernews: failing for 15 min",)


def _status(config: Config) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(main, ["status", "--json", "-c", str(config.path)])
    return result.exit_code, json.loads(result.stdout)


def test_status_json_of_a_healthy_monitor_exits_0(config: Config) -> None:
    with Store(config.database) as store:
        store.save_poll("Acme", "hackernews", [], "c", 0, utcnow())
    code, report = _status(config)
    assert code == 0
    assert set(report) == {
        "healthy",
        "reasons",
        "daemon",
        "daemons",
        "sources",
        "outbox",
        "incidents_open",
        "silences_active",
    }
    [source] = report["sources"]  # type: ignore[misc]
    assert set(source) >= {
        "brand",
        "channel",
        "last_ok_at",
        "last_error",
        "failing_since",
        "consecutive_failures",
        "stored",
    }
    assert report["outbox"] == {"pending": 0, "dead": 0}
    assert report["daemon"]["running"] is False  # type: ignore[index]


def test_status_exits_1_when_a_source_never_succeeded(config: Config) -> None:
    with Store(config.database) as store:
        store.record_poll_error("Acme", "hackernews", "HTTP 401 bad key", utcnow())
    code, report = _status(config)
    assert code == 1
    assert report["reasons"] == ["source Acme on hackernews: never successful"]


def test_status_exits_1_with_a_dead_message(config: Config) -> None:
    with Store(config.database) as store:
        store.save_poll("Acme", "hackernews", [], "c", 0, utcnow())
        with store.transaction():
            store.enqueue("k", None, "cx", "console", "opened", "{}", utcnow())
            store.mark_failed(store.messages()[0].id, "HTTP 404", None)
    code, report = _status(config)
    assert code == 1
    assert report["outbox"] == {"pending": 0, "dead": 1}


def test_status_exits_1_when_the_lock_is_held_but_the_heartbeat_is_stale(config: Config) -> None:
    now = utcnow()
    with Store(config.database) as store:
        store.save_poll("Acme", "hackernews", [], "c", 0, now)
        store.beat(4242, "box", now - timedelta(hours=1), "0.1.0", now - timedelta(minutes=10))
    with DaemonLock(config.database):
        code, report = _status(config)
    assert code == 1
    assert report["daemon"]["running"] is True and report["daemon"]["stale"] is True  # type: ignore[index]


def test_status_text_starts_with_the_daemon_line(config: Config) -> None:
    now = utcnow()
    with Store(config.database) as store:
        store.save_poll("Acme", "hackernews", [], "c", 0, now)
        store.beat(4242, "box", now - timedelta(hours=4), "0.1.0", now - timedelta(hours=3))
    result = CliRunner().invoke(main, ["-c", str(config.path), "status"])
    assert result.stdout.startswith("daemon: not running (last beat 3 h ago)\n")
    assert result.exit_code == 0


def test_a_source_whose_job_stopped_while_the_daemon_runs_is_degraded(config: Config) -> None:
    with Store(config.database) as store:
        store.save_poll("Acme", "hackernews", [], "c", 0, NOW - timedelta(hours=2))
        store.beat(4242, "box", NOW - timedelta(days=1), "0.1.0", NOW - timedelta(seconds=5))
        running = health_of(config, store, NOW, lock_held=True)
        stopped = health_of(config, store, NOW, lock_held=False)
    assert running.reasons == ("source Acme on hackernews: no good poll for 2 h",)
    assert stopped.healthy  # a stopped daemon is reported, not a stuck source
