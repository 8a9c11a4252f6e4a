"""The worker's hand-overs: many messages of one sender over one reused SMTP session.

Each message is handed over right after one commit that stores the previous message's
outcome and marks this one ``sending`` (``lifecycle.hand_over``), so a crash leaves at
most the message on the wire in doubt per connection. A dropped link is reopened at
once; only a sender whose connect, TLS or login fails pauses the rest of its claim.
"""

import time

from flask import current_app

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.mail import ComposeError, DeliveryError, open_session
from portal.outbox import lifecycle
from portal.outbox.delivery import rebuild, settings_or_error
from portal.outbox.models import Message
from portal.outbox.outcome import outcome
from portal.outbox.throttle import wait_for_slot
from portal.senders.models import Sender

SESSION_STEPS = ("token", "connect", "tls", "ehlo", "auth")
RECONNECT_BACKOFF = (0.2, 1.0)  # seconds before each further try after a dropped link


class _Connection:
    """One sender's SMTP session, opened on first use and reopened after a drop."""

    def __init__(self, settings):
        self.settings, self.session, self.dropped = settings, None, False

    def send(self, payload, envelope_from: str, recipients: list[str]):
        if self.broken:
            self._open()
        return self.session.send(payload, envelope_from, recipients)

    def _open(self) -> None:
        """Open the session; after a drop, try again (briefly) before giving up, so a
        server restart or a "too many errors" hang-up does not pause the sender."""
        waits = RECONNECT_BACKOFF if self.dropped else ()
        for wait in (*waits, None):
            try:
                self.session = open_session(self.settings)
                return
            except DeliveryError as error:
                if wait is None or not error.transient:
                    raise
                time.sleep(wait)

    @property
    def broken(self) -> bool:
        return self.session is None or not self.session.is_open

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def _payload(row, sender: Sender):
    """The stored bytes, or the message built again (mail queued without them). A value
    that cannot go into a mail (say, a displayed name changed since) fails it for good."""
    if row.raw_message is not None:
        return row.raw_message
    try:
        return rebuild(db.session.get(Message, row.id), sender)
    except ComposeError as error:
        raise DeliveryError("data", "unsafe_header", str(error), kind="permanent") from error
    finally:
        db.session.commit()  # give the connection back before the SMTP exchange


def _send_one(row, conn: _Connection, sender: Sender):
    """Hand one message to the server; returns (outcome, session-level error or None)."""
    started = utcnow()
    try:
        result = conn.send(_payload(row, sender), row.sender_address, lifecycle.envelope(row))
    except DeliveryError as error:
        session_failed = error.step in SESSION_STEPS and conn.broken
        conn.dropped = conn.broken and not session_failed
        return outcome(row, started, error=error), error if session_failed else None
    return outcome(row, started, result=result), None


def _rows(pks: list[int], claim_id: str, size: int):
    """The claimed rows, read ``size`` at a time (message bytes can be large)."""
    for start in range(0, len(pks), size):
        rows = lifecycle.claimed_rows(pks[start:start + size], claim_id)
        db.session.commit()  # the rows are plain values: no connection held while sending
        yield from rows


def _deliver(pks, claim_id, conn, sender, *, lease: float, should_stop):
    """The hand-over loop; returns (messages accepted, ids left unsent, the session-level
    failure that stopped it or None)."""
    previous, accepted, read_ahead = None, 0, int(current_app.config["WORKER_READ_AHEAD"])
    # Read once: every commit expires the ORM object, and reloading it per message
    # would cost a query each time.
    sender_id, rate = sender.id, sender.rate_per_minute
    done: set[int] = set()
    try:
        for row in _rows(pks, claim_id, read_ahead):
            if rate and previous is not None:
                lifecycle.finish(previous)  # do not hold an outcome while waiting
                previous = None
            if should_stop() or not wait_for_slot(sender_id, rate, should_stop):
                break
            done.add(row.id)
            if not lifecycle.hand_over(previous, row.id, claim_id, lease):
                previous = None
                continue
            previous, failure = _send_one(row, conn, sender)
            accepted += previous.attempt["outcome"] in ("sent", "partial")
            if failure is not None:
                return accepted, [pk for pk in pks if pk not in done], failure
    finally:
        lifecycle.finish(previous)
    return accepted, [], None


def deliver_chunk(sender_id: int | None, pks: list[int], claim_id: str, *, lease: float,
                  timeout: float, should_stop) -> int:
    """Deliver claimed messages of one sender over one session; returns how many the
    server accepted. Stops between messages when ``should_stop()`` turns true."""
    sender = db.session.get(Sender, sender_id) if sender_id is not None else None
    if sender is None or not sender.enabled:
        lifecycle.fail_claimed(pks, claim_id, DeliveryError(
            "connect", "protocol", "The sender was deleted or disabled before delivery.",
            kind="permanent"))
        return 0
    settings, error = settings_or_error(sender, timeout)
    if error is not None:
        lifecycle.fail_claimed(pks[:1], claim_id, error)
        lifecycle.pause(claim_id, pks[1:], error)
        return 0
    conn = _Connection(settings)
    try:
        accepted, rest, failure = _deliver(pks, claim_id, conn, sender, lease=lease,
                                           should_stop=should_stop)
    finally:
        conn.close()
    if failure is not None:
        lifecycle.pause(claim_id, rest, failure)
    return accepted
