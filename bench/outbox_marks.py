"""What the attempt mark costs: one committed UPDATE before each send.

One team, one loopback Slack webhook answering at once, MESSAGES alerts queued in an SQLite
file (WAL, synchronous=NORMAL, as the daemon runs it). The baseline is the same outbox with
the mark's write left out (what delivery did before attempt marks); the marked run is
`Outbox.deliver_once()` as shipped. Runs are interleaved, median of RUNS.
Run: python bench/outbox_marks.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outbox_lanes import Hook, alert  # noqa: E402  # bench/, this script's folder

from monitor.config import load_config  # noqa: E402
from monitor.models import OutboxMessage  # noqa: E402
from monitor.outbox import outbox_for  # noqa: E402
from monitor.store import Store  # noqa: E402

RUNS = 3
MESSAGES = 100  # one claim takes at most 100
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def run(url: str, marked: bool) -> float:
    """Seconds to deliver every queued message."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "monitor.yaml"
        path.write_text(
            f"database: {Path(tmp) / 'monitor.db'}\n"
            "brands: [{name: Apex, terms: [apex]}]\n"
            f"teams:\n  cx: {{slack: {{webhook_url: '{url}'}}}}\n"
            "routes: [{team: cx}]\n"
        )
        config = load_config(path)
        with Store(config.database) as store:
            outbox = outbox_for(config, store, clock=lambda: NOW)
            if not marked:

                def unmarked(message: OutboxMessage) -> bool:
                    return True

                outbox._mark = unmarked  # type: ignore[method-assign]  # the baseline
            with store.transaction():
                for n in range(MESSAGES):
                    outbox.enqueue("cx", "opened", alert(n), f"incident-{n}:cx")
            start = time.perf_counter()
            report = outbox.deliver_once()
            seconds = time.perf_counter() - start
    assert report.sent == MESSAGES, report
    return seconds


def main() -> None:
    hook = Hook(delay=0.0)
    url = hook.url
    base: list[float] = []
    marks: list[float] = []
    for _ in range(RUNS):
        base.append(run(url, marked=False))
        marks.append(run(url, marked=True))
    hook.server.shutdown()
    b, m = statistics.median(base), statistics.median(marks)
    print(f"{MESSAGES} alerts to one loopback Slack webhook, SQLite; median of {RUNS}")
    print(f"  no attempt mark (baseline): {b:.3f} s, {1000 * b / MESSAGES:.2f} ms per message")
    print(f"  attempt mark before each:   {m:.3f} s, {1000 * m / MESSAGES:.2f} ms per message")
    print(f"  ratio marked / baseline: {m / b:.2f}x")


if __name__ == "__main__":
    main()
