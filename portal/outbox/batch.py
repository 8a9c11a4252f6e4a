"""The worker's hand-overs: many messages of one sender over one reused SMTP session.

Each message is handed over right after one commit that stores the previous message's
outcome and marks this one ``sending`` (``lifecycle.hand_over``), so a crash leaves at
most the message on the wire in doubt per connection. A dropped link is reopened at
once; only a sender whose connect, TLS or login fails pauses the rest of its claim, or
hands it to its fallback sender (one hop: the fallback's own failure pauses it; a
message that breaks one of the fallback's limits waits for its own sender).

Quotas (``outbox.quota``): each hand-over books its recipients in the sender's rolling
24 hours first; when there is no room, or the provider answered with its own quota
reply, the rest of the claim waits until the window resets without using up attempts.
"""

import time

from flask import current_app

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.mail import ComposeError, DeliveryError, open_session
from portal.outbox import delivery, lifecycle, quota
from portal.outbox.delivery import SESSION_STEPS, rebuild, settings_or_error
from portal.outbox.models import Message
from portal.outbox.outcome import outcome
from portal.outbox.throttle import wait_for_slot
from portal.senders.models import Sender

RECONNECT_BACKOFF = (0.2, 1.0)  # seconds before each further try after a dropped link
STOPPED = object()  # asked to stop: the rest of the claim is given back, not held


class _Connection:
    """One sender's SMTP session, opened on first use and reopened after a drop."""

    def __init__(self, settings):
        self.settings, self.session, self.dropped = settings, None, False

    def send(self, payload, envelope_from: str, recipients: list[str]):
        if self.broken:
            self.open()
        return self.session.send(payload, envelope_from, recipients)

    def open(self) -> None:
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
    """Hand one message to the server; returns (outcome, what stops the run or None):
    a session-level error, or the provider's quota pause."""
    started = utcnow()
    try:
        result = conn.send(_payload(row, sender), row.sender_address, lifecycle.envelope(row))
    except DeliveryError as error:
        session_failed = error.step in SESSION_STEPS and conn.broken
        conn.dropped = conn.broken and not session_failed
        wait = quota.after_reply(sender.id, error, None)
        found = outcome(row, started, error=error, hold=wait and (wait.until, wait.part))
        return found, wait or (error if session_failed else None)
    wait = quota.after_reply(sender.id, None, result.refused)
    return outcome(row, started, result=result, hold=wait and (wait.until, wait.part)), wait


class _Run:
    """The hand-over loop of one sender's share of a claim. ``via`` = (primary name,
    its error) when this sender is the fallback of a primary that failed."""

    def __init__(self, sender: Sender, conn: _Connection, claim_id: str, *, lease: float,
                 should_stop, via=None):
        # Read once: every commit expires the ORM object, and reloading it per message
        # would cost a query each time.
        self.sender, self.sender_id, self.rate = sender, sender.id, sender.rate_per_minute
        self.quota, self.conn, self.claim_id = sender.daily_recipient_quota, conn, claim_id
        self.lease, self.should_stop, self.via = lease, should_stop, via
        self.previous, self.accepted, self.done, self.unfit = None, 0, set(), []

    def deliver(self, pks: list[int]):
        """Returns (ids left unsent, what stopped the run: None, a session-level
        ``DeliveryError`` or a ``quota.Wait``). A fallback's run leaves the messages
        that do not fit it (``delivery.for_fallback``) unsent."""
        read_ahead = int(current_app.config["WORKER_READ_AHEAD"])
        try:
            for row in _rows(pks, self.claim_id, read_ahead):
                stop = self._one(row)
                if stop is STOPPED:
                    break
                if stop is not None:
                    return [pk for pk in pks if pk not in self.done], stop
        finally:
            lifecycle.finish(self.previous)
        return self.unfit, None

    def _one(self, row):
        if (self.rate or self.quota) and self.previous is not None:
            lifecycle.finish(self.previous)  # do not hold an outcome while waiting
            self.previous = None
        if self.should_stop():
            return STOPPED
        recipients = len(lifecycle.envelope(row))
        taken, data = self._taken(row, recipients)
        if not taken:
            return None
        booking = quota.book(self.sender_id, self.quota, recipients)
        if isinstance(booking, quota.Wait):
            return booking
        if not wait_for_slot(self.sender_id, self.rate, self.should_stop):
            quota.give_back(booking)
            return STOPPED
        self.done.add(row.id)
        row = self._rerouted(row, data) if self.via else row
        if row is None:
            lifecycle.finish(self.previous)  # stored before it is let go
        if row is None or not lifecycle.hand_over(self.previous, row.id, self.claim_id,
                                                  self.lease):
            quota.give_back(booking)
            self.previous = None
            return None
        self.previous, stop = _send_one(row, self.conn, self.sender)
        self.accepted += self.previous.attempt["outcome"] in ("sent", "partial")
        if isinstance(stop, DeliveryError):
            quota.give_back(booking)  # the session never opened: nothing was offered
        return stop

    def _taken(self, row, recipients: int) -> tuple[bool, bytes | None]:
        """(False, None) for a message this run does not hand over: one that does not
        fit the fallback waits for its own sender; one with more recipients than its own
        sender's quota could never go, so it fails at once. Else (True, the bytes
        re-addressed for the fallback, or None)."""
        if self.via:
            try:
                return True, delivery.for_fallback(row, self.sender, recipients)
            except delivery.DoesNotFit:
                self.unfit.append(row.id)
                return False, None
        if self.quota and recipients > self.quota:
            self.done.add(row.id)
            lifecycle.fail_claimed([row.id], self.claim_id, quota.too_large(recipients,
                                                                             self.quota))
            return False, None
        return True, None

    def _rerouted(self, row, data: bytes | None):
        """The message, now recorded as going through this (fallback) sender."""
        primary, error = self.via
        if not lifecycle.reroute(row.id, self.claim_id, self.sender, primary, error, data):
            return None
        rows = lifecycle.claimed_rows([row.id], self.claim_id)
        db.session.commit()
        return rows[0] if rows else None


def _rows(pks: list[int], claim_id: str, size: int):
    """The claimed rows, read ``size`` at a time (message bytes can be large)."""
    for start in range(0, len(pks), size):
        rows = lifecycle.claimed_rows(pks[start:start + size], claim_id)
        db.session.commit()  # the rows are plain values: no connection held while sending
        yield from rows


def _run(sender: Sender, pks, claim_id, *, timeout: float, eager: bool, **options):
    """Deliver through ``sender``; returns (accepted, ids left, what stopped it).
    ``eager`` opens the session before the first hand-over, so that a sender that
    cannot connect or log in leaves every message untouched (for its fallback). A
    secret that cannot be read fails the first message for good when nothing else
    could take it (not eager: no fallback), so the admin learns of it; the rest waits."""
    wait = quota.provider_wait(sender)
    if wait is not None:
        return 0, pks, wait
    settings, error = settings_or_error(sender, timeout)
    if error is not None:
        if not eager:
            lifecycle.fail_claimed(pks[:1], claim_id, error)
            return 0, pks[1:], error
        return 0, pks, error
    conn = _Connection(settings)
    try:
        if eager:
            conn.open()
        run = _Run(sender, conn, claim_id, **options)
        rest, stop = run.deliver(pks)
        return run.accepted, rest, stop
    except DeliveryError as failure:  # only the eager open raises
        quota.after_reply(sender.id, failure, None)  # a provider quota reply at login
        return 0, pks, failure
    finally:
        conn.close()


def _fallback_of(sender: Sender) -> Sender | None:
    """The sender's usable fallback: enabled, never the sender itself, and in its scope
    (system level, or the primary's own team)."""
    if sender.fallback_sender_id in (None, sender.id):
        return None
    fallback = db.session.get(Sender, sender.fallback_sender_id)
    if fallback is None or not fallback.enabled:
        return None
    return fallback if fallback.team_id in (None, sender.team_id) else None


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
    fallback, name = _fallback_of(sender), sender.name
    options = {"lease": lease, "should_stop": should_stop}
    accepted, rest, stop = _run(sender, pks, claim_id, timeout=timeout,
                                eager=fallback is not None, **options)
    if isinstance(stop, DeliveryError) and fallback is not None and rest:
        more, left, second = _run(fallback, rest, claim_id, timeout=timeout, eager=True,
                                  via=(name, stop), **options)
        accepted += more
        rest = left  # what the fallback failed on or could not take waits for its own
    _settle(claim_id, rest, stop)
    return accepted


def _settle(claim_id: str, rest: list[int], stop) -> None:
    """What is left of the claim after a run stopped early: it waits for the quota, or
    for the sender that could not connect, set up TLS or log in (no attempt used)."""
    if isinstance(stop, quota.Wait):
        lifecycle.hold(claim_id, rest, stop.until, stop.part)
    elif isinstance(stop, DeliveryError):
        lifecycle.pause(claim_id, rest, stop)

