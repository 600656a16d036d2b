"""Email notifier against a real aiosmtpd server on 127.0.0.1 (plain, STARTTLS and implicit TLS)."""

from __future__ import annotations

import base64
import logging
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from monitor.config import load_config
from monitor.models import AlertMention
from monitor.notify.base import DeliveryError
from monitor.notify.email import message_id
from monitor.outbox import outbox_for
from monitor.store import Store
from monitor.validate import Secret
from tests.helpers import (
    HOSTILE,
    PASSWORD,
    TO,
    Server,
    free_port,
    html_part,
    make_alert,
    notifier,
    resolved_alert,
    text_part,
)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed; TLS tests need it to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = shlex.split(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
    )
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    return cert, key


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def test_alert_arrives_with_text_and_html_parts(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    notifier(server.port).send_alert(make_alert())
    envelope, _ = server.recorder.messages[0]
    assert envelope.mail_from == "monitor@acme.example"
    assert envelope.rcpt_tos == ["support@acme.example", "oncall@acme.example"]
    msg = server.recorder.received()
    assert msg.get_content_type() == "multipart/alternative"
    assert "42 in 1 h (expected 3.5)" in text_part(msg)
    assert "42 in 1 h (expected 3.5)" in html_part(msg)
    assert msg["Auto-Submitted"] == "auto-generated"


def test_message_id_is_derived_from_the_idempotency_key(
    smtp_server: Callable[..., Server],
) -> None:
    server = smtp_server()
    sender = notifier(server.port)
    sender.send_alert(make_alert(idempotency_key="incident-7-opened-1"))
    sender.send_alert(make_alert(idempotency_key="incident-7-opened-1"))
    ids = [server.recorder.received(i)["Message-ID"] for i in range(2)]
    assert ids == ["<incident-7-opened-1@monitor>"] * 2


def test_message_id_of_an_odd_key_is_sanitised_but_still_unique() -> None:
    first = message_id("a b\r\n<x>")
    second = message_id("a b\r\n<y>")
    assert re.fullmatch(r"<[A-Za-z0-9.=_-]+@monitor>", first), first
    assert first != second


def test_subject_names_kind_severity_brand_and_scope(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    notifier(server.port).send_alert(make_alert())
    assert server.recorder.received()["Subject"] == (
        "[monitor] [CRITICAL] Negative spike: Acme / topic outage"
    )


def test_resolve_email_shows_duration_and_peak(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    notifier(server.port).send_alert(resolved_alert())
    msg = server.recorder.received()
    assert msg["Subject"].startswith("[monitor] [RESOLVED] Resolved:")
    for body in (text_part(msg), html_part(msg)):
        assert "lasted 2 h 15 min" in body and "14.2× expected" in body


def test_test_alert_email_says_it_is_a_test(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    notifier(server.port).send_alert(make_alert(kind="test"))
    msg = server.recorder.received()
    assert msg["Subject"].startswith("[monitor] [TEST] TEST alert")
    assert "TEST ALERT: nothing is wrong" in html_part(msg)


def test_nothing_listening_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        notifier(free_port()).send_alert(make_alert())
    assert not caught.value.permanent
    assert "connection refused" in str(caught.value)


def test_a_server_that_never_greets_times_out_retryably() -> None:
    # The kernel accepts the connection from the backlog; no banner ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(DeliveryError) as caught:
            notifier(port, timeout=timedelta(seconds=0.05)).send_alert(make_alert())
    assert not caught.value.permanent
    assert "timed out" in str(caught.value)


def test_logs_in_when_a_username_is_set(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    sender = notifier(server.port, username="monitor", password=Secret(PASSWORD))
    sender.send_alert(make_alert())
    assert server.recorder.logins == [LoginPassword(b"monitor", PASSWORD.encode())]
    _, session = server.recorder.messages[0]
    assert session.authenticated


def test_does_not_log_in_without_a_username(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    notifier(server.port).send_alert(make_alert())
    assert server.recorder.logins == []
    assert len(server.recorder.messages) == 1


def test_rejected_password_is_permanent_and_never_shown(
    smtp_server: Callable[..., Server],
) -> None:
    server = smtp_server()
    sender = notifier(server.port, username="monitor", password=Secret("wrong-" + PASSWORD))
    with pytest.raises(DeliveryError) as caught:
        sender.send_alert(make_alert())
    assert caught.value.permanent
    assert "email.password" in str(caught.value)
    assert PASSWORD not in f"{caught.value} {caught.value!r} {caught.value.__context__!r}"


def test_recipients_refused_with_5xx_is_permanent(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    server.recorder.rcpt_reply = "550 5.1.1 No such user"
    with pytest.raises(DeliveryError) as caught:
        notifier(server.port).send_alert(make_alert())
    assert caught.value.permanent
    assert "support@acme.example (550)" in str(caught.value)


def test_recipients_deferred_with_4xx_is_retryable(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    server.recorder.rcpt_reply = "451 4.7.1 Greylisted, try again later"
    with pytest.raises(DeliveryError) as caught:
        notifier(server.port).send_alert(make_alert())
    assert not caught.value.permanent


def test_starttls_upgrades_before_sending(
    smtp_server: Callable[..., Server], server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    server = smtp_server(tls_context=server_tls, require_starttls=True)
    notifier(server.port, security="starttls", ssl_context=client_tls).send_alert(make_alert())
    _, session = server.recorder.messages[0]
    assert session.ssl is not None


def test_starttls_against_a_server_without_it_is_permanent(
    smtp_server: Callable[..., Server], client_tls: ssl.SSLContext
) -> None:
    server = smtp_server()
    with pytest.raises(DeliveryError) as caught:
        notifier(server.port, security="starttls", ssl_context=client_tls).send_alert(make_alert())
    assert caught.value.permanent
    assert "STARTTLS" in str(caught.value) and "email.security" in str(caught.value)


def test_implicit_tls_delivers(
    smtp_server: Callable[..., Server], server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    server = smtp_server(ssl_context=server_tls)
    notifier(server.port, security="tls", ssl_context=client_tls).send_alert(make_alert())
    assert len(server.recorder.messages) == 1


def test_untrusted_certificate_is_permanent(
    smtp_server: Callable[..., Server], server_tls: ssl.SSLContext
) -> None:
    server = smtp_server(ssl_context=server_tls)
    # The default context trusts the system CAs, not our self-signed certificate.
    with pytest.raises(DeliveryError) as caught:
        notifier(server.port, security="tls").send_alert(make_alert())
    assert caught.value.permanent
    assert "certificate" in str(caught.value)


def test_hostile_mention_arrives_inert_in_email(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    alert = make_alert(
        top_mentions=(HOSTILE,),
        scope_value="outage\r\nBcc: victim@example.com",
        idempotency_key="k\r\nBcc: victim@example.com",
    )
    notifier(server.port).send_alert(alert)
    envelope, _ = server.recorder.messages[0]
    assert envelope.rcpt_tos == list(TO.to)
    msg = server.recorder.received()
    assert msg["Bcc"] is None
    for name, value in msg.items():
        assert "\r" not in value and "\n" not in value, name
    html = html_part(msg)
    assert "<script" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;http://evil.example|click&gt;" in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs == ["http://evil.example/a%22%3E%3Cscript%3Ealert(2)%3C/script%3E%7Cclick%3E"]
    text = text_part(msg)
    assert "\x1b" not in text and "\u202e" not in text
    assert "\nSubject: injected" not in text


def test_html_links_only_http_urls(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    unsafe = tuple(
        AlertMention(
            author="a",
            channel="rss",
            text="t",
            url=url,
            compound=-0.9,
            created_at=HOSTILE.created_at,
        )
        for url in ("javascript:alert(1)", "data:text/html,x", "vbscript:x", "//evil.example/x")
    )
    notifier(server.port).send_alert(make_alert(top_mentions=unsafe))
    html = html_part(server.recorder.received())
    assert "href=" not in html.split("Most negative mentions")[1]
    assert "javascript:" not in html


# -- credentials echoed back by the server ------------------------------------------------------

USER = "monitor@acme.example"


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


# Every form in which the password travels: as typed, AUTH PLAIN's blob (with and without an
# authorisation id), and AUTH LOGIN's base64 user and password.
SECRET_FORMS = (
    PASSWORD,
    b64(f"\0{USER}\0{PASSWORD}"),
    b64(f"{USER}\0{USER}\0{PASSWORD}"),
    b64(USER),
    b64(PASSWORD),
)


@dataclass
class Echo:
    """An aiosmtpd handler that repeats the credentials it was sent, as they came on the wire,
    in its error reply: to AUTH itself, or (accept=True) after accepting them, to MAIL FROM."""

    code: int
    accept: bool
    echo: str = ""

    async def auth_PLAIN(self, server: Any, args: list[str]) -> AuthResult:
        blob = args[1] if len(args) > 1 else b64(await server.challenge_auth(""))
        return await self._answer(server, f"AUTH PLAIN {blob}")

    async def auth_LOGIN(self, server: Any, args: list[str]) -> AuthResult:
        user = args[1] if len(args) > 1 else b64(await server.challenge_auth("Username:"))
        password = b64(await server.challenge_auth("Password:"))
        return await self._answer(server, f"AUTH LOGIN {user} {password}")

    async def _answer(self, server: Any, echo: str) -> AuthResult:
        self.echo = echo
        if self.accept:
            return AuthResult(success=True)
        await server.push(f"{self.code} 5.7.8 Authentication failed for {echo}")
        return AuthResult(success=False, handled=True)

    async def handle_MAIL(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        return f"{self.code} 5.7.1 Sender refused for the account of {self.echo}"


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize(("code", "accept"), [(535, False), (454, False), (553, True), (451, True)])
def test_credentials_echoed_by_the_server_appear_in_no_error_status_or_log(
    write_config: Callable[[str], Path],
    caplog: pytest.LogCaptureFixture,
    mechanism: str,
    code: int,
    accept: bool,
) -> None:
    handler = Echo(code, accept)
    port = free_port()
    other = "LOGIN" if mechanism == "PLAIN" else "PLAIN"
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        auth_exclude_mechanism=[other],
    )
    controller.start()
    config = load_config(
        write_config(
            "brands: [{name: Acme, terms: [acme]}]\n"
            "teams: {cx: {email: {to: [cx@acme.example]}}}\n"
            "routes: [{team: cx}]\n"
            f"email: {{host: 127.0.0.1, port: {port}, security: plain, from: {USER}, "
            f"username: '{USER}', password: '{PASSWORD}', timeout: 5s}}\n"
        )
    )
    caplog.set_level(logging.DEBUG, logger="monitor")
    try:
        with Store(config.database) as store:
            outbox = outbox_for(config, store)
            with store.transaction():
                outbox.enqueue("cx", "opened", make_alert(), "incident-7-opened-1:cx")
            assert outbox.deliver_once().sent == 0
            [row] = store.messages()
            sender = notifier(port, username=USER, password=Secret(PASSWORD))
            with pytest.raises(DeliveryError) as caught:
                sender.send_alert(make_alert())
    finally:
        controller.stop()
    assert mechanism in handler.echo  # the server did see, and echo, the credentials
    chain: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    shown = [
        row.last_error or "",
        *(f"{e} {e!r}" for e in chain),
        *("".join(traceback.format_exception(e)) for e in chain),
        *(
            r.getMessage() + (r.exc_text or "")
            for r in caplog.records
            if r.name.startswith("monitor")
        ),
    ]
    assert row.last_error and str(code) in row.last_error
    for text in shown:
        for form in SECRET_FORMS:
            assert form not in text, (form, text)
