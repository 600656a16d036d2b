"""Prometheus metrics and a health endpoint, served on their own small HTTP server.

Counters and histograms are pushed by the stages through `Metrics`' typed methods; the gauges
that mirror the store (open incidents, outbox backlog, last good poll) are read at scrape time
from a `snapshot()` callable, so they are right after a restart and cost nothing between scrapes.
Each `Metrics` owns its registry, so two daemons (or tests) in one process never share a series.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from monitor.addresses import MetricsConfigError, parse_listen
from monitor.logs import kv

log = logging.getLogger(__name__)

PollOutcome = Literal["ok", "failed", "backing_off"]
# The health decision (monitor.health, the same rule as `monitor status`): (healthy, reasons).
Health = Callable[[], tuple[bool, list[str]]]

POLL_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
DETECT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the store knows right now, as plain numbers (unix seconds for times)."""

    outbox_pending: int = 0
    outbox_dead: int = 0
    incidents_open: Mapping[tuple[str, str], int] = field(default_factory=dict)  # brand, severity
    last_success: Mapping[tuple[str, str], float] = field(default_factory=dict)  # brand, channel


class _StoreCollector(Collector):
    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self.snapshot = snapshot

    def describe(self) -> Iterator[Metric]:
        # Present so registering does not call collect(), which would query the store.
        yield from self._families(Snapshot())

    def collect(self) -> Iterator[Metric]:
        yield from self._families(self.snapshot())

    @staticmethod
    def _families(snap: Snapshot) -> Iterator[Metric]:
        pending = GaugeMetricFamily(
            "monitor_outbox_pending", "Outbox messages waiting for delivery (incl. retrying)."
        )
        pending.add_metric([], snap.outbox_pending)
        yield pending
        dead = GaugeMetricFamily(
            "monitor_outbox_dead", "Outbox messages that failed permanently (see monitor status)."
        )
        dead.add_metric([], snap.outbox_dead)
        yield dead
        incidents = GaugeMetricFamily(
            "monitor_incidents_open", "Open incidents.", labels=["brand", "severity"]
        )
        for (brand, severity), count in sorted(snap.incidents_open.items()):
            incidents.add_metric([brand, severity], count)
        yield incidents
        last = GaugeMetricFamily(
            "monitor_last_successful_poll_timestamp_seconds",
            "When (brand, channel) was last polled without error, unix seconds.",
            labels=["brand", "channel"],
        )
        for (brand, channel), at in sorted(snap.last_success.items()):
            last.add_metric([brand, channel], at)
        yield last


class Metrics:
    """The daemon's metrics. Stages call the methods; `serve` exposes them."""

    def __init__(self, snapshot: Callable[[], Snapshot] | None = None) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.mentions_stored = Counter(
            "monitor_mentions_stored",
            "Mentions stored, by sentiment label.",
            ["brand", "channel", "label"],
            registry=reg,
        )
        self.mentions_rejected = Counter(
            "monitor_mentions_rejected",
            "Fetched mentions not stored, by reason (muted_author, no_term, ...).",
            ["brand", "channel", "reason"],
            registry=reg,
        )
        self.polls = Counter(
            "monitor_polls", "Polls, by outcome.", ["brand", "channel", "outcome"], registry=reg
        )
        self.poll_duration = Histogram(
            "monitor_poll_duration_seconds",
            "Wall time of one poll.",
            ["channel"],
            buckets=POLL_BUCKETS,
            registry=reg,
        )
        self.detect_duration = Histogram(
            "monitor_detect_duration_seconds",
            "Wall time of one spike detection run over every brand.",
            buckets=DETECT_BUCKETS,
            registry=reg,
        )
        self.notifications = Counter(
            "monitor_notifications_sent",
            "Messages delivered to a receiver.",
            ["team", "receiver", "kind"],
            registry=reg,
        )
        if snapshot is not None:
            reg.register(_StoreCollector(snapshot))

    def poll_finished(
        self,
        brand: str,
        channel: str,
        outcome: PollOutcome,
        seconds: float,
        stored_by_label: Mapping[str, int] | None = None,
        rejected_by_reason: Mapping[str, int] | None = None,
    ) -> None:
        self.polls.labels(brand, channel, outcome).inc()
        self.poll_duration.labels(channel).observe(seconds)
        for label, count in (stored_by_label or {}).items():
            self.mentions_stored.labels(brand, channel, label).inc(count)
        for reason, count in (rejected_by_reason or {}).items():
            self.mentions_rejected.labels(brand, channel, reason).inc(count)

    def detect_finished(self, seconds: float) -> None:
        self.detect_duration.observe(seconds)

    def notification_sent(self, team: str, receiver: str, kind: str) -> None:
        self.notifications.labels(team, receiver, kind).inc()


def stale_limit(every_seconds: float) -> float:
    """How long without a good poll before a source counts as stale: three missed polls, and
    never under an hour (a failing source is re-polled at most hourly, see poller backoff)."""
    return max(3 * every_seconds, 3600.0)


class MetricsServer:
    """A threaded HTTP server for /metrics and /healthz; `stop()` closes it."""

    def __init__(self, httpd: ThreadingHTTPServer) -> None:
        self.httpd = httpd
        self.host = str(httpd.server_address[0])
        self.port = int(httpd.server_address[1])
        self.thread = threading.Thread(target=httpd.serve_forever, name="metrics-http", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def _handler(metrics: Metrics, health: Health) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._metrics()
            elif path == "/healthz":
                self._health()
            else:
                self._reply(404, b"not found: try /metrics or /healthz\n")

        def _metrics(self) -> None:
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            try:
                body = encoder(metrics.registry)
            except Exception as exc:  # the store may be locked or gone: Prometheus sees up=0
                log.warning(kv("metrics_scrape_failed", error=type(exc).__name__))
                log.debug("metrics_scrape_failed traceback", exc_info=True)
                self._reply(500, f"snapshot failed: {type(exc).__name__}\n".encode())
                return
            self._reply(200, body, content_type)

        def _health(self) -> None:
            try:
                healthy, reasons = health()
            except Exception as exc:  # a broken check must read as unhealthy, not as a hang
                log.debug("health_check_failed traceback", exc_info=True)
                healthy, reasons = False, [f"health check failed: {type(exc).__name__}"]
            head = "ok" if healthy else "degraded"
            # One reason a line; a reason's own line breaks must not fake another reason.
            lines = [head, *(" ".join(r.split()) for r in reasons)]
            self._reply(200 if healthy else 503, ("\n".join(lines) + "\n").encode())

        def _reply(
            self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8"
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            # A scrape every 15 s would otherwise write a line to stderr each time.
            log.debug("metrics_http " + format, *args)

    return Handler


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def serve(listen: str, metrics: Metrics, health: Health) -> MetricsServer:
    """Start serving /metrics and /healthz on `listen` ("host:port") in a background thread."""
    host, port = parse_listen(listen)
    server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
    try:
        httpd = server_class((host, port), _handler(metrics, health))
    except OSError as exc:
        raise MetricsConfigError(
            f"metrics.listen: cannot listen on {listen!r} ({exc.strerror or exc}); "
            "choose a free port or an address of this machine"
        ) from exc
    httpd.daemon_threads = True
    server = MetricsServer(httpd)
    log.info(kv("metrics_listening", host=server.host, port=server.port))
    return server
