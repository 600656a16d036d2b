"""`monitor backtest`: replay detection over stored history and print what would have been sent.

Every step runs the live detector's own `detect_brand` and `settle` over the same per-minute
aggregates, so the notifications listed are the ones the daemon would have sent with these
settings. Incidents live in memory only: nothing is written to the incidents or the outbox.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import statistics
import typing
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import yaml

from monitor.alerting import BucketCounts, DetectorSettings, Scope
from monitor.config import BrandConfig, Config, SpikeSettings
from monitor.models import Incident
from monitor.spikes import (
    ScopeState,
    detect_brand,
    detector_settings,
    history_span,
    incident_drivers,
    scopes_of,
    settle,
)
from monitor.store import Store
from monitor.validate import Errors, convert, parse_duration


class OverrideError(ValueError):
    """A `--set` that names no setting or has a value of the wrong type."""


@dataclass(frozen=True, slots=True)
class Notification:
    at: datetime
    brand: str
    scope: str
    kind: str
    severity: str
    count: float
    expected: float
    ratio: float
    drivers: tuple[str, ...]
    incident: int  # numbered within this replay

    def row(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "brand": self.brand,
            "scope": self.scope,
            "kind": self.kind,
            "severity": self.severity,
            "count": self.count,
            "expected": round(self.expected, 3),
            "ratio": round(self.ratio, 3),
            "drivers": list(self.drivers),
            "incident": self.incident,
        }


def with_overrides(config: Config, overrides: Sequence[str]) -> Config:
    """The config with `spike.KEY=VALUE` overrides applied to every brand's spike settings."""
    types = typing.get_type_hints(SpikeSettings)
    hints = [f.name for f in dataclasses.fields(SpikeSettings)]
    changes: dict[str, Any] = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        name = key.strip().removeprefix("spike.")
        if not sep or name not in hints or not key.strip().startswith("spike."):
            raise OverrideError(
                f"--set {item!r}: expected spike.KEY=VALUE with KEY one of: {', '.join(hints)}"
            )
        errors = Errors()
        value = convert(yaml.safe_load(text), types[name], key, errors)
        if errors.items:
            raise OverrideError(f"--set {item!r}: {errors.items[0]}")
        changes[name] = value
    try:
        brands = tuple(replace(b, spike=replace(b.spike, **changes)) for b in config.brands)
    except ValueError as exc:
        raise OverrideError(f"--set: {exc}") from None
    return replace(config, brands=brands)


def replay(
    config: Config,
    store: Store,
    since: datetime,
    until: datetime,
    brands: Sequence[str] | None = None,
    every: timedelta | None = None,
) -> Iterator[Notification]:
    """Detection at every `every` (default: alerting.detect_every) from `since` to `until`."""
    for brand in config.brands:
        if not brands or brand.name in brands:
            yield from _replay_brand(
                config, store, brand, since, until, every or config.alerting.detect_every
            )


def _replay_brand(
    config: Config,
    store: Store,
    brand: BrandConfig,
    since: datetime,
    until: datetime,
    every: timedelta,
) -> Iterator[Notification]:
    first = store.first_mention_at(brand.name)
    if first is None:
        return
    group = "brand" in config.alerting.group_by
    settings = detector_settings(brand.spike)
    span = history_span(settings)
    weighted = brand.spike.weight == "reach"
    # One read per scope for the whole replay; each step sees only what lay before it.
    counts = {
        scope: BucketCounts(
            *store.negative_minutes(
                scope.brand, scope.kind, scope.value, since - span, until + every, weighted
            )
        )
        for scope in scopes_of(brand)
    }
    current: dict[Scope, Incident | None] = dict.fromkeys(counts)
    earlier: dict[Scope, list[Incident]] = {scope: [] for scope in counts}
    ids = itertools.count(1)

    def save(incident: Incident) -> Incident:
        return replace(incident, id=next(ids)) if incident.id == 0 else incident

    now = since
    while now <= until:
        states = [
            ScopeState(
                scope,
                counts[scope],
                current[scope],
                [i for i in earlier[scope] if i.resolved_at and i.resolved_at >= now - span],
            )
            for scope in counts
        ]
        decisions = detect_brand(
            states, now, settings, first, config.routes, group, config.alerting.group_wait
        )
        drivers_of = functools.partial(_drivers, store, brand, now, settings)
        for d in settle(decisions, drivers_of, save):
            incident = d.incident
            current[d.scope] = incident if incident.status == "open" else None
            if incident.status != "open":
                earlier[d.scope].append(incident)
            if d.notify:
                yield Notification(
                    at=now,
                    brand=brand.name,
                    scope=str(d.scope),
                    kind=str(d.kind),
                    severity=incident.severity,
                    count=d.evaluation.count,
                    expected=d.evaluation.expected,
                    ratio=d.evaluation.ratio,
                    drivers=incident.drivers,
                    incident=incident.id,
                )
        now += every


def _drivers(
    store: Store, brand: BrandConfig, now: datetime, settings: DetectorSettings, scope: Scope
) -> tuple[str, ...]:
    return incident_drivers(store, scope, brand, now, settings)


def write_jsonl(notifications: Sequence[Notification], out: IO[str]) -> None:
    for n in notifications:
        out.write(json.dumps(n.row(), ensure_ascii=False) + "\n")


def write_table(
    notifications: Sequence[Notification], since: datetime, until: datetime, out: IO[str]
) -> None:
    """One line per notification, then pages per week per scope and the median incident
    length."""
    out.write(
        f"{'at (UTC)':<17} {'scope':<28} {'kind':<9} {'sev':<8} {'count':>6} "
        f"{'expected':>8} {'ratio':>6}  drivers\n"
    )
    for n in notifications:
        out.write(
            f"{n.at:%Y-%m-%d %H:%M} {n.scope[:28]:<28} {n.kind:<9} {n.severity:<8} "
            f"{n.count:>6.0f} {n.expected:>8.1f} {n.ratio:>6.1f}  {', '.join(n.drivers)}\n"
        )
    weeks = max((until - since) / timedelta(weeks=1), 1 / 7)
    pages = Counter(n.scope for n in notifications if n.kind in ("opened", "escalated"))
    opened = {(n.scope, n.incident): n.at for n in notifications if n.kind == "opened"}
    hours = [
        (n.at - opened[n.scope, n.incident]).total_seconds() / 3600
        for n in notifications
        if n.kind == "resolved" and (n.scope, n.incident) in opened
    ]
    out.write(f"\n{len(notifications)} notifications over {weeks:.1f} weeks\n")
    for scope, paged in sorted(pages.items()):
        out.write(f"  {scope}: {paged / weeks:.2f} pages/week\n")
    if not pages:
        out.write("  no pages\n")
    if hours:
        out.write(f"median incident length: {statistics.median(hours):.1f} h\n")


def parse_until(text: str | None, now: datetime) -> datetime:
    """`--until`: an ISO 8601 time (UTC unless it says otherwise), a duration ago, or now."""
    if not text:
        return now
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise OverrideError(
            f"--until {text!r}: use an ISO 8601 time (2026-11-20T12:00) or a duration ago (2d)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def run_backtest(
    config: Config,
    store: Store,
    *,
    since: timedelta,
    until: datetime,
    brand: str | None,
    overrides: Sequence[str],
    fmt: str,
    out: IO[str],
) -> int:
    """What `monitor backtest` does: replay the `since` before `until`, print, return how many
    notifications."""
    config = with_overrides(config, overrides)
    every = config.alerting.detect_every
    # Steps on whole multiples of the detect interval, as a long-running daemon would be.
    start = datetime.fromtimestamp(
        (until - since).timestamp() // every.total_seconds() * every.total_seconds(), UTC
    )
    found = list(replay(config, store, start, until, [brand] if brand else None))
    if fmt == "jsonl":
        write_jsonl(found, out)
    else:
        write_table(found, start, until, out)
    return len(found)
