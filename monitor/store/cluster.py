"""Several daemons on one database: who is running, which source each polls, which outbox rows
each is sending, and the leader lock.

Claims are one transaction each. On PostgreSQL the row is read `FOR UPDATE SKIP LOCKED`, so two
daemons claiming at once never wait on each other and never take the same row; on SQLite the
write lock (BEGIN IMMEDIATE) already lets one claimer in at a time, and the clause does not exist.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from monitor.models import OutboxMessage
from monitor.store.base import Connection, at, from_ts, ts
from monitor.store.outbox import _message

# Migration 7's tables, the same SQL on SQLite and PostgreSQL (BIGINT is INTEGER to SQLite).
CLUSTER_TABLES = (
    "CREATE TABLE IF NOT EXISTS daemons (id TEXT PRIMARY KEY, host TEXT NOT NULL, "
    "pid BIGINT NOT NULL, role TEXT NOT NULL, version TEXT NOT NULL, "
    "started_at BIGINT NOT NULL, beat_at BIGINT NOT NULL)",
    # One row per (brand, channel) ever leased: its holder while a poll runs, and when the
    # source may be polled again (so N daemons together poll it once per interval).
    "CREATE TABLE IF NOT EXISTS poll_leases (brand TEXT NOT NULL, channel TEXT NOT NULL, "
    "holder TEXT, expires_at BIGINT, next_due_at BIGINT NOT NULL DEFAULT 0, "
    "PRIMARY KEY (brand, channel))",
)
# Who is sending an outbox message, until when (renewed while the delivery runs).
OUTBOX_CLAIM_COLUMNS = {"claimed_by": "TEXT", "claimed_until": "BIGINT"}
# Migration 9: who started sending a message, and when, until its outcome is recorded. A mark
# left on a pending row means a send may have reached the receiver although nothing says so.
OUTBOX_ATTEMPT_COLUMNS = {"attempt_by": "TEXT", "attempt_at": "BIGINT"}

# pg_try_advisory_lock's key for "the leader": any fixed number no other code uses.
LEADER_LOCK_KEY = 0x6D6F6E69746F72  # "monitor"


@dataclass(frozen=True, slots=True)
class DaemonRow:
    id: str
    host: str
    pid: int
    role: str
    version: str
    started_at: datetime
    beat_at: datetime


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message claimed for sending, with the attempt mark it carried: a sender, now presumed
    dead, that started sending it and never recorded the outcome."""

    message: OutboxMessage
    attempt_by: str | None
    attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class Lease:
    brand: str
    channel: str
    holder: str
    expires_at: datetime


class LeaderLock(Protocol):
    """Held by at most one daemon of a database at a time."""

    def try_lead(self) -> bool:
        """Whether this process leads now, taking the lock if it is free. False also when the
        lock's connection was lost: a leader that cannot prove it holds the lock steps down."""
        ...

    def close(self) -> None: ...


class SoleLeader:
    """SQLite: the daemon's lock file already admits one daemon, so it always leads."""

    def try_lead(self) -> bool:
        return True

    def close(self) -> None:
        pass


class AdvisoryLeaderLock:
    """PostgreSQL: `pg_try_advisory_lock` held on a connection of its own. The lock lives as
    long as that session: when a leader is killed, the server ends its session and the lock is
    free for the next standby that asks."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._conn: Any = None
        self._held = False

    def try_lead(self) -> bool:
        try:
            if self._conn is None:
                self._held = False
                self._conn = self._connect()
            if self._held:
                # Proves the session, and so the lock, still lives.
                self._conn.execute("SELECT 1").fetchone()
                return True
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)
            ).fetchone()
            self._held = bool(row and row[0])
            return self._held
        except Exception:
            # The session is gone, and the lock with it; the next try opens a new one.
            self.close()
            raise

    def close(self) -> None:
        conn, held, self._conn, self._held = self._conn, self._held, None, False
        if conn is not None:
            # A broken connection may fail both; its session, and the lock, are gone anyway.
            with contextlib.suppress(Exception):
                if held:  # at once, not whenever the server notices the session closed
                    conn.execute("SELECT pg_advisory_unlock(%s)", (LEADER_LOCK_KEY,))
                conn.close()


class ClusterStore(Connection):
    """Mixed into Store."""

    def _skip_locked(self) -> str:
        return " FOR UPDATE SKIP LOCKED" if self.dialect == "postgresql" else ""

    postgres: Any

    def leader_lock(self) -> LeaderLock:
        if self.dialect == "postgresql":
            return AdvisoryLeaderLock(self.postgres.dedicated)
        return SoleLeader()

    # -- daemons ---------------------------------------------------------------------------------

    def daemon_beat(
        self,
        daemon_id: str,
        host: str,
        pid: int,
        role: str,
        version: str,
        started_at: datetime,
        now: datetime,
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO daemons (id, host, pid, role, version, started_at, beat_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "role = excluded.role, beat_at = excluded.beat_at",
                (daemon_id, host, pid, role, version, ts(started_at), ts(now)),
            )

    def daemons(self) -> list[DaemonRow]:
        rows = self.query("SELECT * FROM daemons ORDER BY host, pid, id")
        return [
            DaemonRow(
                r["id"],
                r["host"],
                r["pid"],
                r["role"],
                r["version"],
                at(r["started_at"]),
                at(r["beat_at"]),
            )
            for r in rows
        ]

    def forget_daemons(self, beat_before: datetime) -> int:
        """Drop the rows of daemons silent since `beat_before` (killed long ago)."""
        with self.transaction() as conn:
            return conn.execute(
                "DELETE FROM daemons WHERE beat_at < ?", (ts(beat_before),)
            ).rowcount

    def leave(self, daemon_id: str) -> None:
        """A daemon that stops gives back its leases and claims and drops its row."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE poll_leases SET holder = NULL, expires_at = NULL WHERE holder = ?",
                (daemon_id,),
            )
            conn.execute(
                "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?",
                (daemon_id,),
            )
            conn.execute("DELETE FROM daemons WHERE id = ?", (daemon_id,))

    # -- poll leases -----------------------------------------------------------------------------

    def take_lease(
        self,
        brand: str,
        channel: str,
        holder: str,
        now: datetime,
        expires_at: datetime,
        next_due_at: datetime | None,
    ) -> bool:
        """Lease the source if it is due and no live lease holds it; it is next due at
        `next_due_at`. With None (a poll run by hand) it need not be due, and its due time
        stays. False (and nothing written) otherwise."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO poll_leases (brand, channel, next_due_at) VALUES (?, ?, 0) "
                "ON CONFLICT (brand, channel) DO NOTHING",
                (brand, channel),
            )
            row = conn.execute(
                "SELECT holder, expires_at, next_due_at FROM poll_leases "
                "WHERE brand = ? AND channel = ?" + self._skip_locked(),
                (brand, channel),
            ).fetchone()
            if row is None:  # another daemon is claiming it this very moment
                return False
            held, expires, due = row
            if held is not None and expires is not None and expires > ts(now):
                return False
            if next_due_at is not None and due > ts(now):
                return False
            again = due if next_due_at is None else ts(next_due_at)
            conn.execute(
                "UPDATE poll_leases SET holder = ?, expires_at = ?, next_due_at = ? "
                "WHERE brand = ? AND channel = ?",
                (holder, ts(expires_at), again, brand, channel),
            )
        return True

    def renew_leases(
        self, holder: str, keys: Collection[tuple[str, str]], expires_at: datetime
    ) -> int:
        """Extend the holder's leases on these sources; how many it still held."""
        renewed = 0
        with self.transaction() as conn:
            for brand, channel in keys:
                renewed += conn.execute(
                    "UPDATE poll_leases SET expires_at = ? "
                    "WHERE brand = ? AND channel = ? AND holder = ?",
                    (ts(expires_at), brand, channel, holder),
                ).rowcount
        return renewed

    def release_lease(self, brand: str, channel: str, holder: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE poll_leases SET holder = NULL, expires_at = NULL "
                "WHERE brand = ? AND channel = ? AND holder = ?",
                (brand, channel, holder),
            )

    def leases(self, now: datetime) -> list[Lease]:
        """The leases in force now, by holder."""
        rows = self.query(
            "SELECT brand, channel, holder, expires_at FROM poll_leases "
            "WHERE holder IS NOT NULL AND expires_at > ? ORDER BY holder, brand, channel",
            (ts(now),),
        )
        return [Lease(r["brand"], r["channel"], r["holder"], at(r["expires_at"])) for r in rows]

    # -- outbox claims ---------------------------------------------------------------------------

    def claim_messages(
        self,
        holder: str,
        now: datetime,
        until: datetime,
        limit: int = 100,
        *,
        dead_before: datetime | None = None,
        ids: Collection[int] | None = None,
    ) -> list[Claimed]:
        """Claim the due messages no one else is sending: each has one sender until `until`
        (a sender killed mid-delivery leaves its claim to expire).

        A message another sender marked as being sent (`mark_attempt`) and whose outcome is
        not recorded stays with that sender while it may be alive: it is claimed only once
        the mark and the marker's last beat are both older than `dead_before` (default
        `now`, for a database only one process sends from). With `ids`, only those."""
        dead = ts(dead_before or now)
        among, wanted = "", list(ids or ())
        if ids is not None:
            if not wanted:
                return []
            among = f"AND id IN ({', '.join('?' * len(wanted))}) "
        with self.transaction() as conn:
            cur = conn.execute(
                "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? "
                "AND (claimed_until IS NULL OR claimed_until <= ?) "
                "AND (attempt_by IS NULL OR attempt_by = ? OR (attempt_at <= ? AND NOT EXISTS "
                "(SELECT 1 FROM daemons WHERE daemons.id = outbox.attempt_by "
                f"AND daemons.beat_at > ?))) {among}ORDER BY id LIMIT ?" + self._skip_locked(),
                (ts(now), ts(now), holder, dead, dead, *wanted, limit),
            )
            claimed = [row[0] for row in cur.fetchall()]
            if not claimed:
                return []
            marks = ", ".join("?" * len(claimed))
            conn.execute(
                f"UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id IN ({marks})",
                [holder, ts(until), *claimed],
            )
            rows = self.query(f"SELECT * FROM outbox WHERE id IN ({marks}) ORDER BY id", claimed)
        return [Claimed(_message(r), r["attempt_by"], from_ts(r["attempt_at"])) for r in rows]

    def renew_claims(self, holder: str, ids: Collection[int], until: datetime) -> set[int]:
        """Extend the holder's claims while their delivery runs: the ids it still held."""
        held = set()
        with self.transaction() as conn:
            for message_id in ids:
                if conn.execute(
                    "UPDATE outbox SET claimed_until = ? WHERE id = ? AND claimed_by = ?",
                    (ts(until), message_id, holder),
                ).rowcount:
                    held.add(message_id)
        return held

    def release_claims(self, holder: str, ids: Collection[int]) -> None:
        """After a delivery: a retry may go from any daemon."""
        with self.transaction() as conn:
            for message_id in ids:
                conn.execute(
                    "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL "
                    "WHERE id = ? AND claimed_by = ?",
                    (message_id, holder),
                )
