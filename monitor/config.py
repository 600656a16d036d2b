"""Load `monitor.yaml` into typed, frozen settings. Every error names the file, the field and the fix."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from monitor import yaml_parse
from monitor.addresses import MetricsConfigError, normalize_domain, parse_listen
from monitor.channels import CHANNELS, settings_class
from monitor.channels.settings.base import ChannelSettings
from monitor.logs import LogFormat
from monitor.validate import Errors, Secret, build

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SCHEDULE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):([0-5]\d)$")


class ConfigError(Exception):
    """The config cannot be used. `errors` holds one line per problem, each with its fix."""

    def __init__(self, path: Path | str, errors: list[str]) -> None:
        self.path = str(path)
        self.errors = errors
        super().__init__("\n".join(f"{self.path}: {e}" for e in errors))


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikeSettings:
    """A brand's detector settings; monitor/alerting/README.md gives the evidence for each default."""

    window: timedelta = timedelta(minutes=60)
    baseline_days: int = 28
    min_count: int = 5
    p: float = 5e-5
    weight: Literal["count", "reach"] = "count"
    min_lift: float = 0.5
    lift_scale: float = 4.0
    min_expected: float = 1.0
    min_dispersion: float = 0.02
    level_span: timedelta = timedelta(hours=6)
    level_weight: float = 0.5
    level_clamp: float = 2.0
    min_samples: int = 3
    min_history: timedelta = timedelta(hours=12)
    novelty_quantile: float = 0.98
    novelty_span: timedelta = timedelta(days=7)
    resolve_fraction: float = 0.5
    resolve_after: timedelta = timedelta(hours=12)
    renotify_after: timedelta = timedelta(hours=12)
    critical_excess: float = 4.0
    update_growth: float = 1.5
    # Extra scopes besides the whole brand: one per topic and/or one per channel.
    scopes: tuple[Literal["topic", "channel"], ...] = ()
    # Keys of the earlier detector, each with what replaces it (read by validate.build).
    yaml_retired = {  # noqa: RUF012 - read by validate.build, not a field
        "min_ratio": "use min_lift and lift_scale (the ratio floor is 1 + min_lift + lift_scale/sqrt(expected))",
        "critical_ratio": "use critical_excess (critical when the excess is that many times the excess needed to open)",
        "warmup": "use min_history (a young scope is judged on its own past windows after that much history)",
        "floor_rate": "use min_expected (the least a window is expected to hold)",
        "mode": "remove it: the baseline is always seasonal and scaled by the recent level (level_span, level_weight)",
    }

    def __post_init__(self) -> None:
        if not 0 < self.p < 1:
            raise ValueError("spike.p must be between 0 and 1 (for example 5e-5)")
        if self.baseline_days < 1 or self.min_count < 1 or self.min_samples < 1:
            raise ValueError(
                "spike.baseline_days, spike.min_count and spike.min_samples must be at least 1"
            )
        if not 0 <= self.resolve_fraction < 1:
            raise ValueError("spike.resolve_fraction must be in [0, 1)")
        if self.critical_excess < 1 or self.level_clamp < 1:
            raise ValueError("spike.critical_excess and spike.level_clamp must be at least 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class BrandConfig:
    name: str
    terms: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ("hackernews",)
    topics: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lexicon: dict[str, float] = field(default_factory=dict)
    # A domain's own failure words for the complaint layer ("out of stock": -2), on VADER's
    # -4..+4 scale; they go with the layer when `sentiment.complaints` is off.
    complaint_phrases: dict[str, float] = field(default_factory=dict)
    negative_below: float = -0.05
    positive_above: float = 0.05
    spike: SpikeSettings = field(default_factory=SpikeSettings)
    # Per-brand settings for a channel, laid over the shared `channels:` block (e.g. the
    # App Store apps or the RSS feeds that belong to this brand alone).
    channel_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Sources of noise, dropped before storing and counted as muted in `monitor status`.
    exclude_authors: tuple[str, ...] = ()
    exclude_domains: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.terms:
            raise ValueError("terms must list at least one word or phrase")
        if self.negative_below > self.positive_above:
            raise ValueError("negative_below must not be above positive_above")
        for phrase, valence in self.complaint_phrases.items():
            if not -4 <= valence <= 4:
                raise ValueError(f"complaint_phrases.{phrase}: valence {valence} is outside -4..+4")


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackReceiver:
    webhook_url: Secret | None = None
    token: Secret | None = None
    channel: str | None = None
    api_url: str = "https://slack.com/api"

    def __post_init__(self) -> None:
        if bool(self.webhook_url) == bool(self.token):
            raise ValueError("slack needs either webhook_url, or token and channel")
        if self.token and not self.channel:
            raise ValueError("slack with a token needs channel (for example '#support')")


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailReceiver:
    to: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.to or any("@" not in a or any(c in a for c in "\r\n,") for a in self.to):
            raise ValueError("email.to must list addresses like support@example.com")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleReceiver:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestSettings:
    schedule: str = "mon 09:00"
    enabled: bool = True

    def __post_init__(self) -> None:
        if not _SCHEDULE.match(self.schedule):
            raise ValueError(f"digest schedule {self.schedule!r} must look like 'mon 09:00'")


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamConfig:
    slack: SlackReceiver | None = None
    email: EmailReceiver | None = None
    console: ConsoleReceiver | None = None
    timezone: str = "UTC"
    digest: DigestSettings | None = None

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone {self.timezone!r} is not an IANA zone (for example Europe/London)"
            ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteMatch:
    brand: tuple[str, ...] | str | None = None
    channel: tuple[str, ...] | str | None = None
    topic: tuple[str, ...] | str | None = None
    severity: tuple[Literal["warning", "critical"], ...] | Literal["warning", "critical"] | None = (
        None
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteConfig:
    team: str
    match: RouteMatch | None = None
    yaml_aliases = {"continue_": "continue"}  # noqa: RUF012 - read by validate.build, not a field
    continue_: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailSettings:
    host: str
    port: int = 587
    security: Literal["starttls", "tls", "plain"] = "starttls"
    username: str | None = None
    password: Secret | None = None
    sender: str = "monitor@localhost"
    timeout: timedelta = timedelta(seconds=30)
    yaml_aliases = {"sender": "from"}  # noqa: RUF012


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertingSettings:
    detect_every: timedelta = timedelta(minutes=1)
    deliver_every: timedelta = timedelta(seconds=10)
    max_attempts: int = 10
    max_backoff: timedelta = timedelta(minutes=30)
    # Topic and channel incidents that fire while their brand's incident is open are shown in
    # it rather than paging alone (unless routed to another team); [] pages every scope alone.
    group_by: tuple[Literal["brand"], ...] = ("brand",)
    # A topic or channel incident waits this long for its brand's incident before paging alone.
    group_wait: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionSettings:
    mentions_days: int = 400


@dataclass(frozen=True, slots=True, kw_only=True)
class SentimentSettings:
    # The customer-service complaint lexicon and phrase rules on top of VADER.
    complaints: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSettings:
    # Off unless set: "127.0.0.1:9464" serves /metrics and /healthz there.
    listen: str | None = None


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
    database: Path
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
    if errors.items or raw is None:
        raise ConfigError(path, errors.items)
    database = Path(raw.database)
    if not database.is_absolute():
        database = path.parent / database
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
