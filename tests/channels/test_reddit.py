"""The Reddit adapter against a real HTTP server on 127.0.0.1 serving recorded Reddit listings.

`frontpage_listing.json` is a real 2016 front-page Listing (25 t3 posts) and `comment_info.json`
a real /api/info Listing holding one t1 comment. The search listings served here are pages cut
from those real children, newest first, with `after` set the way Reddit sets it (the fullname of
a page's last child). Where a test needs posts newer than the recording, it copies a real child
and changes only its name and time.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.channels.base import AuthError, HttpClient
from monitor.channels.reddit import WEB_ROOT, Adapter, Settings
from monitor.models import Query
from monitor.validate import Secret
from tests.helpers import fixture_path

UA = "monitor-tests/0.1 (by u/monitor_tests)"
QUERY = Query("Nintendo", ("nintendo", "switch console"))
NEWEST = 1476985184  # created_utc of the newest recorded post
NOW = datetime.fromtimestamp(NEWEST, UTC) + timedelta(hours=1)
SECRET = "s3cr3t-reddit-app-secret"


def real_children() -> list[dict[str, Any]]:
    listing = json.loads(fixture_path("reddit", "frontpage_listing.json").read_text())
    return sorted(listing["data"]["children"], key=lambda c: -c["data"]["created_utc"])


def newer_copy(child: dict[str, Any], suffix: str, created_utc: float) -> dict[str, Any]:
    clone = copy.deepcopy(child)
    clone["data"].update(id=f"new{suffix}", name=f"t3_new{suffix}", created_utc=created_utc)
    return clone


def listing(children: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    data = {"after": after, "before": None, "children": children, "dist": len(children)}
    return {"kind": "Listing", "data": data | {"modhash": ""}}


def serve_search(
    server: HTTPServer,
    children: list[dict[str, Any]],
    path: str = "/search.json",
    headers: dict[str, str] | None = None,
) -> list[Request]:
    """Answer like Reddit's search with sort=new over `children`; return the requests seen."""
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        limit = int(request.args.get("limit", "25"))
        names = [c["data"].get("name") if isinstance(c, dict) else None for c in children]
        after = request.args.get("after")
        start = names.index(after) + 1 if after else 0
        page = children[start : start + limit]
        more = start + limit < len(children)
        body = listing(page, page[-1]["data"]["name"] if more and page else None)
        return Response(json.dumps(body), content_type="application/json", headers=headers)

    server.expect_request(path).respond_with_handler(handler)
    return seen


def make_adapter(server: HTTPServer, slept: list[float], **overrides: Any) -> Adapter:
    options: dict[str, Any] = {"user_agent": UA, "timeout": timedelta(seconds=2)}
    settings = Settings(base_url=server.url_for(""), **(options | overrides))
    return Adapter(settings, HttpClient("reddit", settings, sleep=slept.append))


def oauth_options(server: HTTPServer) -> dict[str, Any]:
    return {
        "client_id": Secret("app-id"),
        "client_secret": Secret(SECRET),
        "token_url": server.url_for("/api/v1/access_token"),
    }


def test_first_poll_returns_every_post_in_the_backfill_window(httpserver: HTTPServer) -> None:
    children = real_children()
    serve_search(httpserver, children)
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    assert sorted(m.native_id for m in result.mentions) == sorted(
        c["data"]["name"] for c in children
    )
    assert result.skipped == 0 and result.warnings == ()


def test_search_asks_for_the_newest_posts_matching_any_term(httpserver: HTTPServer) -> None:
    seen = serve_search(httpserver, real_children())
    make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    args = seen[0].args
    assert (args["q"], args["sort"], args["type"]) == (
        'nintendo OR "switch console"',
        "new",
        "link",
    )


def test_user_agent_setting_is_sent_as_the_user_agent_header(httpserver: HTTPServer) -> None:
    seen = serve_search(httpserver, real_children())
    make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    assert seen[0].headers["User-Agent"] == UA


def test_mention_carries_permalink_author_and_score_as_reach(httpserver: HTTPServer) -> None:
    serve_search(httpserver, real_children())
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    post = next(m for m in result.mentions if m.native_id == "t3_58hakw")
    assert (
        post.url == WEB_ROOT + "/r/gaming/comments/58hakw/red_dead_redemption_2_official_trailer/"
    )
    assert (post.author, post.author_reach) == ("temtam", 6967.0)
    assert post.text == "Red Dead Redemption 2 Official Trailer"


def test_pages_follow_after_until_the_listing_ends(httpserver: HTTPServer) -> None:
    children = real_children()
    seen = serve_search(httpserver, children)
    result = make_adapter(httpserver, [], page_size=10).fetch(QUERY, None, NOW)
    assert [r.args.get("after") for r in seen] == [
        None,
        children[9]["data"]["name"],
        children[19]["data"]["name"],
    ]
    assert len(result.mentions) == 25


def test_paging_stops_at_the_backfill_floor(httpserver: HTTPServer) -> None:
    children = real_children()
    seen = serve_search(httpserver, children)
    floor = children[12]["data"]["created_utc"]
    backfill = NOW - datetime.fromtimestamp(floor, UTC)
    result = make_adapter(httpserver, [], page_size=10, backfill=backfill).fetch(QUERY, None, NOW)
    assert len(seen) == 2
    assert {m.native_id for m in result.mentions} == {c["data"]["name"] for c in children[:13]}


def test_next_poll_reads_back_only_to_the_cursor_less_overlap(httpserver: HTTPServer) -> None:
    children = real_children()
    adapter = make_adapter(httpserver, [], page_size=10, overlap=timedelta(minutes=15))
    serve_search(httpserver, children)
    first = adapter.fetch(QUERY, None, NOW)
    httpserver.clear()
    fresh = [newer_copy(children[0], "b", NEWEST + 600), newer_copy(children[0], "a", NEWEST + 300)]
    seen = serve_search(httpserver, fresh + children)
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=15))
    assert len(seen) == 1
    floor = NEWEST - 15 * 60
    expected = {c["data"]["name"] for c in fresh + children if c["data"]["created_utc"] >= floor}
    assert {m.native_id for m in second.mentions} == expected
    (state,) = json.loads(second.cursor or "").values()
    assert state["top"] == NEWEST + 600


def test_empty_result_keeps_the_cursor(httpserver: HTTPServer) -> None:
    adapter = make_adapter(httpserver, [])
    serve_search(httpserver, real_children())
    first = adapter.fetch(QUERY, None, NOW)
    httpserver.clear()
    serve_search(httpserver, [])
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=5))
    assert second.mentions == ()
    assert json.loads(second.cursor or "") == json.loads(first.cursor or "")


def test_429_with_retry_after_is_waited_out_and_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/search.json").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "7"}
    )
    body = json.dumps(listing(real_children(), None))
    httpserver.expect_ordered_request("/search.json").respond_with_data(
        body, content_type="application/json"
    )
    slept: list[float] = []
    result = make_adapter(httpserver, slept).fetch(QUERY, None, NOW)
    assert slept == [7.0]
    assert len(result.mentions) == 25


def test_used_up_rate_window_pauses_polling_until_reddit_resets_it(
    httpserver: HTTPServer,
) -> None:
    window = {"x-ratelimit-remaining": "0.0", "x-ratelimit-used": "100", "x-ratelimit-reset": "120"}
    seen = serve_search(httpserver, real_children(), headers=window)
    adapter = make_adapter(httpserver, [], page_size=10)
    first = adapter.fetch(QUERY, None, NOW)
    assert len(seen) == 1 and len(first.mentions) == 10
    assert "reddit" in first.warnings[0] and "rate-limit window" in first.warnings[0]
    during = adapter.fetch(QUERY, first.cursor, NOW + timedelta(seconds=60))
    assert len(seen) == 1 and during.cursor == first.cursor and during.warnings
    adapter.fetch(QUERY, first.cursor, NOW + timedelta(seconds=121))
    assert seen[1].args["after"] == real_children()[9]["data"]["name"]


def test_oauth_app_gets_a_token_once_and_sends_it_as_bearer(httpserver: HTTPServer) -> None:
    tokens: list[Request] = []

    def token(request: Request) -> Response:
        tokens.append(request)
        body = {"access_token": "tok-1", "token_type": "bearer", "expires_in": 86400}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/v1/access_token", method="POST").respond_with_handler(token)
    seen = serve_search(httpserver, real_children(), path="/search")
    adapter = make_adapter(httpserver, [], **oauth_options(httpserver))
    first = adapter.fetch(QUERY, None, NOW)
    adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=5))
    basic = base64.b64encode(f"app-id:{SECRET}".encode()).decode()
    assert [t.headers["Authorization"] for t in tokens] == [f"Basic {basic}"]
    assert tokens[0].form["grant_type"] == "client_credentials"
    assert {r.headers["Authorization"] for r in seen} == {"bearer tok-1"}


def test_revoked_token_is_replaced_once(httpserver: HTTPServer) -> None:
    issued = iter(["old", "new"])

    def token(request: Request) -> Response:
        body = {"access_token": next(issued), "expires_in": 86400}
        return Response(json.dumps(body), content_type="application/json")

    def search(request: Request) -> Response:
        if request.headers["Authorization"] == "bearer old":
            return Response('{"message": "Unauthorized", "error": 401}', status=401)
        return Response(json.dumps(listing(real_children(), None)), content_type="application/json")

    httpserver.expect_request("/api/v1/access_token").respond_with_handler(token)
    httpserver.expect_request("/search").respond_with_handler(search)
    result = make_adapter(httpserver, [], **oauth_options(httpserver)).fetch(QUERY, None, NOW)
    assert len(result.mentions) == 25


def test_refused_app_credentials_raise_auth_error_naming_the_fix_not_the_secret(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/api/v1/access_token").respond_with_data(
        '{"message": "Unauthorized", "error": 401}', status=401
    )
    adapter = make_adapter(httpserver, [], **oauth_options(httpserver))
    with pytest.raises(AuthError) as caught:
        adapter.fetch(QUERY, None, NOW)
    message = str(caught.value)
    assert message.startswith("reddit:") and "client_id" in message and "client_secret" in message
    assert SECRET not in message and "app-id" not in message


def test_refused_anonymous_access_says_how_to_fix_it(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/search.json").respond_with_data("<html>blocked</html>", status=403)
    with pytest.raises(AuthError, match=r"^reddit: .*user_agent.*client_id"):
        make_adapter(httpserver, []).fetch(QUERY, None, NOW)


def test_malformed_children_are_skipped_and_counted(httpserver: HTTPServer) -> None:
    children = real_children()
    broken = copy.deepcopy(children[3])
    broken["data"]["created_utc"] = "yesterday"
    bad = [{"kind": "t3", "data": {"name": "t3_nodate"}}, "not a thing", broken]
    serve_search(httpserver, children[:3] + bad + children[4:])
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    assert result.skipped == 3
    assert len(result.mentions) == 24


def test_html_and_entities_in_self_text_are_decoded(httpserver: HTTPServer) -> None:
    serve_search(httpserver, real_children())
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    tifu = next(m for m in result.mentions if m.native_id == "t3_58hb5f")
    assert "it shouldn't so we like to make sure it can't break anything" in tifu.text
    assert "&#39;" not in tifu.text and "<p>" not in tifu.text and "&lt;" not in tifu.text


def test_created_at_is_parsed_to_aware_utc(httpserver: HTTPServer) -> None:
    serve_search(httpserver, real_children())
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    post = next(m for m in result.mentions if m.native_id == "t3_58hakw")
    assert post.created_at == datetime(2016, 10, 20, 15, 0, 28, tzinfo=UTC)
    assert post.created_at.utcoffset() == timedelta(0)


def test_request_budget_is_respected_and_the_next_poll_closes_the_gap_first(
    httpserver: HTTPServer,
) -> None:
    children = real_children()
    seen = serve_search(httpserver, children)
    first = make_adapter(httpserver, [], page_size=10, max_requests=2).fetch(QUERY, None, NOW)
    assert len(seen) == 2 and len(first.mentions) == 20
    assert "request budget" in first.warnings[0]
    later = NOW + timedelta(minutes=5)
    second = make_adapter(httpserver, [], page_size=10).fetch(QUERY, first.cursor, later)
    assert seen[2].args["after"] == children[19]["data"]["name"]
    assert "after" not in seen[3].args  # then the newest page, for what came since
    names = {m.native_id for m in first.mentions + second.mentions}
    assert names == {c["data"]["name"] for c in children}


def test_comment_search_reads_t1_comments(httpserver: HTTPServer) -> None:
    comments = json.loads(fixture_path("reddit", "comment_info.json").read_text())
    children = {"link": [], "comment": comments["data"]["children"]}

    def handler(request: Request) -> Response:
        body = listing(children[request.args["type"]], None)
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/search.json").respond_with_handler(handler)
    adapter = make_adapter(httpserver, [], comments=True, backfill=timedelta(days=4000))
    (comment,) = adapter.fetch(QUERY, None, NOW).mentions
    assert comment.native_id == "t1_c0b6xx0"
    assert comment.text == "Don't tell me what to do!\nUpvoted."
    assert comment.url == WEB_ROOT + "/r/pics/comments/92dd8/test_post_please_ignore/c0b6xx0/"


def test_settings_refuse_a_missing_user_agent() -> None:
    with pytest.raises(ValueError, match="user_agent"):
        Settings(user_agent=" ")


def test_settings_refuse_a_client_id_without_its_secret() -> None:
    with pytest.raises(ValueError, match="client_secret"):
        Settings(user_agent=UA, client_id=Secret("app-id"))


def test_lone_surrogates_in_text_and_author_become_replacement_characters(
    httpserver: HTTPServer,
) -> None:
    children = real_children()
    bad = copy.deepcopy(children[0])
    bad["data"].update(
        title="broken \ud83d title", selftext="", selftext_html=None, author="n\udc00me"
    )
    serve_search(httpserver, [bad, *children[1:]])
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    mention = next(m for m in result.mentions if m.native_id == bad["data"]["name"])
    assert (mention.text, mention.author) == ("broken \ufffd title", "n\ufffdme")
    assert len(result.mentions) == len(children)


def test_an_item_the_parser_cannot_handle_is_skipped_and_the_others_kept(
    httpserver: HTTPServer,
) -> None:
    children = real_children()
    bad = copy.deepcopy(children[0])
    bad["data"]["score"] = 10**400  # past float's range: float() raises OverflowError
    serve_search(httpserver, [bad, *children[1:]])
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    assert result.skipped == 1
    assert sorted(m.native_id for m in result.mentions) == sorted(
        c["data"]["name"] for c in children[1:]
    )


def test_an_unreadable_cursor_is_replaced_by_a_backfill(httpserver: HTTPServer) -> None:
    children = real_children()
    serve_search(httpserver, children)
    result = make_adapter(httpserver, []).fetch(QUERY, "{not json", NOW)
    assert len(result.mentions) == len(children)
