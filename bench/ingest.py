"""Ingest rate of a 20k-hit `poll --once` backfill against bare VADER on the same texts.

A loopback server speaking Algolia's search_by_date (time window, query words, pages) holds
20k hits whose texts are the VADER tweet ground truth (prefixed with the brand, cycled to 20k),
served 1,000 a page. The poll runs what `monitor poll --once` runs (Poller.poll_all: the real
adapter, matcher, scorer and SQLite store) into a fresh database, single-process. Each round
times the poll and then bare VADER on the same texts (interleaved); the figures are medians of
the rounds. Target (issue 10): ratio >= 0.8 with the pool off; the pool's figures are shown
beside it (pool on for every piece of the poll, and the Scorer on the whole batch at once).
Run: python bench/ingest.py
"""

from __future__ import annotations

import bisect
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import monitor.poller as poller_module  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.poller import Poller  # noqa: E402
from monitor.sentiment.pool import POOL_THRESHOLD, ScorerSpec, score_texts  # noqa: E402
from monitor.store import Store  # noqa: E402

HITS = 20_000
PER_PAGE = 1000
PAGINATION_LIMIT = 1000  # Algolia's paginationLimitedTo
ROUNDS = 3


def texts() -> list[str]:
    rows = (ROOT / "tests/fixtures/sentiment/tweets_GroundTruth.txt").read_text().splitlines()
    tweets = [f"Acme: {r.split(chr(9))[2]}" for r in rows]
    return [tweets[i % len(tweets)] for i in range(HITS)]


def hits(now: int) -> list[dict[str, Any]]:
    return [
        {
            "objectID": str(1_000_000 + i),
            "created_at_i": now - 60 - i // 10,
            "author": f"user{i}",
            "comment_text": text,
            "points": i % 50,
            "_tags": ["comment"],
        }
        for i, text in enumerate(texts())
    ]


def serve(data: list[dict[str, Any]]) -> tuple[BaseProcess, str]:
    """Serve from another process: the API is remote in real life, and a server thread here
    would take the GIL from the poll being measured."""

    # Oldest first, so a request's time window is found by bisection, each hit encoded once,
    # and the hits holding a query's words listed once per query: the server's own cost must
    # not be what the poll's figure measures.
    oldest_first = sorted(data, key=lambda h: int(h["created_at_i"]))
    lowered = [str(h["comment_text"]).lower() for h in oldest_first]
    encoded = [json.dumps(h).encode() for h in oldest_first]
    by_query: dict[tuple[str, ...], tuple[list[int], list[int]]] = {}

    def matching(words: tuple[str, ...]) -> tuple[list[int], list[int]]:
        """Indexes of the hits holding every word, oldest first, and their times."""
        if words not in by_query:
            picked = [i for i, text in enumerate(lowered) if all(w in text for w in words)]
            by_query[words] = (picked, [int(oldest_first[i]["created_at_i"]) for i in picked])
        return by_query[words]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real API answers
        # Headers and body go out in two writes: with Nagle on, the body waits for a delayed ACK.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            params = parse_qs(urlsplit(self.path).query)
            lo, hi = -1, 2**62
            for cond in params["numericFilters"][0].split(","):
                if cond.startswith("created_at_i>"):
                    lo = int(cond.removeprefix("created_at_i>"))
                elif cond.startswith("created_at_i<="):
                    hi = int(cond.removeprefix("created_at_i<="))
            picked, times = matching(tuple(params["query"][0].strip('"').lower().split()))
            first, last = bisect.bisect_right(times, lo), bisect.bisect_right(times, hi)
            found = picked[first:last][::-1]  # newest first
            per_page, page = int(params["hitsPerPage"][0]), int(params["page"][0])
            # Like Algolia: hitsPerPage=0 counts without hits, and paging stops at 1,000 hits.
            reachable = found[:PAGINATION_LIMIT]
            shown = reachable[page * per_page : (page + 1) * per_page] if per_page else []
            meta = {
                "nbHits": len(found),
                "page": page,
                "nbPages": -(-len(reachable) // per_page) if per_page else 0,
                "hitsPerPage": per_page,
            }
            body = (
                b'{"hits":['
                + b",".join(encoded[i] for i in shown)
                + b"],"
                + json.dumps(meta)[1:].encode()
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    process = multiprocessing.get_context("fork").Process(target=server.serve_forever, daemon=True)
    process.start()
    server.server_close()  # the child holds its own copy of the listening socket
    return process, f"http://127.0.0.1:{server.server_address[1]}"


def poll_rate(url: str, workdir: Path, run: int, pool_threshold: int) -> float:
    """One `poll --once` of the whole backfill into a fresh database; mentions per second.

    The poller sends a piece of at least POOL_THRESHOLD texts to the process pool: the bench
    sets the threshold out of reach for "pool off", and to 1 for "pool on" (every piece).
    """
    config_path = workdir / f"monitor{run}.yaml"
    config_path.write_text(
        f"database: bench{run}.db\nbrands:\n  - {{name: Acme, terms: [acme], channels: [hackernews]}}\n"
        f"channels:\n  hackernews: {{base_url: '{url}', hits_per_page: {PER_PAGE}, "
        f"max_requests: 500, backfill: 1d}}\n"
    )
    config = load_config(config_path)
    poller_module.POOL_THRESHOLD = pool_threshold
    try:
        with Store(config.database) as store:
            poller = Poller(config, store)
            started = time.perf_counter()
            [report] = poller.poll_all()
            elapsed = time.perf_counter() - started
            poller.close()
    finally:
        poller_module.POOL_THRESHOLD = POOL_THRESHOLD
    assert report.stored == HITS, report
    return HITS / elapsed


def vader_rate(sample: list[str]) -> float:
    analyzer = SentimentIntensityAnalyzer()
    started = time.perf_counter()
    for text in sample:
        analyzer.polarity_scores(text)
    return len(sample) / (time.perf_counter() - started)


def pool_scoring_rate(sample: list[str], workers: int) -> float:
    """Scorer on the whole batch at once: in this process (1 worker) or in the pool."""
    started = time.perf_counter()
    score_texts(ScorerSpec(), sample, workers=workers, threshold=1)
    return len(sample) / (time.perf_counter() - started)


def main() -> None:
    sample = texts()
    server, url = serve(hits(int(datetime.now(UTC).timestamp())))
    rates: dict[str, list[float]] = {
        "pool off": [],
        "vader": [],
        "pool on": [],
        "batch 1": [],
        "batch pool": [],
    }
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(ROUNDS):
            rates["pool off"].append(poll_rate(url, Path(tmp), 2 * run, sys.maxsize))
            rates["vader"].append(vader_rate(sample))
            rates["pool on"].append(poll_rate(url, Path(tmp), 2 * run + 1, 1))
            rates["batch 1"].append(pool_scoring_rate(sample, 1))
            rates["batch pool"].append(pool_scoring_rate(sample, cores))
    server.terminate()
    rate = {name: statistics.median(runs) for name, runs in rates.items()}
    vader = rate["vader"]
    print(
        f"{HITS:,} hits, median of {ROUNDS} interleaved rounds, {cores} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"bare VADER polarity_scores on the same texts:  {vader:8,.0f} texts/s")
    print(
        f"poll --once, pool off (HTTP+match+score+SQLite): {rate['pool off']:8,.0f} mentions/s"
        f"  ratio {rate['pool off'] / vader:.2f}  (target >= 0.8)"
    )
    print(
        f"poll --once, pool on for every piece:          {rate['pool on']:8,.0f} mentions/s"
        f"  ratio {rate['pool on'] / vader:.2f}"
    )
    print(
        f"Scorer on all {HITS:,} texts at once, 1 process: {rate['batch 1']:8,.0f} texts/s"
        f"  ratio {rate['batch 1'] / vader:.2f}"
    )
    print(
        f"Scorer on all {HITS:,} texts at once, pool of {cores}: {rate['batch pool']:8,.0f} texts/s"
        f"  ratio {rate['batch pool'] / vader:.2f}"
    )


if __name__ == "__main__":
    main()
