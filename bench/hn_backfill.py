"""HN backfill cost: requests and bytes for a 100k-hit backfill, window probing before and after.

A loopback server answers `search_by_date` in Algolia's format (numericFilters, hitsPerPage
including 0, page, nbHits, nbPages capped at 1,000 hits) over 100,000 synthetic comments of
about 2 KB each, spread evenly over the 14-day backfill. "before" is hackernews.py as of commit
BEFORE (halving from `now` after every window, a full page per probe), loaded from git and run
against today's base; "after" is the current adapter (count-only probes, windows sized by hit
density, one window per result). Each poll has the default-sized budget of 1,000 requests, and
"after" fetches again while `more` is set, as the poller does. Rounds are interleaved; figures
are medians of 3. Run: python bench/hn_backfill.py
"""

from __future__ import annotations

import bisect
import importlib.util
import json
import logging
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.channels import hackernews  # noqa: E402
from monitor.channels.base import HttpClient  # noqa: E402
from monitor.models import Query  # noqa: E402

BEFORE = "f9516b3"  # the last commit with the halving walk
HITS = 100_000
BUDGET = 1000
ROUNDS = 3
NOW = datetime(2026, 3, 1, tzinfo=UTC)
BACKFILL = timedelta(days=14)
QUERY = Query("Acme", ("acme",))


class Corpus:
    """Hits sorted by time, each pre-serialised, so the server answers in microseconds."""

    def __init__(self, count: int, start: int, end: int) -> None:
        step = (end - start) / count
        self.times = [start + 1 + int(i * step) for i in range(count)]
        words = "acme sync broke again after the update and support has not answered yet " * 25
        self.json = [
            json.dumps(
                {
                    "objectID": str(i),
                    "created_at_i": t,
                    "created_at": datetime.fromtimestamp(t, UTC).isoformat(),
                    "author": f"user{i % 997}",
                    "comment_text": f"<p>{words[: 1800 + i % 100]}</p>",
                    "story_id": 1000 + i // 50,
                    "points": None,
                    "_tags": ["comment", f"author_user{i % 997}", f"story_{1000 + i // 50}"],
                }
            )
            for i, t in enumerate(self.times)
        ]

    def answer(self, params: dict[str, list[str]]) -> bytes:
        lo, hi = -(2**62), 2**62
        for cond in params.get("numericFilters", [""])[0].split(","):
            if cond.startswith("created_at_i>") and not cond.startswith("created_at_i>="):
                lo = int(cond.removeprefix("created_at_i>"))
            elif cond.startswith("created_at_i<="):
                hi = int(cond.removeprefix("created_at_i<="))
        first = bisect.bisect_right(self.times, lo)
        last = bisect.bisect_right(self.times, hi)
        found = last - first
        per_page = int(params.get("hitsPerPage", ["20"])[0])
        page = int(params.get("page", ["0"])[0])
        reachable = min(found, 1000)  # Algolia's paginationLimitedTo
        pages = (reachable + per_page - 1) // per_page if per_page else 0
        newest_first = last - 1 - page * per_page
        picked = []
        if per_page and page < pages:
            count = min(per_page, reachable - page * per_page)
            picked = self.json[max(first, newest_first - count + 1) : newest_first + 1][::-1]
        head = f'{{"nbHits": {found}, "page": {page}, "nbPages": {pages}, '
        head += f'"hitsPerPage": {per_page}, "processingTimeMS": 1, "hits": ['
        return (head + ", ".join(picked) + "]}").encode()


class Server:
    def __init__(self, corpus: Corpus) -> None:
        self.sent_bytes = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = corpus.answer(parse_qs(urlsplit(self.path).query))
                outer.sent_bytes += len(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


def load_before() -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:monitor/channels/hackernews.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    spec = importlib.util.spec_from_loader("hackernews_before", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    exec(compile(source, "hackernews_before.py", "exec"), module.__dict__)
    return module


def one_poll(module: ModuleType, server: Server, cursor: str | None) -> dict[str, Any]:
    """One scheduled poll: fetch, and fetch again while the adapter says `more`."""
    settings = module.Settings(
        base_url=server.url, backfill=BACKFILL, max_requests=BUDGET, timeout=timedelta(seconds=30)
    )
    adapter = module.Adapter(settings, HttpClient("hackernews", settings, sleep=lambda _: None))
    sent_before = server.sent_bytes
    started = time.perf_counter()
    result = adapter.fetch(QUERY, cursor, NOW)
    largest = len(result.mentions)
    while getattr(result, "more", False):
        result = adapter.fetch(QUERY, result.cursor, NOW)
        largest = max(largest, len(result.mentions))
    adapter.close()
    return {
        "seconds": time.perf_counter() - started,
        "requests": result.requests,
        "bytes": server.sent_bytes - sent_before,
        "cursor": result.cursor,
        "largest": largest,
    }


def backfill(module: ModuleType, server: Server, corpus: Corpus, max_polls: int) -> dict[str, Any]:
    """Poll until the cursor reaches now (or max_polls); totals, and what the first poll did."""
    cursor, polls, total = None, [], {"requests": 0, "bytes": 0, "seconds": 0.0}
    while len(polls) < max_polls:
        poll = one_poll(module, server, cursor)
        polls.append(poll)
        for key in total:
            total[key] += poll[key]
        cursor = poll["cursor"]
        if json.loads(cursor or "{}").get("after", 0) >= int(NOW.timestamp()):
            break
    after = json.loads(cursor or "{}").get("after", 0)
    committed = bisect.bisect_right(corpus.times, after)
    first_after = json.loads(polls[0]["cursor"] or "{}").get("after", 0)
    return {
        "polls": len(polls),
        "done": after >= int(NOW.timestamp()),
        "committed": committed,
        "first": polls[0] | {"committed": bisect.bisect_right(corpus.times, first_after)},
        "largest": max(p["largest"] for p in polls),
        **total,
    }


def main() -> None:
    logging.disable(logging.WARNING)  # each spent budget logs a warning: expected here
    end = int(NOW.timestamp())
    corpus = Corpus(HITS, end - int(BACKFILL.total_seconds()), end)
    server = Server(corpus)
    modules = {"before": load_before(), "after": hackernews}
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for _ in range(ROUNDS):
        for name, module in modules.items():  # interleaved, so drift hits both alike
            runs[name].append(backfill(module, server, corpus, max_polls=30))
    med = {
        name: {
            k: statistics.median(r[k] for r in rs)
            for k in ("polls", "requests", "bytes", "seconds", "committed", "largest")
        }
        | {
            "first_" + k: statistics.median(r["first"][k] for r in rs)
            for k in ("requests", "bytes", "committed")
        }
        | {"done": all(r["done"] for r in rs)}
        for name, rs in runs.items()
    }
    print(f"{HITS:,} hits over {BACKFILL.days} days, budget {BUDGET} requests per poll")
    print(
        f"{'':8} {'first poll: requests':>21} {'MB':>8} {'hits saved':>11} | "
        f"{'to finish: polls':>16} {'requests':>9} {'MB':>8} {'s':>6} {'max held':>9}"
    )
    for name, m in med.items():
        done = "" if m["done"] else f"  (not done after {m['polls']:.0f} polls)"
        print(
            f"{name:8} {m['first_requests']:21.0f} {m['first_bytes'] / 1e6:8.1f} "
            f"{m['first_committed']:11,.0f} | {m['polls']:16.0f} {m['requests']:9.0f} "
            f"{m['bytes'] / 1e6:8.1f} {m['seconds']:6.1f} {m['largest']:9,.0f}{done}"
        )
    b, a = med["before"], med["after"]
    per = lambda m, k: m[k] / max(1, m["committed"])  # noqa: E731
    print(
        f"ratio before/after per hit saved: requests {per(b, 'requests') / per(a, 'requests'):.1f}x, "
        f"bytes {per(b, 'bytes') / per(a, 'bytes'):.1f}x, "
        f"time {per(b, 'seconds') / per(a, 'seconds'):.1f}x; "
        f"largest result held {b['largest'] / max(1, a['largest']):.0f}x"
    )


if __name__ == "__main__":
    main()
