"""The backtest replays the live detector's own code path: same notifications at the same
steps, nothing written to the live tables, overrides checked, table and jsonl output."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.backtest import OverrideError, replay, run_backtest, with_overrides
from monitor.cli import main
from monitor.config import Config, load_config
from monitor.models import AlertKind, Incident, Mention, Score, Scored
from monitor.spikes import Detector
from monitor.store import Store
from tests.helpers import FixedClock

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
STEP = timedelta(minutes=10)
CONFIG = (
    "brands:\n  - name: Acme\n    terms: [acme]\n    channels: [hackernews]\n"
    "    topics: {outage: [down, outage]}\n"
    "    spike: {scopes: [topic, channel], resolve_after: 1h}\n"
    "teams:\n  cx: {console: {}}\nroutes:\n  - {team: cx}\n"
)


def negative(i: int, when: datetime, text: str, topics: tuple[str, ...] = ()) -> Scored:
    mention = Mention("hackernews", str(i), f"https://e.example/{i}", f"u{i % 40}", text, when)
    return Scored(mention, "Acme", Score(-0.6, 0.0, 0.5, 0.5, "negative"), topics)


def seed(store: Store) -> None:
    """Two weeks of a few gripes an hour, then two outage bursts with a dip between."""
    rng = random.Random(5)
    rows = [
        negative(
            i,
            NOW - timedelta(days=15) + timedelta(minutes=rng.randrange(21_000)),
            "acme billing is slow",
        )
        for i in range(700)
    ]
    rows = [r for r in rows if r.mention.created_at < NOW - timedelta(hours=2)]
    for j in range(40):
        offset = timedelta(minutes=j * 2) if j < 20 else timedelta(minutes=70 + j * 2)
        text = f"acme is down again, outage number {j}, login broken"
        rows.append(negative(10_000 + j, NOW - timedelta(hours=1) + offset, text, ("outage",)))
    store.save_poll("Acme", "hackernews", rows, None, 0, NOW)


@pytest.fixture
def config(write_config: Callable[[str], Path]) -> Config:
    return load_config(write_config(CONFIG))


def live_run(config: Config, store: Store, start: datetime, end: datetime) -> list[tuple]:
    sent: list[tuple] = []
    clock = FixedClock(start)

    def record(incident: Incident, kind: AlertKind, window: timedelta, now: datetime) -> None:
        scope = (
            incident.brand
            if incident.scope_kind == "brand"
            else (f"{incident.brand}/{incident.scope_kind}:{incident.scope_value}")
        )
        sent.append((now, scope, kind, incident.count, incident.drivers))

    detector = Detector(config, store, record, clock=clock)
    while clock.now <= end:
        detector.run_once()
        clock.now += STEP
    return sent


def test_backtest_agrees_with_the_live_detector_step_by_step(config: Config) -> None:
    start, end = NOW - timedelta(hours=2), NOW + timedelta(hours=6)
    with Store(config.database) as store:
        seed(store)
        replayed = [
            (n.at, n.scope, n.kind, n.count, n.drivers)
            for n in replay(config, store, start, end, every=STEP)
        ]
        assert store.incidents() == [] and store.outbox_counts() == {}
        live = live_run(config, store, start, end)
    assert [k for _, _, k, _, _ in replayed].count("opened") >= 1
    assert "resolved" in [k for _, _, k, _, _ in replayed]
    assert replayed == live


def test_a_bursty_episode_with_a_dip_is_one_incident(config: Config) -> None:
    with Store(config.database) as store:
        seed(store)
        found = list(replay(config, store, NOW - timedelta(hours=2), NOW + timedelta(hours=6)))
    assert [n.kind for n in found if n.scope == "Acme"] == ["opened", "resolved"]


def test_overrides_change_the_settings_and_bad_ones_say_why(config: Config) -> None:
    changed = with_overrides(config, ["spike.window=30m", "spike.min_count=8"])
    assert changed.brands[0].spike.window == timedelta(minutes=30)
    assert changed.brands[0].spike.min_count == 8
    with pytest.raises(OverrideError, match=r"spike\.KEY=VALUE"):
        with_overrides(config, ["spike.min_ratio=3"])
    with pytest.raises(OverrideError, match=r"spike\.window"):
        with_overrides(config, ["spike.window=soon"])


def test_jsonl_rows_carry_the_documented_fields(config: Config) -> None:
    out = io.StringIO()
    with Store(config.database) as store:
        seed(store)
        run_backtest(
            config,
            store,
            since=timedelta(hours=8),
            until=NOW + timedelta(hours=6),
            brand="Acme",
            overrides=(),
            fmt="jsonl",
            out=out,
        )
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows and rows[0]["kind"] == "opened" and rows[0]["at"].endswith("Z")
    assert set(rows[0]) >= {
        "at",
        "brand",
        "scope",
        "kind",
        "severity",
        "count",
        "expected",
        "ratio",
        "drivers",
    }
    assert "outage" in " ".join(rows[0]["drivers"])


def test_the_command_prints_a_table_with_a_summary(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(CONFIG)
    config = load_config(path)
    with Store(config.database) as store:
        seed(store)
    until = (NOW + timedelta(hours=6)).isoformat()
    result = CliRunner().invoke(
        main, ["-c", str(path), "backtest", "--since", "8h", "--until", until]
    )
    assert result.exit_code == 0, result.output
    assert "opened" in result.output and "pages/week" in result.output
    assert "median incident length" in result.output
