"""The live detector over a real SQLite store: grouping into one page, topic spikes of their
own, drivers named in the alert, near-duplicates collapsed, retired settings explained."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import Config, ConfigError, load_config
from monitor.models import Mention, Score, Scored
from monitor.outbox import outbox_for
from monitor.spikes import Detector
from monitor.store import Store
from tests.helpers import FixedClock

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
GRIPES = [
    "acme billing page is slow again",
    "acme charged me twice this month, annoying",
    "acme invoice is confusing and wrong",
    "acme app logged me out again, frustrating",
    "acme delivery was late, not happy",
]
OUTAGE = [
    "acme is down, total outage, the login page returns errors",
    "acme outage again, cannot login at all, furious",
    "acme servers down for the whole street, terrible",
    "acme outage killed my meeting, login broken everywhere",
    "is acme down for everyone? login errors since noon, awful",
]


def config_text(extra_routes: str = "") -> str:
    return (
        "brands:\n  - name: Acme\n    terms: [acme]\n    channels: [hackernews, reddit]\n"
        "    topics: {outage: [down, outage], billing: [billing, charged, invoice]}\n"
        "    spike: {scopes: [topic, channel]}\n"
        "channels:\n  reddit: {user_agent: monitor-test}\n"
        "teams:\n  cx: {console: {}}\n  ops: {console: {}}\n"
        f"routes:\n{extra_routes}  - {{team: cx}}\n"
    )


def negative(i: int, when: datetime, text: str, channel: str, topics: tuple[str, ...]) -> Scored:
    mention = Mention(channel, str(i), f"https://e.example/{i}", f"user{i % 50}", text, when)
    return Scored(mention, "Acme", Score(-0.6, 0.0, 0.5, 0.5, "negative"), topics)


def seed(store: Store, per_hour: float, burst: list[Scored]) -> None:
    """Two weeks of routine reddit gripes about billing (Poisson, `per_hour`), then `burst`."""
    rng = random.Random(3)
    rows: list[Scored] = []
    t = NOW - timedelta(days=15)
    i = 0
    while t < NOW - timedelta(hours=1):
        for _ in range(_poisson(rng, per_hour / 6)):
            i += 1
            when = t + timedelta(seconds=rng.randrange(600))
            rows.append(negative(i, when, rng.choice(GRIPES), "reddit", ("billing",)))
        t += timedelta(minutes=10)
    store.save_poll("Acme", "reddit", rows, None, 0, NOW)
    store.save_poll("Acme", "hackernews", burst, None, 0, NOW)


def _poisson(rng: random.Random, lam: float) -> int:
    k, p, limit = 0, rng.random(), pow(2.718281828459045, -lam)
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def outage_burst(n: int, start: int = 1_000_000) -> list[Scored]:
    return [
        negative(
            start + j,
            NOW - timedelta(minutes=50) + timedelta(minutes=j * 45 / n),
            f"{OUTAGE[j % len(OUTAGE)]} #{j}",
            "hackernews",
            ("outage",),
        )
        for j in range(n)
    ]


def run(config: Config, store: Store, *passes: datetime) -> str:
    """Detection passes at each time (default: NOW), delivering after each; what was printed."""
    printed = io.StringIO()
    for at in passes or (NOW,):
        outbox = outbox_for(config, store, clock=FixedClock(at), stream=printed)
        Detector(config, store, outbox.enqueue_alerts, clock=FixedClock(at)).run_once()
        outbox.deliver_once()
    return printed.getvalue()


@pytest.fixture
def config(write_config: Callable[[str], Path]) -> Config:
    return load_config(write_config(config_text()))


def test_one_burst_across_three_scopes_is_one_page_listing_the_breakdown(config: Config) -> None:
    with Store(config.database) as store:
        seed(store, per_hour=2, burst=outage_burst(30))
        printed = run(config, store)
        fired = {(i.scope_kind, i.scope_value) for i in store.incidents()}
    assert fired == {("brand", "Acme"), ("topic", "outage"), ("channel", "hackernews")}
    assert printed.count("Negative spike") == 1
    assert "Negative spike: Acme\n" in printed or "Negative spike: Acme " in printed
    assert "outage topic ×30" in printed and "hackernews ×30" in printed


def test_a_topic_spike_hidden_in_brand_volume_pages_on_its_own_after_group_wait(
    config: Config,
) -> None:
    with Store(config.database) as store:
        seed(store, per_hour=60, burst=outage_burst(12))
        assert run(config, store) == ""  # held: the brand may still cross its own level
        printed = run(config, store, NOW + timedelta(minutes=10))
        fired = {(i.scope_kind, i.scope_value) for i in store.incidents()}
    assert ("brand", "Acme") not in fired
    assert ("topic", "outage") in fired
    assert printed.count("Negative spike: Acme / topic outage") == 1


def test_a_held_topic_joins_the_brand_incident_that_opens_minutes_later(config: Config) -> None:
    early = [
        negative(
            3_000_000 + k, NOW - timedelta(minutes=59 - k), OUTAGE[k % 5], "hackernews", ("outage",)
        )
        for k in range(12)
    ]
    later = [
        negative(
            4_000_000 + j,
            NOW + timedelta(minutes=1, seconds=j),
            "acme outage, down",
            "hackernews",
            ("outage",),
        )
        for j in range(30)
    ]
    with Store(config.database) as store:
        seed(store, per_hour=8, burst=early)
        first = run(config, store)
        held = [(i.scope_kind, i.scope_value) for i in store.incidents()]
        assert first == "" and ("topic", "outage") in held and ("brand", "Acme") not in held
        store.save_poll("Acme", "hackernews", later, None, 0, NOW)
        printed = first + run(config, store, NOW + timedelta(minutes=5))
        [brand] = [i for i in store.incidents() if i.scope_kind == "brand"]
        grouped = store.grouped_incidents(brand.id)
    assert printed.count("Negative spike") == 1 and "Negative spike: Acme\n" in printed
    assert ("topic", "outage") in {(i.scope_kind, i.scope_value) for i in grouped}


def test_a_scope_routed_to_another_team_pages_that_team_itself(
    write_config: Callable[[str], Path],
) -> None:
    config = load_config(write_config(config_text("  - {match: {topic: outage}, team: ops}\n")))
    with Store(config.database) as store:
        seed(store, per_hour=2, burst=outage_burst(30))
        printed = run(config, store)
    assert "Negative spike: Acme / topic outage" in printed
    # The brand to cx with hackernews inside it; outage to ops on its own.
    assert printed.count("Negative spike") == 2
    assert "hackernews ×30" in printed and "outage topic ×" not in printed


def test_grouping_off_pages_every_scope(write_config: Callable[[str], Path]) -> None:
    config = load_config(write_config(config_text() + "alerting: {group_by: []}\n"))
    with Store(config.database) as store:
        seed(store, per_hour=2, burst=outage_burst(30))
        assert run(config, store).count("Negative spike") == 3


def test_the_alert_names_the_planted_drivers(config: Config) -> None:
    with Store(config.database) as store:
        seed(store, per_hour=2, burst=outage_burst(30))
        printed = run(config, store)
        [brand] = [i for i in store.incidents() if i.scope_kind == "brand"]
    assert {"outage", "login"} <= set(" ".join(brand.drivers).split())
    assert "acme" not in " ".join(brand.drivers)
    assert "Drivers" in printed and "login" in printed


def test_near_duplicate_mentions_show_once_with_their_count(config: Config) -> None:
    copies = [
        negative(
            2_000_000 + j,
            NOW - timedelta(minutes=40 - j),
            f"RT @user{j}: acme is down, total outage, the login page returns errors",
            "hackernews",
            ("outage",),
        )
        for j in range(20)
    ]
    with Store(config.database) as store:
        seed(store, per_hour=2, burst=outage_burst(10) + copies)
        printed = run(config, store)
    assert "(×2" in printed  # the copies collapse into one line with their count
    assert printed.count("the login page returns errors") <= 2


def test_a_retired_setting_says_what_replaces_it(write_config: Callable[[str], Path]) -> None:
    text = config_text().replace("spike: {scopes: [topic, channel]}", "spike: {min_ratio: 3}")
    with pytest.raises(ConfigError) as raised:
        load_config(write_config(text))
    assert "brands[0].spike.min_ratio: this key was retired" in str(raised.value)
    assert "min_lift" in str(raised.value)
