"""The config's sections as typed, frozen settings; `monitor.config` loads YAML into them.

Each section checks its own values in `__post_init__`, so an error names its field; cross-section
rules (routes naming teams, mutes, metrics) live in `monitor.config`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.alerting.detector import DetectorSettings
from monitor.validate import Secret

_SCHEDULE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikeSettings(DetectorSettings):
    """A brand's detector settings; monitor/alerting/README.md gives the evidence for each default."""

    # The detector's own settings and their checks are inherited; a brand adds these.
    weight: Literal["count", "reach"] = "count"
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

    def uneditable(self) -> tuple[str, ...]:
        """The receivers that cannot edit an alert they delivered (only a Slack bot can), so
        an incident's growth, sent as an edit of its page, is not sent to them."""
        webhook = self.slack is not None and self.slack.token is None
        kinds = (("slack", webhook), ("email", self.email), ("console", self.console))
        return tuple(kind for kind, blind in kinds if blind)


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
    # Sharing PostgreSQL: a daemon that started a send and went silent this long is presumed
    # dead, and the message whose outcome it never recorded is sent again by another.
    presumed_dead_after: timedelta = timedelta(minutes=10)
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
