"""What one attempt means for a message: its new status, recipients, diagnosis, backoff.

Computes the values the lifecycle stores (it writes nothing itself). ``row`` is any
object with a message's columns: an ORM ``Message`` or a Core row of the worker.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from portal.dbtypes import utcnow
from portal.mail import DeliveryError, diagnosis
from portal.mail.errors import refused_error
from portal.outbox import recipients as rcpt


@dataclass
class Outcome:
    """The message's new column values (``b_id`` keyed) and its attempt row."""

    status: str
    values: dict
    attempt: dict


def in_doubt_error() -> DeliveryError:
    """What recovery records for a hand-over whose worker or request died mid-way."""
    return DeliveryError("handover", "protocol", "the hand-over was interrupted (the worker "
                         "or request stopped); the server's answer was never received",
                         code=None, kind="transient", in_doubt=True)


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff with jitter: base · 2^(n-1), ±25 % (so each wait is longer
    than the one before), capped."""
    config = current_app.config
    base = float(config.get("RETRY_BASE_SECONDS", 60))
    delay = min(base * 2 ** (attempt - 1), float(config.get("RETRY_MAX_SECONDS", 3600)))
    return timedelta(seconds=delay * random.uniform(0.75, 1.25))


def _describe(status: str, results: list, error: DeliveryError | None, attempts: int):
    """The stored diagnosis (JSON parts, see ``portal.mail.diagnosis``): final wording
    for final states, none for sent mail.

    Per recipient when the server judged recipients one by one: how many it accepted,
    why it refused the others for good, and which ones are deferred to a later attempt.
    """
    if status == "sent":
        return None
    if status == "unknown":
        return diagnosis.store([diagnosis.in_doubt_part(error.step if error else None)])
    final = status != "retrying"
    counts = rcpt.tally(results)
    if error is not None and not error.recipients and not counts[rcpt.ACCEPTED]:
        return diagnosis.store([diagnosis.error_part(error, final=final, attempts=attempts)])
    refused = rcpt.refusals(results)
    deferred = {address: reply for address, reply
                in rcpt.refusals(results, final_only=False).items() if address not in refused}
    parts = [diagnosis.accepted_part(counts[rcpt.ACCEPTED], len(results))
             if counts[rcpt.ACCEPTED] else {}]
    if refused:
        parts.append(diagnosis.error_part(refused_error(refused), final=True,
                                          attempts=attempts))
    if deferred:
        parts.append(diagnosis.error_part(refused_error(deferred), attempts=attempts))
    elif error is not None and not refused:
        parts.append(diagnosis.error_part(error, final=final, attempts=attempts))
    return diagnosis.store(parts)


def _attempt_outcome(result, error: DeliveryError | None) -> str:
    if error is not None:
        return "unknown" if error.maybe_delivered else "failed"
    return "partial" if result.refused else "sent"


def outcome(row, started, *, result=None, error: DeliveryError | None = None,
            retry: bool = True, hold: tuple | None = None) -> Outcome:
    """One attempt's outcome: a ``SendResult`` (some recipients accepted) or an error.

    ``retry=False`` (a sender's test mail, sent with settings that may never be saved)
    makes it final at once instead of leaving deferred recipients to the worker.
    ``hold`` = ``(until, part)``: the provider answered with its quota reply, so this
    attempt does not count against the maximum (``attempts_base`` moves on with it) and
    the pending recipients wait until ``until``, ``part`` saying why.
    """
    now, number = utcnow(), row.attempt_count + 1
    results = rcpt.current(row.recipient_results, row.to_addrs, row.cc_addrs, row.bcc_addrs)
    attempted = rcpt.envelope(results)
    if error is None:
        results = rcpt.apply_attempt(results, attempted, accepted_reply=(result.code, result.text),
                                     refused=result.refused)
        code, text = result.code, result.text
    else:
        results = rcpt.apply_attempt(results, attempted, refused=error.recipients, error=error)
        code, text = error.code, error.text
    base = (row.attempts_base or 0) + (hold is not None)
    attempts = number - base
    out_of_attempts = attempts >= int(current_app.config["MAX_ATTEMPTS"])
    if rcpt.tally(results)[rcpt.PENDING] and (out_of_attempts or not retry):
        results = rcpt.give_up(results, attempts)
    status = rcpt.status_of(results)
    stored = _describe(status, results, error, attempts)
    if hold is not None and status == "retrying":
        stored = diagnosis.store([*diagnosis.parts_of(stored), hold[1]])
    values = {"b_id": row.id, "status": status, "attempt_count": number, "attempts_base": base,
              "last_attempt_at": now, "reply_code": code, "reply_text": text,
              "sent_at": now if error is None else row.sent_at, "diagnosis": stored,
              "next_attempt_at": _next_attempt(status, attempts, hold, now),
              "claimed_by": None, "lease_until": None, "recipient_results": results}
    attempt = {"message_pk": row.id, "number": number, "started_at": started,
               "finished_at": now, "outcome": _attempt_outcome(result, error),
               "step": error.step if error else None, "reply_code": code, "reply_text": text,
               "diagnosis": stored}
    return Outcome(status, values, attempt)


def _next_attempt(status: str, attempts: int, hold: tuple | None, now):
    """When a retrying message is due again: after the provider's pause, else backoff."""
    if status != "retrying":
        return None
    return hold[0] if hold is not None else now + retry_delay(attempts)
