"""The Bluesky adapter against a real HTTP server on 127.0.0.1 answering XRPC like the AppView.

No recorded app.bsky.feed.searchPosts response was found in public sources (see SOURCES.md), so
`search_posts.json` was BUILT BY HAND from the published lexicons in bluesky-social/atproto
(lexicons/app/bsky/feed/searchPosts.json, feed/defs.json#postView, actor/defs.json
#profileViewBasic, feed/post.json): field names, nesting and formats follow them; the DIDs,
CIDs, handles and texts are invented. The handler below answers `since` (inclusive, on the
post's sortAt), `limit` and `cursor`, and returns a cursor only while more posts remain, as the
lexicon and the AppView's tests describe.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.channels.base import AuthError, HttpClient, parse_time
from monitor.channels.bluesky import CREATE_SESSION, SEARCH, Adapter, Settings
from monitor.models import Query
from monitor.validate import Secret
from tests.helpers import fixture_path

QUERY = Query("Acme", ("acme",))
NOW = datetime(2024, 11, 4, 12, 0, tzinfo=UTC)
PASSWORD = "abcd-efgh-ijkl-mnop"
HANDLE = "monitor-bot.bsky.social"


def recorded_posts() -> list[dict[str, Any]]:
    return json.loads(fixture_path("bluesky", "search_posts.json").read_text())["posts"]


def sort_at(post: dict[str, Any]) -> datetime:
    """The AppView orders by the earlier of createdAt and indexedAt."""
    indexed = parse_time(post["indexedAt"])
    try:
        return min(parse_time(post["record"]["createdAt"]), indexed)
    except (TypeError, ValueError):
        return indexed


def serve_search(
    server: HTTPServer, posts: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> list[Request]:
    """searchPosts with sort=latest: newest first, offset cursor, cursor only while more remain."""
    seen: list[Request] = []
    ordered = sorted(posts, key=lambda p: p["indexedAt"], reverse=True)

    def handler(request: Request) -> Response:
        seen.append(request)
        since = parse_time(request.args["since"])
        hits = [p for p in ordered if sort_at(p) >= since]
        start, limit = int(request.args.get("cursor", "0")), int(request.args["limit"])
        body: dict[str, Any] = {"posts": hits[start : start + limit], "hitsTotal": len(hits)}
        if start + limit < len(hits):
            body["cursor"] = str(start + limit)
        return Response(json.dumps(body), content_type="application/json", headers=headers)

    server.expect_request(SEARCH).respond_with_handler(handler)
    return seen


def serve_sessions(server: HTTPServer, tokens: list[str]) -> list[Request]:
    seen: list[Request] = []
    issued = iter(tokens)

    def handler(request: Request) -> Response:
        seen.append(request)
        body = {"accessJwt": next(issued), "refreshJwt": "r", "handle": HANDLE, "did": "did:plc:x"}
        return Response(json.dumps(body), content_type="application/json")

    server.expect_request(CREATE_SESSION, method="POST").respond_with_handler(handler)
    return seen


def make_adapter(server: HTTPServer, **overrides: Any) -> Adapter:
    options: dict[str, Any] = {"timeout": timedelta(seconds=2)}
    settings = Settings(base_url=server.url_for(""), **(options | overrides))
    return Adapter(settings, HttpClient("bluesky", settings, sleep=lambda _: None))


def signed_in(server: HTTPServer, **overrides: Any) -> Adapter:
    return make_adapter(server, identifier=HANDLE, app_password=Secret(PASSWORD), **overrides)


def test_first_poll_searches_the_latest_posts_since_backfill_ago(httpserver: HTTPServer) -> None:
    seen = serve_search(httpserver, recorded_posts())
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    args = seen[0].args
    assert (args["q"], args["sort"], args["since"]) == (
        "acme",
        "latest",
        "2024-10-21T12:00:00.000Z",
    )
    assert len(result.mentions) == 4 and result.warnings == ()


def test_link_is_built_from_the_handle_and_record_key(httpserver: HTTPServer) -> None:
    serve_search(httpserver, recorded_posts())
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    uri = "at://did:plc:q6gjnaw2blty4crticxkmujt/app.bsky.feed.post/3lajyn3c2r52c"
    post = next(m for m in result.mentions if m.native_id == uri)
    assert post.url == "https://bsky.app/profile/anvil-reviews.bsky.social/post/3lajyn3c2r52c"
    assert (post.author, post.lang) == ("anvil-reviews.bsky.social", "en")


def test_link_uses_the_did_when_the_handle_is_invalid(httpserver: HTTPServer) -> None:
    serve_search(httpserver, recorded_posts())
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    post = next(m for m in result.mentions if m.native_id.endswith("/3lajwkbfhhg2n"))
    assert (
        post.url == "https://bsky.app/profile/did:plc:3x5y4rfb7pyy2pcnw6k7e2cv/post/3lajwkbfhhg2n"
    )


def test_pages_follow_the_search_cursor(httpserver: HTTPServer) -> None:
    seen = serve_search(httpserver, recorded_posts())
    result = make_adapter(httpserver, page_size=1).fetch(QUERY, None, NOW)
    assert [r.args.get("cursor") for r in seen] == [None, "1", "2", "3"]
    assert len(result.mentions) == 4


def test_next_poll_searches_since_the_newest_post_less_overlap(httpserver: HTTPServer) -> None:
    seen = serve_search(httpserver, recorded_posts())
    adapter = make_adapter(httpserver, overlap=timedelta(minutes=10))
    first = adapter.fetch(QUERY, None, NOW)
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=5))
    # The newest post was indexed at 11:41:08.155Z.
    assert seen[-1].args["since"] == "2024-11-04T11:31:08.155Z"
    assert [m.native_id.rsplit("/", 1)[1] for m in second.mentions] == ["3lajyn3c2r52c"]


def test_empty_result_keeps_the_cursor(httpserver: HTTPServer) -> None:
    serve_search(httpserver, recorded_posts())
    adapter = make_adapter(httpserver)
    first = adapter.fetch(QUERY, None, NOW)
    httpserver.clear()
    serve_search(httpserver, [])
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=5))
    assert second.mentions == () and second.cursor == first.cursor


def test_429_pauses_polling_until_ratelimit_reset(httpserver: HTTPServer) -> None:
    reset = int((NOW + timedelta(minutes=4)).timestamp())
    seen: list[Request] = []

    def limited(request: Request) -> Response:
        seen.append(request)
        body = '{"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}'
        headers = {
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset),
        }
        return Response(body, status=429, content_type="application/json", headers=headers)

    httpserver.expect_request(SEARCH).respond_with_handler(limited)
    slept: list[float] = []
    settings = Settings(base_url=httpserver.url_for(""))
    adapter = Adapter(settings, HttpClient("bluesky", settings, sleep=slept.append))
    first = adapter.fetch(QUERY, None, NOW)
    assert "2024-11-04 12:04:00Z" in first.warnings[0] and slept == []
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=2))
    assert len(seen) == 1 and second.warnings


def test_no_requests_left_stops_before_the_next_request(httpserver: HTTPServer) -> None:
    reset = str(int((NOW + timedelta(minutes=1)).timestamp()))
    seen = serve_search(
        httpserver, recorded_posts(), headers={"RateLimit-Remaining": "0", "RateLimit-Reset": reset}
    )
    result = make_adapter(httpserver, page_size=2).fetch(QUERY, None, NOW)
    assert len(seen) == 1 and len(result.mentions) == 2
    assert "rate limit" in result.warnings[0]


def test_app_password_signs_in_once_and_sends_the_access_token(httpserver: HTTPServer) -> None:
    sessions = serve_sessions(httpserver, ["jwt-1"])
    seen = serve_search(httpserver, recorded_posts())
    adapter = signed_in(httpserver)
    first = adapter.fetch(QUERY, None, NOW)
    adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=5))
    assert len(sessions) == 1
    assert json.loads(sessions[0].data) == {"identifier": HANDLE, "password": PASSWORD}
    assert {r.headers["Authorization"] for r in seen} == {"Bearer jwt-1"}


def test_expired_session_signs_in_again_once(httpserver: HTTPServer) -> None:
    sessions = serve_sessions(httpserver, ["old", "new"])

    def search(request: Request) -> Response:
        if request.headers["Authorization"] == "Bearer old":
            body = '{"error": "ExpiredToken", "message": "Token has expired"}'
            return Response(body, status=400, content_type="application/json")
        return Response(json.dumps({"posts": recorded_posts()}), content_type="application/json")

    httpserver.expect_request(SEARCH).respond_with_handler(search)
    result = signed_in(httpserver).fetch(QUERY, None, NOW)
    assert len(sessions) == 2 and len(result.mentions) == 4


def test_wrong_app_password_raises_auth_error_naming_the_fix_not_the_password(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(CREATE_SESSION).respond_with_json(
        {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401
    )
    with pytest.raises(AuthError) as caught:
        signed_in(httpserver).fetch(QUERY, None, NOW)
    message = str(caught.value)
    assert message.startswith("bluesky:") and "app_password" in message
    assert "AuthenticationRequired" in message and PASSWORD not in message


def test_refused_anonymous_search_says_to_sign_in(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_data("Forbidden", status=403)
    with pytest.raises(AuthError, match=r"^bluesky: .*anonymous.*identifier and app_password"):
        make_adapter(httpserver).fetch(QUERY, None, NOW)


def test_malformed_posts_are_skipped_and_counted(httpserver: HTTPServer) -> None:
    posts = recorded_posts()
    no_record = dict(posts[0], uri=posts[0]["uri"] + "x", record=None)
    bad_time = json.loads(json.dumps(posts[1]))
    bad_time["uri"] += "y"
    bad_time["record"]["createdAt"] = "yesterday"
    serve_search(httpserver, [*posts, no_record, bad_time])
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    assert result.skipped == 2 and len(result.mentions) == 4


def test_plain_text_is_kept_as_written(httpserver: HTTPServer) -> None:
    # Post text is plain text, not HTML: `&` and `<3` are what the author typed.
    serve_search(httpserver, recorded_posts())
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    post = next(m for m in result.mentions if m.native_id.endswith("/3lajyn3c2r52c"))
    assert post.text == "The new Acme anvil arrived today & it's great <3 #acme"


def test_created_at_with_an_offset_is_converted_to_utc(httpserver: HTTPServer) -> None:
    serve_search(httpserver, recorded_posts())
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    post = next(m for m in result.mentions if m.native_id.endswith("/3lajwkbfhhg2n"))
    assert post.created_at == datetime(2024, 11, 4, 11, 3, 51, tzinfo=UTC)
    assert post.created_at.tzinfo is UTC


def test_request_budget_is_respected_and_the_next_poll_closes_the_gap_first(
    httpserver: HTTPServer,
) -> None:
    seen = serve_search(httpserver, recorded_posts())
    first = make_adapter(httpserver, page_size=1, max_requests=2).fetch(QUERY, None, NOW)
    assert len(seen) == 2 and len(first.mentions) == 2
    assert "request budget" in first.warnings[0]
    later = NOW + timedelta(minutes=5)
    second = make_adapter(httpserver, page_size=1).fetch(QUERY, first.cursor, later)
    assert (seen[2].args["cursor"], seen[2].args["since"]) == ("2", "2024-10-21T12:00:00.000Z")
    ids = {m.native_id for m in first.mentions + second.mentions}
    assert ids == {p["uri"] for p in recorded_posts()}


def test_settings_refuse_an_identifier_without_an_app_password() -> None:
    with pytest.raises(ValueError, match="app_password"):
        Settings(identifier=HANDLE)


def test_lone_surrogates_in_text_and_author_become_replacement_characters(
    httpserver: HTTPServer,
) -> None:
    posts = recorded_posts()
    bad = copy.deepcopy(posts[0])
    bad["record"]["text"] = "broken \ud83d post"
    bad["author"]["handle"] = "n\udc00me.bsky.social"
    serve_search(httpserver, [bad, *posts[1:]])
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    mention = next(m for m in result.mentions if m.native_id == bad["uri"])
    assert (mention.text, mention.author) == ("broken \ufffd post", "n\ufffdme.bsky.social")
    assert len(result.mentions) == 4


def test_an_unreadable_cursor_is_replaced_by_a_backfill(httpserver: HTTPServer) -> None:
    seen = serve_search(httpserver, recorded_posts())
    result = make_adapter(httpserver).fetch(QUERY, "{not json", NOW)
    assert seen[0].args["since"] == "2024-10-21T12:00:00.000Z"
    assert len(result.mentions) == 4
