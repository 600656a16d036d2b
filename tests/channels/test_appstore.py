"""The App Store reviews adapter against a real HTTP server on 127.0.0.1.

`customerreviews_jp.json` is a real feed page (2020, copied unchanged; see SOURCES.md). Apple has
since added an `updated` time to every review, which that page lacks, so the `customerreviews_us_*`
pages were built for these tests in the same shape with `updated` added, as current clients read
it; their review texts are invented and say so in SOURCES.md.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from monitor.channels.appstore import NAME, Adapter, Settings, parse_review
from monitor.channels.base import HttpClient
from monitor.models import FetchResult, Query
from tests.helpers import fixture_path

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
APP = "1111111111"
OTHER_APP = "2222222222"
QUERY = Query("Acme", ("acme",))


def load(name: str) -> Any:
    return json.loads(fixture_path("appstore", name).read_text(encoding="utf-8"))


def path(app: str, page: int, country: str = "us") -> str:
    return f"/{country}/rss/customerreviews/page={page}/id={app}/sortby=mostrecent/json"


def make_adapter(server: HTTPServer, slept: list[float], **overrides: Any) -> Adapter:
    options: dict[str, Any] = {"apps": (APP,), "timeout": timedelta(seconds=2)}
    settings = Settings(base_url=server.url_for(""), **(options | overrides))
    return Adapter(settings, HttpClient(NAME, settings, sleep=slept.append, clock=lambda: NOW))


def serve_two_pages(server: HTTPServer, app: str = APP, country: str = "us") -> None:
    server.expect_request(path(app, 1, country)).respond_with_json(
        load("customerreviews_us_page1.json")
    )
    server.expect_request(path(app, 2, country)).respond_with_json(
        load("customerreviews_us_page2.json")
    )


def with_last_page(body: dict[str, Any], last: int) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for link in body["feed"]["link"]:
        if link["attributes"]["rel"] == "last":
            link["attributes"]["href"] = link["attributes"]["href"].replace(
                "page=2/", f"page={last}/"
            )
    return body


def requested_paths(server: HTTPServer) -> list[str]:
    return [request.path for request, _ in server.log]


def ids(result: FetchResult) -> list[str]:
    return [m.native_id for m in result.mentions]


def test_first_poll_reads_reviews_with_stars_author_and_link(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver)
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    first = result.mentions[0]
    assert first.native_id == "us:11000000005"
    assert first.rating == 1
    assert first.author == "kate_on_mobile"
    assert first.url == f"https://apps.apple.com/us/app/id{APP}?see-all=reviews"
    assert first.text.startswith("Sync broke after 4.2")
    assert "\n\nSince the update my notes don't sync" in first.text


def test_app_summary_entry_is_neither_a_mention_nor_skipped(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver)
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    assert all(m.author != "Acme Corp." for m in result.mentions)
    assert result.skipped == 0


def test_first_poll_pages_back_to_the_backfill_cutoff_and_no_further(
    httpserver: HTTPServer,
) -> None:
    serve_two_pages(httpserver)
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    # 11000000001 (2026-02-20) is older than the 14-day backfill.
    assert ids(result) == [f"us:1100000000{n}" for n in (5, 4, 3, 2)]
    assert requested_paths(httpserver) == [path(APP, 1), path(APP, 2)]


def test_walk_stops_at_the_last_page_the_feed_names(httpserver: HTTPServer) -> None:
    httpserver.expect_request(path(APP, 1)).respond_with_json(
        with_last_page(load("customerreviews_us_page1.json"), 1)
    )
    make_adapter(httpserver, [], backfill=timedelta(days=365)).fetch(QUERY, None, NOW)
    assert requested_paths(httpserver) == [path(APP, 1)]


def test_cursor_advance_next_poll_reads_only_page_one(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver)
    adapter = make_adapter(httpserver, [])
    first = adapter.fetch(QUERY, None, NOW)
    assert json.loads(first.cursor or "") == {
        f"{APP}/us": {"updated": "2026-03-10T10:55:12+00:00", "checked": NOW.isoformat()}
    }
    httpserver.clear_log()
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=30))
    assert requested_paths(httpserver) == [path(APP, 1)]
    # Only the newest review falls inside the 2-hour overlap before the cursor.
    assert ids(second) == ["us:11000000005"]


def test_reviews_shortly_before_the_cursor_are_read_again(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver)
    # Apple's cache can list a review after newer ones were seen: the overlap catches it.
    cursor = json.dumps({f"{APP}/us": {"updated": "2026-03-10T11:30:00+00:00", "checked": ""}})
    result = make_adapter(httpserver, []).fetch(QUERY, cursor, NOW)
    assert ids(result) == ["us:11000000005"]


def test_each_app_and_country_keeps_its_own_cursor(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver, country="us")
    serve_two_pages(httpserver, country="gb")
    result = make_adapter(httpserver, [], countries=("us", "GB")).fetch(QUERY, None, NOW)
    assert set(json.loads(result.cursor or "")) == {f"{APP}/us", f"{APP}/gb"}
    assert {"us:11000000005", "gb:11000000005"} <= set(ids(result))


def test_empty_feed_returns_nothing_and_keeps_the_backfill_floor(httpserver: HTTPServer) -> None:
    httpserver.expect_request(path(APP, 1)).respond_with_json(load("customerreviews_us_empty.json"))
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    assert result.mentions == ()
    floor = (NOW - timedelta(days=14)).isoformat()
    assert json.loads(result.cursor or "")[f"{APP}/us"]["updated"] == floor


def test_empty_page_inside_the_feed_keeps_the_cursor_where_it_was(httpserver: HTTPServer) -> None:
    httpserver.expect_request(path(APP, 1)).respond_with_json(
        with_last_page(load("customerreviews_us_page1.json"), 3)
    )
    httpserver.expect_request(path(APP, 2)).respond_with_json(load("customerreviews_us_empty.json"))
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    # Page 3 may hold reviews newer than the floor: the feed is read again from the top.
    assert "page 2 of 3" in result.warnings[0] and "came back empty" in result.warnings[0]
    assert json.loads(result.cursor or "") == {}
    assert len(result.mentions) == 3


def test_page_with_one_review_comes_unwrapped_and_is_read(httpserver: HTTPServer) -> None:
    httpserver.expect_request(path(APP, 1)).respond_with_json(
        load("customerreviews_us_single.json")
    )
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    assert ids(result) == ["us:11000000006"]


def test_malformed_reviews_are_skipped_and_counted(httpserver: HTTPServer) -> None:
    httpserver.expect_request(path(APP, 1)).respond_with_json(
        load("customerreviews_us_malformed.json")
    )
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    assert ids(result) == ["us:11000000009"]
    assert result.skipped == 2


def test_real_2020_page_without_review_times_is_skipped_and_counted(
    httpserver: HTTPServer,
) -> None:
    app = "1404176564"
    httpserver.expect_request(path(app, 1, "jp")).respond_with_json(load("customerreviews_jp.json"))
    result = make_adapter(httpserver, [], apps=(app,), countries=("jp",)).fetch(QUERY, None, NOW)
    assert (result.mentions, result.skipped) == ((), 50)
    # Nothing on page 1 could be dated, so the walk does not wander through 8 undatable pages.
    assert requested_paths(httpserver) == [path(app, 1, "jp")]


def test_real_review_text_keeps_literal_angle_brackets() -> None:
    entry = next(
        e for e in load("customerreviews_jp.json")["feed"]["entry"] if "><" in e["content"]["label"]
    )
    entry["updated"] = {"label": "2020-08-01T10:00:00-07:00"}
    mention = parse_review(entry, "1404176564", "jp")
    assert mention is not None
    assert "改善検討願います><🙏🙏" in mention.text


def test_entities_in_review_text_are_decoded(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver)
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    assert result.mentions[0].text.startswith("Sync broke after 4.2 & support won't answer")


def test_updated_with_pacific_offset_is_stored_as_utc(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver)
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    by_id = {m.native_id: m.created_at for m in result.mentions}
    assert by_id["us:11000000005"] == datetime(2026, 3, 10, 10, 55, 12, tzinfo=UTC)
    assert by_id["us:11000000002"] == datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


def test_429_waits_for_retry_after_then_reads_the_page(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(path(APP, 1)).respond_with_data(
        "", status=429, headers={"Retry-After": "7"}
    )
    serve_two_pages(httpserver)
    slept: list[float] = []
    result = make_adapter(httpserver, slept).fetch(QUERY, None, NOW)
    assert slept == [7.0]
    assert len(result.mentions) == 4


def test_429_asking_for_a_long_wait_ends_the_poll_with_a_warning(httpserver: HTTPServer) -> None:
    httpserver.expect_request(path(APP, 1)).respond_with_data(
        "", status=429, headers={"Retry-After": "3600"}
    )
    slept: list[float] = []
    result = make_adapter(httpserver, slept).fetch(QUERY, None, NOW)
    assert slept == []
    assert result.mentions == ()
    assert json.loads(result.cursor or "") == {}
    assert "appstore" in result.warnings[0] and "3600s" in result.warnings[0]


def test_forbidden_is_reported_without_blaming_credentials(httpserver: HTTPServer) -> None:
    httpserver.expect_request(path(APP, 1)).respond_with_data("Forbidden", status=403)
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    (warning,) = result.warnings
    assert warning.startswith("appstore: ") and "HTTP 403" in warning
    assert "needs no key" in warning and "token" not in warning


def test_one_broken_feed_does_not_stop_the_others(httpserver: HTTPServer) -> None:
    httpserver.expect_request(path(APP, 1)).respond_with_data("Not Found", status=404)
    serve_two_pages(httpserver, app=OTHER_APP)
    result = make_adapter(httpserver, [], apps=(APP, OTHER_APP)).fetch(QUERY, None, NOW)
    assert len(result.mentions) == 4
    assert "HTTP 404" in result.warnings[0]
    assert set(json.loads(result.cursor or "")) == {f"{OTHER_APP}/us"}


def test_request_budget_keeps_the_unread_feed_for_the_next_poll(httpserver: HTTPServer) -> None:
    deep = with_last_page(load("customerreviews_us_page1.json"), 10)
    for page in range(1, 11):
        httpserver.expect_request(path(APP, page)).respond_with_json(deep)
    serve_two_pages(httpserver, app=OTHER_APP)
    adapter = make_adapter(
        httpserver, [], apps=(APP, OTHER_APP), backfill=timedelta(days=365), max_requests=10
    )
    first = adapter.fetch(QUERY, None, NOW)
    assert first.requests == 10
    assert "request budget of 10" in first.warnings[0]
    assert set(json.loads(first.cursor or "")) == {f"{APP}/us"}
    httpserver.clear_log()
    adapter.fetch(QUERY, first.cursor, NOW + timedelta(minutes=30))
    # The feed the budget cut off goes first, so no feed waits behind a busy one forever.
    assert requested_paths(httpserver)[0] == path(OTHER_APP, 1)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"apps": ("acme-notes",)}, "numeric App Store ids"),
        ({"apps": ()}, "at least one App Store id"),
        ({"countries": ("usa",)}, "two-letter store codes"),
        ({"max_requests": 5}, "max_requests must be at least 10"),
    ],
)
def test_settings_explain_what_to_fix(overrides: dict[str, Any], problem: str) -> None:
    options: dict[str, Any] = {"apps": (APP,)}
    with pytest.raises(ValueError, match=problem):
        Settings(**(options | overrides))


def serve_first_page_changed(server: HTTPServer, change: Callable[[dict[str, Any]], None]) -> None:
    """Page 1 with its first review passed through `change`, page 2 as recorded."""
    page1 = load("customerreviews_us_page1.json")
    change(page1["feed"]["entry"][1])
    server.expect_request(path(APP, 1)).respond_with_json(page1)
    server.expect_request(path(APP, 2)).respond_with_json(load("customerreviews_us_page2.json"))


def test_lone_surrogates_in_text_and_author_become_replacement_characters(
    httpserver: HTTPServer,
) -> None:
    def poison(entry: dict[str, Any]) -> None:
        entry["title"]["label"] = "broken \ud83d review"
        entry["content"]["label"] = ""
        entry["author"]["name"]["label"] = "n\udc00me"

    serve_first_page_changed(httpserver, poison)
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    first = result.mentions[0]
    assert (first.native_id, first.text, first.author) == (
        "us:11000000005",
        "broken \ufffd review",
        "n\ufffdme",
    )
    assert ids(result) == [f"us:1100000000{n}" for n in (5, 4, 3, 2)]


def test_an_item_the_parser_cannot_handle_is_skipped_and_the_others_kept(
    httpserver: HTTPServer,
) -> None:
    def poison(entry: dict[str, Any]) -> None:
        # Converting to UTC runs past year 9999: astimezone raises OverflowError.
        entry["updated"]["label"] = "9999-12-31T23:59:59-05:00"

    serve_first_page_changed(httpserver, poison)
    result = make_adapter(httpserver, []).fetch(QUERY, None, NOW)
    assert result.skipped == 1
    assert ids(result) == [f"us:1100000000{n}" for n in (4, 3, 2)]


def test_an_unreadable_cursor_is_replaced_by_a_backfill(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver)
    result = make_adapter(httpserver, []).fetch(QUERY, "{not json", NOW)
    assert ids(result) == [f"us:1100000000{n}" for n in (5, 4, 3, 2)]
