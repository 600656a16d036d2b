"""Alert latency: from the burst's first mention being served to the Slack request arriving.

The demo's loopback Algolia server plays the scripted week and then the burst; a loopback Slack
webhook records when the alert arrives. The real daemon polls every 2s and keeps the production
defaults for the detect and deliver jobs (1m and 10s): a poll that stores new negative mentions
detects and delivers by itself, so the latency should be near the poll interval, not near the
sum of the three intervals (the yardstick printed beside it).
Run: python bench/latency.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.daemon import Daemon  # noqa: E402
from monitor.demo import AlgoliaServer, demo_config_text  # noqa: E402
from monitor.demo_script import scripted_week  # noqa: E402
from monitor.store import Store  # noqa: E402

RUNS = 3
POLL, DETECT, DELIVER = 2.0, 60.0, 10.0
DEADLINE = 120.0


class SlackHook:
    def __init__(self) -> None:
        self.arrived: float | None = None
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if hook.arrived is None:
                    hook.arrived = time.monotonic()
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def one_run(workdir: Path) -> float:
    history, burst = scripted_week()
    burst_ids = {str(m.object_id) for m in burst}
    first_served: list[float] = []
    with AlgoliaServer(history + burst, datetime.now(UTC)) as server:
        search = server.search

        def watched(params: dict[str, list[str]]) -> dict[str, Any]:
            body = search(params)
            if not first_served and any(h["objectID"] in burst_ids for h in body["hits"]):
                first_served.append(time.monotonic())
            return body

        server.search = watched  # type: ignore[method-assign]
        hook = SlackHook()
        text = demo_config_text(server.url, workdir / "latency.db")
        text = text.replace("console: {}", f"slack: {{webhook_url: '{hook.url}'}}")
        text = text.replace(
            "detect_every: 2s, deliver_every: 1s",
            f"detect_every: {DETECT:g}s, deliver_every: {DELIVER:g}s",
        )
        path = workdir / "latency.yaml"
        path.write_text(text)
        config = load_config(path)
        with Store(config.database) as store:
            daemon = Daemon(config, store)
            scheduler = BackgroundScheduler(timezone="UTC")
            daemon.schedule(scheduler)
            scheduler.start()
            deadline = time.monotonic() + DEADLINE
            while hook.arrived is None and time.monotonic() < deadline:
                time.sleep(0.05)
            scheduler.shutdown(wait=True)
            daemon.poller.close()
        hook.httpd.shutdown()
    config.database.unlink()
    if hook.arrived is None or not first_served:
        raise SystemExit(f"no alert arrived within {DEADLINE:g}s")
    return hook.arrived - first_served[0]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        latencies = [one_run(Path(tmp)) for _ in range(RUNS)]
    worst_case = POLL + DETECT + DELIVER
    print(
        f"alert latency, first burst mention served -> Slack request (n={RUNS}): "
        f"median {statistics.median(latencies):.2f}s, max {max(latencies):.2f}s"
    )
    print(f"intervals poll {POLL:g}s + detect {DETECT:g}s + deliver {DELIVER:g}s = {worst_case:g}s")
    print(
        f"ratio median latency / sum of intervals: {statistics.median(latencies) / worst_case:.2f}"
    )
    print(json.dumps({"latencies_s": [round(x, 3) for x in latencies]}))


if __name__ == "__main__":
    main()
