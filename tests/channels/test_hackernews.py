"""The HN Algolia adapter against a real HTTP server on 127.0.0.1 serving recorded payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.channels.base import ChannelError, HttpClient, RateLimited
from monitor.channels.hackernews import Adapter, Settings, parse_hit
from monitor.demo import algolia_search
from monitor.models import Query
from tests.helpers import FixedClock, fixture_path, real_hn_hits

PATH = "/api/v1/search_by_date"
QUERY = Query("Apple", ("apple",))
# The loopback Algolia below answers this term with every hit it holds (see serve_hits).
ALL = Query("HN", ("everything",))


def make_adapter(server: HTTPServer, slept: list[float], **overrides: Any) -> Adapter:
    options: dict[str, Any] = {"backfill": timedelta(days=5000), "timeout": timedelta(seconds=2)}
    settings = Settings(base_url=server.url_for(""), **(options | overrides))
    return Adapter(settings, HttpClient("hackernews", settings, sleep=slept.append))


def serve_hits(server: HTTPServer, hits: list[dict[str, Any]]) -> list[Request]:
    """Answer like Algolia over `hits`; return the list of requests seen."""
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        params = {k: request.args.getlist(k) for k in request.args}
        if params.get("query") == ["everything"]:
            del params["query"]
        return Response(
            json.dumps(algolia_search(hits, params, float("inf"))), content_type="application/json"
        )

    server.expect_request(PATH).respond_with_handler(handler)
    return seen


def fetch_all(adapter: Adapter, query: Query, cursor: str | None, now: datetime) -> list[Any]:
    """Fetch as the poller does: while the adapter has more, again from its cursor."""
    results = [adapter.fetch(query, cursor, now)]
    while results[-1].more:
        results.append(adapter.fetch(query, results[-1].cursor, now))
    return results


def test_first_poll_pages_through_every_hit(httpserver: HTTPServer, clock: FixedClock) -> None:
    hits = real_hn_hits()
    seen = serve_hits(httpserver, hits)
    result = make_adapter(httpserver, [], hits_per_page=5).fetch(ALL, None, clock())
    assert sorted(m.native_id for m in result.mentions) == sorted(h["objectID"] for h in hits)
    # One count-only probe, then the pages.
    assert [(r.args["hitsPerPage"], r.args["page"]) for r in seen] == [
        ("0", "0"),
        ("5", "0"),
        ("5", "1"),
        ("5", "2"),
        ("5", "3"),
    ]
    assert not result.more


def test_cursor_advances_so_the_next_poll_asks_only_for_newer_items(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    seen = serve_hits(httpserver, real_hn_hits())
    adapter = make_adapter(httpserver, [])
    first = adapter.fetch(QUERY, None, clock())
    assert json.loads(first.cursor or "")["after"] == int(clock().timestamp())
    clock.advance(minutes=5)
    adapter.fetch(QUERY, first.cursor, clock())
    overlap = int(Settings().overlap.total_seconds())
    assert seen[-1].args["numericFilters"] == (
        f"created_at_i>{int(clock().timestamp()) - 300 - overlap},created_at_i<={int(clock().timestamp())}"
    )


def test_window_with_more_hits_than_algolia_pages_is_split(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    base = real_hn_hits()[0]
    start = int(clock().timestamp()) - 3000
    hits = [dict(base, objectID=str(i), created_at_i=start + i) for i in range(1500, 0, -1)]
    serve_hits(httpserver, hits)
    adapter = make_adapter(httpserver, [], hits_per_page=1000, max_requests=50)
    results = fetch_all(adapter, ALL, json.dumps({"after": start + 600}), clock())
    # Overlap re-reads the 10 minutes before the cursor: every hit from `start` on is fetched once.
    fetched = [m.native_id for r in results for m in r.mentions]
    assert sorted(fetched) == sorted(h["objectID"] for h in hits)
    assert len(results) > 1
    assert json.loads(results[-1].cursor or "")["after"] == int(clock().timestamp())


def test_budget_exhausted_keeps_cursor_at_last_complete_window(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    serve_hits(httpserver, real_hn_hits())
    adapter = make_adapter(httpserver, [], hits_per_page=1, max_requests=3)
    result = adapter.fetch(ALL, json.dumps({"after": 1000}), clock())
    # The count probe, then two one-hit pages of a window the budget cannot finish.
    assert len(result.mentions) == 2
    assert json.loads(result.cursor or "")["after"] == 1000
    assert not result.more


def test_429_waits_for_retry_after_then_succeeds(httpserver: HTTPServer, clock: FixedClock) -> None:
    payload = json.loads(
        fixture_path("hn_algolia", "search_by_date_comment_apple.json").read_text()
    )
    payload.update(nbPages=1, nbHits=1)
    httpserver.expect_ordered_request(PATH).respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"}
    )
    httpserver.expect_request(PATH).respond_with_json(payload)
    slept: list[float] = []
    result = make_adapter(httpserver, slept).fetch(QUERY, None, clock())
    assert slept == [7.0]
    assert [m.native_id for m in result.mentions] == ["7919418"]


def test_429_with_a_long_retry_after_fails_the_poll_as_rate_limited(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        "", status=429, headers={"Retry-After": "3600"}
    )
    with pytest.raises(RateLimited, match="wait 3600s"):
        make_adapter(httpserver, []).fetch(QUERY, None, clock())


def test_500_is_retried_with_exponential_backoff_then_succeeds(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    payload = json.loads(fixture_path("hn_algolia", "search_story_apple.json").read_text())
    payload.update(nbPages=1, nbHits=1)
    httpserver.expect_ordered_request(PATH).respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(PATH).respond_with_data("oops", status=503)
    httpserver.expect_request(PATH).respond_with_json(payload)
    slept: list[float] = []
    result = make_adapter(httpserver, slept).fetch(QUERY, None, clock())
    assert slept == [1.0, 2.0]
    assert [m.native_id for m in result.mentions] == ["2922756"]


def test_persistent_500_fails_the_poll_after_max_retries(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    httpserver.expect_request(PATH).respond_with_data("down", status=502)
    slept: list[float] = []
    with pytest.raises(ChannelError, match="HTTP 502 after 3 attempts"):
        make_adapter(httpserver, slept, max_retries=2).fetch(QUERY, None, clock())
    assert slept == [1.0, 2.0]


def test_timeout_is_retried_then_reported(httpserver: HTTPServer, clock: FixedClock) -> None:
    import threading

    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(5)
        return Response("{}", content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(hang)
    adapter = make_adapter(httpserver, [], max_retries=1, timeout=timedelta(seconds=0.2))
    try:
        with pytest.raises(ChannelError, match="timed out after 2 attempts"):
            adapter.fetch(QUERY, None, clock())
    finally:
        release.set()


def test_truncated_json_fails_the_poll_with_a_clear_error(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    text = fixture_path("hn_algolia", "search_by_date_comment_apple.json").read_text()
    httpserver.expect_request(PATH).respond_with_data(
        text[: len(text) // 2], content_type="application/json"
    )
    with pytest.raises(ChannelError, match="malformed JSON"):
        make_adapter(httpserver, []).fetch(QUERY, None, clock())


def test_item_missing_fields_is_skipped_and_counted(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    hits = real_hn_hits()[:3]
    broken = [dict(hits[0]), dict(hits[1]), hits[2]]
    del broken[0]["objectID"]
    broken[1]["created_at_i"] = "not a time"
    broken[1].pop("created_at")
    httpserver.expect_request(PATH).respond_with_json({"hits": broken, "nbHits": 3, "nbPages": 1})
    result = make_adapter(httpserver, []).fetch(ALL, None, clock())
    assert result.skipped == 2
    assert [m.native_id for m in result.mentions] == [hits[2]["objectID"]]


def test_html_in_comment_text_becomes_plain_text() -> None:
    payload = json.loads(
        fixture_path("hn_algolia", "search_by_date_comment_apple.json").read_text()
    )
    mention = parse_hit(payload["hits"][0])
    assert mention is not None
    assert "aren't contributing to the scholarship they do pay" in mention.text
    assert "<i>" not in mention.text and "&#x27;" not in mention.text
    assert "\n\nI'm not the biggest fan" in mention.text


def test_created_at_is_parsed_to_utc() -> None:
    payload = json.loads(fixture_path("hn_algolia", "search_story_apple.json").read_text())
    mention = parse_hit(payload["hits"][0])
    assert mention is not None
    assert mention.created_at == datetime(2011, 8, 24, 22, 37, 35, tzinfo=UTC)
    assert mention.url == "https://news.ycombinator.com/item?id=2922756"
    assert mention.author_reach == 1638


def test_oversized_body_is_refused_without_reading_it_all(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        "x" * 200_000, content_type="application/json"
    )
    with pytest.raises(ChannelError, match="max_response_bytes=100000"):
        make_adapter(httpserver, [], max_response_bytes=100_000).fetch(QUERY, None, clock())


def test_requests_carry_a_user_agent_naming_the_project(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    seen = serve_hits(httpserver, [])
    make_adapter(httpserver, []).fetch(QUERY, None, clock())
    assert seen[0].headers["User-Agent"].startswith("monitor/")


def test_multi_word_terms_are_searched_as_phrases(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    seen = serve_hits(httpserver, [])
    make_adapter(httpserver, []).fetch(Query("Acme", ("acme corp",)), None, clock())
    assert seen[0].args["query"] == '"acme corp"'


def test_redact_text_drops_query_strings_and_userinfo_from_urls() -> None:
    from monitor.channels.base import redact_text

    text = "GET https://user:pw@api.example/v3/search?key=SECRET&q=x failed; see http://h/p#frag"
    assert redact_text(text) == "GET https://api.example/v3/search failed; see http://h/p"


def test_lone_surrogates_in_text_and_author_become_replacement_characters(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    hits = real_hn_hits()[:3]
    bad = dict(hits[0], comment_text="broken \ud83d emoji", author="n\udc00me")
    # json.dumps writes the surrogates as "\ud83d" escapes, as a real API's JSON would.
    httpserver.expect_request(PATH).respond_with_json(
        {"hits": [bad, *hits[1:]], "nbHits": 3, "nbPages": 1}
    )
    result = make_adapter(httpserver, []).fetch(ALL, None, clock())
    mention = next(m for m in result.mentions if m.native_id == bad["objectID"])
    assert (mention.text, mention.author) == ("broken \ufffd emoji", "n\ufffdme")
    assert len(result.mentions) == 3


def test_an_item_the_parser_cannot_handle_is_skipped_and_the_others_kept(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    hits = real_hn_hits()[:3]
    # A number far past float's range as a story's points: float() raises OverflowError.
    bad = dict(hits[0], points=10**400)
    httpserver.expect_request(PATH).respond_with_json(
        {"hits": [bad, *hits[1:]], "nbHits": 3, "nbPages": 1}
    )
    result = make_adapter(httpserver, []).fetch(ALL, None, clock())
    assert result.skipped == 1
    assert sorted(m.native_id for m in result.mentions) == sorted(h["objectID"] for h in hits[1:])


def test_an_unreadable_cursor_is_replaced_by_a_backfill(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    hits = real_hn_hits()
    serve_hits(httpserver, hits)
    result = make_adapter(httpserver, []).fetch(ALL, "{not json", clock())
    assert len(result.mentions) == len(hits)


def spread_hits(count: int, start: int, end: int) -> list[dict[str, Any]]:
    """`count` copies of a recorded hit, evenly spread over (start, end], newest first."""
    base = real_hn_hits()[0]
    step = (end - start) / count
    return [
        dict(base, objectID=str(i), created_at_i=start + 1 + int(i * step))
        for i in range(count - 1, -1, -1)
    ]


def serve_counting(server: HTTPServer, hits: list[dict[str, Any]]) -> list[int]:
    """Answer like Algolia; return the number of hits in each answer sent."""
    sent: list[int] = []

    def handler(request: Request) -> Response:
        params = {k: request.args.getlist(k) for k in request.args}
        del params["query"]
        body = algolia_search(hits, params, float("inf"))
        sent.append(len(body["hits"]))
        return Response(json.dumps(body), content_type="application/json")

    server.expect_request(PATH).respond_with_handler(handler)
    return sent


def test_a_long_backfill_downloads_each_hit_once(httpserver: HTTPServer, clock: FixedClock) -> None:
    now = int(clock().timestamp())
    hits = spread_hits(5000, now - 14 * 86400, now)
    sent = serve_counting(httpserver, hits)
    adapter = make_adapter(httpserver, [], backfill=timedelta(days=14), max_requests=500)
    results = fetch_all(adapter, ALL, None, clock())
    assert sorted(m.native_id for r in results for m in r.mentions) == sorted(
        h["objectID"] for h in hits
    )
    assert sum(sent) == 5000


def test_a_long_backfill_is_returned_one_window_at_a_time(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    now = int(clock().timestamp())
    serve_counting(httpserver, spread_hits(5000, now - 14 * 86400, now))
    adapter = make_adapter(httpserver, [], backfill=timedelta(days=14), max_requests=500)
    results = fetch_all(adapter, ALL, None, clock())
    assert all(len(r.mentions) <= 1000 for r in results)
    afters = [json.loads(r.cursor or "")["after"] for r in results]
    assert afters == sorted(afters) and afters[-1] == now
    assert [r.more for r in results] == [True] * (len(results) - 1) + [False]


def test_fetching_more_in_one_poll_spends_that_polls_budget(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    now = int(clock().timestamp())
    serve_counting(httpserver, spread_hits(5000, now - 14 * 86400, now))
    adapter = make_adapter(httpserver, [], backfill=timedelta(days=14), max_requests=20)
    results = fetch_all(adapter, ALL, None, clock())
    assert results[-1].requests == 20
    assert json.loads(results[-1].cursor or "")["after"] < now
    clock.advance(minutes=5)
    assert adapter.fetch(ALL, results[-1].cursor, clock()).requests > 0


def test_a_backfill_dense_in_its_last_minutes_downloads_each_hit_once(
    httpserver: HTTPServer, clock: FixedClock
) -> None:
    # More hits within `overlap` of now than one window holds: the pieces of one poll must go
    # on from the last one, not re-read the overlap (kept for the next poll's indexing lag).
    now = int(clock().timestamp())
    hits = spread_hits(3000, now - 300, now)
    sent = serve_counting(httpserver, hits)
    adapter = make_adapter(httpserver, [], backfill=timedelta(days=1), max_requests=500)
    results = fetch_all(adapter, ALL, None, clock())
    assert sorted(m.native_id for r in results for m in r.mentions) == sorted(
        h["objectID"] for h in hits
    )
    assert sum(sent) == 3000
