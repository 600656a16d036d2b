"""`monitor demo`: the whole product, offline, in a few seconds.

A loopback server speaks the Hacker News Algolia search format and serves a scripted week of
mentions of a fictional brand. The demo writes its own config and database and runs the real
poller, matcher, VADER scorer and SQLite store against it.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

from apscheduler.schedulers.background import BackgroundScheduler

from monitor.config import Config, load_config
from monitor.daemon import Daemon
from monitor.demo_script import BRAND, ScriptedMention, hit, scripted_week
from monitor.digest import default_week
from monitor.models import Clock, utcnow
from monitor.notify.preview import preview_digest
from monitor.report import incidents_table
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
        self.hits = sorted((hit(m, start) for m in mentions), key=lambda h: -int(h["created_at_i"]))
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
    # `tags=(a,b)` means any of them, as in Algolia's syntax.
    tags = set(params.get("tags", [""])[0].strip("()").split(",")) - {""}
    found = [
        h
        for h in hits
        if lo < h["created_at_i"] <= min(hi, now)
        and all(w in str(h.get("comment_text") or h.get("title") or "").lower() for w in words)
        and (not tags or tags & set(h.get("_tags", ())))
    ]
    per_page = int(params.get("hitsPerPage", ["20"])[0])
    page = int(params.get("page", ["0"])[0])
    return {
        "hits": found[page * per_page : (page + 1) * per_page],
        "nbHits": len(found),
        "page": page,
        # hitsPerPage=0 asks only for nbHits, as Algolia allows.
        "nbPages": (len(found) + per_page - 1) // per_page if per_page else 0,
        "hitsPerPage": per_page,
        "processingTimeMS": 1,
        "query": " ".join(words),
    }


def demo_config_text(api_url: str, database: Path) -> str:
    return f"""\
# Written by `monitor demo`: a fictional brand polled from a loopback Algolia server.
database: {database}
log_level: WARNING
brands:
  - name: {BRAND}
    terms: ["{BRAND.lower()}"]
    channels: [hackernews]
    topics:
      outage: [down, outage, offline, "no internet", dead, dropped, dropout]
      support: [support, "on hold", chat, agent, "customer service"]
      pricing: [price, bill, refund, compensation, contract]
    spike: {{window: 60m, baseline_days: 7, min_count: 5, scopes: [topic]}}
channels:
  hackernews: {{base_url: "{api_url}", every: 2s, backfill: 16d, hits_per_page: 200}}
teams:
  customer-care: {{console: {{}}, timezone: Europe/London, digest: {{enabled: false}}}}
routes:
  - {{team: customer-care}}
alerting: {{detect_every: 2s, deliver_every: 1s}}
"""


def write_demo_config(workdir: Path, api_url: str) -> Config:
    path = workdir / "monitor.yaml"
    path.write_text(demo_config_text(api_url, workdir / "demo.db"), encoding="utf-8")
    return load_config(path)


def run_demo(
    keep: bool = False,
    echo: Callable[[str], None] = print,
    stream: IO[str] | None = None,
    deadline: float = 20.0,
    preview_dir: Path | None = None,
) -> int:
    """Serve the scenario, run the real daemon until the alert is delivered, then summarise."""
    began = time.monotonic()
    start = datetime.now(UTC)
    history, burst = scripted_week()
    workdir = Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    delivered = False
    try:
        with AlgoliaServer(history + burst, start) as server:
            config = write_demo_config(workdir, server.url)
            echo(
                f"Serving two weeks of {BRAND} mentions ({len(history)}) on {server.url} in the Hacker "
                f"News Algolia format;\n{len(burst)} angry ones will appear over the next "
                f"{burst[-1].offset.total_seconds():.0f}s. Running the daemon (poll every 2s, "
                "detect every 2s)...\n"
            )
            with Store(config.database) as store:
                daemon = Daemon(config, store, stream=stream or sys.stdout)
                scheduler = BackgroundScheduler(timezone="UTC")
                daemon.schedule(scheduler)
                scheduler.start()
                # Let the whole burst be served and polled, so the summary shows all of it.
                settle = began + burst[-1].offset.total_seconds() + 3
                try:
                    delivered = _wait_for_alert(store, settle, began + deadline)
                finally:
                    scheduler.shutdown(wait=True)
                    daemon.poller.close()
                summarize(store, echo, time.monotonic() - began, delivered)
                # Without --keep the preview goes with the work folder: nothing is left behind.
                directory = preview_dir or workdir / "digest"
                week = write_digest_preview(config, store, directory)
                if keep or preview_dir:
                    echo(
                        f"\nWeekly digest of the last complete week ({week}) for the "
                        f"customer-care team: {directory / 'digest.html'}"
                    )
                else:
                    echo(
                        f"\nWeekly digest of the last complete week ({week}) built; run "
                        "`monitor demo --keep` to keep its HTML preview."
                    )
    finally:
        if keep:
            echo(f"Database kept: {workdir / 'demo.db'}")
            echo(
                f"  try: monitor -c {workdir / 'monitor.yaml'} mentions --label negative --since 2h"
            )
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if delivered else 1


def write_digest_preview(config: Config, store: Store, directory: Path) -> str:
    """The team's digest of the last complete week of the scripted history; returns the week."""
    team = "customer-care"
    now = datetime.now(UTC)
    week = default_week(config, team, now)
    preview_digest(config, store, team, week, directory, now=now)
    return week


def _wait_for_alert(store: Store, settle: float, deadline: float) -> bool:
    """True once an alert was delivered, nothing is pending and `settle` passed; False at the deadline."""
    while time.monotonic() < deadline:
        counts = store.outbox_counts()
        if counts.get("sent") and not counts.get("pending") and time.monotonic() >= settle:
            return True
        time.sleep(0.2)
    return False


def summarize(store: Store, echo: Callable[[str], None], elapsed: float, delivered: bool) -> None:
    counts = store.label_counts()
    total = sum(counts.values())
    echo(
        f"\nDemo finished in {elapsed:.1f}s. Mentions ingested: {total} ("
        + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("negative", "neutral", "positive"))
        + ")"
    )
    if not delivered:
        echo("No alert was delivered within the deadline: see the log above.")
    echo("\nIncidents:")
    echo(incidents_table(store.incidents(), datetime.now(UTC)))
    echo("\nMost negative mentions:")
    for m in store.mentions(order="most_negative", limit=3):
        echo(f"  {m.compound:+.3f}  {m.author}: {one_line(m.text, 90)}\n          {m.url}")
