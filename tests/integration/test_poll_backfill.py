"""A long Hacker News backfill through the real Poller and store (SQLite and PostgreSQL): saved
window by window."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import Config, load_config
from monitor.demo import algolia_search
from monitor.poller import Poller
from monitor.store import Store
from tests.helpers import FixedClock, real_hn_hits

PATH = "/api/v1/search_by_date"


def apple_hits(count: int, start: int, end: int) -> list[dict[str, Any]]:
    base = real_hn_hits()[0]
    step = (end - start) / count
    return [
        dict(
            base,
            objectID=str(i),
            created_at_i=start + 1 + int(i * step),
            comment_text=f"apple comment {i}",
        )
        for i in range(count - 1, -1, -1)
    ]


def serve(server: HTTPServer, hits: list[dict[str, Any]], fail_after: int | None = None) -> None:
    answered: list[int] = []

    def handler(request: Request) -> Response:
        if fail_after is not None and len(answered) >= fail_after:
            return Response("gone", status=404)
        answered.append(1)
        params = {k: request.args.getlist(k) for k in request.args}
        body = algolia_search(hits, params, float("inf"))
        return Response(json.dumps(body), content_type="application/json")

    server.expect_request(PATH).respond_with_handler(handler)


def config_for(server: HTTPServer, write_config: Callable[[str], Path], database: str) -> Config:
    return load_config(
        write_config(
            f"database: '{database}'\n"
            "brands:\n  - {name: Apple, terms: [apple], channels: [hackernews]}\n"
            f"channels:\n  hackernews: {{base_url: '{server.url_for('')}', backfill: 14d,"
            " max_requests: 200}\n"
        )
    )


def test_one_poll_saves_a_whole_long_backfill(
    httpserver: HTTPServer, write_config: Callable[[str], Path], clock: FixedClock, database: str
) -> None:
    now = int(clock().timestamp())
    serve(httpserver, apple_hits(3000, now - 14 * 86400, now))
    config = config_for(httpserver, write_config, database)
    with Store(config.database) as store:
        poller = Poller(config, store, clock=clock, sleep=lambda s: None)
        report = poller.poll("Apple", "hackernews")
        poller.close()
        assert (report.error, report.fetched, report.stored) == (None, 3000, 3000)
        assert json.loads(store.get_cursor("Apple", "hackernews") or "")["after"] == now


def test_windows_saved_before_a_failure_are_kept(
    httpserver: HTTPServer, write_config: Callable[[str], Path], clock: FixedClock, database: str
) -> None:
    now = int(clock().timestamp())
    serve(httpserver, apple_hits(3000, now - 14 * 86400, now), fail_after=12)
    config = config_for(httpserver, write_config, database)
    with Store(config.database) as store:
        poller = Poller(config, store, clock=clock, sleep=lambda s: None)
        report = poller.poll("Apple", "hackernews")
        poller.close()
        saved = store.label_counts("Apple")
        after = json.loads(store.get_cursor("Apple", "hackernews") or "")["after"]
    assert report.error is not None and "HTTP 404" in report.error
    assert sum(saved.values()) >= 800
    assert now - 14 * 86400 < after < now
