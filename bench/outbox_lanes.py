"""Delivery with one slow receiver: when does another team's last alert arrive?

Two loopback Slack webhooks: team `slow` answers after SLOW_S seconds (a struggling receiver,
well under the 10 s client timeout), team `fast` at once. Each team has MESSAGES alerts queued,
the slow team's first. The baseline sends the same rows one after another in queue order (what
the outbox did before delivery lanes); the lanes run is `Outbox.deliver_once()`. Runs are
interleaved, median of RUNS. Run: python bench/outbox_lanes.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.models import Alert  # noqa: E402
from monitor.outbox import Outbox, outbox_for  # noqa: E402
from monitor.store import Store  # noqa: E402

RUNS = 3
MESSAGES = 5
SLOW_S = 0.4
NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


class Hook:
    """A webhook that records when each request arrived, answering after `delay` seconds."""

    def __init__(self, delay: float) -> None:
        self.arrivals: list[float] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay)  # the receiver's own slowness, which is what is measured
                hook.arrivals.append(time.perf_counter())
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def alert(n: int) -> Alert:
    return Alert(
        kind="opened",
        incident_id=n,
        idempotency_key="",
        brand="Apex",
        scope_kind="brand",
        scope_value="Apex",
        severity="warning",
        count=6,
        expected=1.0,
        ratio=6.0,
        window=timedelta(hours=1),
        started_at=NOW,
        peak_ratio=6.0,
    )


def queued(folder: Path, slow: Hook, fast: Hook) -> tuple[Outbox, Store]:
    path = folder / "monitor.yaml"
    path.write_text(
        f"database: {folder / 'monitor.db'}\n"
        "brands: [{name: Apex, terms: [apex]}]\n"
        f"teams:\n  slow: {{slack: {{webhook_url: '{slow.url}'}}}}\n"
        f"  fast: {{slack: {{webhook_url: '{fast.url}'}}}}\n"
        "routes: [{team: fast}]\n"
    )
    config = load_config(path)
    store = Store(config.database)
    outbox = outbox_for(config, store, clock=lambda: NOW)
    with store.transaction():
        for team in ("slow", "fast"):
            for n in range(MESSAGES):
                outbox.enqueue(team, "opened", alert(n), f"incident-{n}:{team}")
    return outbox, store


def run(lanes: bool) -> tuple[float, float]:
    """(seconds until the fast team's last alert arrived, seconds for the whole delivery)."""
    slow, fast = Hook(SLOW_S), Hook(0.0)
    with tempfile.TemporaryDirectory() as tmp:
        outbox, store = queued(Path(tmp), slow, fast)
        with store:
            start = time.perf_counter()
            if lanes:
                report = outbox.deliver_once()
                sent = report.sent
            else:
                sent = sum(outbox.deliver([m]).sent for m in store.due_messages(NOW))
            total = time.perf_counter() - start
    for hook in (slow, fast):
        hook.server.shutdown()
        hook.server.server_close()
    assert sent == 2 * MESSAGES, sent
    return max(fast.arrivals) - start, total


def main() -> None:
    serial: list[tuple[float, float]] = []
    parallel: list[tuple[float, float]] = []
    for _ in range(RUNS):
        serial.append(run(lanes=False))
        parallel.append(run(lanes=True))
    s_fast, s_total = (statistics.median(x) for x in zip(*serial, strict=True))
    p_fast, p_total = (statistics.median(x) for x in zip(*parallel, strict=True))
    print(f"{MESSAGES} alerts per team; team slow answers in {SLOW_S:.1f} s; median of {RUNS}")
    print(
        f"  one queue (baseline): fast team's last alert after {s_fast:.3f} s, all in {s_total:.3f} s"
    )
    print(
        f"  delivery lanes:       fast team's last alert after {p_fast:.3f} s, all in {p_total:.3f} s"
    )
    print(
        f"  ratio baseline / lanes: fast team {s_fast / p_fast:.0f}x sooner, all {s_total / p_total:.2f}x"
    )


if __name__ == "__main__":
    main()
