"""Silences, acknowledgement, manual resolve and dead letters, on a real store and outbox."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import Config, load_config
from monitor.daemon import Daemon
from monitor.models import Incident, Mention
from monitor.operator import OperatorError, ack, add_silence, resolve
from monitor.outbox import outbox_for
from monitor.poller import BrandPipeline
from monitor.store import Store
from tests.helpers import FixedClock

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
CONFIG = (
    "brands:\n  - name: Apex\n    terms: [apex]\n    spike: {min_count: 5, min_history: 1d, resolve_after: 1h}\n"
    "teams:\n  cx: {console: {}}\nroutes:\n  - {team: cx}\n"
)
ANGRY = [
    "Apex support is useless and rude, I want a refund",
    "Apex broke after two days, terrible quality, avoid",
    "Apex is the worst purchase I ever made, awful",
    "Apex charged me twice and nobody answers, disgusting",
    "Apex app crashes all the time, horrible experience",
    "Apex lost my order and lied about it, furious",
    "Apex delivery was late and the box was smashed, awful",
    "Apex refuses my refund, scam, terrible",
]


def seed_spike(store: Store, config: Config, now: datetime) -> None:
    """Two quiet weeks, then eight angry mentions within the last hour."""
    ids = itertools.count()

    def mention(text: str, when: datetime) -> Mention:
        return Mention(
            "hackernews", str(next(ids)), f"https://e.example/{next(ids)}", "b", text, when
        )

    calm = [
        mention("Apex: the player works fine.", now - timedelta(hours=3 * i)) for i in range(1, 112)
    ]
    angry = [mention(t, now - timedelta(minutes=50 - i)) for i, t in enumerate(ANGRY)]
    scored = BrandPipeline(config.brands[0]).process(tuple(calm + angry))
    store.save_poll("Apex", "hackernews", scored, None, 0, now)


@pytest.fixture
def config(write_config: Callable[[str], Path]) -> Config:
    return load_config(write_config(CONFIG))


def sent_kinds(store: Store) -> list[str]:
    return [m.kind for m in reversed(store.messages()) if m.status == "sent"]


def test_a_silenced_incident_opens_but_nothing_is_sent(config: Config) -> None:
    clock = FixedClock(NOW)
    with Store(config.database) as store:
        seed_spike(store, config, NOW)
        add_silence(config, store, "apex", None, timedelta(hours=2), "deploy", NOW)
        daemon = Daemon(config, store, clock=clock, stream=io.StringIO())
        daemon.detect_job()
        daemon.deliver()
        [incident] = store.incidents()
        assert incident.status == "open"
        assert store.messages() == []


def test_the_held_alert_is_sent_once_when_the_silence_ends(config: Config) -> None:
    clock = FixedClock(NOW)
    with Store(config.database) as store:
        seed_spike(store, config, NOW)
        add_silence(config, store, "Apex", None, timedelta(minutes=10), "deploy", NOW)
        daemon = Daemon(config, store, clock=clock, stream=io.StringIO())
        daemon.detect_job()
        clock.advance(minutes=11)
        seed_spike(store, config, clock())  # still angry: the incident stays open
        daemon.detect_job()
        daemon.detect_job()
        daemon.deliver()
        assert sent_kinds(store) == ["opened"]


def test_an_incident_resolved_under_its_silence_is_never_sent(config: Config) -> None:
    clock = FixedClock(NOW)
    with Store(config.database) as store:
        seed_spike(store, config, NOW)
        add_silence(config, store, "Apex", None, timedelta(hours=3), "deploy", NOW)
        daemon = Daemon(config, store, clock=clock, stream=io.StringIO())
        daemon.detect_job()
        clock.advance(hours=2)  # quiet again: resolves under the silence
        daemon.detect_job()
        clock.advance(hours=2)  # the silence is over
        daemon.detect_job()
        daemon.deliver()
        assert store.incidents()[0].status == "resolved"
        assert store.messages() == []


def _incident(**changes: object) -> Incident:
    base = Incident(
        id=1, brand="Apex", scope_kind="brand", scope_value="Apex", status="open",
        severity="warning", opened_at=NOW, updated_at=NOW, last_fired_at=NOW, resolved_at=None,
        last_notified_at=NOW, notifications=1, count=8, expected=1, ratio=8, peak_ratio=8,
        peak_count=8,
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_ack_is_stored_and_survives_the_next_detection(config: Config) -> None:
    clock = FixedClock(NOW)
    with Store(config.database) as store:
        seed_spike(store, config, NOW)
        daemon = Daemon(config, store, clock=clock, stream=io.StringIO())
        daemon.detect_job()
        [incident] = store.incidents()
        ack(store, incident.id, NOW + timedelta(minutes=1))
        clock.advance(minutes=2)
        daemon.detect_job()
        assert store.incident(incident.id).acked_at == NOW + timedelta(minutes=1)


def test_manual_resolve_closes_the_incident_and_sends_the_notice(config: Config) -> None:
    clock = FixedClock(NOW)
    with Store(config.database) as store:
        seed_spike(store, config, NOW)
        daemon = Daemon(config, store, clock=clock, stream=io.StringIO())
        daemon.detect_job()
        [incident] = store.incidents()
        outbox = outbox_for(config, store, clock=clock, stream=io.StringIO())
        resolve(config, store, outbox, incident.id, NOW + timedelta(minutes=3))
        outbox.deliver_once()
        assert store.incident(incident.id).status == "resolved"
        assert sent_kinds(store) == ["opened", "resolved"]


def test_resolving_an_incident_twice_is_an_error(config: Config) -> None:
    with Store(config.database) as store:
        seed_spike(store, config, NOW)
        Daemon(config, store, clock=lambda: NOW, stream=io.StringIO()).detect_job()
        [incident] = store.incidents()
        outbox = outbox_for(config, store, clock=lambda: NOW)
        resolve(config, store, outbox, incident.id, NOW)
        with pytest.raises(OperatorError, match="already resolved"):
            resolve(config, store, outbox, incident.id, NOW)


def _dead_message(store: Store, config: Config) -> int:
    """A real alert whose delivery failed for good."""
    seed_spike(store, config, NOW)
    Daemon(config, store, clock=lambda: NOW, stream=io.StringIO()).detect_job()
    [message] = store.messages()
    with store.transaction():
        store.mark_failed(message.id, "HTTP 404 no_service", None)
    return message.id


def cli(config: Config, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-c", str(config.path), *args])
    return result.exit_code, result.output


def test_outbox_list_dead_shows_the_error_and_json_carries_it(config: Config) -> None:
    with Store(config.database) as store:
        message_id = _dead_message(store, config)
    code, out = cli(config, "outbox", "list", "--dead")
    assert code == 0 and "HTTP 404 no_service" in out
    code, out = cli(config, "outbox", "list", "--dead", "--json")
    assert '"last_error": "HTTP 404 no_service"' in out and f'"id": {message_id}' in out


def test_outbox_retry_sends_a_dead_message_again(config: Config) -> None:
    with Store(config.database) as store:
        message_id = _dead_message(store, config)
        code, out = cli(config, "outbox", "retry", str(message_id))
        assert code == 0 and "1 message(s) due again; delivered 1" in out
        assert store.message(message_id).status == "sent"  # type: ignore[union-attr]


def test_outbox_retry_of_a_message_that_is_not_dead_is_refused(config: Config) -> None:
    with Store(config.database) as store:
        message_id = _dead_message(store, config)
        cli(config, "outbox", "retry", "--all-dead")
        code, out = cli(config, "outbox", "retry", str(message_id))
        assert code == 3 and "it is sent" in out


def test_outbox_drop_deletes_an_unsent_message(config: Config) -> None:
    with Store(config.database) as store:
        message_id = _dead_message(store, config)
        assert cli(config, "outbox", "drop", str(message_id)) == (
            0,
            f"message #{message_id} dropped\n",
        )
        assert store.message(message_id) is None


def test_an_unknown_incident_id_is_a_failed_operation(config: Config) -> None:
    code, out = cli(config, "ack", "99")
    assert code == 3 and "no incident #99" in out


def test_silence_add_prints_its_id_and_list_shows_it(config: Config) -> None:
    code, out = cli(config, "silence", "add", "--brand", "apex", "--scope", "channel:reddit",
                    "--for", "2h", "--reason", "noisy")  # fmt: skip
    assert code == 0 and out.strip().isdigit()
    code, listed = cli(config, "silence", "list", "-c", str(config.path))
    assert "channel:reddit" in listed and "noisy" in listed


def test_a_typo_in_the_silenced_brand_suggests_the_right_one(config: Config) -> None:
    code, out = cli(config, "silence", "add", "--brand", "Apx", "--for", "2h")
    assert code == 2 and "did you mean 'Apex'?" in out


def test_a_held_alert_of_a_brand_removed_by_a_reload_is_still_sent(
    config: Config, write_config: Callable[[str], Path]
) -> None:
    clock = FixedClock(NOW)
    with Store(config.database) as store:
        seed_spike(store, config, NOW)
        add_silence(config, store, "Apex", None, timedelta(minutes=10), "deploy", NOW)
        Daemon(config, store, clock=clock, stream=io.StringIO()).detect_job()
        renamed = load_config(write_config(CONFIG.replace("Apex", "Apex2")))
        clock.advance(minutes=11)
        daemon = Daemon(renamed, store, clock=clock, stream=io.StringIO())
        daemon.detect_job()
        daemon.deliver()
        assert sent_kinds(store) == ["opened"]
