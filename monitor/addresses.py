"""Addresses written in the config: a host:port to listen on, a domain to mute.

Parsing them needs nothing heavier than the standard library, so `monitor check` can validate
them without importing the metrics server or the matcher.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

DEFAULT_LISTEN = "127.0.0.1:9464"
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class MetricsConfigError(ValueError):
    """A `metrics.listen` value that cannot be served; the text says what to write instead."""


def parse_listen(value: str) -> tuple[str, int]:
    """`"127.0.0.1:9464"` -> ("127.0.0.1", 9464); `"[::1]:9464"` for IPv6; port 0 picks one."""
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""  # an IPv6 address without brackets: the port is ambiguous
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise MetricsConfigError(
            f"metrics.listen: {value!r} is not host:port; write e.g. {DEFAULT_LISTEN!r} "
            "(or '[::1]:9464' for IPv6; port 0-65535)"
        )
    return host, int(port_text)


def normalize_domain(value: str) -> str:
    """`Example.COM`, `https://example.com/x`, `*.example.com`, `example.com:443` -> `example.com`.

    Raises ValueError naming the value when it is not a host name, so config validation can
    show it with its field path.
    """
    text = value.strip().lower().removeprefix("*.")
    try:
        host = urlsplit(text if "://" in text else "//" + text).hostname or ""
        host = host.rstrip(".").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        host = ""
    labels = host.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            f"{value!r} is not a domain: write a host name such as 'example.com' "
            "(it also mutes its subdomains)"
        )
    return host
