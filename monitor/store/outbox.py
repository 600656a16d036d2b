"""The outbox table: queued alert and digest messages, their attempts and their fate."""

from __future__ import annotations

from datetime import datetime

from monitor.models import OutboxMessage
from monitor.store.base import Connection, Row, at, from_ts, ts


class OutboxStore(Connection):
    """Durable message queue rows. Mixed into Store; writes go in the caller's `transaction()`."""

    def enqueue(
        self,
        key: str,
        incident_id: int | None,
        team: str,
        receiver: str,
        kind: str,
        payload: str,
        now: datetime,
    ) -> bool:
        """Queue one message; False if its key was queued before (never sent twice)."""
        cur = self.conn.execute(
            "INSERT INTO outbox (key, incident_id, team, receiver, kind, payload, status, "
            "attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (key, incident_id, team, receiver, kind, payload, ts(now), ts(now)),
        )
        return cur.rowcount == 1

    def due_messages(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        rows = self.query(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (ts(now), limit),
        )
        return [_message(r) for r in rows]

    def mark_sent(self, message_id: int, now: datetime) -> None:
        self.conn.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = NULL WHERE id = ?",
            (ts(now), message_id),
        )

    def mark_failed(self, message_id: int, error: str, next_attempt_at: datetime | None) -> None:
        """Record a failed attempt; `next_attempt_at=None` marks the message dead."""
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
            "status = ? WHERE id = ?",
            (
                error[:1000],
                ts(next_attempt_at) if next_attempt_at else None,
                "pending" if next_attempt_at else "dead",
                message_id,
            ),
        )

    def messages(self, status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        sql, params = "SELECT * FROM outbox", []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        return [
            _message(r) for r in self.query(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        ]

    def messages_with_keys(self, keys: list[str]) -> list[OutboxMessage]:
        """The outbox rows with these keys, oldest first (a manual send finds its own)."""
        marks = ", ".join("?" * len(keys))
        rows = self.query(f"SELECT * FROM outbox WHERE key IN ({marks}) ORDER BY id", keys)
        return [_message(r) for r in rows]

    def message(self, message_id: int) -> OutboxMessage | None:
        rows = self.query("SELECT * FROM outbox WHERE id = ?", (message_id,))
        return _message(rows[0]) if rows else None

    def retry_messages(self, ids: list[int] | None, now: datetime) -> int:
        """Make dead messages (these ids, or all dead ones) due now with fresh attempts."""
        sql = (
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ? "
            "WHERE status = 'dead'"
        )
        params: list[object] = [ts(now)]
        if ids is not None:
            sql += f" AND id IN ({', '.join('?' * len(ids))})"
            params += ids
        return self.conn.execute(sql, params).rowcount

    def drop_message(self, message_id: int) -> bool:
        """Delete a message that is not sent; False if there is none such."""
        cur = self.conn.execute(
            "DELETE FROM outbox WHERE id = ? AND status != 'sent'", (message_id,)
        )
        return cur.rowcount == 1

    def outbox_counts(self) -> dict[str, int]:
        rows = self.query("SELECT status, count(*) AS n FROM outbox GROUP BY status")
        return {r["status"]: r["n"] for r in rows}


def _message(r: Row) -> OutboxMessage:
    return OutboxMessage(
        id=r["id"],
        key=r["key"],
        incident_id=r["incident_id"],
        team=r["team"],
        receiver=r["receiver"],
        kind=r["kind"],
        payload=r["payload"],
        status=r["status"],
        attempts=r["attempts"],
        next_attempt_at=from_ts(r["next_attempt_at"]),
        created_at=at(r["created_at"]),
        sent_at=from_ts(r["sent_at"]),
        last_error=r["last_error"],
    )
