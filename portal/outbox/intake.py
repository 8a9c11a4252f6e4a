"""Batch submission: many messages checked one by one, the good ones queued in one
transaction (a bulk INSERT), with per-item idempotency keys.

Each item is checked by ``service.prepare`` exactly as a single message is, so the
rules (addresses, sender, template, send_at, header safety) cannot drift apart. A
key already used by the token answers with the earlier message (or the conflict error
when the content differs), as the ``Idempotency-Key`` header does; a key repeated
within the batch refers to the batch's first item with it.
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.outbox import lifecycle
from portal.outbox.actors import Actor
from portal.outbox.models import Message
from portal.outbox.service import Submission, SubmitError, choose_sender, prepare


@dataclass
class Earlier:
    """A message that already holds an idempotency key."""

    id: int
    status: str
    fingerprint: str | None


def reused_key_error(earlier_id: int, field: str) -> SubmitError:
    """A key sent again with other content: a client bug, refused as the header is."""
    return SubmitError("idempotency_key_reused", _(
        "This %(header)s was already used for a different request (message %(id)s); use "
        "a new key for new content.", header="Idempotency-Key", id=earlier_id), field, 409)


def _earlier(token_id: int | None, keys: set[str]) -> dict[str, Earlier]:
    if token_id is None or not keys:
        return {}
    rows = db.session.execute(select(
        Message.idempotency_key, Message.id, Message.status, Message.idempotency_fingerprint)
        .where(Message.token_id == token_id, Message.idempotency_key.in_(sorted(keys))))
    return {key: Earlier(pk, status, fp) for key, pk, status, fp in rows}


def _replay(found: Earlier, sub: Submission) -> dict:
    if found.fingerprint not in (None, sub.idempotency_fingerprint):
        raise reused_key_error(found.id, "idempotency_key")
    return {"id": found.id, "status": found.status, "replayed": True}


class _Senders:
    """``choose_sender`` once per sender id in a batch (most items share one)."""

    def __init__(self):
        self.found = {}

    def __call__(self, actor: Actor, sender_id):
        if sender_id not in self.found:
            try:
                self.found[sender_id] = choose_sender(actor, sender_id)
            except SubmitError as error:
                self.found[sender_id] = error
        answer = self.found[sender_id]
        if isinstance(answer, SubmitError):
            raise answer
        return answer


def _error(error: SubmitError) -> dict:
    return {"error": {"code": error.code, "message": str(error.message),
                      "field": error.field}}


def _attempt(actor: Actor, items: list, client_ip: str | None) -> list[dict]:
    """One try at queuing the batch (raises IntegrityError when a concurrent request took
    one of its keys first). ``items`` holds a ``Submission`` or an error answer each."""
    subs = [item for item in items if isinstance(item, Submission)]
    earlier = _earlier(actor.token_id, {s.idempotency_key for s in subs if s.idempotency_key})
    answers, rows, in_batch = [], [], {}
    chooser = _Senders()
    for item in items:
        if not isinstance(item, Submission):
            answers.append(item)
            continue
        key = item.idempotency_key
        try:
            if key in earlier:
                answers.append(_replay(earlier[key], item))
                continue
            if key in in_batch:  # the batch's first item with this key answers for it
                number, first = in_batch[key]
                if first["idempotency_fingerprint"] != item.idempotency_fingerprint:
                    raise SubmitError("idempotency_key_reused", _(
                        "Item %(num)d of this batch already used this key for different "
                        "content; use a new key for new content.", num=number),
                        "idempotency_key", 409)
                answers.append({"_same_as": first})
                continue
            ready = prepare(actor, item, client_ip, chooser)
        except SubmitError as error:
            answers.append(_error(error))
            continue
        row = {**ready.values, "next_attempt_at": ready.send_at}
        answers.append({"_row": row})
        rows.append(row)
        if key is not None:
            in_batch[key] = (len(answers), row)
    ids = lifecycle.queue_all(rows)
    for row, pk in zip(rows, ids, strict=True):
        row["id"] = pk
    db.session.commit()
    return [_answer(answer) for answer in answers]


def _answer(answer: dict) -> dict:
    """The public answer for a stored row, a repeat of a batch item, or an error/replay."""
    if "_row" in answer:
        return {"id": answer["_row"]["id"], "status": answer["_row"]["status"]}
    if "_same_as" in answer:
        first = answer["_same_as"]
        return {"id": first["id"], "status": first["status"], "replayed": True}
    return answer


def submit_batch(actor: Actor, items: list, client_ip: str | None) -> list[dict]:
    """Queue the valid items in one transaction; one answer per item, in order: ``{"id",
    "status"}`` (``"replayed": true`` for a known key) or ``{"error": {...}}``."""
    try:
        return _attempt(actor, items, client_ip)
    except IntegrityError:
        db.session.rollback()  # a concurrent request used one of the keys: replay it
        return _attempt(actor, items, client_ip)
