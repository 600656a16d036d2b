"""The config's `database:`: an SQLite file (the default) or a PostgreSQL URL.

A PostgreSQL password may only come from the environment (`${PGPASSWORD}` in the URL, or the
whole URL from `${DATABASE_URL}`): a config file is copied, committed and pasted into tickets,
and a password written into it leaks with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from monitor.validate import Errors, Secret

_SCHEMES = ("postgresql://", "postgres://")
_ONLY_ENV = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_FIX_PASSWORD = (
    "take the password out of the file: write it as ${PGPASSWORD} "
    '(e.g. "postgresql://monitor:${PGPASSWORD}@db.internal/monitor") and set PGPASSWORD in the '
    "daemon's environment, or give the whole URL as ${DATABASE_URL}"
)


@dataclass(frozen=True, slots=True)
class PostgresDatabase:
    """A PostgreSQL database. `str()` is the URL without its password, safe to log and print."""

    url: Secret
    shown: str

    def reveal_url(self) -> str:
        """The URL with its password, for the store to connect with; never for display."""
        return self.url.reveal()

    def __str__(self) -> str:
        return self.shown


def is_postgres_url(value: object) -> bool:
    return str(value).startswith(_SCHEMES)


def shown_url(url: str) -> str:
    """postgresql://user@host:port/db: the URL without password or query."""
    parts = urlsplit(url)
    user = f"{unquote(parts.username)}@" if parts.username else ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"postgresql://{user}{parts.hostname or 'localhost'}{port}{parts.path}"


def parse_database(
    written: object, value: str, config_path: Path, errors: Errors
) -> Path | PostgresDatabase:
    """`database:` as written in the file (`written`) and after `${ENV}` expansion (`value`).

    A relative SQLite path (or `sqlite:///relative`) resolves against the config file's
    directory; `sqlite:////absolute` and absolute paths stand as they are.
    """
    if not is_postgres_url(value):
        path = Path(value.removeprefix("sqlite:///") if value.startswith("sqlite:///") else value)
        return path if path.is_absolute() else config_path.parent / path
    if _literal_password(written if isinstance(written, str) else ""):
        errors.add("database", "the PostgreSQL URL holds a literal password", _FIX_PASSWORD)
    parts = urlsplit(value)
    if not parts.path.strip("/"):
        errors.add(
            "database",
            f"the PostgreSQL URL {shown_url(value)} names no database",
            'end the URL with the database name, e.g. "postgresql://monitor@db.internal/monitor"',
        )
    return PostgresDatabase(Secret(value), shown_url(value))


def _literal_password(written: str) -> bool:
    """Whether the URL as written in the file carries a password that is not `${ENV}`."""
    if not is_postgres_url(written):
        return False  # the whole URL comes from the environment
    parts = urlsplit(written)
    if parts.password and not _ONLY_ENV.fullmatch(parts.password):
        return True
    given = parse_qs(parts.query).get("password", [])
    return any(not _ONLY_ENV.fullmatch(p) for p in given)
