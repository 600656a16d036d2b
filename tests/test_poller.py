"""The poller: a source that keeps failing is polled less often, and recovers."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.config import BrandConfig, load_config
from monitor.models import Mention
from monitor.poller import BrandPipeline, Poller
from monitor.store import Store
from tests.helpers import FixedClock, algolia_page, real_hn_hits


def test_a_failing_source_backs_off_and_is_polled_again_when_due(
    httpserver: HTTPServer, write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data("gone", status=404)
    config = load_config(
        write_config(
            "brands:\n  - {name: Apple, terms: [apple]}\n"
            f"channels:\n  hackernews: {{base_url: '{httpserver.url_for('')}', every: 5m}}\n"
        )
    )
    with Store(config.database) as store:
        poller = Poller(config, store, clock=clock, sleep=lambda s: None)
        attempts = []
        for _ in range(6):  # the scheduler fires every 5 minutes
            report = poller.poll("Apple", "hackernews")
            attempts.append(report.error != "backing off after repeated failures")
            clock.advance(minutes=5)
        poller.close()
    # Fails at 0 and 5 min; then waits 2 intervals (10 min), then 4 (20 min).
    assert attempts == [True, True, False, True, False, False]
    assert len(httpserver.log) == 3


def test_poll_once_ignores_the_backoff(
    httpserver: HTTPServer, write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data("gone", status=404)
    config = load_config(
        write_config(
            "brands:\n  - {name: Apple, terms: [apple]}\n"
            f"channels:\n  hackernews: {{base_url: '{httpserver.url_for('')}'}}\n"
        )
    )
    with Store(config.database) as store:
        poller = Poller(config, store, clock=clock)
        for _ in range(3):
            poller.poll_all()
        poller.close()
    assert len(httpserver.log) == 3


def test_batch_scoring_keeps_each_matched_mention_with_its_own_score(clock: FixedClock) -> None:
    texts = [
        "Acme support is useless and rude, I want a refund",
        "nothing to do with the brand, just a lovely sunny day",
        "I love my new Acme kettle, brilliant",
        "Acme is fine I guess",
    ]
    mentions = tuple(
        Mention("hackernews", str(i), f"https://e.example/{i}", "a", text, clock())
        for i, text in enumerate(texts)
    )
    brand = BrandConfig(name="Acme", terms=("acme",))
    pipeline = BrandPipeline(brand)
    scored = pipeline.process(mentions)
    assert [s.mention.native_id for s in scored] == ["0", "2", "3"]
    assert [s.score for s in scored] == [pipeline.scorer.score(texts[i]) for i in (0, 2, 3)]
    assert [s.score.label for s in scored] == ["negative", "positive", "positive"]


def test_a_brands_complaint_phrases_score_its_polled_mentions(clock: FixedClock) -> None:
    text = "My Acme kettle arrived with a wobbly lid"
    mention = Mention("hackernews", "1", "https://e.example/1", "a", text, clock())
    plain = BrandPipeline(BrandConfig(name="Acme", terms=("acme",))).process((mention,))
    tuned = BrandPipeline(
        BrandConfig(name="Acme", terms=("acme",), complaint_phrases={"wobbly lid": -2.0})
    ).process((mention,))
    assert plain[0].score.label != "negative"
    assert tuned[0].score.label == "negative"


def test_a_backfill_past_the_pool_threshold_scores_like_one_process(clock: FixedClock) -> None:
    texts = ["Acme support is useless and rude", "I love my Acme kettle", "Acme is fine"] * 2000
    mentions = tuple(
        Mention("hackernews", str(i), f"https://e.example/{i}", "a", text, clock())
        for i, text in enumerate(texts)
    )
    pipeline = BrandPipeline(BrandConfig(name="Acme", terms=("acme",)))
    scored = pipeline.process(mentions)
    assert [s.score for s in scored] == [pipeline.scorer.score(t) for t in texts]


def test_the_poll_line_quotes_a_brand_name_with_spaces(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data(
        json.dumps(algolia_page(real_hn_hits()[:2], 0, 100)), content_type="application/json"
    )
    config = load_config(
        write_config(
            "brands:\n  - {name: Acme Co, terms: [the]}\n"
            f"channels:\n  hackernews: {{base_url: '{httpserver.url_for('')}'}}\n"
        )
    )
    caplog.set_level(logging.INFO, logger="monitor.poller")
    with Store(config.database) as store:
        poller = Poller(config, store, clock=clock)
        poller.poll("Acme Co", "hackernews")
        poller.close()
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("poll_ok")]
    assert line.startswith('poll_ok brand="Acme Co" channel=hackernews fetched=2')
