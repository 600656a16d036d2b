"""RSS 2.0 / Atom / Google Alerts feeds served by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from monitor.channels.base import ChannelError, HttpClient
from monitor.channels.rss import Adapter, Settings
from monitor.models import Query
from tests.helpers import fixture_path

NOW = datetime(2019, 7, 11, tzinfo=UTC)
QUERY = Query("Slack", ("slack",))


def feed_bytes(name: str) -> bytes:
    return fixture_path("rss", name).read_bytes()


def make_adapter(server: HTTPServer, *feeds: str, **overrides: object) -> Adapter:
    options: dict[str, object] = {"backfill": timedelta(days=100_000)} | overrides
    settings = Settings(feeds=tuple(server.url_for(f) for f in feeds), **options)  # type: ignore[arg-type]
    return Adapter(settings, HttpClient("rss", settings, sleep=lambda s: None))


def test_google_alerts_atom_entries_become_mentions_with_real_links(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/alerts").respond_with_data(
        feed_bytes("google_alerts_atom.xml"), content_type="application/atom+xml"
    )
    result = make_adapter(httpserver, "/alerts").fetch(QUERY, None, NOW)
    assert len(result.mentions) == 20
    first = result.mentions[0]
    assert first.url.startswith("https://www.aglobalmarketresearch.com/report-offers-prediction")
    assert first.text.startswith("Report offers Prediction of Automotive Slack Market")
    assert "<b>" not in first.text and "&nbsp;" not in first.text
    assert first.created_at == datetime(2019, 7, 10, 11, 53, 37, tzinfo=UTC)


def test_rss_with_a_blank_line_before_the_xml_declaration_still_parses(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/tc").respond_with_data(
        feed_bytes("TechCrunch.xml"), content_type="application/rss+xml"
    )
    result = make_adapter(httpserver, "/tc").fetch(QUERY, None, NOW)
    assert len(result.mentions) == 20
    assert all(m.created_at.tzinfo is UTC for m in result.mentions)


def test_unchanged_feed_costs_one_conditional_get(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/hn").respond_with_data(
        feed_bytes("RSSWithComments.xml"),
        headers={"ETag": '"v1"', "Last-Modified": "Wed, 10 Jul 2019 11:53:37 GMT"},
    )
    httpserver.expect_ordered_request("/hn", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304
    )
    adapter = make_adapter(httpserver, "/hn")
    first = adapter.fetch(QUERY, None, NOW)
    second = adapter.fetch(QUERY, first.cursor, NOW)
    assert len(first.mentions) == 30
    assert second.mentions == ()
    assert json.loads(second.cursor or "")[httpserver.url_for("/hn")]["etag"] == '"v1"'
    httpserver.check_assertions()


def test_each_feed_keeps_its_own_cursor(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data(
        feed_bytes("FeedjiraBlog.xml"), headers={"ETag": '"a"'}
    )
    httpserver.expect_request("/b").respond_with_data(
        feed_bytes("RSSWithComments.xml"), headers={"ETag": '"b"'}
    )
    result = make_adapter(httpserver, "/a", "/b").fetch(QUERY, None, NOW)
    state = json.loads(result.cursor or "")
    assert state[httpserver.url_for("/a")]["etag"] == '"a"'
    assert state[httpserver.url_for("/b")]["etag"] == '"b"'


def test_entries_older_than_the_newest_seen_are_not_returned_again(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/alerts").respond_with_data(feed_bytes("google_alerts_atom.xml"))
    adapter = make_adapter(httpserver, "/alerts", overlap=timedelta(0))
    first = adapter.fetch(QUERY, None, NOW)
    again = adapter.fetch(QUERY, first.cursor, NOW)
    newest = max(m.created_at for m in first.mentions)
    assert {m.created_at for m in again.mentions} == {newest}


def test_first_poll_only_backfills_the_configured_period(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/alerts").respond_with_data(feed_bytes("google_alerts_atom.xml"))
    adapter = make_adapter(httpserver, "/alerts", backfill=timedelta(hours=13))
    result = adapter.fetch(QUERY, None, NOW)
    # Entries published from 11:00 on 2019-07-10: 09:56:15 is out, 11:26:15 and later are in.
    assert len(result.mentions) == 4


def test_a_broken_feed_is_reported_and_the_others_still_land(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/broken").respond_with_data("<html>not a feed", status=200)
    httpserver.expect_request("/ok").respond_with_data(feed_bytes("FeedjiraBlog.xml"))
    result = make_adapter(httpserver, "/broken", "/ok").fetch(QUERY, None, NOW)
    assert len(result.mentions) == 1
    assert (
        len(result.warnings) == 1
        and "/broken is not a readable RSS/Atom feed" in result.warnings[0]
        and "/broken failing since 2019-07-11T00:00:00+00:00: " in result.warnings[0]
    )
    saved = json.loads(result.cursor or "")
    assert saved[httpserver.url_for("/broken")] == {"failing_since": NOW.isoformat()}


def test_entry_without_title_text_or_link_is_skipped_and_counted(httpserver: HTTPServer) -> None:
    xml = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><guid>x1</guid></item>"
        "<item><title>Acme is great</title><link>https://e.example/1</link>"
        "<pubDate>Wed, 10 Jul 2019 10:00:00 GMT</pubDate></item></channel></rss>"
    )
    httpserver.expect_request("/f").respond_with_data(xml)
    result = make_adapter(httpserver, "/f").fetch(QUERY, None, NOW)
    assert result.skipped == 1
    assert [m.url for m in result.mentions] == ["https://e.example/1"]


def test_lone_surrogates_in_text_and_author_become_replacement_characters(
    httpserver: HTTPServer,
) -> None:
    xml = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>broken &#xD83D; entry</title><author>n&#56320;me</author>"
        "<link>https://e.example/1</link><pubDate>Wed, 10 Jul 2019 10:00:00 GMT</pubDate></item>"
        "<item><title>Acme is great</title><link>https://e.example/2</link>"
        "<pubDate>Wed, 10 Jul 2019 10:00:00 GMT</pubDate></item></channel></rss>"
    )
    httpserver.expect_request("/f").respond_with_data(xml, content_type="application/rss+xml")
    result = make_adapter(httpserver, "/f").fetch(QUERY, None, NOW)
    first = result.mentions[0]
    assert (first.text, first.author) == ("broken \ufffd entry", "n\ufffdme")
    assert [m.url for m in result.mentions] == ["https://e.example/1", "https://e.example/2"]


def test_an_item_the_parser_cannot_handle_is_skipped_and_the_others_kept(
    httpserver: HTTPServer,
) -> None:
    xml = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        # A marked section with no name: Python's HTMLParser raises AssertionError on it.
        "<item><title>Acme one</title><description>&lt;![ ]&gt; hi</description>"
        "<link>https://e.example/1</link></item>"
        "<item><title>Acme two</title><link>https://e.example/2</link>"
        "<pubDate>Wed, 10 Jul 2019 10:00:00 GMT</pubDate></item></channel></rss>"
    )
    httpserver.expect_request("/f").respond_with_data(xml, content_type="application/rss+xml")
    result = make_adapter(httpserver, "/f").fetch(QUERY, None, NOW)
    assert result.skipped == 1
    assert [m.url for m in result.mentions] == ["https://e.example/2"]


def test_an_unreadable_cursor_is_replaced_by_a_backfill(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/tc").respond_with_data(
        feed_bytes("TechCrunch.xml"), content_type="application/rss+xml"
    )
    result = make_adapter(httpserver, "/tc").fetch(QUERY, "{not json", NOW)
    assert len(result.mentions) == 20


def test_a_channel_whose_only_feed_answers_404_fails_the_poll(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone").respond_with_data("no such feed", status=404)
    with pytest.raises(ChannelError, match=r"rss: GET http://localhost:\d+/gone: HTTP 404"):
        make_adapter(httpserver, "/gone?token=s3cret").fetch(QUERY, None, NOW)


def test_every_feed_failing_fails_the_poll_naming_each(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("no", status=404)
    httpserver.expect_request("/b").respond_with_data("<html>not a feed")
    with pytest.raises(ChannelError) as failure:
        make_adapter(httpserver, "/a", "/b").fetch(QUERY, None, NOW)
    message = str(failure.value)
    assert message.startswith("rss: all 2 failed: ")
    assert "/a: GET " in message and "HTTP 404" in message
    assert "/b is not a readable RSS/Atom feed" in message


def test_a_failing_feed_is_warned_about_with_the_time_it_started_failing(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    httpserver.expect_request("/ok").respond_with_data(feed_bytes("FeedjiraBlog.xml"))
    adapter = make_adapter(httpserver, "/gone?key=s3cret", "/ok")
    first = adapter.fetch(QUERY, None, NOW)
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(hours=2))
    (warning,) = second.warnings
    gone = httpserver.url_for("/gone")
    assert warning.startswith(f"rss: {gone} failing since 2019-07-11T00:00:00+00:00: GET {gone}")
    assert "s3cret" not in warning
    assert len(first.mentions) == 1


def test_a_feed_that_recovers_is_no_longer_marked_failing(httpserver: HTTPServer) -> None:
    answers = iter([Response("no", status=404), Response(feed_bytes("TechCrunch.xml"))])
    httpserver.expect_request("/flaky").respond_with_handler(lambda _: next(answers))
    httpserver.expect_request("/ok").respond_with_data(feed_bytes("FeedjiraBlog.xml"))
    adapter = make_adapter(httpserver, "/flaky", "/ok")
    first = adapter.fetch(QUERY, None, NOW)
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(hours=2))
    assert second.warnings == ()
    assert "failing_since" not in json.loads(second.cursor or "")[httpserver.url_for("/flaky")]


def test_a_well_formed_feed_with_no_entries_is_healthy(httpserver: HTTPServer) -> None:
    # feedparser's Big5 sample: an RSS document with nothing in it yet.
    httpserver.expect_request("/big5").respond_with_data(
        feed_bytes("feedparser_big5_empty.xml"), content_type="application/rss+xml"
    )
    result = make_adapter(httpserver, "/big5").fetch(QUERY, None, NOW)
    assert (result.mentions, result.warnings) == ((), ())
    assert json.loads(result.cursor or "")[httpserver.url_for("/big5")]["newest"] == 0


def test_an_empty_feed_beside_a_full_one_is_not_reported(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big5").respond_with_data(
        feed_bytes("feedparser_big5_empty.xml"), content_type="text/xml; charset=big5"
    )
    httpserver.expect_request("/ok").respond_with_data(feed_bytes("FeedjiraBlog.xml"))
    result = make_adapter(httpserver, "/big5", "/ok").fetch(QUERY, None, NOW)
    assert result.warnings == ()
    assert len(result.mentions) == 1


def test_an_entry_without_id_or_link_is_kept_once_across_polls(httpserver: HTTPServer) -> None:
    # feedparser's sample item holds only a description: no guid, no link, no date.
    httpserver.expect_request("/f").respond_with_data(
        feed_bytes("feedparser_item_description.xml"), content_type="application/rss+xml"
    )
    adapter = make_adapter(httpserver, "/f")
    first = adapter.fetch(QUERY, None, NOW)
    second = adapter.fetch(QUERY, first.cursor, NOW + timedelta(hours=1))
    assert [m.text for m in first.mentions] == ["Example description"]
    assert [m.native_id for m in second.mentions] == [m.native_id for m in first.mentions]
    assert first.mentions[0].url == httpserver.url_for("/f")


def test_entities_are_decoded_once_so_text_showing_an_entity_keeps_it(
    httpserver: HTTPServer,
) -> None:
    # The post shows embed code whose URL holds "&#38;" as text (`&amp;amp;#38;` in the XML).
    httpserver.expect_request("/tc").respond_with_data(
        feed_bytes("TrotterCashionHome.xml"), content_type="application/atom+xml"
    )
    result = make_adapter(httpserver, "/tc").fetch(QUERY, None, NOW)
    (post,) = [m for m in result.mentions if m.native_id == "tag:trottercashion.com,2008-12-11:44"]
    assert "iphonerails-1229006573528763-1&#38;stripped_title=" in post.text


def test_feeds_differing_only_in_query_string_fail_separately(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/alerts").respond_with_data("no", status=404)
    httpserver.expect_request("/ok").respond_with_data(feed_bytes("FeedjiraBlog.xml"))
    adapter = make_adapter(httpserver, "/alerts?id=1", "/alerts?id=2", "/ok")
    result = adapter.fetch(QUERY, None, NOW)
    assert len(result.warnings) == 2
    failing = [v for v in json.loads(result.cursor or "").values() if "failing_since" in v]
    assert len(failing) == 2
