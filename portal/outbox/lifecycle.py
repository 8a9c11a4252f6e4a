"""The one owner of a message's life: every change of its status and queue columns.

``status``, ``claimed_by``, ``lease_until``, ``next_attempt_at``, ``attempt_count``,
``attempts_base`` and ``recipient_results`` are written here and nowhere else. Callers:

- submission (``outbox.service``, ``outbox.intake``): ``queue_all`` for deferred and
  scheduled mail, ``start_immediate`` then
  ``finish_immediate`` for immediate mail (with a lease, so recovery covers a request
  that dies mid-send);
- the sender test (``senders.testing``): the same two calls for the test mail;
- the worker (``outbox.worker`` / ``outbox.batch``): ``claim_batch``, ``hand_over`` (one
  commit holds the previous message's outcome and the next one's "handing over" mark, so
  a crash leaves at most the message on the wire in doubt), ``finish``, ``fail_claimed``,
  ``pause`` or ``hold`` (a paused sender, a quota without room), ``reroute`` (through
  the fallback sender), ``release`` and ``recover_expired``;
- the records page: ``requeue`` for a manual retry or a resend to refused recipients;
- the API and the message page: ``cancel`` for mail not yet handed over.

Every store of a final state also queues the token's delivery callback, if it has one,
in the same transaction (``portal.callbacks.queue``).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, insert, or_, select, update

from portal.callbacks import queue as callbacks
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.mail import DeliveryError, diagnosis
from portal.outbox import recipients as rcpt
from portal.outbox.groupcommit import GroupCommit
from portal.outbox.models import Attempt, Message
from portal.outbox.outcome import Outcome, in_doubt_error, outcome

# Scheduled mail is due once its ``next_attempt_at`` (the send_at asked for) has come.
DUE = ("queued", "scheduled", "retrying")
PENDING = ("queued", "scheduled", "sending", "retrying")
FINAL = ("sent", "partial", "failed", "unknown", "cancelled")
CANCELLABLE = DUE  # not yet handed over: once ``sending``, the server may have it
RETRYABLE = ("partial", "failed", "unknown")  # an admin may requeue these by hand

MESSAGES = Message.__table__
_OUTCOME_COLUMNS = ("status", "attempt_count", "attempts_base", "last_attempt_at", "sent_at",
                    "reply_code", "reply_text", "diagnosis", "next_attempt_at", "claimed_by",
                    "lease_until", "recipient_results")
_STORE = (update(MESSAGES).where(MESSAGES.c.id == bindparam("b_id"))
          .values({name: bindparam(name) for name in _OUTCOME_COLUMNS}))
_ADD_ATTEMPT = insert(Attempt.__table__)
_BEGIN_MANY = (update(MESSAGES)
               .where(MESSAGES.c.id.in_(bindparam("b_ids", expanding=True)),
                      MESSAGES.c.claimed_by == bindparam("claim"), MESSAGES.c.status.in_(DUE))
               .values(status="sending", lease_until=bindparam("b_lease"),
                       last_attempt_at=bindparam("b_now"))
               .returning(MESSAGES.c.id))
# The usual case, one mark: a plain statement compiles once (an expanding IN is
# rendered again on every execution).
_BEGIN_ONE = (update(MESSAGES)
              .where(MESSAGES.c.id == bindparam("b_id"),
                     MESSAGES.c.claimed_by == bindparam("claim"), MESSAGES.c.status.in_(DUE))
              .values(status="sending", lease_until=bindparam("b_lease"),
                      last_attempt_at=bindparam("b_now")))
ROW_COLUMNS = [MESSAGES.c[name] for name in (
    "id", "status", "raw_message", "sender_address", "to_addrs", "cc_addrs", "bcc_addrs",
    "attempt_count", "attempts_base", "recipient_results", "reply_code", "reply_text",
    "sent_at", "last_attempt_at")]


def _execute(statement, params=None):
    return db.session.connection().execute(statement, params)


def _lease(seconds: float):
    return utcnow() + timedelta(seconds=seconds)


def envelope(message) -> list[str]:
    """The SMTP envelope of the next attempt: every recipient not yet accepted or refused."""
    return rcpt.envelope(recipients_of(message))


# Submission and immediate sends -------------------------------------------------------

def queue_all(rows: list[dict]) -> list[int]:
    """New deferred messages (plain column dicts) in one INSERT: each ``queued`` (due at
    once), or ``scheduled`` until its ``next_attempt_at`` (the send_at asked for), then due
    like queued mail. Returns their ids in order (the caller commits)."""
    for row in rows:
        row["status"] = "scheduled" if row.get("next_attempt_at") else "queued"
        row.setdefault("next_attempt_at", None)
    if not rows:
        return []
    result = _execute(insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True),
                      rows)
    return list(result.scalars())


def cancel(pk: int) -> bool:
    """Cancel a message not yet handed over, in one conditional UPDATE: the worker's
    "handing over" mark needs the same states, so exactly one of the two wins. False when
    the message is already being handed over or done (the caller commits)."""
    now = utcnow()
    taken = _execute(update(MESSAGES).where(MESSAGES.c.id == pk,
                                            MESSAGES.c.status.in_(CANCELLABLE))
                     .values(status="cancelled", claimed_by=None, lease_until=None,
                             next_attempt_at=None, last_attempt_at=now)).rowcount == 1
    if taken:
        callbacks.queue_final(db.session.connection(), [pk])
    return taken


def start_immediate(message: Message) -> None:
    """An immediate send begins: ``sending`` under a lease of its own, so that a request
    that dies mid-send is found by ``recover_expired`` like a dead worker's claim."""
    message.status = "sending"
    message.claimed_by = f"immediate:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    message.lease_until = _lease(float(current_app.config["WORKER_LEASE_SECONDS"]))
    message.last_attempt_at = utcnow()


def finish_immediate(message: Message, started, *, result=None,
                     error: DeliveryError | None = None, retry: bool = True) -> Outcome:
    """Store an immediate send's outcome (the caller commits); reloads ``message``.
    Deferred recipients go to the worker unless ``retry`` is False."""
    db.session.flush()
    found = outcome(message, started, result=result, error=error, retry=retry)
    store([found])
    db.session.expire(message)
    return found


# The worker ---------------------------------------------------------------------------

def _due(now):
    return and_(Message.status.in_(DUE), Message.claimed_by.is_(None),
                or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now))


def claim_batch(claim_id: str, size: int, lease_seconds: float) -> list[int]:
    """Claim up to ``size`` due messages in one atomic UPDATE; returns their ids.

    On PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED`` so any number of
    workers share the queue; SQLite serialises writers, so one statement is atomic too.
    """
    now = utcnow()
    candidates = (select(Message.id).where(_due(now))
                  .order_by(Message.next_attempt_at.is_not(None), Message.next_attempt_at,
                            Message.id).limit(size))
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    _execute(update(Message).where(Message.id.in_(candidates.scalar_subquery()))
             .values(claimed_by=claim_id, lease_until=now + timedelta(seconds=lease_seconds))
             .execution_options(synchronize_session=False))
    db.session.commit()
    return list(db.session.scalars(select(Message.id).where(Message.claimed_by == claim_id)
                                   .order_by(Message.id)))


def claimed_rows(pks: list[int], claim_id: str) -> list:
    """The still-claimed messages among ``pks`` with what a hand-over needs, in order."""
    rows = _execute(select(*ROW_COLUMNS).where(MESSAGES.c.id.in_(pks),
                                               MESSAGES.c.claimed_by == claim_id)).all()
    order = {pk: index for index, pk in enumerate(pks)}
    return sorted(rows, key=lambda row: order[row.id])


def store(outcomes: list[Outcome], connection=None) -> None:
    """Write outcomes and their attempt rows on ``connection`` (default: the session's;
    the caller commits)."""
    execute = connection.execute if connection is not None else _execute
    if len(outcomes) == 1:  # the worker's case: a plain execute costs less
        execute(_STORE, outcomes[0].values)
        execute(_ADD_ATTEMPT, outcomes[0].attempt)
    elif outcomes:
        execute(_STORE, [found.values for found in outcomes])
        execute(_ADD_ATTEMPT, [found.attempt for found in outcomes])
    final = [found.values["b_id"] for found in outcomes if found.status in FINAL]
    if final:
        callbacks.queue_final(connection or db.session.connection(), final)


def _write_hand_overs(connection, requests: list) -> list[bool]:
    """The group commit's writes: every request's previous outcome, then the "handing
    over" marks, one UPDATE per claim; True for each mark that took."""
    store([previous for previous, _begin in requests if previous is not None], connection)
    wanted: dict[tuple[str, float], list[int]] = {}
    for _previous, begin in requests:
        if begin is not None:
            pk, claim_id, lease = begin
            wanted.setdefault((claim_id, lease), []).append(pk)
    begun: set[int] = set()
    for (claim_id, lease), pks in wanted.items():
        params = {"claim": claim_id, "b_lease": _lease(lease), "b_now": utcnow()}
        if len(pks) == 1:
            if connection.execute(_BEGIN_ONE, {**params, "b_id": pks[0]}).rowcount == 1:
                begun.add(pks[0])
        else:
            begun.update(connection.execute(_BEGIN_MANY, {**params, "b_ids": pks}).scalars())
    return [begin is not None and begin[0] in begun for _previous, begin in requests]


_HAND_OVERS = GroupCommit(_write_hand_overs)


def hand_over(previous: Outcome | None, pk: int, claim_id: str, lease: float) -> bool:
    """One commit: the previous message's outcome and this one's "handing over" mark
    (shared with other connection threads' hand-overs by the group commit).

    False when the message is no longer ours (its claim expired and someone else took
    it): then it must not be sent.
    """
    return _HAND_OVERS.run((previous, (pk, claim_id, lease)))


def finish(previous: Outcome | None) -> None:
    """Commit the last outcome of a run of hand-overs."""
    if previous is not None:
        _HAND_OVERS.run((previous, None))


def fail_claimed(pks: list[int], claim_id: str, error: DeliveryError) -> None:
    """Claimed messages that cannot be handed over at all (sender gone, secret unreadable)."""
    now = utcnow()
    store([outcome(row, now, error=error) for row in claimed_rows(pks, claim_id)])
    db.session.commit()


def pause(claim_id: str, pks: list[int], error: DeliveryError) -> None:
    """A sender that cannot connect, set up TLS or log in: the rest of its claim waits
    ``SENDER_PAUSE_SECONDS`` without using up attempts."""
    pause_for = float(current_app.config.get("SENDER_PAUSE_SECONDS", 300))
    hold(claim_id, pks, _lease(pause_for), diagnosis.paused_part(error))


def hold(claim_id: str, pks: list[int], until, part: dict) -> None:
    """Claimed mail waits until ``until`` without using up attempts, ``part`` (a stored
    diagnosis part) saying why: a paused sender, a quota with no room left."""
    if not pks:
        return
    _execute(update(Message).where(Message.id.in_(pks), Message.claimed_by == claim_id,
                                   Message.status.in_(DUE))
             .values(claimed_by=None, lease_until=None, next_attempt_at=until,
                     diagnosis=diagnosis.store([part]))
             .execution_options(synchronize_session=False))
    db.session.commit()


def reroute(pk: int, claim_id: str, fallback, primary_name: str, error: DeliveryError,
            data: bytes | None) -> bool:
    """A claimed message goes through the ``fallback`` sender because its own failed
    with ``error`` at connect, TLS or login: the sender snapshot becomes the fallback's,
    ``data`` (the stored bytes re-addressed, ``delivery.for_fallback``) replaces the
    bytes, and ``sender_note`` keeps why. Committed; False when the claim is no longer
    ours."""
    message = db.session.get(Message, pk)
    if message is None or message.claimed_by != claim_id or message.status not in DUE:
        db.session.rollback()
        return False
    message.sender_id, message.sender_name = fallback.id, fallback.name
    message.sender_address, message.sender_reason = fallback.address, "fallback"
    if data is not None:
        message.raw_message = data
    message.sender_note = diagnosis.store(
        [diagnosis.fallback_part(primary_name, fallback.name, error)])
    db.session.commit()
    return True


def release(claim_id: str, ids: list[int] | None = None) -> int:
    """Give back claimed messages that were not handed over (e.g. on shutdown)."""
    query = update(Message).where(Message.claimed_by == claim_id, Message.status.in_(DUE))
    if ids is not None:
        query = query.where(Message.id.in_(ids))
    count = _execute(query.values(claimed_by=None, lease_until=None)
                     .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return count


def recover_expired() -> tuple[int, int]:
    """Expired leases: not yet handed over → back to the queue; mid hand-over (a dead
    worker or request) → ``unknown`` with the interrupted attempt recorded. ``unknown``
    mail may have reached the server, so it is never resent automatically."""
    now = utcnow()
    expired = and_(Message.claimed_by.is_not(None), Message.lease_until < now)
    released = _execute(update(Message).where(expired, Message.status.in_(DUE))
                        .values(claimed_by=None, lease_until=None)
                        .execution_options(synchronize_session=False)).rowcount
    flagged = 0
    for row in _execute(select(*ROW_COLUMNS).where(expired, Message.status == "sending")).all():
        found = outcome(row, row.last_attempt_at or now, error=in_doubt_error())
        taken = _execute(update(MESSAGES).where(
            MESSAGES.c.id == row.id, MESSAGES.c.status == "sending",
            MESSAGES.c.lease_until < now).values(status="unknown")).rowcount
        if taken:
            store([found])
            flagged += 1
    db.session.commit()
    return released, flagged


# Records ------------------------------------------------------------------------------

_LEGACY_STATE = {"sent": rcpt.ACCEPTED, "failed": rcpt.REFUSED, "unknown": rcpt.UNKNOWN}


def recipients_of(message) -> list[dict]:
    """Each envelope recipient's state, code and reply (all pending before an attempt).

    Messages finished before per-recipient results existed share the message's outcome.
    """
    found = rcpt.current(message.recipient_results, message.to_addrs, message.cc_addrs,
                         message.bcc_addrs)
    state = _LEGACY_STATE.get(message.status) if not message.recipient_results else None
    if state is None:
        return found
    return [{**entry, "state": state, "code": message.reply_code, "text": message.reply_text}
            for entry in found]


def retry_envelope(message: Message) -> list[str]:
    """Who a manual retry would send to: everyone not yet accepted."""
    return rcpt.envelope(rcpt.reopen(recipients_of(message)))


def requeue(message: Message) -> None:
    """Manual retry: refused and in-doubt recipients become pending and the message is
    due again, with a fresh round of attempts; accepted recipients are not sent again."""
    message.recipient_results = rcpt.reopen(recipients_of(message))
    message.status, message.next_attempt_at = "queued", None
    message.claimed_by = message.lease_until = None
    message.attempts_base = message.attempt_count
    db.session.flush()
