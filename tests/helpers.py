"""Helpers shared by test modules: real payloads, fixed clocks, sample alerts and digests."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from pytest_httpserver import HTTPServer

from monitor.config import EmailReceiver, EmailSettings
from monitor.demo import algolia_search
from monitor.models import (
    Alert,
    AlertMention,
    Digest,
    DigestAuthor,
    DigestChannel,
    DigestDay,
    DigestIncident,
    DigestMention,
    DigestTopic,
    Sentiment,
)
from monitor.notify.email import EmailNotifier

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "xoxb-1111-2222-tokensecretABC"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fixture_path(*parts: str) -> Path:
    return FIXTURES.joinpath(*parts)


def real_hn_hits() -> list[dict[str, Any]]:
    """Every distinct hit recorded from hn.algolia.com in fixtures.json, newest first."""
    entries = json.loads(fixture_path("hn_algolia", "fixtures.json").read_text())
    hits: dict[str, dict[str, Any]] = {}
    for entry in entries:
        reply = entry["reply"]
        if isinstance(reply, dict):
            for hit in reply.get("hits", []):
                hits[hit["objectID"]] = hit
    return sorted(hits.values(), key=lambda h: -h["created_at_i"])


def algolia_page(hits: list[dict[str, Any]], page: int, per_page: int) -> dict[str, Any]:
    # hitsPerPage=0 asks only for nbHits, as Algolia allows.
    pages = (len(hits) + per_page - 1) // per_page if per_page else 0
    return {
        "hits": hits[page * per_page : (page + 1) * per_page],
        "nbHits": len(hits),
        "page": page,
        "nbPages": pages,
        "hitsPerPage": per_page,
        "processingTimeMS": 1,
    }


def slack_texts(payload: dict[str, Any]) -> list[str]:
    """Every string Slack would parse as text in the payload, fallback included."""
    found: list[str] = [payload["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload["blocks"])
    return found


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**kwargs)


STARTED = datetime(2024, 6, 21, 10, 0, tzinfo=UTC)


# Everything a stranger could put in a alert_mention to break out of its place in a message.
HOSTILE = AlertMention(
    author="<@U123> mallory\r\nBcc: victim@example.com",
    channel="reddit",
    text=(
        "<!channel> <@U123> <http://evil.example|click> <script>alert(1)</script> "
        "<b onmouseover=x>hi</b> & \x1b[2J\x1b[31mred\x1b]8;;http://evil.example\x07link"
        "\x1b]8;;\x07\x9b0m\u202eevil\r\nSubject: injected"
    ),
    url='http://evil.example/a"><script>alert(2)</script>|click>',
    compound=-0.99,
    created_at=STARTED,
)


def alert_mention(i: int = 0, **overrides: Any) -> AlertMention:
    base = AlertMention(
        author=f"user{i}",
        channel="hackernews",
        text=f"Acme support ignored my ticket for the {i}th time, terrible.",
        url=f"https://news.ycombinator.com/item?id={1000 + i}",
        compound=-0.5 - i / 100,
        created_at=STARTED + timedelta(minutes=i),
    )
    return dataclasses.replace(base, **overrides)


def make_alert(**overrides: Any) -> Alert:
    """An open critical spike on one topic, with seven mentions of evidence."""
    base = Alert(
        kind="opened",
        incident_id=7,
        idempotency_key="incident-7-opened-1",
        brand="Acme",
        scope_kind="topic",
        scope_value="outage",
        severity="critical",
        count=42,
        expected=3.5,
        ratio=12.0,
        window=timedelta(hours=1),
        started_at=STARTED,
        peak_ratio=12.0,
        top_mentions=tuple(alert_mention(i) for i in range(7)),
        top_topics=(("outage", 12), ("billing", 4)),
    )
    return dataclasses.replace(base, **overrides)


def resolved_alert() -> Alert:
    return make_alert(
        kind="resolved",
        ratio=1.1,
        peak_ratio=14.25,
        resolved_at=STARTED + timedelta(hours=2, minutes=15),
    )


HOOK_PATH = "/services/T0001/B0001/hooksecretXYZ"


def sent_json(httpserver: HTTPServer, index: int = 0) -> dict[str, Any]:
    request, _ = httpserver.log[index]
    return json.loads(request.get_data())


def expect_hook(httpserver: HTTPServer) -> Any:
    return httpserver.expect_request(HOOK_PATH, method="POST")


def expect_api(httpserver: HTTPServer) -> Any:
    return httpserver.expect_request("/api/chat.postMessage", method="POST")


TO = EmailReceiver(to=("support@acme.example", "oncall@acme.example"))


PASSWORD = "s3cret-smtp-pass"


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what arrives, and can refuse recipients on demand."""

    messages: list[tuple[Envelope, Session]] = field(default_factory=list)
    logins: list[LoginPassword] = field(default_factory=list)
    rcpt_reply: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.messages.append((envelope, session))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.logins.append(data)
        ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False, auth_data=data)

    def received(self, index: int = 0) -> EmailMessage:
        envelope, _ = self.messages[index]
        return email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type, return-value]


@dataclass
class Server:
    recorder: Recorder
    port: int


def settings(port: int, **overrides: Any) -> EmailSettings:
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "plain",
        "sender": "monitor@acme.example",
        "timeout": timedelta(seconds=5),
    } | overrides
    return EmailSettings(**options)


def notifier(port: int, **overrides: Any) -> EmailNotifier:
    context = overrides.pop("ssl_context", None)
    return EmailNotifier(settings(port, **overrides), TO, team="support", ssl_context=context)


def html_part(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def text_part(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


LONDON = ZoneInfo("Europe/London")


START = datetime(2026, 11, 16, tzinfo=LONDON)  # Monday of 2026-W47


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sentiment(negative: int, neutral: int, positive: int, mean: float | None) -> Sentiment:
    return Sentiment(negative + neutral + positive, negative, neutral, positive, mean)


EMPTY = Sentiment(0, 0, 0, 0, None)


def digest_mention(i: int = 0, **overrides: Any) -> DigestMention:
    base = DigestMention(
        brand="Acme",
        author=f"user{i}",
        channel="hackernews",
        text=f"Acme support ignored my ticket for the {i}th time, terrible.",
        url=f"https://news.ycombinator.com/item?id={1000 + i}",
        created_at=datetime(2026, 11, 17, 10, i, tzinfo=UTC),
        compound=-0.9 + i / 100,
        author_reach=1234.0,
    )
    return dataclasses.replace(base, **overrides)


def make_digest(**overrides: Any) -> Digest:
    """Week 47 of 2026 for one brand: 100 mentions, 40% negative; 80 the week before, 50%."""
    days = [
        sentiment(10, 5, 5, -0.2),
        sentiment(8, 4, 8, 0.0),
        sentiment(6, 6, 8, 0.1),
        sentiment(6, 4, 5, -0.05),
        sentiment(5, 3, 2, -0.3),
        sentiment(3, 2, 5, 0.2),
        EMPTY,
    ]
    base = Digest(
        team="cx",
        timezone="Europe/London",
        week="2026-W47",
        start=START,
        end=START + timedelta(days=7),
        brands=("Acme",),
        channels=(),
        topics=(),
        week_total=sentiment(40, 25, 35, -0.04),
        previous_total=sentiment(40, 20, 20, -0.2),
        days=tuple(
            DigestDay(date(2026, 11, 16) + timedelta(days=i), s) for i, s in enumerate(days)
        ),
        by_channel=(
            DigestChannel("hackernews", sentiment(30, 15, 15, -0.1), sentiment(30, 10, 10, -0.3)),
            DigestChannel("reddit", sentiment(10, 10, 20, 0.05), sentiment(10, 10, 10, 0.0)),
        ),
        by_topic=(
            DigestTopic("billing", sentiment(12, 6, 2, -0.4), sentiment(9, 8, 3, -0.3)),
            DigestTopic("pricing", sentiment(2, 3, 5, 0.1), EMPTY),
        ),
        most_negative=tuple(digest_mention(i) for i in range(5)),
        most_positive=tuple(
            digest_mention(10 + i, compound=0.9 - i / 100, text=f"Acme is great, reason {i}.")
            for i in range(5)
        ),
        incidents=(
            DigestIncident(
                7,
                "Acme / topic billing",
                "critical",
                datetime(2026, 11, 17, 9, 0, tzinfo=UTC),
                datetime(2026, 11, 17, 11, 15, tzinfo=UTC),
                12.5,
                40,
            ),
        ),
        authors=(DigestAuthor("user0", "hackernews", 9, -0.5),),
        generated_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )
    return dataclasses.replace(base, **overrides)


def empty_digest() -> Digest:
    return make_digest(
        week_total=EMPTY,
        days=tuple(DigestDay(date(2026, 11, 16) + timedelta(days=i), EMPTY) for i in range(7)),
        by_channel=(),
        by_topic=(),
        most_negative=(),
        most_positive=(),
        incidents=(),
        authors=(),
    )


class DaemonProcess:
    """`monitor run` in a child process; its log lines are read as they come."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "-c", str(config), "run"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put("")  # the process ended

    def wait_for(self, *fragments: str, timeout: float = 30) -> str:
        """The next log line holding every fragment, within `timeout` s in all (a daemon that
        keeps logging other lines must not keep the wait going)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                last = "".join(self.log[-8:])
                raise AssertionError(
                    f"no log line with {fragments} in {timeout} s:\n{last}"
                ) from None
            self.log.append(line)
            if not line:
                raise AssertionError(f"daemon exited before logging {fragments}")
            if all(f in line for f in fragments):
                return line

    def rest(self) -> list[str]:
        """Every line not read yet, once the process has ended."""
        self.proc.wait(timeout=30)
        while (line := self.lines.get(timeout=30)) != "":
            self.log.append(line)
        return self.log

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.proc.kill()

    def kill(self) -> None:
        """kill -9: no handler runs, no lease or claim is given back."""
        self.proc.kill()
        self.proc.wait(timeout=30)


class LoopbackWebhook(ThreadingHTTPServer):
    """A webhook on loopback, served on threads of its own: each POST's body goes to
    `receive`, and the request is answered 200 "ok" unless `receive` returns False (it is then
    left unanswered, as a receiver that hangs or a sender killed mid-request leaves it)."""

    def __init__(self) -> None:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if hook.receive(self.rfile.read(int(self.headers["Content-Length"]))):
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.daemon_threads = True
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def receive(self, body: bytes) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _BusyServer(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when hundreds of polls arrive at once; the
    # client's retry of a dropped one would then show as two requests at once.
    request_queue_size = 1024
    daemon_threads = True


class RecordingSource:
    """A loopback hn.algolia.com that records every request per query, the most it served at
    once per query, and can hold one query's next request until released (a poll in flight)."""

    def __init__(self, hits: list[dict[str, Any]], delay: float = 0.0) -> None:
        self.hits = sorted(hits, key=lambda h: -int(h["created_at_i"]))
        self.delay = delay
        self.requests: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}
        self.most_at_once: dict[str, int] = {}
        self.hold_query: str | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.changed = threading.Condition()
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                params = parse_qs(urlsplit(self.path).query)
                query = params.get("query", [""])[0]
                source._begin(query)
                try:
                    if query == source.hold_query and not source.held.is_set():
                        source.held.set()
                        source.release.wait(timeout=60)
                    elif source.delay:
                        time.sleep(source.delay)  # the API's own latency
                    body = json.dumps(algolia_search(source.hits, params, time.time())).encode()
                finally:
                    # Before the answer goes out: the poller's next request may arrive before
                    # this thread runs again, and must not count as a second one at once.
                    source._end(query)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the poller was killed mid-request

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = _BusyServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _begin(self, query: str) -> None:
        with self.changed:
            self.in_flight[query] = self.in_flight.get(query, 0) + 1
            self.most_at_once[query] = max(self.most_at_once.get(query, 0), self.in_flight[query])
            self.requests[query] = self.requests.get(query, 0) + 1
            self.changed.notify_all()

    def _end(self, query: str) -> None:
        with self.changed:
            self.in_flight[query] -= 1
            self.changed.notify_all()

    def wait_until(self, condition: Callable[[], bool], timeout: float = 60) -> bool:
        with self.changed:
            return self.changed.wait_for(condition, timeout)

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
