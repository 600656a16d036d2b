"""`monitor poll --once` with every channel pointed at one loopback server, end to end.

One pytest-httpserver plays every source. Each API is served at its real path under a prefix
that stands in for its host (`/hn/api/v1/search_by_date`, `/youtube/v3/search`, ...), from the
payloads already in tests/fixtures/ (no new payload files; SOURCES.md says which are recorded and
which were built). The handlers answer the query, time and cursor parameters each API documents
(search terms, `numericFilters`, `after`, `min_id`/`max_id`, `since`, `fromdate`, `since_id`,
`publishedAfter`, page tokens, ETag), and check the credentials the config passes in through
`${ENV}`, so the second poll gets what the real API would give it.

Only one thing is not served as recorded: X recent search reaches 7 days back and the adapter
clamps its start to that (twitter.HORIZON), whatever `backfill` says, so the posts of
search_recent_page1/page2.json (March 2026) are served with `created_at` moved forward so the
newest is an hour old, and their snowflake ids moved by the same amount (the id's top bits are its
creation time, and the adapter's since_id cursor relies on that).

What each (brand, channel) should store is worked out here from the fixture files and the brand
terms (whole words or phrases, any case), not from the adapters or the matcher.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.channels import CHANNELS, youtube
from monitor.cli import main
from monitor.store import Store
from tests.helpers import algolia_page, fixture_path, real_hn_hits

BRANDS: dict[str, tuple[str, ...]] = {
    "Acme": ("acme", "acme corp"),
    "Newsdesk": ("apple", "nintendo", "rails", "slack", "inheritance"),
}
# The App Store feed holds the reviews of Acme's own app, and every review of it counts for the
# brand that polls it; so only Acme lists appstore.
BRAND_CHANNELS: dict[str, tuple[str, ...]] = {
    "Acme": tuple(CHANNELS),
    "Newsdesk": tuple(c for c in CHANNELS if c != "appstore"),
}

REDDIT_ID, REDDIT_SECRET = "reddit-app-id-e2e", "reddit-app-secret-e2e-3f9a"
REDDIT_TOKEN = "reddit-access-token-e2e"
MASTODON_TOKEN = "mastodon-token-e2e-0123456789"
BLUESKY_HANDLE, BLUESKY_PASSWORD = "monitor-bot.bsky.social", "abcd-efgh-ijkl-mnop"
BLUESKY_JWT = "bluesky-access-jwt-e2e"
STACKEXCHANGE_KEY = "U4DMV*8nvpm3EOpvf69Rxw(("
X_TOKEN = "x-bearer-token-e2e-7f3c9a"
YOUTUBE_KEY = "youtube-key-e2e-5d1e"
SECRETS = {
    "REDDIT_CLIENT_ID": REDDIT_ID,
    "REDDIT_CLIENT_SECRET": REDDIT_SECRET,
    "MASTODON_TOKEN": MASTODON_TOKEN,
    "BLUESKY_APP_PASSWORD": BLUESKY_PASSWORD,
    "STACKEXCHANGE_KEY": STACKEXCHANGE_KEY,
    "X_BEARER_TOKEN": X_TOKEN,
    "YOUTUBE_API_KEY": YOUTUBE_KEY,
}

RSS_FEEDS = ("google_alerts_atom.xml", "FeedjiraBlog.xml", "TechCrunch.xml", "RSSWithComments.xml")
APP = "1111111111"  # the app id in customerreviews_us_page*.json's links
YOUTUBE_SEARCH_PAGES = ("search_page1.json", "search_page2.json")

CONFIG = """\
database: "{database}"
brands:
  - name: Acme
    terms: [acme, "acme corp"]
    channels: [hackernews, rss, reddit, mastodon, bluesky, stackexchange, appstore, twitter,
               youtube]
  - name: Newsdesk
    terms: [apple, nintendo, rails, slack, inheritance]
    channels: [hackernews, rss, reddit, mastodon, bluesky, stackexchange, twitter, youtube]
channels:
  hackernews:
    base_url: "{root}/hn"
    backfill: 9000d
  rss:
    backfill: 9000d
    feeds:
      - "{root}/rss/google_alerts_atom.xml"
      - "{root}/rss/FeedjiraBlog.xml"
      - "{root}/rss/TechCrunch.xml"
      - "{root}/rss/RSSWithComments.xml"
  reddit:
    base_url: "{root}/reddit"
    token_url: "{root}/reddit/api/v1/access_token"
    backfill: 9000d
    user_agent: "monitor-tests/0.1 (by u/monitor_tests)"
    client_id: "${REDDIT_CLIENT_ID}"
    client_secret: "${REDDIT_CLIENT_SECRET}"
  mastodon:
    backfill: 9000d
    instances: ["{root}/mastodon"]
    tokens:
      "{root}/mastodon": "${MASTODON_TOKEN}"
  bluesky:
    pds_url: "{root}/bluesky"
    backfill: 9000d
    identifier: monitor-bot.bsky.social
    app_password: "${BLUESKY_APP_PASSWORD}"
  stackexchange:
    base_url: "{root}/stackexchange"
    backfill: 9000d
    key: "${STACKEXCHANGE_KEY}"
  appstore:
    base_url: "{root}/appstore"
    backfill: 9000d
    apps: ["1111111111"]
  twitter:
    base_url: "{root}/twitter"
    backfill: 9000d  # the adapter caps it at X's 7 days; see the module docstring
    bearer_token: "${X_BEARER_TOKEN}"
  youtube:
    base_url: "{root}/youtube/v3"
    backfill: 9000d
    comment_window: 9000d
    api_key: "${YOUTUBE_API_KEY}"
"""


# -- reading the fixtures -------------------------------------------------------------------


def load(*parts: str) -> Any:
    return json.loads(fixture_path(*parts).read_text(encoding="utf-8"))


def plain(*markup: str | None) -> str:
    """The words a reader sees: tags dropped, entities decoded, parts joined by a space."""
    return html.unescape(re.sub(r"<[^>]*>", " ", " ".join(m or "" for m in markup)))


def when(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def hn_words(hit: dict[str, Any]) -> str:
    return plain(hit.get("title"), hit.get("story_text"), hit.get("comment_text"))


def reddit_children() -> list[dict[str, Any]]:
    """The recorded front-page posts, newest first (Reddit's sort=new)."""
    children = load("reddit", "frontpage_listing.json")["data"]["children"]
    return sorted(children, key=lambda c: -c["data"]["created_utc"])


def reddit_words(child: dict[str, Any]) -> str:
    return plain(child["data"]["title"], child["data"].get("selftext"))


def mastodon_statuses() -> list[dict[str, Any]]:
    return [load("mastodon", "status_example.json")]


def mastodon_words(status: dict[str, Any]) -> str:
    return plain(status.get("spoiler_text"), status.get("content"))


def bluesky_posts() -> list[dict[str, Any]]:
    """The posts newest first by indexedAt, as searchPosts sort=latest answers."""
    posts = load("bluesky", "search_posts.json")["posts"]
    return sorted(posts, key=lambda p: when(p["indexedAt"]), reverse=True)


def bluesky_sort_at(post: dict[str, Any]) -> datetime:
    """The AppView filters `since` on the earlier of createdAt and indexedAt."""
    return min(when(post["record"]["createdAt"]), when(post["indexedAt"]))


def questions() -> list[dict[str, Any]]:
    return load("stackexchange", "questions.json")["items"]


def question_words(item: dict[str, Any]) -> str:
    return plain(item["title"], item.get("body"))


def appstore_pages() -> list[dict[str, Any]]:
    return [load("appstore", f"customerreviews_us_page{n}.json") for n in (1, 2)]


def reviews() -> list[dict[str, Any]]:
    """Every review of the two pages; page 1 leads with the app itself, which has no stars."""
    return [e for page in appstore_pages() for e in page["feed"]["entry"] if "im:rating" in e]


def rss_entries() -> list[Any]:
    entries = []
    for name in RSS_FEEDS:
        entries += feedparser.parse(fixture_path("rss", name).read_bytes()).entries
    return entries


def youtube_videos() -> list[dict[str, Any]]:
    return [item for page in YOUTUBE_SEARCH_PAGES for item in load("youtube", page)["items"]]


def video_words(item: dict[str, Any]) -> str:
    return plain(item["snippet"]["title"], item["snippet"]["description"])


def comment_pages() -> dict[tuple[str, str | None], dict[str, Any]]:
    """commentThreads pages by (videoId, pageToken), chained by each page's nextPageToken."""
    pages: dict[tuple[str, str | None], dict[str, Any]] = {}
    for chain in (("comments_v1_page1.json", "comments_v1_page2.json"), ("comments_v2.json",)):
        token = None
        for name in chain:
            page = load("youtube", name)
            video = page["items"][0]["snippet"]["videoId"]
            pages[video, token] = page
            token = page.get("nextPageToken")
    return pages


def comments() -> list[dict[str, Any]]:
    return [item for page in comment_pages().values() for item in page["items"]]


def comment_words(item: dict[str, Any]) -> str:
    return plain(item["snippet"]["topLevelComment"]["snippet"]["textDisplay"])


@dataclass(frozen=True)
class Tweets:
    posts: list[dict[str, Any]]  # newest first
    users: list[dict[str, Any]]


def recent_tweets(now: datetime) -> Tweets:
    """The posts of the two recorded result pages, moved forward so the newest is an hour old.

    `created_at` and the id's timestamp bits (milliseconds, above bit 22) move by the same
    whole number of milliseconds, so each id stays a valid snowflake for its post's time.
    """
    pages = [load("twitter", f"search_recent_page{n}.json") for n in (1, 2)]
    posts = [post for page in pages for post in page["data"]]
    users = {u["id"]: u for page in pages for u in page["includes"]["users"]}
    newest = max(when(p["created_at"]) for p in posts)
    shift_ms = int((now - timedelta(hours=1) - newest).total_seconds()) * 1000
    moved = []
    for post in posts:
        post = copy.deepcopy(post)
        created = when(post["created_at"]) + timedelta(milliseconds=shift_ms)
        post["created_at"] = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        post["id"] = str(int(post["id"]) + (shift_ms << 22))
        moved.append(post)
    moved.sort(key=lambda p: -int(p["id"]))
    return Tweets(moved, list(users.values()))


def tweet_words(post: dict[str, Any]) -> str:
    return plain(post["text"], (post.get("note_tweet") or {}).get("text"))


# -- what each (brand, channel) should store --------------------------------------------------


def mentions_brand(brand: str, text: str) -> bool:
    """A brand's term as a whole word (or phrase, any whitespace between its words), any case."""
    return any(
        re.search(r"(?<!\w)" + r"\s+".join(map(re.escape, term.split())) + r"(?!\w)", text, re.I)
        for term in BRANDS[brand]
    )


def expected_ids(brand: str, tweets: Tweets) -> dict[str, set[str]]:
    def keep(items: Iterable[tuple[str, str]]) -> set[str]:
        return {native_id for native_id, text in items if mentions_brand(brand, text)}

    videos = keep((v["id"]["videoId"], video_words(v)) for v in youtube_videos())
    expected = {
        # The adapter asks for stories, comments and polls (two recorded Apple hits are polls).
        "hackernews": keep(
            (h["objectID"], hn_words(h))
            for h in real_hn_hits()
            if {"story", "comment", "poll"} & set(h["_tags"])
        ),
        # An entry's id (Google Alerts: tag:...), else its link (the HN feed has no guids).
        "rss": keep(
            (e.get("id") or e["link"], plain(e.get("title"), e.get("summary")))
            for e in rss_entries()
        ),
        "reddit": keep((c["data"]["name"], reddit_words(c)) for c in reddit_children()),
        "mastodon": keep((s["uri"], mastodon_words(s)) for s in mastodon_statuses()),
        "bluesky": keep((p["uri"], p["record"]["text"]) for p in bluesky_posts()),
        "stackexchange": keep(
            (f"stackoverflow:{q['question_id']}", question_words(q)) for q in questions()
        ),
        # Not searched: every review of the brand's app is about the brand.
        "appstore": {f"us:{r['id']['label']}" for r in reviews()},
        "twitter": keep((p["id"], tweet_words(p)) for p in tweets.posts),
        # Videos that match, and the matching comments under those videos.
        "youtube": {f"v:{v}" for v in videos}
        | keep(
            (f"c:{c['snippet']['topLevelComment']['id']}", comment_words(c))
            for c in comments()
            if c["snippet"]["videoId"] in videos
        ),
    }
    return {channel: expected[channel] for channel in BRAND_CHANNELS[brand]}


# -- the loopback APIs --------------------------------------------------------------------------


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def phrases(query: str) -> list[str]:
    """The words and quoted phrases of a search query, less its operators (OR, |, (), -is:x)."""
    found = []
    for quoted, bare in re.findall(r'"([^"]*)"|([^\s"|()]+)', query):
        if bare == "OR" or bare.startswith("-"):
            continue
        found.append((quoted or bare).lower())
    return found


def contains(query: str, text: str) -> bool:
    """A search engine's match, looser than the brand matcher: any phrase, anywhere."""
    lowered = " ".join(text.lower().split())
    return any(p in lowered for p in phrases(query))


def serve_hackernews(server: HTTPServer) -> None:
    hits = real_hn_hits()  # newest first, as search_by_date answers

    def search(request: Request) -> Response:
        bounds = dict(re.findall(r"created_at_i(>|<=)(\d+)", request.args["numericFilters"]))
        lo, hi = int(bounds[">"]), int(bounds["<="])
        tags = set(request.args["tags"].strip("()").split(","))
        found = [
            h
            for h in hits
            if lo < h["created_at_i"] <= hi
            and tags & set(h["_tags"])
            and contains(request.args["query"], hn_words(h))
        ]
        page, per_page = int(request.args["page"]), int(request.args["hitsPerPage"])
        return json_response(algolia_page(found, page, per_page))

    server.expect_request("/hn/api/v1/search_by_date").respond_with_handler(search)


def serve_rss(server: HTTPServer) -> None:
    """Each feed as a static file with an ETag: an unchanged feed answers 304."""

    def feed(body: bytes) -> Callable[[Request], Response]:
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'

        def handler(request: Request) -> Response:
            if request.headers.get("If-None-Match") == etag:
                return Response(status=304, headers={"ETag": etag})
            return Response(body, content_type="application/xml", headers={"ETag": etag})

        return handler

    for name in RSS_FEEDS:
        body = fixture_path("rss", name).read_bytes()
        server.expect_request(f"/rss/{name}").respond_with_handler(feed(body))


def serve_reddit(server: HTTPServer) -> None:
    """OAuth client credentials, then /search with sort=new, `limit` and `after` paging."""
    children = reddit_children()
    basic = "Basic " + base64.b64encode(f"{REDDIT_ID}:{REDDIT_SECRET}".encode()).decode()

    def token(request: Request) -> Response:
        grant = request.form.get("grant_type")
        if request.headers.get("Authorization") != basic or grant != "client_credentials":
            return json_response({"message": "Unauthorized", "error": 401}, 401)
        return json_response(
            {"access_token": REDDIT_TOKEN, "token_type": "bearer", "expires_in": 86400}
        )

    def search(request: Request) -> Response:
        if request.headers.get("Authorization") != f"bearer {REDDIT_TOKEN}":
            return json_response({"message": "Unauthorized", "error": 401}, 401)
        if (request.args["sort"], request.args["type"]) != ("new", "link"):
            return json_response({"message": "Bad Request", "error": 400}, 400)
        found = [c for c in children if contains(request.args["q"], reddit_words(c))]
        names = [c["data"]["name"] for c in found]
        after = request.args.get("after")
        start = names.index(after) + 1 if after else 0
        limit = int(request.args["limit"])
        page = found[start : start + limit]
        more = start + limit < len(found)
        data = {
            "after": page[-1]["data"]["name"] if more and page else None,
            "before": None,
            "children": page,
            "dist": len(page),
            "modhash": "",
        }
        return json_response({"kind": "Listing", "data": data})

    server.expect_request("/reddit/api/v1/access_token", method="POST").respond_with_handler(token)
    server.expect_request("/reddit/search").respond_with_handler(search)


def serve_mastodon(server: HTTPServer) -> None:
    """Hashtag timelines (the recorded status has no tags) and full-text search with a token."""
    statuses = mastodon_statuses()

    def tag(request: Request) -> Response:
        name = request.path.rsplit("/", 1)[1].lower()
        min_id, limit = int(request.args["min_id"]), int(request.args["limit"])
        tagged = sorted(
            (
                s
                for s in statuses
                if name in {t["name"].lower() for t in s["tags"]} and int(s["id"]) > min_id
            ),
            key=lambda s: int(s["id"]),
        )
        return json_response(tagged[:limit][::-1])

    def search(request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {MASTODON_TOKEN}":
            return json_response({"error": "The access token is invalid"}, 401)
        low = int(request.args["min_id"])
        high = int(request.args.get("max_id", str(2**63)))
        found = sorted(
            (
                s
                for s in statuses
                if low < int(s["id"]) < high and contains(request.args["q"], mastodon_words(s))
            ),
            key=lambda s: -int(s["id"]),
        )
        page = found[: int(request.args["limit"])]
        return json_response({"accounts": [], "statuses": page, "hashtags": []})

    server.expect_request(
        re.compile(r"^/mastodon/api/v1/timelines/tag/[^/]+$")
    ).respond_with_handler(tag)
    server.expect_request("/mastodon/api/v2/search").respond_with_handler(search)


def serve_bluesky(server: HTTPServer) -> None:
    """createSession with the app password, then searchPosts through the PDS."""
    posts = bluesky_posts()

    def session(request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        if (body.get("identifier"), body.get("password")) != (BLUESKY_HANDLE, BLUESKY_PASSWORD):
            return json_response({"error": "AuthenticationRequired", "message": "Invalid"}, 401)
        return json_response(
            {
                "accessJwt": BLUESKY_JWT,
                "refreshJwt": "refresh-jwt",
                "handle": BLUESKY_HANDLE,
                "did": "did:plc:monitortests",
            }
        )

    def search(request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {BLUESKY_JWT}":
            return json_response({"error": "AuthenticationRequired"}, 401)
        since = when(request.args["since"])
        found = [
            p
            for p in posts
            if bluesky_sort_at(p) >= since and contains(request.args["q"], p["record"]["text"])
        ]
        start, limit = int(request.args.get("cursor", "0")), int(request.args["limit"])
        body: dict[str, Any] = {"posts": found[start : start + limit], "hitsTotal": len(found)}
        if start + limit < len(found):
            body["cursor"] = str(start + limit)
        return json_response(body)

    server.expect_request(
        "/bluesky/xrpc/com.atproto.server.createSession", method="POST"
    ).respond_with_handler(session)
    server.expect_request("/bluesky/xrpc/app.bsky.feed.searchPosts").respond_with_handler(search)


def serve_stackexchange(server: HTTPServer) -> None:
    """search/advanced with sort=creation&order=asc, `fromdate`, `page` and `pagesize`."""
    items = sorted(questions(), key=lambda i: i["creation_date"])

    def search(request: Request) -> Response:
        if request.args.get("key") != STACKEXCHANGE_KEY:
            body = {"error_id": 400, "error_name": "bad_parameter", "error_message": "key"}
            return json_response(body, 400)
        asked = (request.args["site"], request.args["sort"], request.args["order"])
        if asked != ("stackoverflow", "creation", "asc"):
            body = {"error_id": 400, "error_name": "bad_parameter", "error_message": str(asked)}
            return json_response(body, 400)
        since = int(request.args["fromdate"])
        found = [
            i
            for i in items
            if i["creation_date"] >= since and contains(request.args["q"], question_words(i))
        ]
        page, size = int(request.args["page"]), int(request.args["pagesize"])
        return json_response(
            {
                "items": found[(page - 1) * size : page * size],
                "has_more": page * size < len(found),
                "quota_max": 10000,
                "quota_remaining": 9000,
            }
        )

    server.expect_request("/stackexchange/2.3/search/advanced").respond_with_handler(search)


def serve_appstore(server: HTTPServer) -> None:
    """The reviews feed is not searched or filtered: every poll gets the same pages."""
    for number, page in enumerate(appstore_pages(), start=1):
        path = f"/appstore/us/rss/customerreviews/page={number}/id={APP}/sortby=mostrecent/json"
        server.expect_request(path).respond_with_json(page)


def serve_twitter(server: HTTPServer, tweets: Tweets) -> None:
    """Recent search: query, start_time, since_id, until_id, max_results, next_token."""

    def search(request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {X_TOKEN}":
            return json_response({"title": "Unauthorized", "status": 401}, 401)
        args = request.args
        found = [p for p in tweets.posts if contains(args["query"], tweet_words(p))]
        if "start_time" in args:
            found = [p for p in found if when(p["created_at"]) >= when(args["start_time"])]
        if "since_id" in args:
            found = [p for p in found if int(p["id"]) > int(args["since_id"])]
        if "until_id" in args:
            found = [p for p in found if int(p["id"]) < int(args["until_id"])]
        start, size = int(args.get("next_token", "0")), int(args["max_results"])
        page = found[start : start + size]
        body: dict[str, Any] = {"meta": {"result_count": len(page)}}
        if page:
            authors = {p["author_id"] for p in page}
            body["data"] = page
            body["includes"] = {"users": [u for u in tweets.users if u["id"] in authors]}
            body["meta"] |= {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        if start + size < len(found):
            body["meta"]["next_token"] = str(start + size)
        return json_response(body)

    server.expect_request("/twitter/2/tweets/search/recent").respond_with_handler(search)


def serve_youtube(server: HTTPServer) -> None:
    """search (type=video, order=date, publishedAfter/Before) and commentThreads by video."""
    videos = sorted(youtube_videos(), key=lambda v: when(v["snippet"]["publishedAt"]))[::-1]
    pages = comment_pages()
    denied = {"error": {"code": 400, "details": [{"reason": "API_KEY_INVALID"}]}}

    def search(request: Request) -> Response:
        if request.args.get("key") != YOUTUBE_KEY:
            return json_response(denied, 400)
        args = request.args
        found = [
            v
            for v in videos
            if contains(args["q"], video_words(v))
            and when(v["snippet"]["publishedAt"]) >= when(args["publishedAfter"])
            and (
                "publishedBefore" not in args
                or when(v["snippet"]["publishedAt"]) <= when(args["publishedBefore"])
            )
        ]
        start, size = int(args.get("pageToken", "0")), int(args["maxResults"])
        body: dict[str, Any] = {
            "kind": "youtube#searchListResponse",
            "regionCode": "US",
            "pageInfo": {"totalResults": len(found), "resultsPerPage": size},
            "items": found[start : start + size],
        }
        if start + size < len(found):
            body["nextPageToken"] = str(start + size)
        return json_response(body)

    def threads(request: Request) -> Response:
        if request.args.get("key") != YOUTUBE_KEY:
            return json_response(denied, 400)
        key = (request.args["videoId"], request.args.get("pageToken"))
        return json_response(pages.get(key) or load("youtube", "comments_empty.json"))

    server.expect_request("/youtube/v3/search").respond_with_handler(search)
    server.expect_request("/youtube/v3/commentThreads").respond_with_handler(threads)


# -- the test -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollRow:
    fetched: int
    matched: int
    new: int
    skipped: int
    error: str


def poll_once(config: Path) -> dict[tuple[str, str], PollRow]:
    result = CliRunner().invoke(main, ["-c", str(config), "poll", "--once"])
    assert result.exit_code == 0, result.output
    header, _rule, *lines = result.stdout.splitlines()
    assert header.split() == ["brand", "channel", "fetched", "matched", "new", "skipped", "error"]
    rows = {}
    for line in lines:
        brand, channel, fetched, matched, new, skipped, error = line.split(maxsplit=6)
        rows[brand, channel] = PollRow(int(fetched), int(matched), int(new), int(skipped), error)
    return rows


def test_poll_once_stores_every_matching_fixture_item_once_and_a_rerun_stores_nothing(
    httpserver: HTTPServer,
    write_config: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    database: str,
) -> None:
    # A request no handler expects fails at once (a 500 would be retried with real sleeps).
    monkeypatch.setattr(httpserver, "no_handler_status_code", 404)
    # The YouTube quota ledger is process-wide; start from a fresh process's worth of it.
    monkeypatch.setattr(youtube, "_SPENT", {})
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    tweets = recent_tweets(datetime.now(UTC))
    serve_hackernews(httpserver)
    serve_rss(httpserver)
    serve_reddit(httpserver)
    serve_mastodon(httpserver)
    serve_bluesky(httpserver)
    serve_stackexchange(httpserver)
    serve_appstore(httpserver)
    serve_twitter(httpserver, tweets)
    serve_youtube(httpserver)
    config = write_config(
        CONFIG.replace("{root}", httpserver.url_for("").rstrip("/")).replace("{database}", database)
    )
    expected = {
        (brand, channel): ids
        for brand in BRANDS
        for channel, ids in expected_ids(brand, tweets).items()
    }
    # The terms were picked so that every channel's fixtures hold mentions to store.
    assert {channel for (_, channel), ids in expected.items() if ids} == set(CHANNELS)

    caplog.set_level(logging.WARNING)
    first = poll_once(config)
    assert {k: r.error for k, r in first.items()} == dict.fromkeys(expected, "-")
    assert {k: (r.matched, r.new) for k, r in first.items()} == {
        k: (len(ids), len(ids)) for k, ids in expected.items()
    }
    assert {k: r.skipped for k, r in first.items()} == dict.fromkeys(expected, 0)

    second = poll_once(config)
    assert {k: (r.new, r.error) for k, r in second.items()} == dict.fromkeys(expected, (0, "-"))
    # Sources whose cursor means "nothing newer": Algolia's time window starts at the last poll
    # (less 10 minutes), the feeds answer 304 to their ETag, X answers nothing after since_id.
    for (brand, channel), row in second.items():
        if channel in ("hackernews", "rss", "twitter"):
            assert row.fetched == 0, (brand, channel)
        assert row.fetched <= first[brand, channel].fetched, (brand, channel)

    exported = CliRunner().invoke(main, ["-c", str(config), "mentions", "--format", "jsonl"])
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    per_item = Counter((r["channel"], r["native_id"]) for r in rows)
    assert [item for item, n in per_item.items() if n > 1] == []
    stored: dict[tuple[str, str], set[str]] = {key: set() for key in expected}
    for r in rows:
        stored[r["brand"], r["channel"]].add(r["native_id"])
    assert stored == expected

    # No poll left a warning behind (a feed that failed, a budget used up, a rate limit).
    with Store(database) as store:
        assert {(s.brand, s.channel): s.last_error for s in store.poll_states()} == dict.fromkeys(
            expected
        )
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    httpserver.check_assertions()
    httpserver.check_handler_errors()
