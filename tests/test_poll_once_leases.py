"""`monitor poll --once` beside running daemons: it leases each source as a daemon does, skips
(and says so) a source a daemon is polling, and gives its leases back. Both backends; the
source is a loopback Algolia that records every request."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor.cli import main
from monitor.models import utcnow
from monitor.store import Store
from tests.helpers import algolia_page, real_hn_hits


@pytest.fixture
def config(
    database: str,
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    monkeypatch.setenv("DATABASE_URL", database)
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data(
        json.dumps(algolia_page(real_hn_hits()[:2], 0, 100)), content_type="application/json"
    )
    return write_config(
        "database: ${DATABASE_URL}\n"
        "brands:\n  - {name: Any, terms: [the], channels: [hackernews]}\n"
        f"channels:\n  hackernews: {{base_url: '{httpserver.url_for('')}', every: 5m}}\n"
    )


def test_poll_once_leaves_a_source_a_daemon_is_polling_alone_and_says_so(
    config: Path, database: str, httpserver: HTTPServer
) -> None:
    now = utcnow()  # the CLI reads the real time
    with Store(database) as store:
        assert store.take_lease(
            "Any", "hackernews", "box:9:daemon", now, now + timedelta(minutes=1), now
        )
        result = CliRunner().invoke(main, ["-c", str(config), "poll", "--once"])
    assert result.exit_code == 0, result.output
    assert len(httpserver.log) == 0
    assert "Any on hackernews: not polled, daemon box:9:daemon is polling it" in result.output


def test_poll_once_polls_a_source_not_yet_due_and_gives_its_lease_back(
    config: Path, database: str, httpserver: HTTPServer
) -> None:
    now = utcnow()
    with Store(database) as store:
        # A daemon polled it a moment ago: not due for it, but a poll by hand polls anyway.
        store.take_lease("Any", "hackernews", "box:9:daemon", now, now, now + timedelta(minutes=5))
        result = CliRunner().invoke(main, ["-c", str(config), "poll", "--once"])
        assert store.leases(now) == []
        # ... and the daemons' schedule stays as it was.
        assert not store.take_lease("Any", "hackernews", "box:9:daemon", now, now, now)
    assert result.exit_code == 0, result.output
    assert len(httpserver.log) > 0
