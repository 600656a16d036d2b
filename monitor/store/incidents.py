"""Incidents: one row per spike, at most one open per (brand, scope)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from monitor.models import Incident
from monitor.store.base import Connection, Row, at, from_ts, ts


class IncidentStore(Connection):
    """Incidents of spikes, one open per scope. Mixed into Store; writes go in `transaction()`."""

    def open_incident(self, brand: str, kind: str, value: str) -> Incident | None:
        rows = self.query(
            "SELECT * FROM incidents WHERE brand = ? AND scope_kind = ? AND scope_value = ? "
            "AND status = 'open'",
            (brand, kind, value),
        )
        return _incident(rows[0]) if rows else None

    def incident(self, incident_id: int) -> Incident:
        return _incident(self.query("SELECT * FROM incidents WHERE id = ?", (incident_id,))[0])

    def insert_incident(self, incident: Incident) -> int:
        row = _incident_row(incident)
        del row["id"]
        cur = self.conn.execute(
            f"INSERT INTO incidents ({', '.join(row)}) VALUES ({', '.join('?' * len(row))}) "
            "RETURNING id",
            list(row.values()),
        )
        return int(cur.fetchall()[0][0])

    def save_incident(self, incident: Incident) -> None:
        row = _incident_row(incident)
        sets = ", ".join(f"{k} = :{k}" for k in row if k != "id")
        self.conn.execute(f"UPDATE incidents SET {sets} WHERE id = :id", row)

    def incidents(self, since: datetime | None = None, limit: int = 50) -> list[Incident]:
        rows = self.query(
            "SELECT * FROM incidents WHERE status = 'open' OR coalesce(resolved_at, opened_at) >= ? "
            "ORDER BY status = 'open' DESC, opened_at DESC LIMIT ?",
            (ts(since) if since else 0, limit),
        )
        return [_incident(r) for r in rows]

    def find_incident(self, incident_id: int) -> Incident | None:
        rows = self.query("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        return _incident(rows[0]) if rows else None

    def ack_incident(self, incident_id: int, now: datetime) -> None:
        self.conn.execute(
            "UPDATE incidents SET acked_at = coalesce(acked_at, ?) WHERE id = ?",
            (ts(now), incident_id),
        )

    def hold_notice(self, incident_id: int, kind: str) -> None:
        """A silence kept this incident's notice back; the first held kind is the one sent."""
        self.conn.execute(
            "UPDATE incidents SET held_kind = coalesce(held_kind, ?) WHERE id = ?",
            (kind, incident_id),
        )

    def held_incidents(self) -> list[tuple[Incident, str]]:
        """Open incidents with a notice a silence kept back, and that notice's kind."""
        rows = self.query(
            "SELECT * FROM incidents WHERE held_kind IS NOT NULL AND status = 'open' ORDER BY id"
        )
        return [(_incident(r), r["held_kind"]) for r in rows]

    def release_notice(self, incident_id: int) -> None:
        self.conn.execute("UPDATE incidents SET held_kind = NULL WHERE id = ?", (incident_id,))

    def incidents_between(
        self, brands: Sequence[str], start: datetime, end: datetime
    ) -> list[Incident]:
        """Incidents of these brands that were open at any moment of [start, end)."""
        marks = ", ".join("?" * len(brands))
        rows = self.query(
            f"SELECT * FROM incidents WHERE brand IN ({marks}) AND opened_at < ? "
            "AND (resolved_at IS NULL OR resolved_at >= ?) ORDER BY opened_at",
            (*brands, ts(end), ts(start)),
        )
        return [_incident(r) for r in rows]

    def open_incidents(self, brand: str) -> list[Incident]:
        """The brand's open incidents, the whole brand's first."""
        rows = self.query(
            "SELECT * FROM incidents WHERE brand = ? AND status = 'open' "
            "ORDER BY scope_kind != 'brand', opened_at",
            (brand,),
        )
        return [_incident(r) for r in rows]

    def resolved_incidents(
        self, brand: str, kind: str, value: str, since: datetime
    ) -> list[Incident]:
        """The scope's incidents resolved after `since`: kept out of its baseline."""
        rows = self.query(
            "SELECT * FROM incidents WHERE brand = ? AND scope_kind = ? AND scope_value = ? "
            "AND status = 'resolved' AND resolved_at >= ? ORDER BY opened_at",
            (brand, kind, value, ts(since)),
        )
        return [_incident(r) for r in rows]

    def grouped_incidents(self, incident_id: int) -> list[Incident]:
        """The topic and channel incidents shown inside brand incident `incident_id`."""
        rows = self.query(
            "SELECT * FROM incidents WHERE grouped_into = ? ORDER BY peak_count DESC, id",
            (incident_id,),
        )
        return [_incident(r) for r in rows]


def _incident_row(i: Incident) -> Row:
    return {
        "id": i.id,
        "brand": i.brand,
        "scope_kind": i.scope_kind,
        "scope_value": i.scope_value,
        "status": i.status,
        "severity": i.severity,
        "opened_at": ts(i.opened_at),
        "updated_at": ts(i.updated_at),
        "last_fired_at": ts(i.last_fired_at),
        "resolved_at": ts(i.resolved_at) if i.resolved_at else None,
        "last_notified_at": ts(i.last_notified_at) if i.last_notified_at else None,
        "notifications": i.notifications,
        "count": i.count,
        "expected": i.expected,
        "ratio": i.ratio,
        "peak_ratio": i.peak_ratio,
        "peak_count": i.peak_count,
        "acked_at": ts(i.acked_at) if i.acked_at else None,
        "grouped_into": i.grouped_into,
        "drivers": json.dumps(list(i.drivers)),
    }


def _incident(r: Row) -> Incident:
    return Incident(
        id=r["id"],
        brand=r["brand"],
        scope_kind=r["scope_kind"],
        scope_value=r["scope_value"],
        status=r["status"],
        severity=r["severity"],
        opened_at=at(r["opened_at"]),
        updated_at=at(r["updated_at"]),
        last_fired_at=at(r["last_fired_at"]),
        resolved_at=from_ts(r["resolved_at"]),
        last_notified_at=from_ts(r["last_notified_at"]),
        notifications=r["notifications"] or 0,
        count=r["count"],
        expected=r["expected"],
        ratio=r["ratio"],
        peak_ratio=r["peak_ratio"],
        peak_count=r["peak_count"],
        acked_at=from_ts(r.get("acked_at")),
        grouped_into=r.get("grouped_into"),
        drivers=tuple(json.loads(r.get("drivers") or "[]")),
    )
