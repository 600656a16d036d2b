"""Email alerts and weekly digests over SMTP: a text and an HTML part from the jinja2 templates
(a digest adds its chart as an inline image), sent with smtplib.

The digest's plain text is rendered here too (it is the email's text part); the console prints
the same text."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import smtplib
import ssl
from datetime import UTC, timedelta, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime

import jinja2

from monitor.alert_view import AlertView, clean, view
from monitor.config import EmailReceiver, EmailSettings, TeamConfig
from monitor.digest.chart import render_chart
from monitor.digest.view import GREEN, GREY, RED, TONES, DigestView, digest_view
from monitor.models import Alert, Clock, Digest, utcnow
from monitor.notify.base import DeliveryError, Setup
from monitor.report import table

log = logging.getLogger(__name__)

SUBJECT_LIMIT = 200
# Where the digest's HTML finds its chart by default: beside it, as a preview writes it.
CHART_FILE = "chart.png"
_COLOURS = {"CRITICAL": "#c0392b", "WARNING": "#e08e0b", "RESOLVED": "#2e8b57", "TEST": "#5b6ee1"}
# Characters allowed in the left part of a Message-ID (RFC 5322 dot-atom text, minus the few
# that confuse some mail clients' threading); everything else becomes '-'.
_MSGID_UNSAFE = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")

jinja_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("monitor", "templates"),
    # HTML is escaped by default; the text part is not HTML and must not be escaped.
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def header_value(value: str, limit: int = SUBJECT_LIMIT) -> str:
    """A string safe for a header: no CR/LF or other control characters, one line, cut."""
    return clean(value, limit)


def message_id(key: str) -> str:
    """`<key@monitor>`: the same key always gives the same id, so a resend is recognisable."""
    local = _MSGID_UNSAFE.sub("-", key)
    local = re.sub(r"\.{2,}", ".", local).strip(".")[:120]
    if local != key:
        # Two keys that differ only in replaced characters must still get different ids.
        local = f"{local}.{hashlib.sha256(key.encode()).hexdigest()[:12]}".strip(".")
    return f"<{local}@monitor>"


def digest_key(digest: Digest) -> str:
    """`digest-<team>-<week>-<built>`: the outbox resends the same built digest after a crash,
    so a repeat keeps its Message-ID; a digest built again (`monitor digest --send`) is a new
    message that mail systems must not drop as a duplicate of the scheduled one."""
    return f"digest-{digest.team}-{digest.week}-{int(digest.generated_at.timestamp())}"


def render_email(alert: Alert, tz: tzinfo = UTC) -> tuple[str, str, str]:
    """(subject, text body, HTML body) for an alert."""
    v = view(alert, tz)
    subject = header_value(f"[monitor] [{v.badge}] {v.title}")
    return subject, _render("alert_email.txt", v), _render("alert_email.html", v)


def _render(name: str, v: AlertView) -> str:
    return jinja_templates.get_template(name).render(
        view=v, colour=_COLOURS.get(v.badge, "#616061")
    )


def render_html(d: Digest, *, chart_src: str | None = CHART_FILE) -> str:
    """The HTML digest. `chart_src` is where the chart is ('chart.png' beside the file for a
    preview, 'cid:…' in an email); None leaves the chart out. An empty week never shows one."""
    v = digest_view(d)
    return jinja_templates.get_template("digest_email.html").render(
        view=v,
        chart_src=None if v.empty else chart_src,
        tones=TONES,
        colours={"negative": RED, "neutral": GREY, "positive": GREEN},
    )


def render_text(d: Digest) -> str:
    """The plain-text digest: the email's text part and what the console prints."""
    v = digest_view(d)
    return jinja_templates.get_template("digest_email.txt").render(view=v, **_text_tables(v))


def _text_tables(v: DigestView) -> dict[str, str]:
    def indent(text: str) -> str:
        return "\n".join("  " + line for line in text.splitlines())

    return {
        "summary_table": indent(
            table(
                ["", "This week", "Last week", "Change"],
                [(k.label, k.value, k.previous, k.change.text) for k in v.kpis],
            )
        ),
        "days_table": indent(
            table(
                ["Day", "Mentions", "Negative", "Neutral", "Positive", "Neg. share", "Mood"],
                [
                    (r.day, r.mentions, r.negative, r.neutral, r.positive, r.negative_share, r.mean)
                    for r in v.days
                ],
            )
        ),
        "channels_table": indent(
            table(
                ["Channel", "Mentions", "Change", "Negative", "Change", "Mood", "Change"],
                [
                    (
                        r.channel,
                        r.mentions,
                        r.mentions_change.text,
                        r.negative_share,
                        r.negative_change.text,
                        r.mean,
                        r.mean_change.text,
                    )
                    for r in v.channels
                ],
            )
        ),
        "topics_table": indent(
            table(
                ["Topic", "Mentions", "Negative", "Last week", "Change"],
                [
                    (
                        r.topic,
                        r.mentions,
                        r.negative_share,
                        r.previous_share,
                        r.negative_change.text,
                    )
                    for r in v.topics
                ],
            )
        ),
        "authors_table": indent(
            table(
                ["Author", "Channel", "Mentions", "Mood"],
                [(r.author, r.channel, r.mentions, r.mean) for r in v.authors],
            )
        ),
    }


def from_team(team: TeamConfig, setup: Setup) -> EmailNotifier | None:
    if team.email is None:
        return None
    if setup.email is None:
        raise ValueError(
            f"team {setup.team or '?'} has an email receiver but the config has no top-level "
            "email: block. Fix: add email: {host: ..., from: ...}"
        )
    return EmailNotifier(setup.email, team.email, team=setup.team, tz=setup.tz)


class EmailNotifier:
    """Send each alert as one message to the team's addresses through the configured server.

    One SMTP connection per alert: alerts are rare, and a connection held open between them
    would only time out on the server side.
    """

    kind = "email"

    def __init__(
        self,
        settings: EmailSettings,
        receiver: EmailReceiver,
        *,
        team: str = "",
        tz: tzinfo = UTC,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.receiver = receiver
        self.tz = tz
        self.clock = clock
        self.ssl_context = ssl_context or ssl.create_default_context()
        where = f"{settings.host}:{settings.port}"
        self.where = f"email for team {team} via {where}" if team else f"email via {where}"

    @property
    def send_timeout(self) -> timedelta:
        return self.settings.timeout

    def build_message(self, alert: Alert) -> EmailMessage:
        subject, text, html = render_email(alert, self.tz)
        msg = self._headers(subject, alert.idempotency_key)
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        return msg

    def build_digest_message(self, digest: Digest) -> EmailMessage:
        """multipart/alternative: the text, then multipart/related with the HTML and the chart
        as an inline PNG the HTML shows by `cid:`. An empty week has no chart."""
        key = digest_key(digest)
        chart_id = message_id(f"{key}-chart")  # '<…@monitor>'; the HTML wants it bare
        msg = self._headers(header_value(digest_view(digest).subject), key)
        msg.set_content(render_text(digest))
        if digest.empty:
            msg.add_alternative(render_html(digest, chart_src=None), subtype="html")
            return msg
        msg.add_alternative(render_html(digest, chart_src=f"cid:{chart_id[1:-1]}"), subtype="html")
        html = msg.get_body(preferencelist=("html",))
        assert html is not None  # added just above
        html.add_related(
            render_chart(digest),
            maintype="image",
            subtype="png",
            cid=chart_id,
            filename="chart.png",
            disposition="inline",
        )
        return msg

    def _headers(self, subject: str, key: str) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = header_value(self.settings.sender, 320)
        msg["To"] = ", ".join(header_value(a, 320) for a in self.receiver.to)
        msg["Date"] = format_datetime(self.clock().astimezone(UTC))
        msg["Message-ID"] = message_id(key)
        # RFC 3834: keeps vacation responders and ticket systems from replying to an alert.
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Monitor-Ref"] = header_value(key)
        return msg

    def close(self) -> None:
        """Nothing to release: each message opens and closes its own SMTP connection."""

    def send_alert(self, alert: Alert) -> None:
        self.send_message(self.build_message(alert))

    def send_digest(self, digest: Digest) -> None:
        self.send_message(self.build_digest_message(digest))

    def send_message(self, msg: EmailMessage) -> None:
        """Deliver or raise DeliveryError. The server's words are shown only with the
        credentials taken out in every form they travelled in (see `credential_forms`)."""
        try:
            refused = self._deliver(msg)
        except (smtplib.SMTPException, OSError) as exc:
            failure = self._failure(exc)
        else:
            if refused:
                # Delivered to the others: a retry would duplicate it for them, so warn instead.
                log.warning(
                    "email_partly_refused where=%r refused=%s",
                    self.where,
                    ",".join(sorted(refused)),
                )
            return
        # Raised outside the handler so the smtplib error, which holds the server's reply as
        # it came (an echoed AUTH blob included), is not chained to it as __context__.
        raise failure

    def _failure(self, exc: smtplib.SMTPException | OSError) -> DeliveryError:
        match exc:
            case smtplib.SMTPAuthenticationError() if 400 <= exc.smtp_code < 500:
                return DeliveryError(
                    f"{self.where}: temporary authentication failure ({exc.smtp_code}); will retry"
                )
            case smtplib.SMTPAuthenticationError():
                return DeliveryError(
                    f"{self.where}: the server rejected username {self.settings.username!r} "
                    f"({exc.smtp_code}). Fix: check email.username and email.password",
                    permanent=True,
                )
            case smtplib.SMTPRecipientsRefused():
                return self._refused(exc.recipients)
            case smtplib.SMTPSenderRefused():
                return self._by_code(
                    exc.smtp_code,
                    exc.smtp_error,
                    f"the server refused sender {self.settings.sender!r}",
                    "set email.from to an address this server may send as",
                )
            case smtplib.SMTPNotSupportedError():
                return DeliveryError(
                    f"{self.where}: the server does not offer {_extension(exc)} "
                    f"(security: {self.settings.security}). Fix: check email.security "
                    "(starttls on 587, tls on 465, plain for a local relay) and email.username",
                    permanent=True,
                )
            case smtplib.SMTPConnectError():
                return DeliveryError(
                    f"{self.where}: the server turned the connection away ({exc.smtp_code} "
                    f"{self._reply_text(exc.smtp_error)}); will retry"
                )
            case smtplib.SMTPResponseException():
                return self._by_code(
                    exc.smtp_code, exc.smtp_error, "the server refused the message", "ask its admin"
                )
            case ssl.SSLError():
                # Retrying cannot fix a certificate or a TLS/port mismatch; a human has to.
                return DeliveryError(
                    f"{self.where}: TLS failed ({_tls_problem(exc)}). Fix: check "
                    "email.security and email.port (tls is usually 465, starttls 587) and that "
                    "the server's certificate is valid for email.host",
                    permanent=True,
                )
        # Refused connections, timeouts, DNS failures, dropped connections: all transient.
        return DeliveryError(
            f"{self.where}: cannot reach the server ({_describe_os_error(exc)}); will retry"
        )

    def _deliver(self, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
        s = self.settings
        timeout = s.timeout.total_seconds()
        smtp: smtplib.SMTP
        if s.security == "tls":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=timeout, context=self.ssl_context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password.reveal() if s.password else "")
            return smtp.send_message(msg)

    def _refused(self, recipients: dict[str, tuple[int, bytes]]) -> DeliveryError:
        codes = ", ".join(f"{addr} ({code})" for addr, (code, _) in sorted(recipients.items()))
        if all(400 <= code < 500 for code, _ in recipients.values()):
            return DeliveryError(f"{self.where}: recipients deferred: {codes}; will retry")
        return DeliveryError(
            f"{self.where}: the server refused every recipient: {codes}. "
            "Fix: check the addresses under the team's email.to",
            permanent=True,
        )

    def _by_code(self, code: int, reply: bytes | str, problem: str, fix: str) -> DeliveryError:
        text = self._reply_text(reply)
        if 400 <= code < 500 or code < 0:
            return DeliveryError(f"{self.where}: {problem}: {code} {text}; will retry")
        return DeliveryError(f"{self.where}: {problem}: {code} {text}. Fix: {fix}", permanent=True)

    def _reply_text(self, reply: bytes | str) -> str:
        """The server's words, short and on one line, with the credentials masked should it
        echo them."""
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        password = self.settings.password.reveal() if self.settings.password else ""
        for form in credential_forms(self.settings.username or "", password):
            text = text.replace(form, "***")
        return clean(text, 160)


def credential_forms(username: str, password: str) -> list[str]:
    """The password as typed and as it travels on the wire, longest first: AUTH PLAIN's blob
    (with and without an authorisation id), AUTH LOGIN's base64 user and password, and the
    part of any base64 text that carries the password at each of the three byte offsets, so
    an echo in a shape we did not foresee is caught too."""
    if not password:
        return []
    user, secret = username.encode(), password.encode()
    forms = {
        password,
        _b64(b"\0" + user + b"\0" + secret),
        _b64(user + b"\0" + user + b"\0" + secret),
        _b64(secret),
    }
    if username:
        forms.add(_b64(user))
    for offset in range(3):
        # The characters whose six bits all come from the password, whatever surrounds it.
        encoded = _b64(b"\0" * offset + secret)
        core = encoded[-(-8 * offset // 6) : 8 * (offset + len(secret)) // 6]
        if len(core) >= 6:
            forms.add(core)
    return sorted(forms, key=len, reverse=True)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _extension(exc: smtplib.SMTPNotSupportedError) -> str:
    text = str(exc)
    if "STARTTLS" in text:
        return "STARTTLS"
    return "authentication (AUTH)" if "AUTH" in text else "a needed SMTP extension"


def _tls_problem(exc: ssl.SSLError) -> str:
    detail = getattr(exc, "verify_message", None) or exc.reason or type(exc).__name__
    return str(detail).lower().replace("_", " ")


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib turns a read timeout into "Connection unexpectedly closed: timed out".
        return "timed out" if "timed out" in str(exc) else "connection closed by the server"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
