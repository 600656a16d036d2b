"""Ingest rate of one `poll --once` against bare VADER on the same texts, in the same run.

A loopback server answers in the HN Algolia format with one page of 1,000 hits whose texts are
the VADER tweet ground truth (prefixed with the brand). The poll runs the real adapter, matcher,
scorer and SQLite store into a fresh database. Run: python bench/ingest.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.demo import algolia_search  # noqa: E402
from monitor.poller import Poller  # noqa: E402
from monitor.store import Store  # noqa: E402

HITS = 1000
ROUNDS = 3


def texts() -> list[str]:
    rows = (ROOT / "tests/fixtures/sentiment/tweets_GroundTruth.txt").read_text().splitlines()
    return [f"Acme: {r.split(chr(9))[2]}" for r in rows][:HITS]


def hits(now: int) -> list[dict[str, Any]]:
    return [
        {
            "objectID": str(1_000_000 + i),
            "created_at_i": now - 60 - i,
            "author": f"user{i}",
            "comment_text": text,
            "points": i % 50,
            "_tags": ["comment"],
        }
        for i, text in enumerate(texts())
    ]


def serve(data: list[dict[str, Any]]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(
                algolia_search(data, parse_qs(urlsplit(self.path).query), float("inf"))
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def poll_rate(url: str, workdir: Path, run: int) -> float:
    config_path = workdir / f"monitor{run}.yaml"
    config_path.write_text(
        f"database: bench{run}.db\nbrands:\n  - {{name: Acme, terms: [acme], channels: [hackernews]}}\n"
        f"channels:\n  hackernews: {{base_url: '{url}', hits_per_page: 1000, backfill: 1d}}\n"
    )
    config = load_config(config_path)
    with Store(config.database) as store:
        poller = Poller(config, store)
        started = time.perf_counter()
        [report] = poller.poll_all()
        elapsed = time.perf_counter() - started
        poller.close()
    assert report.stored == HITS, report
    return HITS / elapsed


def vader_rate(sample: list[str]) -> float:
    analyzer = SentimentIntensityAnalyzer()
    started = time.perf_counter()
    for text in sample:
        analyzer.polarity_scores(text)
    return len(sample) / (time.perf_counter() - started)


def main() -> None:
    sample = texts()
    server = serve(hits(int(datetime.now(UTC).timestamp())))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        polls = [poll_rate(url, Path(tmp), run) for run in range(ROUNDS)]
    vaders = [vader_rate(sample) for _ in range(ROUNDS)]
    server.shutdown()
    best_poll, best_vader = max(polls), max(vaders)
    print(f"poll --once, {HITS} hits (HTTP + match + score + SQLite): {best_poll:,.0f} mentions/s")
    print(f"bare VADER polarity_scores on the same texts:        {best_vader:,.0f} texts/s")
    print(f"ratio ingest / bare VADER: {best_poll / best_vader:.2f}")


if __name__ == "__main__":
    main()
