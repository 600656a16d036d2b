"""Muted authors and domains: dropped before storing, counted per source, validated in config."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.config import ConfigError, load_config
from monitor.metrics import Metrics
from monitor.poller import Poller
from monitor.store import Store
from tests.helpers import FixedClock, algolia_page, real_hn_hits


def _config(httpserver: HTTPServer, write_config: Callable[[str], Path], mutes: str) -> Path:
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data(
        json.dumps(algolia_page(real_hn_hits(), 0, 100)), content_type="application/json"
    )
    return write_config(
        f"brands:\n  - {{name: Any, terms: [the, a, to, of, and, I], {mutes}}}\n"
        f"channels:\n  hackernews: {{base_url: '{httpserver.url_for('')}'}}\n"
    )


def _poll(path: Path, clock: FixedClock, metrics: Metrics | None = None) -> tuple[int, int, int]:
    config = load_config(path)
    with Store(config.database) as store:
        poller = Poller(config, store, clock=clock, metrics=metrics)
        report = poller.poll("Any", "hackernews")
        poller.close()
        (state,) = store.poll_states()
        authors = {m.author for m in store.mentions()}
    assert "pg" not in authors
    return report.stored, state.muted_total, state.mentions


def test_a_muted_author_is_not_stored_and_is_counted_as_muted(
    httpserver: HTTPServer, write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    path = _config(httpserver, write_config, "exclude_authors: ['@PG']")
    stored, muted, in_store = _poll(path, clock)
    assert muted == 6  # the six comments by pg in the recorded hits
    assert stored == in_store


def test_a_muted_domain_drops_mentions_linking_into_it_or_its_subdomains(
    httpserver: HTTPServer, write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    # Two recorded comments link out: to hn.algolia.com and to getcomicstrips.com.
    path = _config(
        httpserver, write_config, "exclude_domains: [algolia.com, 'https://GetComicStrips.com/']"
    )
    config = load_config(path)
    with Store(config.database) as store:
        poller = Poller(config, store, clock=clock)
        poller.poll("Any", "hackernews")
        poller.close()
        (state,) = store.poll_states()
        authors = {m.author for m in store.mentions()}
    assert state.muted_total == 2
    assert authors.isdisjoint({"gohrt", "sayhello"})


def test_muted_mentions_reach_the_metrics_by_reason(
    httpserver: HTTPServer, write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    path = _config(httpserver, write_config, "exclude_authors: [pg]")
    metrics = Metrics()
    _poll(path, clock, metrics)
    muted = metrics.registry.get_sample_value(
        "monitor_mentions_rejected_total",
        {"brand": "Any", "channel": "hackernews", "reason": "muted_author"},
    )
    polls = metrics.registry.get_sample_value(
        "monitor_polls_total", {"brand": "Any", "channel": "hackernews", "outcome": "ok"}
    )
    assert (muted, polls) == (6, 1)


def test_a_bad_muted_domain_is_reported_at_its_path(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        "brands:\n  - {name: A, terms: [a], exclude_domains: [example.com, 'not a domain']}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.errors == [
        "brands[0].exclude_domains[1]: 'not a domain' is not a domain. "
        "Fix: write a host name such as 'example.com' (it also mutes its subdomains)"
    ]


def test_an_empty_muted_author_is_refused(write_config: Callable[[str], Path]) -> None:
    path = write_config("brands:\n  - {name: A, terms: [a], exclude_authors: ['@']}\n")
    with pytest.raises(ConfigError, match=r"brands\[0\]\.exclude_authors\[0\]: empty author"):
        load_config(path)
