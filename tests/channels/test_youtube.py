"""The YouTube Data API adapter against a real HTTP server on 127.0.0.1.

No recorded YouTube responses with a known licence were found, so every payload here was built
for these tests from Google's published reference (developers.google.com/youtube/v3/docs:
the search and commentThreads list responses and resources, and the errors page; error bodies
follow Google's JSON error format, including the `details[].reason` API_KEY_INVALID). Titles and
descriptions are HTML-escaped and comments' textDisplay is HTML, as the API serves them; videos,
channels and comments are invented.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.channels import youtube
from monitor.channels.base import AuthError, ChannelError, HttpClient, RateLimited
from monitor.channels.youtube import NAME, Adapter, Settings, build_query
from monitor.models import FetchResult, Query
from monitor.validate import Secret
from tests.helpers import fixture_path

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
KEY = "test-youtube-key-not-a-real-one-5d1e"
QUERY = Query("Acme", ("acme", "acme x2"))
V1, V2, V3, V4 = "Acm3Vid0001", "Acm3Vid0002", "Acm3Vid0003", "Acm3Vid0004"
V1_PAGE2 = "QURTSl9pMFpsejVCblhvUkd0b0ZzT3hHNHV4T1M1dGxLS1NfS1NMVg=="
Answer = Any  # a payload file name, or (status, payload file name)


@pytest.fixture(autouse=True)
def fresh_quota_ledger(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The ledger is process-wide by design; each test starts a new process's worth of it.
    monkeypatch.setattr(youtube, "_SPENT", {})
    yield


def load(name: str) -> Any:
    return json.loads(fixture_path("youtube", name).read_text(encoding="utf-8"))


def make_adapter(
    server: HTTPServer, slept: list[float] | None = None, *, now: datetime = NOW, **overrides: Any
) -> Adapter:
    options: dict[str, Any] = {"api_key": Secret(KEY), "timeout": timedelta(seconds=2)}
    settings = Settings(base_url=server.url_for(""), **(options | overrides))
    sleep = (slept if slept is not None else []).append
    return Adapter(settings, HttpClient(NAME, settings, sleep=sleep, clock=lambda: now))


def serve(
    server: HTTPServer,
    search: dict[str | None, Answer],
    comments: dict[tuple[str, str | None], Answer] | None = None,
) -> list[Request]:
    """Answer search by pageToken and commentThreads by (videoId, pageToken)."""
    seen: list[Request] = []
    comments = comments or {}

    def answer(choice: Answer) -> Response:
        status, name = choice if isinstance(choice, tuple) else (200, choice)
        return Response(json.dumps(load(name)), status=status, content_type="application/json")

    def on_search(request: Request) -> Response:
        seen.append(request)
        return answer(search[request.args.get("pageToken")])

    def on_comments(request: Request) -> Response:
        seen.append(request)
        key = (request.args["videoId"], request.args.get("pageToken"))
        return answer(comments.get(key, "comments_empty.json"))

    server.expect_request("/search").respond_with_handler(on_search)
    server.expect_request("/commentThreads").respond_with_handler(on_comments)
    return seen


def serve_week(server: HTTPServer) -> list[Request]:
    return serve(
        server,
        {None: "search_page1.json", "CDIQAA": "search_page2.json"},
        {
            (V1, None): "comments_v1_page1.json",
            (V1, V1_PAGE2): "comments_v1_page2.json",
            (V2, None): "comments_v2.json",
        },
    )


def by_id(result: FetchResult) -> dict[str, Any]:
    return {m.native_id: m for m in result.mentions}


def comment_requests(seen: list[Request]) -> list[tuple[str, str | None]]:
    return [
        (r.args["videoId"], r.args.get("pageToken")) for r in seen if r.path.endswith("Threads")
    ]


def test_query_joins_terms_with_youtube_or_and_quotes_phrases() -> None:
    assert build_query(("acme", "acme x2", '"acme"', "#acme")) == 'acme|"acme x2"|#acme'


def test_first_poll_searches_videos_published_within_the_backfill(httpserver: HTTPServer) -> None:
    seen = serve(httpserver, {None: "search_empty.json"})
    make_adapter(httpserver).fetch(QUERY, None, NOW)
    args = seen[0].args
    assert (args["part"], args["type"], args["order"]) == ("snippet", "video", "date")
    assert args["q"] == 'acme|"acme x2"'
    assert args["publishedAfter"] == "2026-02-24T11:00:00Z"  # 14 days, less the 1h overlap
    assert args["key"] == KEY


def test_video_title_and_description_become_a_mention(httpserver: HTTPServer) -> None:
    serve_week(httpserver)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    video = by_id(result)[f"v:{V2}"]
    assert video.text == "Unboxing the Acme X2\n\nFirst look at the Acme X2."
    assert video.url == f"https://www.youtube.com/watch?v={V2}"
    assert video.author == "Tech Daily"


def test_entities_in_video_titles_are_decoded(httpserver: HTTPServer) -> None:
    serve_week(httpserver)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    text = by_id(result)[f"v:{V1}"].text
    assert text.startswith("Acme X2 review: don't buy before you watch this\n\nTwo weeks with the")
    assert "Acme X2 & its new sync" in text


def test_comments_of_found_videos_become_mentions(httpserver: HTTPServer) -> None:
    serve_week(httpserver)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    comment = by_id(result)["c:UgzAcme0004AaABAg"]
    assert comment.url == f"https://www.youtube.com/watch?v={V2}&lc=UgzAcme0004AaABAg"
    assert comment.author == "@lena_k"
    assert comment.text == "Mine arrived with a cracked screen 🙁"


def test_comment_html_is_decoded_to_plain_text(httpserver: HTTPServer) -> None:
    serve_week(httpserver)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    text = by_id(result)["c:UgzAcme0001AaABAg"].text
    assert text == (
        "Love the new Acme app\nbut sync has been broken since 4.2 & support says it's "
        '"fixed"? 3:10'
    )


def test_created_at_is_parsed_to_aware_utc(httpserver: HTTPServer) -> None:
    serve_week(httpserver)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    assert by_id(result)[f"v:{V1}"].created_at == datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
    assert by_id(result)["c:UgzAcme0002AaABAg"].created_at == datetime(
        2026, 3, 10, 10, 2, 13, tzinfo=UTC
    )


def test_search_pagination_follows_next_page_token(httpserver: HTTPServer) -> None:
    seen = serve_week(httpserver)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    searches = [r for r in seen if r.path == "/search"]
    assert [r.args.get("pageToken") for r in searches] == [None, "CDIQAA"]
    assert {f"v:{V1}", f"v:{V2}", f"v:{V3}"} <= set(by_id(result))


def test_comment_pages_are_read_down_to_the_previous_newest_comment(
    httpserver: HTTPServer,
) -> None:
    seen = serve_week(httpserver)
    adapter = make_adapter(httpserver)
    first = adapter.fetch(QUERY, None, NOW)
    assert (V1, V1_PAGE2) in comment_requests(seen)
    assert json.loads(first.cursor or "")["videos"][V1]["floor"] == "2026-03-10T11:45:00Z"
    seen.clear()
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=30))
    # Page 1 already reaches below the floor, so page 2 is not asked for again.
    assert (V1, V1_PAGE2) not in comment_requests(seen)
    # Only the comment at the floor itself is read again; those below it are not.
    v1_comments = {m.native_id for m in second.mentions if f"v={V1}&lc=" in m.url}
    assert v1_comments == {"c:UgzAcme0001AaABAg"}


def test_cursor_advance_next_poll_searches_after_the_newest_video(httpserver: HTTPServer) -> None:
    seen = serve_week(httpserver)
    adapter = make_adapter(httpserver)
    first = adapter.fetch(QUERY, None, NOW)
    assert json.loads(first.cursor or "")["search"] == {"after": "2026-03-10T09:30:00Z"}
    seen.clear()
    adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=30))
    assert seen[0].args["publishedAfter"] == "2026-03-10T08:30:00Z"


def test_empty_search_returns_nothing_and_keeps_the_floor(httpserver: HTTPServer) -> None:
    serve(httpserver, {None: "search_empty.json"})
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    assert result.mentions == ()
    cursor = json.loads(result.cursor or "")
    assert cursor["search"] == {"after": "2026-02-24T12:00:00Z"}
    assert cursor["quota"] == {"day": "2026-03-10", "units": 100}


def test_quota_units_are_counted_per_call_in_the_cursor(httpserver: HTTPServer) -> None:
    serve_week(httpserver)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    # Two search pages at 100 units, four commentThreads pages at 1 (V1 twice, V2, V3).
    assert json.loads(result.cursor or "")["quota"] == {"day": "2026-03-10", "units": 204}


def test_search_is_skipped_when_the_quota_left_cannot_pay_for_it(httpserver: HTTPServer) -> None:
    seen = serve_week(httpserver)
    cursor = json.dumps(
        {
            "search": {"after": "2026-03-10T09:30:00Z"},
            "videos": {V2: {"published": "2026-03-09T17:05:11Z", "floor": "2026-03-09T17:05:11Z"}},
            "quota": {"day": "2026-03-10", "units": 9950},
        }
    )
    result = make_adapter(httpserver).fetch(QUERY, cursor, NOW)
    assert [r.path for r in seen] == ["/commentThreads"]
    assert "c:UgzAcme0004AaABAg" in by_id(result)
    assert "search costs 100 quota units and 9950 of today's 10000" in result.warnings[0]


def test_spent_quota_raises_rate_limited_without_calling_google(httpserver: HTTPServer) -> None:
    serve_week(httpserver)
    cursor = json.dumps({"quota": {"day": "2026-03-10", "units": 10000}})
    with pytest.raises(RateLimited, match=r"quota budget of 10000 units is spent.*in 19\.0h"):
        make_adapter(httpserver).fetch(QUERY, cursor, NOW)
    assert httpserver.log == []


def test_quota_day_turns_at_midnight_pacific_not_utc(httpserver: HTTPServer) -> None:
    serve(httpserver, {None: "search_empty.json"})
    spent = json.dumps({"quota": {"day": "2026-03-09", "units": 10000}})
    before_midnight = datetime(2026, 3, 10, 6, 59, tzinfo=UTC)  # 23:59 PDT on the 9th
    with pytest.raises(RateLimited):
        make_adapter(httpserver, now=before_midnight).fetch(QUERY, spent, before_midnight)
    after_midnight = datetime(2026, 3, 10, 7, 1, tzinfo=UTC)
    result = make_adapter(httpserver, now=after_midnight).fetch(QUERY, spent, after_midnight)
    assert json.loads(result.cursor or "")["quota"] == {"day": "2026-03-10", "units": 100}


def test_brands_sharing_a_key_share_its_quota_count(httpserver: HTTPServer) -> None:
    serve(httpserver, {None: "search_empty.json"})
    first_brand = make_adapter(httpserver).fetch(QUERY, None, NOW)
    other_brand = make_adapter(httpserver).fetch(Query("Other", ("other",)), None, NOW)
    assert json.loads(first_brand.cursor or "")["quota"]["units"] == 100
    assert json.loads(other_brand.cursor or "")["quota"]["units"] == 200


def test_quota_exceeded_from_google_stops_polling_until_the_reset(httpserver: HTTPServer) -> None:
    serve(httpserver, {None: (403, "error_quota_exceeded.json")})
    adapter = make_adapter(httpserver)
    with pytest.raises(RateLimited, match=r"daily quota used up \(quotaExceeded\).*Pacific"):
        adapter.fetch(QUERY, None, NOW)
    with pytest.raises(RateLimited, match="quota budget of 10000 units is spent"):
        adapter.fetch(QUERY, None, NOW + timedelta(minutes=30))
    assert len(httpserver.log) == 1


def test_invalid_key_raises_auth_error_without_the_key(httpserver: HTTPServer) -> None:
    serve(httpserver, {None: (400, "error_key_invalid.json")})
    with pytest.raises(AuthError) as caught:
        make_adapter(httpserver).fetch(QUERY, None, NOW)
    message = str(caught.value)
    assert message.startswith("youtube: Google refused the API key (API_KEY_INVALID, badRequest)")
    assert "channels.youtube.api_key" in message
    assert KEY not in message


def test_server_errors_never_put_the_key_in_the_message(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/search").respond_with_data("backend error", status=503)
    slept: list[float] = []
    with pytest.raises(ChannelError) as caught:
        make_adapter(httpserver, slept).fetch(QUERY, None, NOW)
    assert "HTTP 503" in str(caught.value)
    assert KEY not in str(caught.value)
    assert slept == [1.0, 2.0, 4.0, 8.0]


def test_video_with_comments_disabled_is_skipped_and_not_asked_again(
    httpserver: HTTPServer,
) -> None:
    seen = serve(
        httpserver,
        {None: "search_page1.json", "CDIQAA": "search_page2.json"},
        {(V2, None): (403, "error_comments_disabled.json")},
    )
    adapter = make_adapter(httpserver)
    first = adapter.fetch(QUERY, None, NOW)
    assert first.warnings == ()
    assert json.loads(first.cursor or "")["videos"][V2]["closed"] is True
    seen.clear()
    adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=30))
    assert V2 not in [video for video, _ in comment_requests(seen)]


def test_malformed_items_are_skipped_and_counted(httpserver: HTTPServer) -> None:
    serve(httpserver, {None: "search_malformed.json"}, {(V1, None): "comments_malformed.json"})
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    assert sorted(by_id(result)) == ["c:UgzAcme0005AaABAg", f"v:{V1}"]
    assert result.skipped == 4


def test_request_budget_resumes_comments_at_the_saved_page_token(httpserver: HTTPServer) -> None:
    seen = serve_week(httpserver)
    first = make_adapter(httpserver, max_requests=3).fetch(QUERY, None, NOW)
    assert "request budget of 3" in first.warnings[0]
    saved = json.loads(first.cursor or "")["videos"][V1]
    assert (saved["token"], saved["floor"]) == (V1_PAGE2, "2026-03-10T09:30:00Z")
    seen.clear()
    second = make_adapter(httpserver).fetch(QUERY, first.cursor, NOW + timedelta(minutes=30))
    assert comment_requests(seen)[0] == (V1, V1_PAGE2)
    assert "c:UgzAcme0003AaABAg" in by_id(second)
    assert json.loads(second.cursor or "")["videos"][V1]["floor"] == "2026-03-10T11:45:00Z"


def test_refused_saved_page_token_restarts_comments_from_the_newest_page(
    httpserver: HTTPServer,
) -> None:
    seen = serve(
        httpserver,
        {None: "search_empty.json"},
        {
            (V1, "expired"): (400, "error_invalid_page_token.json"),
            (V1, None): "comments_v1_page1.json",
            (V1, V1_PAGE2): "comments_v1_page2.json",
        },
    )
    v1 = {"published": "2026-03-10T09:30:00Z", "floor": "2026-03-10T09:30:00Z", "token": "expired"}
    cursor = json.dumps({"search": {"after": "2026-03-10T09:30:00Z"}, "videos": {V1: v1}})
    result = make_adapter(httpserver).fetch(QUERY, cursor, NOW)
    assert comment_requests(seen) == [(V1, "expired"), (V1, None), (V1, V1_PAGE2)]
    assert result.warnings == ()
    assert "token" not in json.loads(result.cursor or "")["videos"][V1]


def test_request_budget_in_search_records_the_unread_gap(httpserver: HTTPServer) -> None:
    seen = serve_week(httpserver)
    first = make_adapter(httpserver, max_requests=1).fetch(QUERY, None, NOW)
    gap = json.loads(first.cursor or "")["search"]
    assert gap == {
        "after": "2026-02-24T12:00:00Z",
        "before": "2026-03-09T17:05:11Z",
        "top": "2026-03-10T09:30:00Z",
    }
    seen.clear()
    make_adapter(httpserver).fetch(QUERY, first.cursor, NOW + timedelta(minutes=30))
    searches = [r.args for r in seen if r.path == "/search"]
    assert searches[0]["publishedBefore"] == "2026-03-09T17:05:11Z"
    # With the gap read, the same poll searches above the newest video it has seen.
    assert "publishedBefore" not in searches[2]
    assert searches[2]["publishedAfter"] == "2026-03-10T08:30:00Z"


def test_videos_older_than_the_comment_window_are_no_longer_read(httpserver: HTTPServer) -> None:
    seen = serve(httpserver, {None: "search_empty.json"})
    cursor = json.dumps(
        {
            "search": {"after": "2026-03-10T09:30:00Z"},
            "videos": {V3: {"published": "2026-03-01T08:00:00Z", "floor": "2026-03-01T08:00:00Z"}},
        }
    )
    result = make_adapter(httpserver).fetch(QUERY, cursor, NOW)
    assert comment_requests(seen) == []
    assert json.loads(result.cursor or "")["videos"] == {}


def test_429_waits_for_retry_after_then_searches(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/search").respond_with_data(
        "", status=429, headers={"Retry-After": "3"}
    )
    serve(httpserver, {None: "search_empty.json"})
    slept: list[float] = []
    result = make_adapter(httpserver, slept).fetch(QUERY, None, NOW)
    assert slept == [3.0]
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"api_key": Secret("")}, "api_key is empty"),
        ({"daily_quota_units": 50}, "daily_quota_units must be at least 100"),
    ],
)
def test_settings_explain_what_to_fix(overrides: dict[str, Any], problem: str) -> None:
    options: dict[str, Any] = {"api_key": Secret(KEY)}
    with pytest.raises(ValueError, match=problem):
        Settings(**(options | overrides))


def serve_search_page(server: HTTPServer, change: Callable[[dict[str, Any]], None]) -> None:
    """search_page1.json as the only page, its first video passed through `change`."""
    body = load("search_page1.json")
    del body["nextPageToken"]
    change(body["items"][0])
    server.expect_request("/search").respond_with_json(body)
    server.expect_request("/commentThreads").respond_with_json(load("comments_empty.json"))


def test_lone_surrogates_in_text_and_author_become_replacement_characters(
    httpserver: HTTPServer,
) -> None:
    def poison(item: dict[str, Any]) -> None:
        item["snippet"].update(
            title="broken \ud83d video", description="", channelTitle="n\udc00me"
        )

    serve_search_page(httpserver, poison)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    mention = by_id(result)[f"v:{V1}"]
    assert (mention.text, mention.author) == ("broken \ufffd video", "n\ufffdme")
    assert len(result.mentions) == 2


def test_an_item_the_parser_cannot_handle_is_skipped_and_the_others_kept(
    httpserver: HTTPServer,
) -> None:
    def poison(item: dict[str, Any]) -> None:
        # Converting to UTC runs past year 9999: astimezone raises OverflowError.
        item["snippet"]["publishedAt"] = "9999-12-31T23:59:59-05:00"

    serve_search_page(httpserver, poison)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    assert result.skipped == 1
    assert list(by_id(result)) == [f"v:{V2}"]


def test_an_unreadable_cursor_is_replaced_by_a_backfill(httpserver: HTTPServer) -> None:
    seen = serve_week(httpserver)
    result = make_adapter(httpserver).fetch(QUERY, "{not json", NOW)
    assert seen[0].args["publishedAfter"].startswith("2026-02-2")
    assert f"v:{V1}" in by_id(result)
