"""`monitor demo`: the whole product, offline, in a few seconds.

A loopback server speaks the Hacker News Algolia search format and serves a scripted week of
mentions of a fictional brand. The demo writes its own config and database and runs the real
poller, matcher, VADER scorer and SQLite store against it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.config import Config, load_config
from monitor.demo_script import BRAND, ScriptedMention, hit, scripted_week
from monitor.models import Clock, utcnow
from monitor.poller import Poller
from monitor.report import iso
from monitor.store import Store
from monitor.text import one_line


class AlgoliaServer:
    """A loopback HTTP server answering `/api/v1/search_by_date` like hn.algolia.com does.

    It filters by query words, `created_at_i` numeric filters and pages, newest first. A mention
    whose moment has not come yet (by `clock`) is not served, so a scripted burst appears live.
    """

    def __init__(
        self, mentions: list[ScriptedMention], start: datetime, clock: Clock = utcnow
    ) -> None:
        self.hits = sorted((hit(m, start) for m in mentions), key=lambda h: -int(h["created_at_i"]))  # type: ignore[arg-type]
        self.clock = clock
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                url = urlsplit(self.path)
                if url.path != "/api/v1/search_by_date":
                    self.send_error(404)
                    return
                body = json.dumps(server.search(parse_qs(url.query))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def search(self, params: dict[str, list[str]]) -> dict[str, Any]:
        return algolia_search(self.hits, params, self.clock().timestamp())

    def __enter__(self) -> AlgoliaServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def algolia_search(
    hits: list[dict[str, Any]], params: dict[str, list[str]], now: float
) -> dict[str, Any]:
    """Answer a `search_by_date` query over `hits` (newest first) the way Algolia does."""
    words = params.get("query", [""])[0].strip('"').lower().split()
    lo, hi = float("-inf"), float("inf")
    for cond in ",".join(params.get("numericFilters", [])).split(","):
        if cond.startswith("created_at_i>="):
            lo = float(cond.removeprefix("created_at_i>=")) - 1
        elif cond.startswith("created_at_i>"):
            lo = float(cond.removeprefix("created_at_i>"))
        elif cond.startswith("created_at_i<="):
            hi = float(cond.removeprefix("created_at_i<="))
    found = [
        h
        for h in hits
        if lo < h["created_at_i"] <= min(hi, now)
        and all(w in str(h.get("comment_text") or h.get("title") or "").lower() for w in words)
    ]
    per_page = int(params.get("hitsPerPage", ["20"])[0])
    page = int(params.get("page", ["0"])[0])
    return {
        "hits": found[page * per_page : (page + 1) * per_page],
        "nbHits": len(found),
        "page": page,
        "nbPages": (len(found) + per_page - 1) // per_page,
        "hitsPerPage": per_page,
        "processingTimeMS": 1,
        "query": " ".join(words),
    }


def demo_config_text(api_url: str, database: Path) -> str:
    return f"""\
# Written by `monitor demo`: a fictional brand polled from a loopback Algolia server.
database: {database}
brands:
  - name: {BRAND}
    terms: ["{BRAND.lower()}"]
    channels: [hackernews]
    topics:
      outage: [down, outage, offline, "no internet", dead, dropped, dropout]
      support: [support, "on hold", chat, agent, "customer service"]
      pricing: [price, bill, refund, compensation, contract]
    spike: {{window: 60m, baseline_days: 7, min_count: 5, min_ratio: 3, p: 0.001, scopes: [topic]}}
channels:
  hackernews: {{base_url: "{api_url}", every: 2s, backfill: 9d, hits_per_page: 200}}
"""


def write_demo_config(workdir: Path, api_url: str) -> Config:
    path = workdir / "monitor.yaml"
    path.write_text(demo_config_text(api_url, workdir / "demo.db"), encoding="utf-8")
    return load_config(path)


def run_demo(keep: bool = False, echo: Callable[[str], None] = print) -> int:
    start = datetime.now(UTC)
    history, burst = scripted_week()
    workdir = Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    try:
        with AlgoliaServer(history + burst, start) as server:
            config = write_demo_config(workdir, server.url)
            echo(
                f"Serving {len(history)} scripted mentions of {BRAND} on {server.url} (HN Algolia format)"
            )
            with Store(config.database) as store:
                poller = Poller(config, store)
                try:
                    reports = poller.poll_all()
                finally:
                    poller.close()
                for r in reports:
                    echo(
                        f"Polled {r.channel}: fetched {r.fetched}, matched {r.matched}, stored {r.stored}"
                    )
                summarize(store, echo)
    finally:
        if keep:
            echo(
                f"Database kept: {workdir / 'demo.db'}  (try: monitor -c {workdir / 'monitor.yaml'} mentions --label negative)"
            )
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def summarize(store: Store, echo: Callable[[str], None]) -> None:
    counts = store.label_counts()
    total = sum(counts.values())
    echo(
        f"\nMentions stored: {total}  "
        + "  ".join(f"{k}: {counts.get(k, 0)}" for k in ("negative", "neutral", "positive"))
    )
    echo("Most negative:")
    for m in store.mentions(order="most_negative", limit=5):
        echo(
            f"  {m.compound:+.3f}  {iso(m.created_at)}  {m.author}: {one_line(m.text, 90)}\n          {m.url}"
        )
