"""Plain-language cause and advice for every ``DeliveryError`` shown to a person.

A diagnosis is kept as data: a list of parts, each a stable ``code`` (the reason, such
as ``auth_failed``, or ``in_doubt``, ``recipients_accepted``, ``sender_paused``,
``legacy``) with its parameters (the server's reply verbatim, the step, the retry
flags, the refused recipients, counts). ``store`` writes the parts as JSON for the
``diagnosis`` columns; ``describe`` renders a stored diagnosis in the reader's language
when it is shown, so one record reads English for one admin and Chinese for another.

The cause quotes the server's reply (whitespace folded, long replies shortened: for
display only, the stored reply stays verbatim). The advice depends on the reason and,
for transient errors, on whether the portal will try again: a message that ran out of
attempts must not promise another one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from portal.mail import diagnosis_render as render
from portal.mail.errors import DeliveryError

SHOWN_REFUSALS = 3


@dataclass(frozen=True)
class Diagnosis:
    """What went wrong (``cause``) and what the user can do about it (``advice``)."""

    cause: str
    advice: str


def error_part(err: DeliveryError, final: bool = False, attempts: int | None = None, *,
               retrying: bool = True) -> dict:
    """The stored form of ``diagnose(err, ...)``: the reason as ``code`` and what the
    wording depends on. Flags that are off and empty values are left out."""
    if err.maybe_delivered:
        return in_doubt_part(err.step)
    part = {"code": err.reason, "step": err.step, "reply": err.text,
            "reply_code": err.code}
    refused = list(err.recipients.items())
    if refused:
        part["refused"] = [[address, code] for address, (code, _text)
                           in refused[:SHOWN_REFUSALS]]
        part["more"] = len(refused) - SHOWN_REFUSALS if len(refused) > SHOWN_REFUSALS else 0
    if err.transient:
        part.update(transient=True, final=final, attempts=attempts, retrying=retrying)
    return {key: value for key, value in part.items()
            if key == "reply" or value not in (None, False, 0, [])}


def in_doubt_part(step: str | None = None) -> dict:
    """A message that may or may not have arrived (``step``: "data", "handover" or None)."""
    return {"code": "in_doubt", "step": step} if step else {"code": "in_doubt"}


def accepted_part(accepted: int, total: int) -> dict:
    """ "N of M recipients accepted." """
    return {"code": "recipients_accepted", "accepted": accepted, "total": total}


def paused_part(err: DeliveryError) -> dict:
    """The worker's pause of a sender that cannot connect, set up TLS or log in."""
    return {"code": "sender_paused", "step": err.step, "reply": str(err)}


def quota_wait_part(used: int, quota: int, until) -> dict:
    """Mail waiting because the sender's recipients in 24 hours would go over its quota;
    ``until`` (an aware time) is when the window has room again."""
    return {"code": "quota_wait", "used": used, "quota": quota, "until": until.isoformat()}


def provider_pause_part(reason: str, reply: str, until) -> dict:
    """Mail waiting because the provider answered with its own quota reply (``reason``
    ``daily_quota`` or ``rate_quota``) until ``until``."""
    return {"code": "provider_pause", "reason": reason, "reply": reply,
            "until": until.isoformat()}


def fallback_part(primary: str, fallback: str, err: DeliveryError) -> dict:
    """The mail went through the ``fallback`` sender because ``primary`` failed with
    ``err`` (its connect, TLS or login step); the failure keeps its own part."""
    failure = {key: value for key, value in error_part(err).items()
               if key not in ("transient", "final", "attempts", "retrying")}
    return {"code": "fallback_used", "primary": primary, "fallback": fallback,
            "failure": failure}


def legacy_part(text: str) -> dict:
    """Text stored before diagnoses were codes: shown exactly as it was written."""
    return {"code": "legacy", "text": text}


def store(parts: list[dict]) -> str | None:
    """The parts as the ``diagnosis`` column keeps them (None when there are none)."""
    parts = [part for part in parts if part]
    return json.dumps(parts, ensure_ascii=False, separators=(",", ":")) if parts else None


def parts_of(stored: str | None) -> list[dict]:
    """The parts of a stored diagnosis; text that is not one becomes a legacy part."""
    if not stored:
        return []
    try:
        data = json.loads(stored)
    except ValueError:
        return [legacy_part(stored)]
    if (isinstance(data, list) and data
            and all(isinstance(p, dict) and isinstance(p.get("code"), str) for p in data)):
        return data
    return [legacy_part(stored)]


def explain(stored: str | None, english: bool = False) -> list[Diagnosis]:
    """A stored diagnosis as (cause, advice) pairs in the reader's language (or English);
    a part without advice (a count, a pause, legacy text) has advice ""."""
    translate = render.ENGLISH if english else render.CURRENT
    found = []
    for part in parts_of(stored):
        try:
            found.append(Diagnosis(*render.part(part, translate)))
        except (TypeError, ValueError, KeyError):
            # A part whose parameters do not fit its code: show what is stored rather
            # than fail the page, the export or the API answer.
            return [Diagnosis(str(stored), "")]
    return found


def describe(stored: str | None) -> str:
    """A stored diagnosis as text for the reader ("" when there is none)."""
    return render.joined(explain(stored), render.CURRENT)


def describe_english(stored: str | None) -> str:
    """A stored diagnosis in English, whatever the reader's language (the downgrade
    migration, logs)."""
    return render.joined(explain(stored, english=True), render.ENGLISH)


def diagnose(err: DeliveryError, final: bool = False, attempts: int | None = None, *,
             retrying: bool = True) -> Diagnosis:
    """Turn a DeliveryError into a cause and advice a non-specialist can act on, in the
    current locale.

    ``final`` says the message reached a final state, so a transient error is told as
    given up (``attempts`` says after how many tries). Otherwise a transient error is
    said to be retried automatically; pass ``retrying=False`` where nothing retries
    (a connection test). An error that may have delivered the message gets the
    in-doubt wording of ``diagnose_in_doubt``.
    """
    part = error_part(err, final, attempts, retrying=retrying)
    return Diagnosis(*render.part(part, render.CURRENT))


def diagnose_in_doubt(step: str | None = None) -> Diagnosis:
    """The wording for a message in state ``unknown``: it may or may not have arrived.

    ``step`` is the failed step if known: ``"data"`` (the connection broke after the
    final dot), ``"handover"`` (the worker or request died mid-way), else either.
    Nothing here suggests simply trying again: that may deliver a second copy.
    """
    return Diagnosis(*render.part(in_doubt_part(step), render.CURRENT))
