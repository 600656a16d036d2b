"""The Mastodon adapter against a real HTTP server on 127.0.0.1 acting as one or two instances.

Every status served is the real Status entity from Mastodon's documentation
(`status_example.json`), copied with a new id, uri, url and created_at where a test needs more
than one. The handlers answer `min_id`, `max_id` and `limit` the way Mastodon documents them.
Two instances are the same server under two path prefixes (/a and /b).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.channels.base import AuthError, ChannelError, HttpClient
from monitor.channels.mastodon import Adapter, Settings, rewind, snowflake_at
from monitor.models import Query
from monitor.validate import Secret
from tests.helpers import fixture_path

QUERY = Query("Acme", ("acme",))
NOW = datetime(2019, 12, 10, 12, 0, tzinfo=UTC)  # two days after the recorded status
TOKEN = "mastodon-token-0123456789"
TAG_PATH = "/api/v1/timelines/tag/acme"


def real_status() -> dict[str, Any]:
    return json.loads(fixture_path("mastodon", "status_example.json").read_text())


def status_at(when: datetime, n: int = 0) -> dict[str, Any]:
    status = copy.deepcopy(real_status())
    sid = str((int(when.timestamp() * 1000) << 16) + n)
    stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    status.update(
        id=sid,
        uri=f"https://mastodon.social/users/Gargron/statuses/{sid}",
        url=f"https://mastodon.social/@Gargron/{sid}",
        created_at=stamp,
    )
    return status


def statuses(count: int) -> list[dict[str, Any]]:
    return [status_at(NOW - timedelta(hours=count - i), i) for i in range(count)]


def json_response(body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), content_type="application/json", headers=headers)


def serve_tag(
    server: HTTPServer,
    items: list[dict[str, Any]],
    prefix: str = "",
    headers: dict[str, str] | None = None,
) -> list[Request]:
    """A hashtag timeline: `min_id` returns the page immediately newer, newest first."""
    seen: list[Request] = []
    ordered = sorted(items, key=lambda s: int(s["id"]))

    def handler(request: Request) -> Response:
        seen.append(request)
        min_id, limit = int(request.args["min_id"]), int(request.args["limit"])
        page = [s for s in ordered if int(s["id"]) > min_id][:limit]
        return json_response(page[::-1], headers)

    server.expect_request(prefix + TAG_PATH).respond_with_handler(handler)
    return seen


def serve_search(server: HTTPServer, items: list[dict[str, Any]]) -> list[Request]:
    """Full-text search: ids between min_id and max_id, newest first, `limit` of them."""
    seen: list[Request] = []
    ordered = sorted(items, key=lambda s: -int(s["id"]))

    def handler(request: Request) -> Response:
        seen.append(request)
        low = int(request.args["min_id"])
        high = int(request.args.get("max_id", str(2**63)))
        page = [s for s in ordered if low < int(s["id"]) < high][: int(request.args["limit"])]
        return json_response({"accounts": [], "statuses": page, "hashtags": []})

    server.expect_request("/api/v2/search").respond_with_handler(handler)
    return seen


def make_adapter(
    server: HTTPServer, instances: tuple[str, ...] = ("",), **overrides: Any
) -> Adapter:
    options: dict[str, Any] = {"timeout": timedelta(seconds=2)}
    roots = tuple(server.url_for(prefix) for prefix in instances)
    settings = Settings(instances=roots, **(options | overrides))
    return Adapter(settings, HttpClient("mastodon", settings, sleep=lambda _: None))


def test_first_poll_reads_the_tag_timeline_from_backfill_ago(httpserver: HTTPServer) -> None:
    items = statuses(3)
    seen = serve_tag(httpserver, items)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    assert seen[0].args["min_id"] == snowflake_at(NOW - timedelta(days=14))
    assert {m.native_id for m in result.mentions} == {s["uri"] for s in items}


def test_mention_carries_uri_qualified_author_followers_and_language(
    httpserver: HTTPServer,
) -> None:
    serve_tag(httpserver, [real_status()])
    (mention,) = make_adapter(httpserver).fetch(QUERY, None, NOW).mentions
    host = httpserver.url_for("").split("://")[1].rstrip("/")
    assert mention.native_id == "https://mastodon.social/users/Gargron/statuses/103270115826048975"
    assert mention.url == "https://mastodon.social/@Gargron/103270115826048975"
    assert (mention.author, mention.author_reach, mention.lang) == (
        f"Gargron@{host}",
        322930.0,
        "en",
    )


def test_full_pages_are_followed_forward_with_min_id(httpserver: HTTPServer) -> None:
    items = statuses(5)
    seen = serve_tag(httpserver, items)
    result = make_adapter(httpserver, page_size=2).fetch(QUERY, None, NOW)
    assert [r.args["min_id"] for r in seen[1:]] == [items[1]["id"], items[3]["id"]]
    assert len(result.mentions) == 5


def test_next_poll_starts_an_overlap_before_the_newest_status_seen(
    httpserver: HTTPServer,
) -> None:
    items = statuses(3)
    seen = serve_tag(httpserver, items)
    adapter = make_adapter(httpserver, overlap=timedelta(minutes=10))
    first = adapter.fetch(QUERY, None, NOW)
    adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=5))
    newest = items[-1]["id"]
    assert seen[-1].args["min_id"] == rewind(newest, timedelta(minutes=10))
    assert int(newest) - int(seen[-1].args["min_id"]) == (10 * 60 * 1000 << 16) + 2


def test_unknown_hashtag_returns_nothing_and_keeps_the_cursor(httpserver: HTTPServer) -> None:
    httpserver.expect_request(TAG_PATH).respond_with_json({"error": "Record not found"}, 404)
    cursor = json.dumps({httpserver.url_for("").rstrip("/"): {"#acme": {"min_id": "42"}}})
    result = make_adapter(httpserver).fetch(QUERY, cursor, NOW)
    assert result.mentions == () and result.warnings == ()
    assert json.loads(result.cursor or "") == json.loads(cursor)


def test_empty_timeline_keeps_the_cursor(httpserver: HTTPServer) -> None:
    serve_tag(httpserver, [])
    cursor = json.dumps({httpserver.url_for("").rstrip("/"): {"#acme": {"min_id": "42"}}})
    result = make_adapter(httpserver).fetch(QUERY, cursor, NOW)
    assert result.mentions == ()
    assert json.loads(result.cursor or "") == json.loads(cursor)


def test_a_status_seen_on_two_instances_is_one_mention(httpserver: HTTPServer) -> None:
    items = statuses(2)
    serve_tag(httpserver, items, "/a")
    serve_tag(httpserver, items, "/b")
    result = make_adapter(httpserver, ("/a", "/b")).fetch(QUERY, None, NOW)
    assert sorted(m.native_id for m in result.mentions) == sorted(s["uri"] for s in items)
    cursor = json.loads(result.cursor or "")
    assert sorted(cursor) == [httpserver.url_for("/a"), httpserver.url_for("/b")]
    assert {c["#acme"]["min_id"] for c in cursor.values()} == {items[-1]["id"]}


def test_a_token_is_sent_only_to_its_own_instance(httpserver: HTTPServer) -> None:
    seen_a = serve_tag(httpserver, statuses(1), "/a")
    seen_b = serve_tag(httpserver, statuses(1), "/b")
    tokens = {httpserver.url_for("/a"): Secret(TOKEN)}
    adapter = make_adapter(httpserver, ("/a", "/b"), tokens=tokens, search=False)
    adapter.fetch(QUERY, None, NOW)
    assert seen_a[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Authorization" not in seen_b[0].headers


def test_search_with_a_token_pages_newest_first_down_to_the_floor(httpserver: HTTPServer) -> None:
    serve_tag(httpserver, [])
    items = statuses(3)
    seen = serve_search(httpserver, items)
    tokens = {httpserver.url_for(""): Secret(TOKEN)}
    result = make_adapter(httpserver, tokens=tokens, page_size=2).fetch(QUERY, None, NOW)
    floor = snowflake_at(NOW - timedelta(days=14))
    assert [(r.args["q"], r.args["type"], r.args["min_id"]) for r in seen] == [
        ("acme", "statuses", floor),
        ("acme", "statuses", floor),
    ]
    assert seen[1].args["max_id"] == items[1]["id"]
    assert {m.native_id for m in result.mentions} == {s["uri"] for s in items}


def test_rate_limit_headers_pause_only_that_instance_until_reset(httpserver: HTTPServer) -> None:
    reset = (NOW + timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    limit = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    seen_a = serve_tag(httpserver, statuses(3), "/a", headers=limit)
    seen_b = serve_tag(httpserver, statuses(3), "/b")
    adapter = make_adapter(httpserver, ("/a", "/b"), page_size=1)
    first = adapter.fetch(QUERY, None, NOW)
    assert (len(seen_a), len(seen_b)) == (1, 4)
    assert any("wait until 2019-12-10 12:03:00Z" in w for w in first.warnings)
    adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=1))
    assert len(seen_a) == 1
    adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=4))
    assert len(seen_a) > 1


def test_429_pauses_the_instance_and_the_others_still_land(httpserver: HTTPServer) -> None:
    reset = (NOW + timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    httpserver.expect_request("/a" + TAG_PATH).respond_with_json(
        {"error": "Too many requests"}, 429, headers={"X-RateLimit-Reset": reset}
    )
    serve_tag(httpserver, statuses(2), "/b")
    slept: list[float] = []
    settings = Settings(instances=(httpserver.url_for("/a"), httpserver.url_for("/b")))
    adapter = Adapter(settings, HttpClient("mastodon", settings, sleep=slept.append))
    result = adapter.fetch(QUERY, None, NOW)
    assert len(result.mentions) == 2 and slept == []
    assert any("12:02:00Z" in w for w in result.warnings)


def test_refused_token_raises_auth_error_naming_the_fix_not_the_token(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(TAG_PATH).respond_with_json(
        {"error": "The access token is invalid"}, 401
    )
    tokens = {httpserver.url_for(""): Secret(TOKEN)}
    with pytest.raises(AuthError) as caught:
        make_adapter(httpserver, tokens=tokens).fetch(QUERY, None, NOW)
    message = str(caught.value)
    assert message.startswith("mastodon:") and "channels.mastodon.tokens" in message
    assert TOKEN not in message


def test_one_instance_refusing_is_a_warning_while_the_others_land(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/a" + TAG_PATH).respond_with_json(
        {"error": "This method requires an authenticated user"}, 401
    )
    serve_tag(httpserver, statuses(2), "/b")
    result = make_adapter(httpserver, ("/a", "/b")).fetch(QUERY, None, NOW)
    assert len(result.mentions) == 2
    assert any("requires a signed-in app" in w for w in result.warnings)


def test_malformed_statuses_are_skipped_and_counted(httpserver: HTTPServer) -> None:
    good = statuses(2)
    no_account = dict(status_at(NOW - timedelta(minutes=30), 7), account=None)
    bad_time = dict(status_at(NOW - timedelta(minutes=20), 8), created_at="last week")
    serve_tag(httpserver, [*good, no_account, bad_time])
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    assert result.skipped == 2 and len(result.mentions) == 2


def test_html_content_and_entities_are_decoded(httpserver: HTTPServer) -> None:
    serve_tag(httpserver, [real_status()])
    (mention,) = make_adapter(httpserver).fetch(QUERY, None, NOW).mentions
    assert mention.text == (
        '"I lost my inheritance with one wrong digit on my sort code"\n\n'
        "https://www.theguardian.com/money/2019/dec/07/"
        "i-lost-my-193000-inheritance-with-one-wrong-digit-on-my-sort-code"
    )


def test_created_at_is_parsed_to_aware_utc(httpserver: HTTPServer) -> None:
    serve_tag(httpserver, [real_status()])
    (mention,) = make_adapter(httpserver).fetch(QUERY, None, NOW).mentions
    assert mention.created_at == datetime(2019, 12, 8, 3, 48, 33, 901000, tzinfo=UTC)


def test_request_budget_is_respected_and_the_cursor_keeps_what_was_read(
    httpserver: HTTPServer,
) -> None:
    items = statuses(5)
    seen = serve_tag(httpserver, items)
    first = make_adapter(httpserver, page_size=2, max_requests=2).fetch(QUERY, None, NOW)
    assert len(seen) == 2 and len(first.mentions) == 4
    assert "request budget" in first.warnings[0]
    (state,) = json.loads(first.cursor or "").values()
    assert state["#acme"]["min_id"] == items[3]["id"]
    second = make_adapter(httpserver, page_size=2).fetch(QUERY, first.cursor, NOW)
    assert {m.native_id for m in second.mentions} >= {items[4]["uri"]}


def test_settings_refuse_a_token_for_an_instance_not_polled() -> None:
    with pytest.raises(ValueError, match="not among instances"):
        Settings(instances=("mastodon.social",), tokens={"fosstodon.org": Secret(TOKEN)})


def test_settings_accept_a_bare_host_as_instance_and_token_key() -> None:
    settings = Settings(instances=("mastodon.social",), tokens={"mastodon.social": Secret(TOKEN)})
    assert settings.token_for("https://mastodon.social") == Secret(TOKEN)


def test_lone_surrogates_in_text_and_author_become_replacement_characters(
    httpserver: HTTPServer,
) -> None:
    items = statuses(3)
    items[0].update(content="<p>broken \ud83d toot</p>", spoiler_text="")
    items[0]["account"] = dict(items[0]["account"], acct="n\udc00me")
    serve_tag(httpserver, items)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    host = httpserver.url_for("").split("://")[1].rstrip("/")
    mention = next(m for m in result.mentions if m.native_id == items[0]["uri"])
    assert (mention.text, mention.author) == ("broken \ufffd toot", f"n\ufffdme@{host}")
    assert len(result.mentions) == 3


def test_an_item_the_parser_cannot_handle_is_skipped_and_the_others_kept(
    httpserver: HTTPServer,
) -> None:
    items = statuses(3)
    # Past float's range: float() raises OverflowError.
    items[0]["account"] = dict(items[0]["account"], followers_count=10**400)
    serve_tag(httpserver, items)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    assert result.skipped == 1
    assert {m.native_id for m in result.mentions} == {s["uri"] for s in items[1:]}


def test_an_unreadable_cursor_is_replaced_by_a_backfill(httpserver: HTTPServer) -> None:
    items = statuses(3)
    seen = serve_tag(httpserver, items)
    result = make_adapter(httpserver).fetch(QUERY, "{not json", NOW)
    assert seen[0].args["min_id"] == snowflake_at(NOW - timedelta(days=14))
    assert len(result.mentions) == 3


def test_every_instance_failing_fails_the_poll_naming_each(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a" + TAG_PATH).respond_with_data("down", status=500)
    httpserver.expect_request("/b" + TAG_PATH).respond_with_data("gone", status=410)
    adapter = make_adapter(httpserver, ("/a", "/b"), max_retries=0)
    with pytest.raises(ChannelError) as failure:
        adapter.fetch(QUERY, None, NOW)
    message = str(failure.value)
    assert message.startswith("mastodon: all 2 failed: ")
    assert f"{httpserver.url_for('/a')}: " in message and "HTTP 500" in message
    assert f"{httpserver.url_for('/b')}: " in message and "HTTP 410" in message


def test_a_failing_instance_is_warned_about_with_the_time_it_started_failing(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/a" + TAG_PATH).respond_with_data("down", status=500)
    serve_tag(httpserver, statuses(2), "/b")
    adapter = make_adapter(httpserver, ("/a", "/b"), max_retries=0)
    first = adapter.fetch(QUERY, None, NOW)
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(hours=1))
    (warning,) = second.warnings
    assert warning.startswith(
        f"mastodon: {httpserver.url_for('/a')} failing since 2019-12-10T12:00:00+00:00: "
    )
    assert len(first.mentions) == 2
