"""`monitor db copy`: move an installation to another database. Thin: it opens both stores and
calls monitor.dbcopy."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit, urlunsplit

import click

from monitor.cli_base import EXIT_UNUSABLE, fail


@click.group()
def db() -> None:
    """The database itself: move an installation to another one."""


@db.command("copy")
@click.option(
    "--from",
    "source",
    required=True,
    help="Where the installation is now: a SQLite path or sqlite:///path, or postgresql://...",
)
@click.option(
    "--to",
    "destination",
    required=True,
    help="Where it goes: postgresql://user@host/db (password from PGPASSWORD) or a SQLite path.",
)
@click.option("--batch", type=click.IntRange(min=1), default=5000, show_default=True)
def copy(source: str, destination: str, batch: int) -> None:
    """Copy every mention, incident, message and digest record; resumable, counts checked."""
    from monitor.dbcopy import CopyError, copy_database
    from monitor.store import Store, StoreError

    progress = _terminal_progress if sys.stderr.isatty() else None
    try:
        with Store(source) as src, Store(destination) as dst:
            report = copy_database(src, dst, source_name(source), batch=batch, progress=progress)
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNUSABLE)
    except CopyError as exc:
        fail(str(exc))
    click.echo(report.summary())


def source_name(target: str) -> str:
    """How the destination remembers where a copy came from: never with a password."""
    if "://" not in target:
        return target
    parts = urlsplit(target)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    if parts.username:
        host = f"{parts.username}@{host}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _terminal_progress(table: str, done: int, total: int) -> None:
    share = done / total if total else 1.0
    sys.stderr.write(f"\r{table:<15} {done:>10} / {total:<10} {share:6.1%}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


COMMANDS = [db]
