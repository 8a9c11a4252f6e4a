"""Per-recipient results: which recipients the server accepted, refused, or has yet to take.

Pure functions over the list kept in ``Message.recipient_results`` (one entry per
envelope recipient: address, state, the server's code and verbatim text). The
lifecycle stores what they return; nothing here touches the database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from portal.mail import DeliveryError, envelope_recipients
from portal.mail.classify import classify_reply
from portal.mail.errors import PERMANENT

PENDING, ACCEPTED, REFUSED, UNKNOWN = "pending", "accepted", "refused", "unknown"
STATES = (PENDING, ACCEPTED, REFUSED, UNKNOWN)


def _entry(address: str, state: str = PENDING, code: int | None = None,
           text: str | None = None) -> dict:
    return {"address": address, "state": state, "code": code, "text": text}


def current(results: list | None, to: Iterable[str], cc: Iterable[str] = (),
            bcc: Iterable[str] = ()) -> list[dict]:
    """The stored results, or every envelope recipient pending before the first attempt."""
    if results:
        return [dict(entry) for entry in results]
    return [_entry(address) for address in envelope_recipients(to, cc, bcc)]


def envelope(results: list[dict]) -> list[str]:
    """The SMTP envelope for the next attempt: the recipients still pending, in order."""
    return [entry["address"] for entry in results if entry["state"] == PENDING]


def apply_attempt(results: list[dict], attempted: list[str], *, accepted_reply=None,
                  refused: dict | None = None, error: DeliveryError | None = None) -> list:
    """Each attempted recipient's new state after one attempt.

    ``refused`` holds the RCPT refusals (temporary ones, 4xx and the like of 552 "too
    many recipients", stay pending; the others are refused for good);
    the others were accepted (``accepted_reply`` is the DATA reply) or share the fate of
    the message-level ``error``: in doubt, to be retried, or refused with it.
    """
    refused = refused or {}
    updated = [dict(entry) for entry in results]
    by_address = {entry["address"]: entry for entry in updated}
    for address in attempted:
        entry = by_address[address]
        if address in refused:
            code, text = refused[address]
            permanent = classify_reply("rcpt", code, text)[1] == PERMANENT
            state = REFUSED if permanent else PENDING
        elif error is None:
            state, (code, text) = ACCEPTED, accepted_reply
        elif error.maybe_delivered:
            state, code, text = UNKNOWN, error.code, error.text
        else:
            state = PENDING if error.transient else REFUSED
            code, text = error.code, error.text
        entry.update(state=state, code=code, text=text)
    return updated


def give_up(results: list[dict], attempts: int) -> list[dict]:
    """Out of attempts: recipients still pending are refused, keeping the last reply."""
    return [{**entry, "state": REFUSED, "text": entry["text"] or
             f"not accepted after {attempts} attempts"}
            if entry["state"] == PENDING else dict(entry) for entry in results]


def reopen(results: list[dict], states: Iterable[str] = (REFUSED, UNKNOWN)) -> list[dict]:
    """For a manual retry: recipients in ``states`` become pending again."""
    states = set(states)
    return [_entry(entry["address"]) if entry["state"] in states else dict(entry)
            for entry in results]


def tally(results: list[dict]) -> Counter:
    """How many recipients are in each state."""
    return Counter(entry["state"] for entry in results)


def refusals(results: list[dict], *, final_only: bool = True) -> dict[str, tuple[int, str]]:
    """Refused (or, with ``final_only=False``, also deferred) recipients → (code, text)."""
    wanted = {REFUSED} if final_only else {REFUSED, PENDING}
    return {entry["address"]: (entry["code"] or 0, entry["text"] or "")
            for entry in results if entry["state"] in wanted and entry["code"]}


def status_of(results: list[dict]) -> str:
    """The message's status from its recipients' states.

    Any recipient in doubt makes the message ``unknown``; any still pending, ``retrying``
    (the caller gives up on them first when attempts ran out); otherwise all accepted is
    ``sent``, some ``partial``, none ``failed``.
    """
    counts = tally(results)
    if counts[UNKNOWN]:
        return "unknown"
    if counts[PENDING]:
        return "retrying"
    accepted = counts[ACCEPTED]
    if accepted == len(results):
        return "sent"
    return "partial" if accepted else "failed"
