"""The JSON API's request checks and answer shapes.

Checks here are about the *shape* of a request (types, sizes, known fields);
the sending rules themselves (addresses, header injection, sender and template
scope) stay in ``portal.outbox.service.submit`` so the compose page and the API
share them. Every ``message`` is in the request's language (``Accept-Language``, as
there is no signed-in user); ``code`` and ``field`` are stable identifiers.
"""

import hashlib
import json
import re

from flask_babel import gettext as _
from flask_babel import ngettext

from portal import jsonsafe
from portal.api.errors import ApiError
from portal.api.files import attachments, without_contents
from portal.bounds import id_in_range
from portal.mail.diagnosis import describe, parts_of
from portal.outbox.lifecycle import recipients_of
from portal.outbox.models import Message
from portal.outbox.schedule import ScheduleError, parse_iso
from portal.outbox.service import Submission

FIELDS = frozenset(("to", "cc", "bcc", "subject", "html", "text", "template", "variables",
                    "sender", "resource", "mode", "attachments", "send_at"))
MAX_BATCH = 1000
MODES = ("immediate", "deferred")
MAX_SUBJECT = 998
MAX_RESOURCE = 500
MAX_TEMPLATE_NAME = 120
MAX_IDEMPOTENCY_KEY = 200
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")


def _invalid(field: str, message: str) -> ApiError:
    """422 ``invalid_type``; ``message`` says what ``field`` must be."""
    return ApiError(422, "invalid_type", message, field)


def parse_json(raw: bytes) -> dict:
    """The body as a JSON object; anything else is a 400 ``invalid_json``."""
    try:
        data = jsonsafe.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ApiError(400, "invalid_json", _("The body is not valid JSON (%(error)s).",
                                              error=error)) from error
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", _("The body must be a JSON object."))
    return data


def _addresses(data: dict, field: str) -> list[str]:
    """An address or a list of addresses (absent or null = none)."""
    value = data.get(field)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise _invalid(field, _("“%(field)s” must be an address or a list of addresses.",
                            field=field))


def _text(data: dict, field: str, limit: int | None = None) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(field, _("“%(field)s” must be a string.", field=field))
    if limit is not None and len(value) > limit:
        raise ApiError(422, "too_long", _("“%(field)s” must be at most %(limit)s characters.",
                                          field=field, limit=limit), field)
    return value


def _choices(data: dict) -> tuple[int | None, str | None, dict]:
    """``sender`` (an integer id), ``mode`` and ``variables``, strictly typed."""
    sender = data.get("sender")
    if sender is not None and not id_in_range(sender):
        raise _invalid("sender", _("“%(field)s” must be a sender id (a positive integer).",
                                   field="sender"))
    mode = data.get("mode")
    if mode is not None and mode not in MODES:
        raise ApiError(422, "invalid_mode", _("“%(field)s” must be “%(immediate)s” or "
                                              "“%(deferred)s”.", field="mode",
                                              immediate=MODES[0], deferred=MODES[1]), "mode")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise _invalid("variables", _("“%(field)s” must be an object.", field="variables"))
    return sender, mode, variables or {}


def submission(data: dict, idempotency_key: str | None) -> Submission:
    """A ``Submission`` from the body. Unknown fields are refused (422 ``unknown_field``),
    so a misspelt field such as ``"subjcet"`` never silently sends different mail."""
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise ApiError(422, "unknown_field", ngettext(
            "Unknown field: %(fields)s. Known fields: %(known)s.",
            "Unknown fields: %(fields)s. Known fields: %(known)s.", len(unknown),
            fields=", ".join(unknown), known=", ".join(sorted(FIELDS))), unknown[0])
    to = _addresses(data, "to")
    if not to:
        raise ApiError(422, "missing_recipient", _("“%(field)s” needs at least one address.",
                                                   field="to"), "to")
    sender, mode, variables = _choices(data)
    send_at = _text(data, "send_at", 64)
    try:
        send_at = parse_iso(send_at) if send_at is not None else None
    except ScheduleError as error:
        raise ApiError(422, error.code, error.message, "send_at") from error
    return Submission(
        to=to, cc=_addresses(data, "cc"), bcc=_addresses(data, "bcc"),
        subject=_text(data, "subject", MAX_SUBJECT), html=_text(data, "html"),
        text=_text(data, "text"), template=_text(data, "template", MAX_TEMPLATE_NAME),
        variables=variables, sender_id=sender, resource=_text(data, "resource", MAX_RESOURCE),
        mode=mode, send_at=send_at, idempotency_key=idempotency_key,
        idempotency_fingerprint=fingerprint(data) if idempotency_key else None,
        attachments=attachments(data.get("attachments")))


def fingerprint(data: dict) -> str:
    """What identifies a request's content, whatever the key order or spacing (each
    attachment's content by its SHA-256, so large files are not copied to be hashed)."""
    canonical = json.dumps(without_contents(data), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key(value: str | None) -> str | None:
    """The ``Idempotency-Key`` header: 1–200 visible ASCII characters, or absent."""
    if value is None:
        return None
    if len(value) > MAX_IDEMPOTENCY_KEY or not _PRINTABLE.match(value):
        raise ApiError(422, "invalid_idempotency_key", _(
            "%(header)s must be 1 to %(limit)s visible ASCII characters without spaces.",
            header="Idempotency-Key", limit=MAX_IDEMPOTENCY_KEY), "Idempotency-Key")
    return value


def batch_items(data: dict) -> list:
    """The ``messages`` list of a batch body: 1 to ``MAX_BATCH`` items, nothing else."""
    unknown = sorted(set(data) - {"messages"})
    if unknown:
        raise ApiError(422, "unknown_field", _("Unknown field: %(fields)s. A batch has only "
                                               "“%(field)s”.", fields=", ".join(unknown),
                                               field="messages"), unknown[0])
    items = data.get("messages")
    if not isinstance(items, list) or not items:
        raise _invalid("messages", _("“%(field)s” must be a list of one or more messages.",
                                     field="messages"))
    if len(items) > MAX_BATCH:
        raise ApiError(422, "batch_too_large", _(
            "A batch holds at most %(limit)s messages; this one has %(count)s. Split it.",
            limit=MAX_BATCH, count=len(items)), "messages")
    return items


def batch_item(item) -> Submission:
    """One batch item: a single message's fields plus its own ``idempotency_key`` (the
    same rules as the header), checked exactly like ``POST /messages``; always deferred."""
    if not isinstance(item, dict):
        raise _invalid("messages", _("Each item of “%(field)s” must be a JSON object.",
                                     field="messages"))
    data = dict(item)
    key = data.pop("idempotency_key", None)
    if key is not None and not isinstance(key, str):
        raise ApiError(422, "invalid_idempotency_key", _("“%(field)s” must be a string.",
                                                         field="idempotency_key"),
                       "idempotency_key")
    try:
        key = idempotency_key(key)
    except ApiError as error:
        error.field = "idempotency_key"
        raise
    sub = submission(data, key)
    if sub.mode == "immediate":
        raise ApiError(422, "invalid_mode", _("Batch messages are always queued: leave "
                                              "“%(field)s” out or use “%(deferred)s”.",
                                              field="mode", deferred="deferred"), "mode")
    sub.mode = "deferred"
    return sub


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _diagnosis(stored) -> str | None:
    """A stored diagnosis in the request's language (None when there is none)."""
    return (describe(stored) or None) if stored else None


def result(message: Message) -> dict:
    """The answer to a send: id and status, plus the outcome once there is one."""
    answer = {"id": message.id, "status": message.status}
    if message.mode != "deferred":
        answer.update(reply_code=message.reply_code, reply_text=message.reply_text,
                      diagnosis=_diagnosis(message.diagnosis), message_id=message.message_id,
                      recipients=recipient_results(message))
    return answer


def recipient_results(message: Message) -> list[dict]:
    """Each envelope recipient's own result: accepted, refused, pending (deferred when a
    code is given) or unknown, with the server's reply verbatim."""
    return [{"address": entry["address"], "status": entry["state"],
             "reply_code": entry["code"], "reply_text": entry["text"]}
            for entry in recipients_of(message)]


def fallback_for(message: Message) -> dict | None:
    """When the mail went through a fallback sender: the sender it was meant for, that
    sender's failure (step, reason code, the server's reply) and the record in words."""
    part = next((p for p in parts_of(message.sender_note) if p.get("code") == "fallback_used"),
                None)
    if part is None:
        return None
    failure = part.get("failure") or {}
    return {"name": part.get("primary"),
            "failure": {"step": failure.get("step"), "reason": failure.get("code"),
                        "reply_code": failure.get("reply_code"), "reply": failure.get("reply")},
            "description": describe(message.sender_note)}


def details(message: Message) -> dict:
    """Everything about one message the API may show (never bodies or secrets)."""
    return {
        "id": message.id, "status": message.status, "mode": message.mode,
        "sender": {"id": message.sender_id, "name": message.sender_name,
                   "address": message.sender_address, "reason": message.sender_reason,
                   "fallback_for": fallback_for(message)},
        "to": list(message.to_addrs or []), "cc": list(message.cc_addrs or []),
        "bcc": list(message.bcc_addrs or []), "subject": message.subject,
        "template": message.template_name, "resource": message.resource,
        "created_at": _iso(message.created_at), "last_attempt_at": _iso(message.last_attempt_at),
        "sent_at": _iso(message.sent_at), "next_attempt_at": _iso(message.next_attempt_at),
        "attempt_count": message.attempt_count, "reply_code": message.reply_code,
        "reply_text": message.reply_text, "diagnosis": _diagnosis(message.diagnosis),
        "message_id": message.message_id, "recipients": recipient_results(message),
        "attachments": list(message.attachments or []),
        "attempts": [{"number": a.number, "started_at": _iso(a.started_at),
                      "finished_at": _iso(a.finished_at), "outcome": a.outcome,
                      "step": a.step, "reply_code": a.reply_code, "reply_text": a.reply_text,
                      "diagnosis": _diagnosis(a.diagnosis)} for a in message.attempts],
    }
