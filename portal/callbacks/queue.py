"""Queuing callbacks: called by the lifecycle in the transaction that stores a final
state, so the callback exists exactly when the state does (one per final state reached).

The body is fixed here, from the message as it is now: a message requeued and finished
again gets a second callback with its own content, and a retried delivery sends the
same bytes (receivers may deduplicate by ``event_id``).
"""

import json
import uuid

from sqlalchemy import insert, select

from portal.callbacks.models import Callback
from portal.dbtypes import utcnow
from portal.mail import diagnosis
from portal.outbox import recipients as rcpt
from portal.outbox.models import Message
from portal.tokens.models import ApiToken

_COLUMNS = (Message.id, Message.token_id, Message.status, Message.idempotency_key,
            Message.resource, Message.to_addrs, Message.cc_addrs, Message.bcc_addrs,
            Message.recipient_results, Message.reply_code, Message.reply_text,
            Message.diagnosis, Message.message_id, Message.attempt_count, Message.sent_at)


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def body(row, now) -> dict:
    """What the receiver gets: the message's final state, its recipients' own results,
    the server's last reply and the diagnosis in English (with its stable codes)."""
    recipients = rcpt.current(row.recipient_results, row.to_addrs, row.cc_addrs,
                              row.bcc_addrs)
    return {
        "event_id": uuid.uuid4().hex, "id": row.id, "status": row.status,
        "idempotency_key": row.idempotency_key, "resource": row.resource,
        "recipients": [{"address": entry["address"], "status": entry["state"],
                        "reply_code": entry["code"], "reply_text": entry["text"]}
                       for entry in recipients],
        "reply_code": row.reply_code, "reply_text": row.reply_text,
        "diagnosis": diagnosis.describe_english(row.diagnosis) or None,
        "diagnosis_codes": [part["code"] for part in diagnosis.parts_of(row.diagnosis)],
        "message_id": row.message_id, "attempt_count": row.attempt_count,
        "sent_at": _iso(row.sent_at), "occurred_at": _iso(now),
    }


def queue_final(connection, pks: list[int]) -> int:
    """Queue one callback for each of ``pks`` sent with a token that has a callback URL
    (on ``connection``, inside the caller's transaction); returns how many."""
    rows = connection.execute(
        select(*_COLUMNS).join(ApiToken, ApiToken.id == Message.token_id)
        .where(Message.id.in_(pks), ApiToken.callback_url.is_not(None))).all()
    if not rows:
        return 0
    now = utcnow()
    connection.execute(insert(Callback.__table__), [
        {"message_pk": row.id, "token_id": row.token_id, "status": row.status,
         "body": json.dumps(body(row, now), ensure_ascii=False, separators=(",", ":")),
         "state": "pending", "created_at": now, "next_attempt_at": now, "attempts": 0}
        for row in rows])
    return len(rows)
