"""Is the monitor healthy? One decision, shared by `monitor status` (its exit code) and /healthz.

Degraded when a source has failed for 3 of its intervals or never succeeded, when an outbox
message is dead, or when the daemon holds its lock but has stopped beating (a hung process).
A daemon that is simply not running is reported, and its sources go stale in their turn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.cluster import tick_every
from monitor.config import Config
from monitor.metrics import stale_limit
from monitor.store import DaemonRow, Heartbeat, Lease, PollState, Store

MIN_BEAT_LIMIT = timedelta(seconds=90)


def beat_limit(detect_every: timedelta) -> timedelta:
    """A heartbeat older than this, with the lock held, means the daemon hangs."""
    return max(3 * detect_every, MIN_BEAT_LIMIT)


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    running: bool
    heartbeat: Heartbeat | None
    stale: bool


@dataclass(frozen=True, slots=True)
class MemberStatus:
    """One daemon of several sharing the database, and the sources it polls right now."""

    daemon: DaemonRow
    alive: bool
    sources: tuple[tuple[str, str], ...]


def members(
    daemons: Sequence[DaemonRow], leases: Sequence[Lease], detect_every: timedelta, now: datetime
) -> tuple[MemberStatus, ...]:
    """Each daemon's row with its leases; one silent for three ticks (and a few seconds of
    slack for a slow commit) is gone: killed, or cut off from the database."""
    limit = 3 * tick_every(detect_every) + timedelta(seconds=5)
    held: dict[str, list[tuple[str, str]]] = {}
    for lease in leases:
        held.setdefault(lease.holder, []).append((lease.brand, lease.channel))
    return tuple(
        MemberStatus(d, now - d.beat_at <= limit, tuple(held.get(d.id, ()))) for d in daemons
    )


@dataclass(frozen=True, slots=True)
class SourceStatus:
    brand: str
    channel: str
    last_ok_at: datetime | None
    last_error: str | None
    failing_since: datetime | None
    consecutive_failures: int
    stored: int
    muted: int
    problem: str | None


@dataclass(frozen=True, slots=True)
class Health:
    daemon: DaemonStatus
    sources: tuple[SourceStatus, ...]
    outbox_pending: int
    outbox_dead: int
    incidents_open: int
    silences_active: int
    reasons: tuple[str, ...]
    members: tuple[MemberStatus, ...] = ()

    @property
    def healthy(self) -> bool:
        return not self.reasons


def source_problem(
    state: PollState | None, every: timedelta, now: datetime, running_since: datetime | None
) -> str | None:
    """Why this source makes the monitor degraded, or None."""
    if state is None:
        # Not polled yet: fine while a fresh daemon gets to it, not after three intervals.
        if running_since is not None and now - running_since > 3 * every:
            return "never polled"
        return None
    if state.last_ok_at is None and state.failures > 0:
        return "never successful"
    if state.failing_since is not None and now - state.failing_since >= 3 * every:
        return f"failing for {age(now - state.failing_since)}"
    last = state.last_ok_at
    if running_since is not None and last is not None and now - last > stale(every):
        # No error either: the daemon runs but this source's job does not (stuck or lost).
        return f"no good poll for {age(now - last)}"
    return None


def stale(every: timedelta) -> timedelta:
    return timedelta(seconds=stale_limit(every.total_seconds()))


def assess(
    polls: Mapping[tuple[str, str], timedelta],
    states: Sequence[PollState],
    heartbeat: Heartbeat | None,
    lock_held: bool,
    outbox: Mapping[str, int],
    incidents_open: int,
    silences_active: int,
    detect_every: timedelta,
    now: datetime,
    cluster: tuple[MemberStatus, ...] = (),
) -> Health:
    """`polls` is every configured (brand, channel) with its interval; `cluster` the daemons
    that share the database (PostgreSQL), whose leader writes `heartbeat`."""
    stale = lock_held and (heartbeat is None or now - heartbeat.beat_at > beat_limit(detect_every))
    daemon = DaemonStatus(lock_held, heartbeat, stale)
    running_since = heartbeat.started_at if lock_held and heartbeat else None
    by_key = {(s.brand, s.channel): s for s in states}
    sources = []
    reasons = []
    for (brand, channel), every in polls.items():
        state = by_key.get((brand, channel))
        problem = source_problem(state, every, now, running_since)
        if problem:
            reasons.append(f"source {brand} on {channel}: {problem}")
        sources.append(
            SourceStatus(
                brand=brand,
                channel=channel,
                last_ok_at=state.last_ok_at if state else None,
                last_error=state.last_error if state else None,
                failing_since=state.failing_since if state else None,
                consecutive_failures=state.failures if state else 0,
                stored=state.stored_total if state else 0,
                muted=state.muted_total if state else 0,
                problem=problem,
            )
        )
    dead = outbox.get("dead", 0)
    if dead:
        reasons.append(f"outbox: {dead} dead message(s); see `monitor outbox list --dead`")
    if stale:
        last = f"last beat {age(now - heartbeat.beat_at)} ago" if heartbeat else "no heartbeat"
        reasons.append(f"daemon holds its lock but has stopped beating ({last})")
    alive = [m for m in cluster if m.alive]
    if alive and not any(m.daemon.role == "leader" for m in alive):
        reasons.append(f"{len(alive)} daemon(s) running but none leads: nothing detects spikes")
    return Health(
        daemon=daemon,
        sources=tuple(sources),
        outbox_pending=outbox.get("pending", 0),
        outbox_dead=dead,
        incidents_open=incidents_open,
        silences_active=silences_active,
        reasons=tuple(reasons),
        members=cluster,
    )


def health_of(config: Config, store: Store, now: datetime, lock_held: bool | None) -> Health:
    """The health of the monitor behind `config`, from its store. `lock_held` None: a shared
    database, where a daemon runs if one of the cluster beats."""
    polls = {key: settings.every for key, settings in config.polls.items()}
    open_incidents = sum(store.metrics_snapshot().incidents_open.values())
    detect_every = config.alerting.detect_every
    cluster = members(store.daemons(), store.leases(now), detect_every, now)
    return assess(
        polls,
        store.poll_states(),
        store.heartbeat(),
        any(m.alive for m in cluster) if lock_held is None else lock_held,
        store.outbox_counts(),
        open_incidents,
        len(store.silences(active_at=now)),
        detect_every,
        now,
        cluster,
    )


def age(delta: timedelta) -> str:
    """`12 s`, `4 min`, `3 h`, `2 d`: how long ago, as people say it."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def daemon_line(daemon: DaemonStatus, now: datetime) -> str:
    beat = daemon.heartbeat
    if daemon.running:
        if beat is None:
            return "daemon: running, no heartbeat yet"
        head = f"daemon: running, pid {beat.pid}, last beat {age(now - beat.beat_at)} ago"
        return head + (" (STALE: the process may hang)" if daemon.stale else "")
    if beat is None:
        return "daemon: not running (never started on this database)"
    return f"daemon: not running (last beat {age(now - beat.beat_at)} ago)"


def members_lines(cluster: Sequence[MemberStatus], now: datetime) -> list[str]:
    """`monitor status`: one line per daemon, then the sources it polls right now."""
    lines = []
    for m in cluster:
        d = m.daemon
        state = d.role if m.alive else f"GONE (was {d.role})"
        lines.append(
            f"  {d.host} pid {d.pid}: {state}, last beat {age(now - d.beat_at)} ago, "
            f"polling {len(m.sources)} source(s)"
        )
        lines += [f"    {brand} on {channel}" for brand, channel in m.sources]
    return lines


def _iso(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def to_json(health: Health, now: datetime) -> dict[str, object]:
    """The documented `monitor status --json` object."""
    beat = health.daemon.heartbeat
    return {
        "healthy": health.healthy,
        "reasons": list(health.reasons),
        "daemon": {
            "running": health.daemon.running,
            "stale": health.daemon.stale,
            "pid": beat.pid if beat else None,
            "host": beat.host if beat else None,
            "version": beat.version if beat else None,
            "started_at": _iso(beat.started_at) if beat else None,
            "last_beat_at": _iso(beat.beat_at) if beat else None,
            "last_beat_age_s": int((now - beat.beat_at).total_seconds()) if beat else None,
        },
        "sources": [
            {
                "brand": s.brand,
                "channel": s.channel,
                "last_ok_at": _iso(s.last_ok_at),
                "last_error": s.last_error,
                "failing_since": _iso(s.failing_since),
                "consecutive_failures": s.consecutive_failures,
                "stored": s.stored,
                "muted": s.muted,
                "problem": s.problem,
            }
            for s in health.sources
        ],
        "daemons": [
            {
                "id": m.daemon.id,
                "host": m.daemon.host,
                "pid": m.daemon.pid,
                "role": m.daemon.role,
                "alive": m.alive,
                "version": m.daemon.version,
                "started_at": _iso(m.daemon.started_at),
                "last_beat_at": _iso(m.daemon.beat_at),
                "sources": [{"brand": b, "channel": c} for b, c in m.sources],
            }
            for m in health.members
        ],
        "outbox": {"pending": health.outbox_pending, "dead": health.outbox_dead},
        "incidents_open": health.incidents_open,
        "silences_active": health.silences_active,
    }
