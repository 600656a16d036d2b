"""The Stack Exchange adapter against a real HTTP server on 127.0.0.1 speaking the API's wrapper.

`questions.json` is a real /search/advanced response (10 Stack Overflow questions, recorded
with the API's default filter, so without bodies). The handler re-serves those items the way
the API answers `sort=creation&order=asc&fromdate=...&page=...&pagesize=...`, with the wrapper
fields (`has_more`, `quota_max`, `quota_remaining`, `backoff`) a test needs. Error bodies follow
api.stackexchange.com/docs/error-handling: HTTP 400 with error_id, error_name, error_message.
"""

from __future__ import annotations

import copy
import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.channels.base import AuthError, ChannelError, HttpClient, RateLimited
from monitor.channels.stackexchange import Adapter, Settings
from monitor.models import Query
from monitor.validate import Secret
from tests.helpers import fixture_path

PATH = "/2.3/search/advanced"
QUERY = Query("Rails", ("rails",))
NOW = datetime(2016, 2, 9, tzinfo=UTC)  # the day after the newest recorded activity
BACKFILL = timedelta(days=2600)  # back past the oldest recorded question (2009)
KEY = "U4DMV*8nvpm3EOpvf69Rxw(("
NEWEST = 1454533507  # creation_date of the newest recorded question


def recorded_items() -> list[dict[str, Any]]:
    return json.loads(fixture_path("stackexchange", "questions.json").read_text())["items"]


def serve_search(
    server: HTTPServer,
    items: list[dict[str, Any]],
    wrapper: dict[str, Any] | None = None,
    gzipped: bool = False,
) -> list[Request]:
    """search/advanced with sort=creation&order=asc: fromdate filter, page and pagesize."""
    seen: list[Request] = []

    def created(item: Any) -> Any:
        return item.get("creation_date") if isinstance(item, dict) else None

    ordered = sorted(items, key=lambda i: str(created(i)))

    def handler(request: Request) -> Response:
        seen.append(request)
        since = int(request.args["fromdate"])
        page, size = int(request.args["page"]), int(request.args["pagesize"])
        hits = [i for i in ordered if not isinstance(created(i), int) or created(i) >= since]
        body = {
            "items": hits[(page - 1) * size : page * size],
            "has_more": page * size < len(hits),
            "quota_max": 300,
            "quota_remaining": 300 - len(seen),
        } | (wrapper or {})
        data = json.dumps(body).encode()
        headers = {"Content-Encoding": "gzip"} if gzipped else {}
        return Response(
            gzip.compress(data) if gzipped else data,
            content_type="application/json; charset=utf-8",
            headers=headers,
        )

    server.expect_request(PATH).respond_with_handler(handler)
    return seen


def api_error(error_id: int, name: str, message: str) -> str:
    return json.dumps({"error_id": error_id, "error_name": name, "error_message": message})


def make_adapter(server: HTTPServer, **overrides: Any) -> Adapter:
    options: dict[str, Any] = {"timeout": timedelta(seconds=2), "backfill": BACKFILL}
    settings = Settings(base_url=server.url_for(""), **(options | overrides))
    return Adapter(settings, HttpClient("stackexchange", settings, sleep=lambda _: None))


def test_first_poll_searches_oldest_first_from_backfill_ago(httpserver: HTTPServer) -> None:
    seen = serve_search(httpserver, recorded_items())
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    args = seen[0].args
    assert (args["site"], args["q"], args["sort"], args["order"]) == (
        "stackoverflow",
        "rails",
        "creation",
        "asc",
    )
    assert args["fromdate"] == str(int((NOW - BACKFILL).timestamp()))
    assert args["filter"] == "withbody"
    assert len(result.mentions) == 10 and result.warnings == ()


def test_mention_carries_site_scoped_id_link_owner_and_reputation(
    httpserver: HTTPServer,
) -> None:
    serve_search(httpserver, recorded_items())
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    mention = next(m for m in result.mentions if m.native_id == "stackoverflow:16258911")
    assert mention.url == "http://stackoverflow.com/questions/16258911/rails-4-authenticity-token"
    assert (mention.author, mention.author_reach) == ("alexcoco", 4081.0)
    assert mention.text == "Rails 4 Authenticity Token"


def test_pages_follow_has_more(httpserver: HTTPServer) -> None:
    seen = serve_search(httpserver, recorded_items())
    result = make_adapter(httpserver, page_size=4).fetch(QUERY, None, NOW)
    assert [r.args["page"] for r in seen] == ["1", "2", "3"]
    assert len(result.mentions) == 10


def test_next_poll_asks_only_from_the_newest_question_less_overlap(
    httpserver: HTTPServer,
) -> None:
    seen = serve_search(httpserver, recorded_items())
    adapter = make_adapter(httpserver, overlap=timedelta(minutes=10))
    first = adapter.fetch(QUERY, None, NOW)
    assert json.loads(first.cursor or "") == {"stackoverflow:rails": NEWEST}
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=5))
    assert seen[-1].args["fromdate"] == str(NEWEST - 600)
    assert [m.native_id for m in second.mentions] == ["stackoverflow:35187659"]


def test_empty_result_keeps_the_cursor(httpserver: HTTPServer) -> None:
    serve_search(httpserver, [])
    cursor = json.dumps({"stackoverflow:rails": NEWEST})
    result = make_adapter(httpserver).fetch(QUERY, cursor, NOW)
    assert result.mentions == () and json.loads(result.cursor or "") == json.loads(cursor)


def test_backoff_stops_the_poll_and_skips_the_method_until_it_passes(
    httpserver: HTTPServer,
) -> None:
    seen = serve_search(httpserver, recorded_items(), wrapper={"backoff": 10})
    adapter = make_adapter(httpserver, page_size=4)
    first = adapter.fetch(QUERY, None, NOW)
    assert len(seen) == 1 and len(first.mentions) == 4
    assert "until 2016-02-09 00:00:10Z (backoff)" in first.warnings[0]
    during = adapter.fetch(QUERY, first.cursor, NOW + timedelta(seconds=5))
    assert len(seen) == 1 and during.cursor == first.cursor and during.warnings
    adapter.fetch(QUERY, first.cursor, NOW + timedelta(seconds=11))
    assert len(seen) == 2


def test_spent_quota_stops_the_poll_and_the_next_one_fails_with_a_clear_error(
    httpserver: HTTPServer,
) -> None:
    seen = serve_search(httpserver, recorded_items(), wrapper={"quota_remaining": 0})
    adapter = make_adapter(httpserver, page_size=4)
    first = adapter.fetch(QUERY, None, NOW)
    assert len(seen) == 1 and len(first.mentions) == 4
    with pytest.raises(RateLimited) as caught:
        adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=5))
    message = str(caught.value)
    assert message.startswith("stackexchange: the daily request quota of 300")
    assert "app key" in message and len(seen) == 1


def test_throttle_violation_pauses_for_the_time_it_names(httpserver: HTTPServer) -> None:
    message = "too many requests from this IP, more requests available in 7413 seconds"
    httpserver.expect_request(PATH).respond_with_data(
        api_error(502, "throttle_violation", message), status=400
    )
    adapter = make_adapter(httpserver)
    first = adapter.fetch(QUERY, None, NOW)
    assert "until 2016-02-09 02:03:33Z (throttled)" in first.warnings[0]
    adapter.fetch(QUERY, first.cursor, NOW + timedelta(hours=2))
    assert len(httpserver.log) == 1


def test_key_is_sent_as_a_query_parameter(httpserver: HTTPServer) -> None:
    seen = serve_search(httpserver, recorded_items())
    make_adapter(httpserver, key=Secret(KEY)).fetch(QUERY, None, NOW)
    assert seen[0].args["key"] == KEY


def test_refused_key_raises_auth_error_naming_the_fix_not_the_key(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        api_error(400, "bad_parameter", "key"), status=400
    )
    with pytest.raises(AuthError) as caught:
        make_adapter(httpserver, key=Secret(KEY)).fetch(QUERY, None, NOW)
    message = str(caught.value)
    assert message.startswith("stackexchange:") and "channels.stackexchange.key" in message
    assert KEY not in message


def test_two_sites_keep_separate_ids_and_cursors(httpserver: HTTPServer) -> None:
    seen = serve_search(httpserver, recorded_items())
    adapter = make_adapter(httpserver, sites=("stackoverflow", "serverfault"))
    result = adapter.fetch(QUERY, None, NOW)
    assert sorted({r.args["site"] for r in seen}) == ["serverfault", "stackoverflow"]
    assert len(result.mentions) == 20
    assert "serverfault:16258911" in {m.native_id for m in result.mentions}
    assert sorted(json.loads(result.cursor or "")) == ["serverfault:rails", "stackoverflow:rails"]


def test_unknown_site_is_a_warning_while_other_sites_land(httpserver: HTTPServer) -> None:
    items = recorded_items()

    def handler(request: Request) -> Response:
        if request.args["site"] == "nosuchsite":
            return Response(api_error(400, "bad_parameter", "site is required"), status=400)
        body = {"items": items, "has_more": False, "quota_max": 300, "quota_remaining": 290}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(handler)
    adapter = make_adapter(httpserver, sites=("nosuchsite", "stackoverflow"))
    result = adapter.fetch(QUERY, None, NOW)
    assert len(result.mentions) == 10
    assert result.warnings == (
        "stackexchange: nosuchsite failing since 2016-02-09T00:00:00+00:00: "
        "nosuchsite: bad_parameter: site is required",
    )


def test_malformed_items_are_skipped_and_counted(httpserver: HTTPServer) -> None:
    items = recorded_items()
    no_id = {k: v for k, v in items[0].items() if k != "question_id"}
    bad_date = dict(items[1], question_id=1, creation_date="last tuesday")
    serve_search(httpserver, [*items[2:], no_id, bad_date, "not a question"])
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    assert result.skipped == 3 and len(result.mentions) == 8


def test_html_escaped_titles_are_decoded(httpserver: HTTPServer) -> None:
    serve_search(httpserver, recorded_items())
    texts = {m.text for m in make_adapter(httpserver).fetch(QUERY, None, NOW).mentions}
    assert (
        "Upgrading to RSpec 3 and following deprecation notice results in "
        "\"undefined method 'allow'\""
    ) in texts
    assert "Rails ... Can't access object?" in texts


def test_created_at_is_parsed_to_aware_utc(httpserver: HTTPServer) -> None:
    serve_search(httpserver, recorded_items())
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    mention = next(m for m in result.mentions if m.native_id == "stackoverflow:16258911")
    assert mention.created_at == datetime(2013, 4, 28, 2, 25, 33, tzinfo=UTC)


def test_request_budget_is_respected_and_the_next_poll_resumes_after_the_last_page(
    httpserver: HTTPServer,
) -> None:
    seen = serve_search(httpserver, recorded_items())
    first = make_adapter(httpserver, page_size=4, max_requests=1).fetch(QUERY, None, NOW)
    assert len(seen) == 1 and len(first.mentions) == 4
    assert "request budget" in first.warnings[0]
    oldest_four = sorted(i["creation_date"] for i in recorded_items())[:4]
    assert json.loads(first.cursor or "") == {"stackoverflow:rails": oldest_four[-1]}
    second = make_adapter(httpserver, page_size=4).fetch(QUERY, first.cursor, NOW)
    assert seen[1].args["fromdate"] == str(oldest_four[-1] - 600)
    ids = {m.native_id for m in first.mentions + second.mentions}
    assert len(ids) == 10


def test_gzip_responses_are_decoded(httpserver: HTTPServer) -> None:
    serve_search(httpserver, recorded_items(), gzipped=True)
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    assert len(result.mentions) == 10


def test_lone_surrogates_in_text_and_author_become_replacement_characters(
    httpserver: HTTPServer,
) -> None:
    items = recorded_items()
    bad = copy.deepcopy(items[0])
    bad.update(title="broken \ud83d question", body="")
    bad["owner"]["display_name"] = "n\udc00me"
    serve_search(httpserver, [bad, *items[1:]])
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    mention = next(m for m in result.mentions if m.native_id.endswith(f":{bad['question_id']}"))
    assert (mention.text, mention.author) == ("broken \ufffd question", "n\ufffdme")
    assert len(result.mentions) == len(items)


def test_an_item_the_parser_cannot_handle_is_skipped_and_the_others_kept(
    httpserver: HTTPServer,
) -> None:
    items = recorded_items()
    bad = copy.deepcopy(items[0])
    bad["owner"]["reputation"] = 10**400  # past float's range: float() raises OverflowError
    serve_search(httpserver, [bad, *items[1:]])
    result = make_adapter(httpserver).fetch(QUERY, None, NOW)
    assert result.skipped == 1
    assert len(result.mentions) == len(items) - 1


def test_an_unreadable_cursor_is_replaced_by_a_backfill(httpserver: HTTPServer) -> None:
    seen = serve_search(httpserver, recorded_items())
    result = make_adapter(httpserver).fetch(QUERY, "{not json", NOW)
    assert seen[0].args["fromdate"] == str(int((NOW - BACKFILL).timestamp()))
    assert len(result.mentions) == len(recorded_items())


def test_a_site_answering_500_every_time_fails_the_poll(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("oops", status=500)
    adapter = make_adapter(httpserver, max_retries=1)
    with pytest.raises(ChannelError, match=r"stackexchange: .*HTTP 500 after 2 attempts"):
        adapter.fetch(QUERY, None, NOW)


def test_every_site_failing_fails_the_poll_naming_each(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("oops", status=500)
    adapter = make_adapter(httpserver, sites=("stackoverflow", "superuser"), max_retries=0)
    with pytest.raises(ChannelError, match=r"all 2 failed: stackoverflow: .*; superuser: "):
        adapter.fetch(QUERY, None, NOW)


def test_a_failing_site_keeps_the_time_it_started_failing(httpserver: HTTPServer) -> None:
    items = recorded_items()

    def handler(request: Request) -> Response:
        if request.args["site"] == "superuser":
            return Response("down", status=503)
        body = {"items": items, "has_more": False, "quota_max": 300, "quota_remaining": 290}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(handler)
    adapter = make_adapter(httpserver, sites=("stackoverflow", "superuser"), max_retries=0)
    first = adapter.fetch(QUERY, None, NOW)
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(hours=1))
    assert len(second.warnings) == 1
    assert second.warnings[0].startswith(
        "stackexchange: superuser failing since 2016-02-09T00:00:00+00:00: "
    )
    assert len(second.mentions) == len(items)
