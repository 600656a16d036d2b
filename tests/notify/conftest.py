"""Loopback receivers shared by the alert and digest tests of every notifier."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer

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
