"""Delivery lanes: one thread per (team, receiver) sending its messages in order, each message
started only while this sender's claim on it surely lasts the whole send.

A claim is a row in a shared database that expires at a wall-clock time another daemon reads
with its own clock. A sender that lost its database cannot renew, and must not learn from the
database that its claim ran out: it counts down a local deadline on the monotonic clock, read
*before* the claim (or renewal) request went out, and starts a message only while the deadline
leaves the notifier's whole timeout plus a margin. The margin covers the claim's whole-second
rounding in the store and the clock skew between hosts.

Before a send the lane marks the row (`attempt_by`, `attempt_at`) in a commit of its own; the
outcome's record clears it. A row still marked may have reached its receiver: other senders
leave it to the marker while the marker may be alive, then send it again and say so.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta

from monitor.logs import kv
from monitor.models import Digest, OutboxMessage
from monitor.notify.base import DeliveryError, Editor, Notifier
from monitor.outbox_payload import decode_message

log = logging.getLogger(__name__)

# Beyond the notifier's own timeout: the store keeps whole seconds, hosts' clocks differ.
START_MARGIN = timedelta(seconds=3)

# What a lane reports for one message: the error if it failed, else the receiver's reference.
Outcome = tuple[OutboxMessage, DeliveryError | None, str | None]


@dataclass(frozen=True, slots=True)
class Job:
    """One message for a lane: the page reference an update edits, and the sender (presumed
    dead) whose attempt at it left no outcome."""

    message: OutboxMessage
    ref: str | None = None
    marked_by: str | None = None


class ClaimDeadlines:
    """This sender's claims, each with the monotonic time it surely lasts until. Shared by the
    delivering thread, its lanes and whoever renews the claims (the cluster tick)."""

    def __init__(self, ttl: timedelta, timer: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl.total_seconds()
        self.timer = timer
        self._until: dict[int, float] = {}
        self._guard = threading.Lock()

    def ids(self) -> set[int]:
        with self._guard:
            return set(self._until)

    def claimed(self, ids: Collection[int], asked_at: float) -> None:
        """`asked_at`: the timer read just before the claim request was sent."""
        with self._guard:
            for message_id in ids:
                self._until[message_id] = asked_at + self.ttl

    def renewed(self, asked: Collection[int], held: Collection[int], asked_at: float) -> None:
        """A renewal sent at `asked_at` for `asked` found `held` still ours: the others are
        another sender's now, and no lane starts them."""
        with self._guard:
            for message_id in asked:
                if message_id not in self._until:
                    continue  # finished while the renewal ran
                if message_id in held:
                    self._until[message_id] = asked_at + self.ttl
                else:
                    del self._until[message_id]

    def forget(self, ids: Collection[int]) -> None:
        with self._guard:
            for message_id in ids:
                self._until.pop(message_id, None)

    def lasts(self, message_id: int, needed: timedelta) -> bool:
        """Whether the claim surely holds for `needed` from now."""
        with self._guard:
            until = self._until.get(message_id)
        return until is not None and until - self.timer() >= needed.total_seconds()


def send_timeout(notifier: Notifier | None) -> timedelta:
    """The longest one send may wait on its receiver (none for a receiver gone from config)."""
    return timedelta(0) if notifier is None else notifier.send_timeout


def run_lane(
    notifier: Notifier | None,
    jobs: list[Job],
    outcomes: queue.SimpleQueue[Outcome | None],
    claims: ClaimDeadlines,
    mark: Callable[[OutboxMessage], bool],
) -> None:
    """Send the lane's messages in order, reporting each outcome; stop at the first failure
    that will be retried, and before any message whose claim may not outlast its send (it
    waits for a later run, and its claim expires or is released)."""
    needed = send_timeout(notifier) + START_MARGIN
    try:
        for job in jobs:
            message = job.message
            if not claims.lasts(message.id, needed) or not _marked(message, mark):
                break
            # Marking is a round trip to the store, which may have been slow.
            if not claims.lasts(message.id, needed):
                log.warning(kv("claim_too_short", id=message.id, note="marked, not sent"))
                break
            if job.marked_by is not None:
                log.warning(
                    kv(
                        "resent_unknown_outcome",
                        id=message.id,
                        key=message.key,
                        marked_by=job.marked_by,
                        note="its sender died mid-send; the receiver may get it twice",
                    )
                )
            error, sent_ref = attempt(notifier, message, job.ref)
            outcomes.put((message, error, sent_ref))
            if error is not None and not error.permanent:
                break
    finally:
        outcomes.put(None)  # this lane is done


def _marked(message: OutboxMessage, mark: Callable[[OutboxMessage], bool]) -> bool:
    try:
        if mark(message):
            return True
        log.warning(kv("attempt_refused", id=message.id, note="another sender claims it"))
    except Exception as exc:  # the store is unreachable: a send nobody can vouch for waits
        log.warning(kv("attempt_unmarked", id=message.id, error=type(exc).__name__))
    return False


def attempt(
    notifier: Notifier | None, message: OutboxMessage, ref: str | None
) -> tuple[DeliveryError | None, str | None]:
    """Send one message through its notifier: (None, the sent message's reference) if the
    receiver accepted it."""
    if notifier is None:
        error = f"team {message.team!r} has no {message.receiver} receiver any more"
        return DeliveryError(error, permanent=True), None
    try:
        return None, send(notifier, message, ref)
    except DeliveryError as exc:
        return exc, None
    except Exception as exc:  # a notifier bug must not stop the other messages
        # Its message may quote a webhook URL (a secret in its path): type only, details at DEBUG.
        log.debug("delivery_crashed id=%d", message.id, exc_info=True)
        error = f"unexpected {type(exc).__name__} in the {message.receiver} notifier"
        return DeliveryError(error), None


def send(notifier: Notifier, message: OutboxMessage, ref: str | None = None) -> str | None:
    """Deliver one message; the receiver's reference to it if it can edit it later. An update
    edits the message `ref` names and is never delivered as a new message."""
    payload = decode_message(message)
    if isinstance(payload, Digest):
        notifier.send_digest(payload)
        return None
    if message.kind == "updated":
        if ref is None or not isinstance(notifier, Editor):
            raise DeliveryError(
                f"the {message.receiver} receiver cannot edit a sent alert; update dropped",
                permanent=True,
            )
        notifier.edit_alert(payload, ref)
        return None
    return notifier.send_alert(payload)
