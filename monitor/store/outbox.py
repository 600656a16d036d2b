"""The outbox table: queued alert and digest messages, their attempts and their fate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.models import OutboxMessage
from monitor.store.base import Connection, Row, at, from_ts, ts

# The messages that page: a growth update edits the newest of these.
PAGE_KINDS = ("opened", "escalated")


@dataclass(frozen=True, slots=True)
class Page:
    """An incident's newest page to one receiver of one team: its fate, and the receiver's
    reference to the posted message if the receiver can edit it."""

    message_id: int
    status: str
    ref: str | None


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

    def mark_attempt(self, message_id: int, holder: str, now: datetime) -> bool:
        """Mark the message as being sent by `holder`, in a transaction of its own, before the
        send starts; False (nothing written) if `holder` no longer claims it. The mark stays
        until the outcome is recorded, so a pending row still marked may have reached its
        receiver."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE outbox SET attempt_by = ?, attempt_at = ? "
                "WHERE id = ? AND status = 'pending' AND claimed_by = ?",
                (holder, ts(now), message_id, holder),
            )
        return cur.rowcount == 1

    def mark_sent(self, message_id: int, now: datetime) -> None:
        self.conn.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = NULL, attempt_by = NULL, attempt_at = NULL WHERE id = ?",
            (ts(now), message_id),
        )

    def record_sent_ref(self, message_id: int, ref: str) -> None:
        """Keep the receiver's reference to a delivered message, so it can be edited later."""
        self.conn.execute("UPDATE outbox SET sent_ref = ? WHERE id = ?", (ref, message_id))

    def latest_page(self, incident_id: int, team: str, receiver: str) -> Page | None:
        """The incident's newest opened or escalated message for this team's receiver."""
        rows = self.query(
            "SELECT id, status, sent_ref FROM outbox WHERE incident_id = ? AND team = ? "
            "AND receiver = ? AND kind IN (?, ?) ORDER BY id DESC LIMIT 1",
            (incident_id, team, receiver, *PAGE_KINDS),
        )
        return Page(rows[0]["id"], rows[0]["status"], rows[0]["sent_ref"]) if rows else None

    def supersede_updates(self, incident_id: int, team: str, receiver: str, key: str) -> int:
        """Delete the incident's unsent updates for this receiver other than `key`: a newer
        update shows everything an older one would have."""
        cur = self.conn.execute(
            "DELETE FROM outbox WHERE incident_id = ? AND team = ? AND receiver = ? "
            "AND kind = 'updated' AND status = 'pending' AND key != ?",
            (incident_id, team, receiver, key),
        )
        return cur.rowcount

    def mark_failed(self, message_id: int, error: str, next_attempt_at: datetime | None) -> None:
        """Record a failed attempt; `next_attempt_at=None` marks the message dead."""
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
            "status = ?, attempt_by = NULL, attempt_at = NULL WHERE id = ?",
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
