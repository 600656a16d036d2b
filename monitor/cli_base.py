"""What every `monitor` command shares: the config and store it opens, option types, exit codes.

Exit codes: 0 success (for `status`: healthy); 1 the config or database cannot be used, `check`
found problems, or `status` is degraded; 2 a usage error (click's own); 3 the operation ran
and failed (a poll, a delivery, an unknown incident or message id).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.store import Store

    _DurationBase = click.ParamType[timedelta, str | timedelta]
else:
    _DurationBase = click.ParamType  # not subscriptable at run time before click 8.2

EXIT_UNUSABLE = 1
EXIT_DEGRADED = 1
EXIT_USAGE = 2
EXIT_FAILED = 3


def fail(message: str) -> NoReturn:
    """An operation that ran and failed: one line on stderr, exit 3."""
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_FAILED)


class Context:
    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path

    def config(self) -> Config:
        from monitor.config import ConfigError, default_config_path, load_config

        try:
            return load_config(self.config_path or default_config_path())
        except ConfigError as exc:
            click.echo(str(exc), err=True)
            sys.exit(EXIT_UNUSABLE)

    def store(self, config: Config) -> Store:
        # Imported here: sqlite-utils is slow to import, and --help and check never need it.
        from monitor.store import Store, StoreError

        try:
            return Store(config.database)
        except StoreError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_UNUSABLE)


class Duration(_DurationBase):
    """A duration option such as 30s, 5m, 12h or 14d."""

    name = "duration"

    def convert(
        self, value: str | timedelta, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        from monitor.validate import parse_duration

        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = Duration()
pass_ctx = click.make_pass_decorator(Context)


def pick_name(value: str | None, names: list[str], option: str) -> str | None:
    """`value` as one of `names` (any case), or a usage error with "did you mean"."""
    if value is None:
        return None
    for name in names:
        if name.casefold() == value.casefold():
            return name
    from monitor.validate import did_you_mean

    noun = option.lstrip("-")
    raise click.BadParameter(
        f"no {noun} {value!r}{did_you_mean(value, names)}; "
        f"the {noun}s are {', '.join(sorted(names)) or 'none'}",
        param_hint=option,
    )
