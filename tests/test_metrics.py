"""Metrics: real HTTP scrapes of a server on loopback, parsed with Prometheus' own parser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from monitor.addresses import MetricsConfigError, parse_listen
from monitor.metrics import Metrics, MetricsServer, Snapshot, stale_limit
from monitor.metrics import serve as serve_metrics

RULES = Path(__file__).parent.parent / "config" / "prometheus-rules.yml"


def healthy() -> tuple[bool, list[str]]:
    return True, []


@dataclass
class Served:
    metrics: Metrics
    url: str


@pytest.fixture
def served() -> Iterator[Served]:
    """A Metrics with a fixed store snapshot, served on a free loopback port."""
    snap = Snapshot(
        outbox_pending=3,
        outbox_dead=1,
        incidents_open={("Acme", "critical"): 2},
        last_success={("Acme", "reddit"): 1_780_000_000.0},
    )
    metrics = Metrics(lambda: snap)
    server = serve_metrics("127.0.0.1:0", metrics, healthy)
    yield Served(metrics, f"http://127.0.0.1:{server.port}")
    server.stop()


def scrape(served: Served) -> list[Sample]:
    response = httpx.get(f"{served.url}/metrics")
    assert response.status_code == 200
    return [s for f in text_string_to_metric_families(response.text) for s in f.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(found) == 1, f"{name}{labels}: {found}"
    return found[0]


def test_poll_finished_counts_polls_and_stored_mentions_by_label(served: Served) -> None:
    served.metrics.poll_finished("Acme", "reddit", "ok", 1.5, {"negative": 2, "neutral": 5})
    served.metrics.poll_finished("Acme", "reddit", "ok", 0.5, {"negative": 1})
    samples = scrape(served)
    assert value(samples, "monitor_polls_total", brand="Acme", channel="reddit", outcome="ok") == 2
    stored = "monitor_mentions_stored_total"
    assert value(samples, stored, brand="Acme", channel="reddit", label="negative") == 3
    assert value(samples, stored, brand="Acme", channel="reddit", label="neutral") == 5


def test_poll_duration_is_a_histogram_per_channel(served: Served) -> None:
    served.metrics.poll_finished("Acme", "reddit", "failed", 0.3)
    samples = scrape(served)
    assert value(samples, "monitor_poll_duration_seconds_count", channel="reddit") == 1
    assert value(samples, "monitor_poll_duration_seconds_sum", channel="reddit") == 0.3
    assert value(samples, "monitor_poll_duration_seconds_bucket", channel="reddit", le="0.5") == 1
    assert value(samples, "monitor_poll_duration_seconds_bucket", channel="reddit", le="0.25") == 0


def test_rejected_mentions_are_counted_by_reason(served: Served) -> None:
    served.metrics.poll_finished("Acme", "rss", "ok", 0.1, rejected_by_reason={"muted_domain": 4})
    samples = scrape(served)
    name = "monitor_mentions_rejected_total"
    assert value(samples, name, brand="Acme", channel="rss", reason="muted_domain") == 4


def test_notifications_and_detect_runs_are_counted(served: Served) -> None:
    served.metrics.notification_sent("support", "slack", "alert")
    served.metrics.detect_finished(0.02)
    samples = scrape(served)
    name = "monitor_notifications_sent_total"
    assert value(samples, name, team="support", receiver="slack", kind="alert") == 1
    assert value(samples, "monitor_detect_duration_seconds_count") == 1


def test_store_gauges_come_from_the_snapshot_at_scrape_time(served: Served) -> None:
    samples = scrape(served)
    assert value(samples, "monitor_outbox_pending") == 3
    assert value(samples, "monitor_outbox_dead") == 1
    assert value(samples, "monitor_incidents_open", brand="Acme", severity="critical") == 2
    last = "monitor_last_successful_poll_timestamp_seconds"
    assert value(samples, last, brand="Acme", channel="reddit") == 1_780_000_000.0


def test_snapshot_is_not_read_until_a_scrape() -> None:
    calls: list[int] = []

    def snapshot() -> Snapshot:
        calls.append(1)
        return Snapshot()

    Metrics(snapshot)
    assert calls == []


def test_two_metrics_in_one_process_keep_separate_counts() -> None:
    first, second = Metrics(), Metrics()
    first.notification_sent("pr", "email", "alert")
    name, labels = (
        "monitor_notifications_sent_total",
        {"team": "pr", "receiver": "email", "kind": "alert"},
    )
    assert first.registry.get_sample_value(name, labels) == 1
    assert second.registry.get_sample_value(name, labels) is None


def test_a_failing_snapshot_answers_500_without_its_message() -> None:
    def broken() -> Snapshot:
        raise RuntimeError("database is locked at /secret/path")

    server = serve_metrics("127.0.0.1:0", Metrics(broken), healthy)
    try:
        response = httpx.get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.stop()
    assert response.status_code == 500
    assert "RuntimeError" in response.text
    assert "secret" not in response.text


def health_server(healthy: bool, reasons: list[str]) -> MetricsServer:
    return serve_metrics("127.0.0.1:0", Metrics(), lambda: (healthy, reasons))


def test_healthz_answers_200_when_healthy() -> None:
    server = health_server(True, [])
    try:
        response = httpx.get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        server.stop()
    assert (response.status_code, response.text) == (200, "ok\n")


def test_healthz_answers_503_listing_the_reasons_when_degraded() -> None:
    server = health_server(False, ["outbox: 1 dead message", "reddit: no good poll for 3h"])
    try:
        response = httpx.get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        server.stop()
    assert response.status_code == 503
    assert response.text == "degraded\noutbox: 1 dead message\nreddit: no good poll for 3h\n"


def test_healthz_keeps_each_reason_on_one_line() -> None:
    server = health_server(False, ["rss: error from feed\nok"])
    try:
        response = httpx.get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        server.stop()
    assert response.text.splitlines() == ["degraded", "rss: error from feed ok"]


def test_healthz_reports_a_crashing_health_check_as_degraded() -> None:
    def crash() -> tuple[bool, list[str]]:
        raise KeyError("boom")

    server = serve_metrics("127.0.0.1:0", Metrics(), crash)
    try:
        response = httpx.get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        server.stop()
    assert response.status_code == 503
    assert "health check failed: KeyError" in response.text


def test_unknown_path_is_404() -> None:
    server = health_server(True, [])
    try:
        response = httpx.get(f"http://127.0.0.1:{server.port}/")
    finally:
        server.stop()
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("[::1]:0", ("::1", 0)),
        ("localhost:80", ("localhost", 80)),
    ],
)
def test_listen_parses_host_and_port(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize(
    "listen", ["9464", ":9464", "127.0.0.1:", "host:http", "h:70000", "::1:9464"]
)
def test_listen_that_is_not_host_port_is_an_error_showing_an_example(listen: str) -> None:
    with pytest.raises(
        MetricsConfigError, match=r"metrics\.listen: .* write e\.g\. '127\.0\.0\.1:9464'"
    ):
        parse_listen(listen)


def test_listen_on_a_port_in_use_is_an_error_naming_it() -> None:
    first = serve_metrics("127.0.0.1:0", Metrics(), healthy)
    try:
        with pytest.raises(MetricsConfigError, match=f"cannot listen on '127.0.0.1:{first.port}'"):
            serve_metrics(f"127.0.0.1:{first.port}", Metrics(), healthy)
    finally:
        first.stop()


def test_alert_rules_reference_only_metrics_the_daemon_exports(served: Served) -> None:
    served.metrics.poll_finished("Acme", "reddit", "ok", 1.0, {"negative": 1})
    served.metrics.notification_sent("support", "slack", "alert")
    exported = {s.name for s in scrape(served)}
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    assert {r["alert"] for r in rules} == {"MonitorSourceStale", "MonitorOutboxDead"}
    for rule in rules:
        used = set(re.findall(r"\bmonitor_\w+", rule["expr"]))
        assert used, rule["expr"]
        assert used <= exported, used - exported


def test_stale_limit_is_three_polls_and_at_least_an_hour() -> None:
    assert stale_limit(300) == 3600
    assert stale_limit(1800) == 5400


def test_stop_closes_the_port() -> None:
    server = health_server(True, [])
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{server.port}/healthz")
