"""The worker's hand-overs: many messages of one sender over one reused SMTP session.

Messages go in small commit groups. Before a group is handed over, its rows are
committed as ``sending``; after it, every outcome and attempt is committed in one
transaction. A crash in between leaves at most one group ``sending``, which lease
recovery flags ``unknown``: nothing is lost, nothing is sent twice. A group of one
gives a commit before and after every single message.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, insert, update

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.mail import DeliveryError, open_session
from portal.outbox.delivery import rebuild, retry_delay, settings_or_error
from portal.outbox.models import Attempt, Message
from portal.outbox.records import diagnosis_text
from portal.outbox.throttle import wait_for_slot
from portal.senders.models import Sender

DUE = ("queued", "retrying")
# Core statements on the table: this path runs per group and skips the ORM's overhead.
MESSAGES = Message.__table__
_COLUMNS = [MESSAGES.c[name] for name in ("id", "raw_message", "sender_address", "to_addrs",
                                          "cc_addrs", "bcc_addrs", "attempt_count")]
_OUTCOME_COLUMNS = ("status", "attempt_count", "last_attempt_at", "sent_at", "reply_code",
                    "reply_text", "diagnosis", "next_attempt_at", "claimed_by", "lease_until")
_FINISH = (update(MESSAGES).where(MESSAGES.c.id == bindparam("b_id"))
           .values({name: bindparam(name) for name in _OUTCOME_COLUMNS}))
_ADD_ATTEMPTS = insert(Attempt.__table__)
# Built once: the same statement object keeps its compiled form in SQLAlchemy's cache.
_BEGIN = (update(MESSAGES)
          .where(MESSAGES.c.id.in_(bindparam("pks", expanding=True)),
                 MESSAGES.c.claimed_by == bindparam("claim"), MESSAGES.c.status.in_(DUE))
          .values(status="sending", lease_until=bindparam("lease_until"))
          .returning(*_COLUMNS))


def _execute(statement, params=None):
    return db.session.connection().execute(statement, params)


def begin_group(pks: list[int], claim_id: str, lease: float) -> list:
    """Commit ``sending`` for the still-claimed ones; return their rows (others are skipped)."""
    rows = _execute(_BEGIN, {"pks": pks, "claim": claim_id,
                             "lease_until": utcnow() + _seconds(lease)}).all()
    db.session.commit()
    order = {pk: index for index, pk in enumerate(pks)}
    return sorted(rows, key=lambda row: order[row.id])


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def _status_after(attempts_before: int, error: DeliveryError) -> str:
    if error.maybe_delivered:
        return "unknown"
    max_attempts = int(current_app.config.get("MAX_ATTEMPTS", 5))
    return "retrying" if error.transient and attempts_before + 1 < max_attempts else "failed"


def outcome(row, started, reply=None, error: DeliveryError | None = None) -> tuple[dict, dict]:
    """The message's new values and its attempt row, for one hand-over."""
    now, number = utcnow(), row.attempt_count + 1
    values = {"b_id": row.id, "attempt_count": number, "last_attempt_at": now,
              "claimed_by": None, "lease_until": None, "next_attempt_at": None}
    attempt = {"message_pk": row.id, "number": number, "started_at": started,
               "finished_at": now}
    if error is None:
        code, text = reply
        values.update(status="sent", sent_at=now, reply_code=code, reply_text=text,
                      diagnosis=None)
        attempt.update(outcome="sent", step=None, reply_code=code, reply_text=text,
                       diagnosis=None)
        return values, attempt
    status, diagnosis = _status_after(row.attempt_count, error), diagnosis_text(error)
    values.update(status=status, sent_at=None, reply_code=error.code, reply_text=error.text,
                  diagnosis=diagnosis)
    if status == "retrying":
        values["next_attempt_at"] = now + retry_delay(number)
    attempt.update(outcome="failed", step=error.step, reply_code=error.code,
                   reply_text=error.text, diagnosis=diagnosis)
    return values, attempt


def finish_group(results: list[tuple[dict, dict]], untouched: list) -> None:
    """Store outcomes and attempts, and give back rows that were not handed over."""
    if results:
        _execute(_FINISH, [values for values, _ in results])
        _execute(_ADD_ATTEMPTS, [attempt for _, attempt in results])
    for row in untouched:  # still claimed: the caller releases them
        _execute(update(MESSAGES).where(MESSAGES.c.id == row.id).values(
            status="retrying" if row.attempt_count else "queued"))
    db.session.commit()


def release_for_later(claim_id: str, pks: list[int], error: DeliveryError) -> None:
    """After a session-level failure, the rest waits without using up attempts, so a sender
    whose login or TLS fails does not burn through its whole queue."""
    if not pks:
        return
    pause = _seconds(float(current_app.config.get("SENDER_PAUSE_SECONDS", 300)))
    db.session.execute(
        update(Message).where(Message.id.in_(pks), Message.claimed_by == claim_id,
                              Message.status.in_(DUE))
        .values(claimed_by=None, lease_until=None, next_attempt_at=utcnow() + pause,
                diagnosis=f"Waiting: the sender could not connect ({error}).")
        .execution_options(synchronize_session=False))
    db.session.commit()


class _Connection:
    """One sender's SMTP session, opened on first use and reopened after a drop."""

    def __init__(self, settings):
        self.settings, self.session = settings, None

    def send(self, payload, envelope_from: str, recipients: list[str]):
        if self.broken:
            self.session = open_session(self.settings)
        return self.session.send(payload, envelope_from, recipients)

    @property
    def broken(self) -> bool:
        return self.session is None or not self.session.is_open

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def _payload(row, sender: Sender):
    if row.raw_message is not None:
        return row.raw_message
    return rebuild(db.session.get(Message, row.id), sender)


def _hand_over(rows, conn: _Connection, sender: Sender, should_stop):
    """Send the group's rows in order; stop early on a broken session or a stop request.

    Returns (results, untouched rows, session-level error or None).
    """
    results = []
    for index, row in enumerate(rows):
        if should_stop():
            return results, rows[index:], None
        started = utcnow()
        recipients = list(dict.fromkeys([*row.to_addrs, *row.cc_addrs, *row.bcc_addrs]))
        try:
            reply = conn.send(_payload(row, sender), row.sender_address, recipients)
        except DeliveryError as error:
            results.append(outcome(row, started, error=error))
            if conn.broken:
                return results, rows[index + 1:], error
            continue
        results.append(outcome(row, started, reply=reply))
    return results, [], None


def _fail_all(pks: list[int], claim_id: str, error: DeliveryError) -> None:
    rows = begin_group(pks, claim_id, 60)
    finish_group([outcome(row, utcnow(), error=error) for row in rows], [])


def deliver_chunk(sender_id: int | None, pks: list[int], claim_id: str, *, lease: float,
                  timeout: float, should_stop) -> int:
    """Deliver claimed messages of one sender over one session; returns how many the
    server accepted. Stops between messages when ``should_stop()`` turns true."""
    sender = db.session.get(Sender, sender_id) if sender_id is not None else None
    if sender is None or not sender.enabled:
        _fail_all(pks, claim_id, DeliveryError(
            "connect", "protocol", "The sender was deleted or disabled before delivery.",
            kind="permanent"))
        return 0
    settings, error = settings_or_error(sender, timeout)
    if error is not None:
        _fail_all(pks[:1], claim_id, error)
        release_for_later(claim_id, pks[1:], error)
        return 0
    size = 1 if sender.rate_per_minute else int(current_app.config["WORKER_COMMIT_GROUP"])
    conn, accepted = _Connection(settings), 0
    try:
        for start in range(0, len(pks), size):
            if should_stop() or not wait_for_slot(sender.id, sender.rate_per_minute,
                                                  should_stop):
                break
            rows = begin_group(pks[start:start + size], claim_id, lease)
            results, untouched, failure = _hand_over(rows, conn, sender, should_stop)
            finish_group(results, untouched)
            accepted += sum(1 for values, _ in results if values["status"] == "sent")
            if failure is not None:
                release_for_later(claim_id, [r.id for r in untouched] + pks[start + size:],
                                  failure)
                break
    finally:
        conn.close()
    return accepted
