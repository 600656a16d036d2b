"""Logging set-up: `event key=value` lines (or JSON objects) that a stranger's text cannot forge.

Mentions, authors and error texts come from strangers, so a value is escaped before it reaches a
log line: a newline in a post must not start a fake `ERROR` line in journald or in a log shipper.
`kv()` builds our own lines; the formatters also escape messages from other libraries.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, date, datetime
from typing import IO, Literal

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# httpx logs every request URL at INFO, and some APIs take their key in the query string.
QUIET_ALWAYS = ("httpx", "httpcore")
# APScheduler's executors log "Running job ..." and "Job ... executed successfully" at INFO for
# every run (two lines per run: most of the daemon's volume); their warnings and errors (missed
# runs, a job that raised) are kept. `apscheduler.scheduler` logs only start/stop/added at INFO.
QUIET_ABOVE_DEBUG = ("apscheduler.executors",)

_RESERVED = frozenset({"ts", "level", "logger", "event", "message", "exc"})
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class KvLine(str):
    """A formatted `event key=value` line that still knows its event and typed fields.

    It is a str, so `log.info(kv(...))` works with any handler; the JSON formatter reads the
    fields from it instead of parsing the text back.
    """

    event: str
    fields: dict[str, object]

    def __new__(cls, event: str, fields: dict[str, object]) -> KvLine:
        parts = [_token(event)] + [f"{key}={_value(val)}" for key, val in fields.items()]
        line = super().__new__(cls, " ".join(parts))
        line.event = event
        line.fields = fields
        return line


def kv(event: str, **fields: object) -> KvLine:
    """`kv("poll_ok", brand="Acme Co", n=3)` -> `poll_ok brand="Acme Co" n=3`, safely escaped."""
    return KvLine(event, fields)


def escape(text: str, *, quotes: bool = True) -> str:
    """Backslash-escape every non-printable character (line breaks, terminal escapes, bidi
    overrides), so the text stays on one line and shows what it holds; with `quotes`, also `"`
    and backslashes, so a quoted value cannot end early."""
    if text.isprintable() and (not quotes or ('"' not in text and "\\" not in text)):
        return text
    out = []
    for ch in text:
        if ch in _ESCAPES and (quotes or not ch.isprintable()):
            out.append(_ESCAPES[ch])
        elif not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _token(text: str) -> str:
    escaped = escape(text)
    if not text or escaped != text or any(c.isspace() or c == "=" for c in text):
        return f'"{escaped}"'
    return text


def _value(value: object) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return _token(str(value))


def _utc(record: logging.LogRecord) -> str:
    stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """`<utc time> LEVEL logger message`, one line per record; traceback lines are indented so
    they cannot pass for records of their own."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if not isinstance(record.msg, KvLine):
            message = escape(message, quotes=False)
        line = f"{_utc(record)} {record.levelname} {record.name} {message}"
        if record.exc_info:
            trace = self.formatException(record.exc_info)
            line += "".join(f"\n    {escape(part, quotes=False)}" for part in trace.splitlines())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, then event and fields (from kv()) or message."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": _utc(record),
            "level": record.levelname,
            "logger": record.name,
        }
        if isinstance(record.msg, KvLine) and not record.args:
            entry["event"] = record.msg.event
            for key, val in record.msg.fields.items():
                entry[f"field_{key}" if key in _RESERVED else key] = val
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # ensure_ascii also escapes U+2028/U+2029, which some shippers treat as line breaks.
        return json.dumps(entry, ensure_ascii=True, default=str)


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler setup_logging installed, so a second call replaces only it."""


def setup_logging(
    level: str = "INFO", fmt: LogFormat = "text", stream: IO[str] | None = None
) -> None:
    """Configure the root logger once per process (again on reload: it replaces its handler)."""
    name = level.upper()
    if name not in LEVELS:
        raise ValueError(f"log_level: {level!r} is not one of {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ValueError(f"log_format: {fmt!r} is not one of {', '.join(FORMATS)}")
    handler = _OurHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(name)
    for noisy in QUIET_ALWAYS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for noisy in QUIET_ABOVE_DEBUG:
        logging.getLogger(noisy).setLevel(logging.NOTSET if name == "DEBUG" else logging.WARNING)
