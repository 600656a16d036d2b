"""Operating the daemon: its heartbeat, silences, and the snapshot metrics and health read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.metrics import Snapshot
from monitor.silences import ScopeKind, Silence
from monitor.store.base import Connection, Row, at, ts


@dataclass(frozen=True, slots=True)
class Heartbeat:
    pid: int
    host: str
    started_at: datetime
    beat_at: datetime
    version: str


class OperationsStore(Connection):
    """Mixed into Store. One heartbeat row: only one daemon runs per database (the lock)."""

    def beat(self, pid: int, host: str, started_at: datetime, version: str, now: datetime) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO heartbeat (id, pid, host, started_at, beat_at, version) "
                "VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, "
                "host = excluded.host, started_at = excluded.started_at, "
                "beat_at = excluded.beat_at, version = excluded.version",
                (pid, host, ts(started_at), ts(now), version),
            )

    def heartbeat(self) -> Heartbeat | None:
        rows = self.query("SELECT * FROM heartbeat WHERE id = 1")
        if not rows:
            return None
        r = rows[0]
        return Heartbeat(r["pid"], r["host"], at(r["started_at"]), at(r["beat_at"]), r["version"])

    def add_silence(
        self,
        brand: str,
        scope_kind: ScopeKind | None,
        scope_value: str | None,
        starts_at: datetime,
        ends_at: datetime,
        reason: str,
    ) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO silences (brand, scope_kind, scope_value, starts_at, ends_at, "
                "reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (brand, scope_kind, scope_value, ts(starts_at), ts(ends_at), reason, ts(starts_at)),
            )
            return int(cur.fetchall()[0][0])

    def silences(self, active_at: datetime | None = None) -> list[Silence]:
        """Every silence, newest first; with `active_at`, only those in force then."""
        sql, params = "SELECT * FROM silences", []
        if active_at is not None:
            sql += " WHERE starts_at <= ? AND ends_at > ?"
            params = [ts(active_at), ts(active_at)]
        return [_silence(r) for r in self.query(sql + " ORDER BY id DESC", params)]

    def expire_silence(self, silence_id: int, now: datetime) -> bool:
        """End a silence now; False if there is no such silence still in force."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?",
                (ts(now), silence_id, ts(now)),
            )
        return cur.rowcount == 1

    def metrics_snapshot(self) -> Snapshot:
        outbox = {
            r["status"]: r["n"]
            for r in self.query("SELECT status, count(*) AS n FROM outbox GROUP BY status")
        }
        incidents = self.query(
            "SELECT brand, severity, count(*) AS n FROM incidents WHERE status = 'open' "
            "GROUP BY brand, severity"
        )
        polls = self.query(
            "SELECT brand, channel, last_ok_at FROM poll_state WHERE last_ok_at IS NOT NULL"
        )
        return Snapshot(
            outbox_pending=outbox.get("pending", 0),
            outbox_dead=outbox.get("dead", 0),
            incidents_open={(r["brand"], r["severity"]): r["n"] for r in incidents},
            last_success={(r["brand"], r["channel"]): float(r["last_ok_at"]) for r in polls},
        )


def _silence(r: Row) -> Silence:
    return Silence(
        id=r["id"],
        brand=r["brand"],
        scope_kind=r["scope_kind"],
        scope_value=r["scope_value"],
        starts_at=at(r["starts_at"]),
        ends_at=at(r["ends_at"]),
        reason=r["reason"] or "",
        created_at=at(r["created_at"]),
    )
