"""Loopback receivers shared by the alert and digest tests of every notifier."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import SlackReceiver
from monitor.notify.slack import SlackNotifier
from monitor.validate import Secret
from tests.helpers import (
    HOOK_PATH,
    TOKEN,
    Recorder,
    Server,
    free_port,
)


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Server]]:
    controllers: list[Controller] = []

    def start(**kwargs: Any) -> Server:
        recorder = Recorder()
        port = free_port()
        controller = Controller(
            recorder,
            hostname="127.0.0.1",
            port=port,
            authenticator=recorder.authenticate,
            auth_require_tls=False,
            **kwargs,
        )
        controller.start()
        controllers.append(controller)
        return Server(recorder, port)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def webhook(httpserver: HTTPServer) -> Iterator[SlackNotifier]:
    notifier = SlackNotifier(
        SlackReceiver(webhook_url=Secret(httpserver.url_for(HOOK_PATH))), team="support"
    )
    yield notifier
    notifier.close()


@pytest.fixture
def bot(httpserver: HTTPServer) -> Iterator[SlackNotifier]:
    receiver = SlackReceiver(
        token=Secret(TOKEN), channel="#support", api_url=httpserver.url_for("/api")
    )
    notifier = SlackNotifier(receiver, team="support")
    yield notifier
    notifier.close()


@dataclass
class SlackApi:
    """A loopback Slack Web API speaking chat.postMessage and chat.update as Slack does: a post
    answers the channel's ID and a new `ts`; an update of a message it never posted answers
    `message_not_found`. `refuse` queues error codes for the next calls of a method."""

    channel_id: str = "C0SUPPORT"
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    posted: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    refuse: dict[str, list[str]] = field(default_factory=dict)

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    def handle(self, method: str, request: Request) -> Response:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        body = json.loads(request.get_data())
        self.calls.append((method, body))
        if self.refuse.get(method):
            return _answer({"ok": False, "error": self.refuse[method].pop(0)})
        if method == "chat.postMessage":
            ts = f"1700000000.{len(self.posted) + 1:06d}"
            self.posted[self.channel_id, ts] = body
            return _answer({"ok": True, "channel": self.channel_id, "ts": ts})
        key = (body["channel"], body["ts"])
        if key not in self.posted:
            return _answer({"ok": False, "error": "message_not_found"})
        self.posted[key] = body
        return _answer({"ok": True, "channel": key[0], "ts": key[1], "text": body["text"]})


def _answer(data: dict[str, Any]) -> Response:
    return Response(json.dumps(data), status=200, content_type="application/json")


@pytest.fixture
def slack_api(httpserver: HTTPServer) -> SlackApi:
    api = SlackApi()
    for method in ("chat.postMessage", "chat.update"):
        httpserver.expect_request(f"/api/{method}", method="POST").respond_with_handler(
            lambda request, method=method: api.handle(method, request)
        )
    return api
