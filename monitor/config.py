"""Load `monitor.yaml` into typed, frozen settings. Every error names the file, the field and the fix."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from monitor import yaml_parse
from monitor.addresses import MetricsConfigError, normalize_domain, parse_listen
from monitor.channels import CHANNELS, settings_class
from monitor.channels.settings.base import ChannelSettings
from monitor.config_sections import (
    AlertingSettings,
    BrandConfig,
    ConsoleReceiver,
    DigestSettings,
    EmailReceiver,
    EmailSettings,
    MetricsSettings,
    RetentionSettings,
    RouteConfig,
    RouteMatch,
    SentimentSettings,
    SlackReceiver,
    SpikeSettings,
    TeamConfig,
)
from monitor.database_setting import PostgresDatabase, parse_database
from monitor.logs import LogFormat
from monitor.validate import Errors, build

# The sections are defined in config_sections and handed on from here, where callers look.
__all__ = [
    "AlertingSettings",
    "BrandConfig",
    "Config",
    "ConfigError",
    "ConsoleReceiver",
    "DigestSettings",
    "EmailReceiver",
    "EmailSettings",
    "MetricsSettings",
    "PostgresDatabase",
    "RetentionSettings",
    "RouteConfig",
    "RouteMatch",
    "SentimentSettings",
    "SlackReceiver",
    "SpikeSettings",
    "TeamConfig",
    "default_config_path",
    "load_config",
]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """The config cannot be used. `errors` holds one line per problem, each with its fix."""

    def __init__(self, path: Path | str, errors: list[str]) -> None:
        self.path = str(path)
        self.errors = errors
        super().__init__("\n".join(f"{self.path}: {e}" for e in errors))


@dataclass(frozen=True, slots=True, kw_only=True)
class _RawConfig:
    """The YAML's top level; `channels` values are validated per adapter afterwards."""

    database: str = "monitor.db"
    brands: tuple[BrandConfig, ...]
    channels: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    teams: dict[str, TeamConfig] = field(default_factory=dict)
    routes: tuple[RouteConfig, ...] = ()
    email: EmailSettings | None = None
    digest: DigestSettings = field(default_factory=DigestSettings)
    alerting: AlertingSettings = field(default_factory=AlertingSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    sentiment: SentimentSettings = field(default_factory=SentimentSettings)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: LogFormat = "text"
    metrics: MetricsSettings = field(default_factory=MetricsSettings)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    path: Path
    # An SQLite file, or a PostgreSQL database (whose str() hides the password).
    database: Path | PostgresDatabase
    brands: tuple[BrandConfig, ...]
    channels: dict[str, ChannelSettings]
    # Resolved settings of every (brand, channel) poll: the shared block plus the brand's own.
    polls: dict[tuple[str, str], ChannelSettings]
    teams: dict[str, TeamConfig]
    routes: tuple[RouteConfig, ...]
    email: EmailSettings | None
    digest: DigestSettings
    alerting: AlertingSettings
    retention: RetentionSettings
    sentiment: SentimentSettings
    log_level: str
    log_format: LogFormat = "text"
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    def brand(self, name: str) -> BrandConfig:
        for brand in self.brands:
            if brand.name == name:
                return brand
        raise KeyError(name)


def default_config_path() -> Path:
    return Path(os.environ.get("MONITOR_CONFIG") or "monitor.yaml")


def load_config(path: Path | str, environ: dict[str, str] | None = None) -> Config:
    """Read, expand `${ENV}`, validate. Raises ConfigError listing every problem found."""
    path = Path(path)
    env = dict(os.environ) if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path,
            ["file not found. Fix: pass -c PATH, set MONITOR_CONFIG, or copy monitor.example.yaml"],
        ) from None
    except OSError as exc:
        raise ConfigError(
            path, [f"cannot read the file ({exc.strerror}). Fix: check its permissions"]
        ) from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(
            path,
            [
                f"line {line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}). "
                "Fix: save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
            ],
        ) from None
    try:
        data = yaml_parse.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            path,
            [
                f"YAML syntax error at {where}: {problem}. Fix: correct the YAML there (indentation, quotes, colons)"
            ],
        ) from None
    errors = Errors()
    written_database = data.get("database") if isinstance(data, dict) else None
    data = _expand_env(data, "", env, errors)
    if not isinstance(data, dict):
        errors.add(
            "",
            "the file must be a YAML mapping with at least `brands:`",
            "see monitor.example.yaml",
        )
        raise ConfigError(path, errors.items)
    raw = build(_RawConfig, data, "", errors)
    channels_data: dict[str, Any] = (
        data["channels"] if isinstance(data.get("channels"), dict) else {}
    )
    channels = _build_channels(channels_data, raw.brands if raw else (), errors)
    polls = _build_polls(channels_data, channels, raw.brands if raw else (), errors)
    if raw is not None:
        _check_references(raw, errors)
        _check_mutes(raw.brands, errors)
        _check_metrics(raw.metrics, errors)
    database = parse_database(written_database, raw.database, path, errors) if raw else None
    if errors.items or raw is None or database is None:
        raise ConfigError(path, errors.items)
    return Config(
        path=path,
        database=database,
        brands=raw.brands,
        channels=channels,
        polls=polls,
        teams=raw.teams,
        routes=raw.routes,
        email=raw.email,
        digest=raw.digest,
        alerting=raw.alerting,
        retention=raw.retention,
        sentiment=raw.sentiment,
        log_level=raw.log_level,
        log_format=raw.log_format,
        metrics=raw.metrics,
    )


def _expand_env(value: Any, path: str, env: dict[str, str], errors: Errors) -> Any:
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                errors.add(
                    path,
                    f"environment variable {name} is not set",
                    f"export {name}=... (or put it in the service's env file)",
                )
                return ""
            return env[name]

        return _ENV.sub(sub, value)
    if isinstance(value, list):
        return [_expand_env(v, f"{path}[{i}]", env, errors) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {
            k: _expand_env(v, f"{path}.{k}" if path else str(k), env, errors)
            for k, v in value.items()
        }
    return value


def _build_channels(
    blocks: dict[str, Any], brands: tuple[BrandConfig, ...], errors: Errors
) -> dict[str, ChannelSettings]:
    known = sorted(CHANNELS)
    channels: dict[str, ChannelSettings] = {}
    for name, block in blocks.items():
        if name not in CHANNELS:
            errors.add(f"channels.{name}", "unknown channel", f"use one of: {', '.join(known)}")
            continue
        own = Errors()
        settings = build(settings_class(name), block or {}, f"channels.{name}", own)
        if settings is not None:
            channels[name] = settings
        elif not all(name in b.channel_settings for b in brands if name in b.channels) or not any(
            name in b.channels for b in brands
        ):
            # Unless every brand polling it completes it with its own channel_settings.
            errors.items += own.items
    for i, brand in enumerate(brands):
        for j, name in enumerate(brand.channels):
            if name not in CHANNELS:
                errors.add(
                    f"brands[{i}].channels[{j}]",
                    f"unknown channel {name!r}",
                    f"use one of: {', '.join(known)}",
                )
            elif name not in channels and name not in blocks:
                # Listed for a brand but not configured: the channel's defaults apply.
                settings = build(settings_class(name), {}, f"channels.{name}", errors)
                if settings is not None:
                    channels[name] = settings
    return channels


def _build_polls(
    blocks: dict[str, Any],
    channels: dict[str, ChannelSettings],
    brands: tuple[BrandConfig, ...],
    errors: Errors,
) -> dict[tuple[str, str], ChannelSettings]:
    polls: dict[tuple[str, str], ChannelSettings] = {}
    for i, brand in enumerate(brands):
        for name in brand.channel_settings:
            if name not in brand.channels:
                errors.add(
                    f"brands[{i}].channel_settings.{name}",
                    f"{name!r} is not among this brand's channels",
                    f"add it to brands[{i}].channels or remove this block",
                )
        for name in brand.channels:
            if name not in CHANNELS:
                continue  # already reported
            override = brand.channel_settings.get(name)
            if override is None:
                if name in channels:  # else its block's errors are already reported
                    polls[brand.name, name] = channels[name]
                continue
            merged = {**(blocks.get(name) or {}), **override}
            path = f"brands[{i}].channel_settings.{name}"
            settings = build(settings_class(name), merged, path, errors)
            if settings is not None:
                polls[brand.name, name] = settings
    return polls


def _check_metrics(metrics: MetricsSettings, errors: Errors) -> None:
    if metrics.listen is None:
        return
    try:
        parse_listen(metrics.listen)
    except MetricsConfigError as exc:
        problem, _, fix = str(exc).removeprefix("metrics.listen: ").partition("; ")
        errors.add("metrics.listen", problem, fix)


def _check_mutes(brands: tuple[BrandConfig, ...], errors: Errors) -> None:
    for i, brand in enumerate(brands):
        for j, author in enumerate(brand.exclude_authors):
            if not author.strip().removeprefix("@").strip():
                errors.add(
                    f"brands[{i}].exclude_authors[{j}]",
                    "empty author name",
                    "write the author's handle, e.g. 'spambot' or '@spambot', or remove the entry",
                )
        for j, domain in enumerate(brand.exclude_domains):
            try:
                normalize_domain(domain)
            except ValueError as exc:
                problem, _, fix = str(exc).partition(": ")
                errors.add(f"brands[{i}].exclude_domains[{j}]", problem, fix)


def _check_references(raw: _RawConfig, errors: Errors) -> None:
    names = [b.name for b in raw.brands]
    for i, name in enumerate(names):
        if names.index(name) != i:
            errors.add(
                f"brands[{i}].name",
                f"brand {name!r} appears twice",
                "give each brand a unique name",
            )
    if not raw.brands:
        errors.add("brands", "no brands configured", "add at least one brand with name and terms")
    for team_name, team in raw.teams.items():
        if not (team.slack or team.email or team.console):
            errors.add(
                f"teams.{team_name}", "team has no receiver", "add slack:, email: or console: {}"
            )
        if team.email and raw.email is None:
            errors.add(
                f"teams.{team_name}.email",
                "email receiver but no top-level email: block",
                "add email: {host: ..., from: ...}",
            )
    if not raw.teams:
        if raw.routes:
            errors.add(
                "routes",
                "routes name teams but no teams are configured",
                "add teams: or remove routes:",
            )
        return
    known = {
        "brand": set(names),
        "channel": set(CHANNELS),
        "topic": {t for b in raw.brands for t in b.topics},
    }
    for i, route in enumerate(raw.routes):
        for field_name, allowed in known.items():
            want = getattr(route.match, field_name) if route.match else None
            for value in (want,) if isinstance(want, str) else want or ():
                if value not in allowed:
                    # A typo here would make the route silently never match.
                    errors.add(
                        f"routes[{i}].match.{field_name}",
                        f"no {field_name} named {value!r}",
                        f"use one of: {', '.join(sorted(allowed)) or '(none configured)'}",
                    )
        for field_name in ("channel", "topic"):
            wanted = getattr(route.match, field_name) if route.match else None
            if wanted and not any(field_name in b.spike.scopes for b in raw.brands):
                errors.add(
                    f"routes[{i}].match.{field_name}",
                    f"no brand detects per-{field_name} incidents, so this route never matches",
                    f"add {field_name} to a brand's spike.scopes, e.g. spike: {{scopes: [{field_name}]}}",
                )
        if route.team not in raw.teams:
            errors.add(
                f"routes[{i}].team",
                f"unknown team {route.team!r}",
                f"use one of: {', '.join(sorted(raw.teams))}",
            )
    if not raw.routes or raw.routes[-1].match is not None:
        errors.add(
            "routes",
            "the route list has no final default route",
            "end routes with a route without match:, e.g. - {team: support}",
        )
