"""Handing messages to the server, with the state committed before and after each hand-over.

``deliver_now`` serves immediate mode (one message, one session). ``deliver_chunk``
serves the worker: many messages of one sender over one reused session.
"""

import random
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import update

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.mail import DeliveryError, build_message, open_session
from portal.outbox.models import Message
from portal.outbox.records import record_outcome
from portal.outbox.throttle import wait_for_slot
from portal.senders.models import Sender
from portal.senders.service import sender_settings


def rebuild(message: Message, sender: Sender) -> EmailMessage:
    """The MIME message again, with the Message-ID it was recorded under."""
    return build_message(from_address=message.sender_address,
                         display_name=sender.display_name, to=message.to_addrs,
                         cc=message.cc_addrs, bcc=message.bcc_addrs, subject=message.subject,
                         html=message.html_body, text=message.text_body,
                         message_id=message.message_id)


def envelope(message: Message) -> list[str]:
    return list(dict.fromkeys([*message.to_addrs, *message.cc_addrs, *message.bcc_addrs]))


def deliver_now(message: Message, sender: Sender, msg: EmailMessage, timeout: float) -> None:
    """Immediate mode: one session, one message; the outcome is committed."""
    started = utcnow()
    try:
        with open_session(sender_settings(sender, timeout)) as session:
            reply = session.send(msg, message.sender_address, envelope(message))
        record_outcome(message, started, reply=reply)
    except DeliveryError as error:
        record_outcome(message, started, error=error,
                       final_status="unknown" if error.maybe_delivered else "failed")
    db.session.commit()


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff with jitter: base · 2^(n-1), ±25 % (so each wait is longer
    than the one before), capped."""
    config = current_app.config
    base = float(config.get("RETRY_BASE_SECONDS", 60))
    delay = min(base * 2 ** (attempt - 1), float(config.get("RETRY_MAX_SECONDS", 3600)))
    return timedelta(seconds=delay * random.uniform(0.75, 1.25))


def _status_after(message: Message, error: DeliveryError) -> str:
    if error.maybe_delivered:
        return "unknown"
    max_attempts = int(current_app.config.get("MAX_ATTEMPTS", 5))
    if error.transient and message.attempt_count + 1 < max_attempts:
        return "retrying"
    return "failed"


def begin_handover(message_pk: int, claim_id: str, lease_seconds: float) -> bool:
    """Commit ``sending`` only if the claim is still ours; False means someone else has it."""
    changed = db.session.execute(
        update(Message).where(Message.id == message_pk, Message.claimed_by == claim_id,
                              Message.status.in_(("queued", "retrying")))
        .values(status="sending", lease_until=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return changed == 1


def finish(message: Message, started, reply=None, error: DeliveryError | None = None) -> None:
    """Record the attempt and the new state, and drop the claim, in one commit."""
    status = "sent" if error is None else _status_after(message, error)
    record_outcome(message, started, reply=reply, error=error, final_status=status)
    if status == "retrying":
        message.next_attempt_at = utcnow() + retry_delay(message.attempt_count)
    message.claimed_by = None
    message.lease_until = None
    db.session.commit()


def _release_rest(claim_id: str, ids: list[int], error: DeliveryError) -> None:
    """After a session-level failure, put the rest back for later without counting attempts,
    so a sender whose login or TLS fails does not burn through its whole queue."""
    if not ids:
        return
    pause = timedelta(seconds=float(current_app.config.get("SENDER_PAUSE_SECONDS", 300)))
    db.session.execute(
        update(Message).where(Message.id.in_(ids), Message.claimed_by == claim_id,
                              Message.status.in_(("queued", "retrying")))
        .values(claimed_by=None, lease_until=None, next_attempt_at=utcnow() + pause,
                diagnosis=f"Waiting: the sender could not connect ({error}).")
        .execution_options(synchronize_session=False))
    db.session.commit()


def _fail_unsendable(ids: list[int], claim_id: str, reason: str) -> None:
    error = DeliveryError("connect", "protocol", reason, kind="permanent")
    for pk in ids:
        if begin_handover(pk, claim_id, 60):
            finish(db.session.get(Message, pk), utcnow(), error=error)


def deliver_chunk(sender_id: int | None, ids: list[int], claim_id: str, *, lease: float,
                  timeout: float, should_stop) -> int:
    """Deliver claimed messages of one sender over one reused session; returns how many
    were handed over. Stops between messages when ``should_stop()`` turns true."""
    sender = db.session.get(Sender, sender_id) if sender_id is not None else None
    if sender is None or not sender.enabled:
        _fail_unsendable(ids, claim_id, "The sender was deleted or disabled before delivery.")
        return 0
    settings, rate = sender_settings(sender, timeout), sender.rate_per_minute
    session, handed = None, 0
    try:
        for index, pk in enumerate(ids):
            if should_stop() or not wait_for_slot(sender.id, rate, should_stop):
                break
            if not begin_handover(pk, claim_id, lease):
                continue
            message, started = db.session.get(Message, pk), utcnow()
            try:
                if session is None or not session.is_open:
                    session = open_session(settings)
                reply = session.send(rebuild(message, sender), message.sender_address,
                                     envelope(message))
            except DeliveryError as error:
                finish(message, started, error=error)
                if session is None or not session.is_open:
                    _release_rest(claim_id, ids[index + 1:], error)
                    break
                continue
            finish(message, started, reply=reply)
            handed += 1
    finally:
        if session is not None:
            session.close()
    return handed
