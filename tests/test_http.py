"""monitor.http against real sockets on 127.0.0.1: the overall deadline and its settings."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import ConfigError, load_config
from monitor.http import DeadlineExceeded, HttpClient, HttpError, HttpSettings
from monitor.poller import Poller
from monitor.store import Store
from tests.helpers import FixedClock

HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"


class SlowServer:
    """Answers every request with headers, then `drip` bytes every `every` seconds, forever."""

    def __init__(self, every: float, drip: bytes) -> None:
        self.every = every
        self.drip = drip
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(HEADERS)
                while not self.stop.wait(self.every):
                    conn.sendall(self.drip)
            except OSError:  # the client gave up and closed: what the test wants
                return


@contextmanager
def serving(every: float, drip: bytes) -> Iterator[SlowServer]:
    server = SlowServer(every, drip)
    server.thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.thread.join()
        server.listener.close()


@pytest.fixture
def dripping() -> Iterator[SlowServer]:
    with serving(every=0.05, drip=b" ") as server:
        yield server


@pytest.fixture
def silent() -> Iterator[SlowServer]:
    with serving(every=3600, drip=b"") as server:
        yield server


def test_a_server_dripping_bytes_is_cut_off_at_the_deadline(dripping: SlowServer) -> None:
    settings = HttpSettings(timeout=timedelta(seconds=5), deadline=timedelta(seconds=0.5))
    client = HttpClient("hackernews", settings, sleep=lambda _: None)
    with pytest.raises(
        DeadlineExceeded, match=r"hackernews: http://127.0.0.1:\d+/s .*0.5s deadline"
    ):
        client.request("GET", f"http://127.0.0.1:{dripping.port}/s?key=secret")
    client.close()


def test_a_deadline_cut_is_not_retried(dripping: SlowServer) -> None:
    settings = HttpSettings(timeout=timedelta(seconds=5), deadline=timedelta(seconds=0.3))
    client = HttpClient("rss", settings, sleep=lambda _: None)
    with pytest.raises(DeadlineExceeded):
        client.request("GET", f"http://127.0.0.1:{dripping.port}/feed")
    assert client.requests == 1


def test_no_single_read_waits_longer_than_the_deadline(silent: SlowServer) -> None:
    # A 1-hour read timeout would hang this test; the deadline bounds each read too.
    settings = HttpSettings(
        timeout=timedelta(hours=1), deadline=timedelta(seconds=0.3), max_retries=0
    )
    client = HttpClient("rss", settings, sleep=lambda _: None)
    with pytest.raises(HttpError, match="timed out after 1 attempts"):
        client.request("GET", f"http://127.0.0.1:{silent.port}/feed")


def test_deadline_defaults_to_twice_the_timeout() -> None:
    assert HttpSettings(timeout=timedelta(seconds=7)).deadline_seconds == 14


@pytest.mark.parametrize("seconds", [0, -1])
def test_a_deadline_that_is_not_positive_is_refused(seconds: int) -> None:
    with pytest.raises(ValueError, match="deadline must be more than 0s"):
        HttpSettings(deadline=timedelta(seconds=seconds))


def test_a_dripping_source_fails_its_poll_with_the_deadline_as_its_error(
    dripping: SlowServer, write_config: Callable[[str], Path], clock: FixedClock
) -> None:
    config = load_config(
        write_config(
            "brands:\n  - {name: Apple, terms: [apple], channels: [hackernews]}\n"
            f"channels:\n  hackernews: {{base_url: 'http://127.0.0.1:{dripping.port}',"
            " timeout: 5s, deadline: 500ms}\n"
        )
    )
    with Store(config.database) as store:
        poller = Poller(config, store, clock=clock, sleep=lambda s: None)
        report = poller.poll("Apple", "hackernews")
        poller.close()
    assert report.error is not None
    assert "did not finish answering within the 0.5s deadline" in report.error


def test_a_deadline_of_zero_in_the_config_is_refused(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        "brands:\n  - {name: Apple, terms: [apple], channels: [hackernews]}\n"
        "channels:\n  hackernews: {deadline: 0s}\n"
    )
    with pytest.raises(ConfigError, match="deadline must be more than 0s"):
        load_config(path)
