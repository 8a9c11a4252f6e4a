"""Writing sending records: a message row with its sender snapshot and exact bytes.

Its status and everything after submission belong to ``portal.outbox.lifecycle``."""

from email.message import EmailMessage

from portal.extensions import db
from portal.mail.compose import flatten_message
from portal.outbox.models import Message


def message_values(*, msg: EmailMessage, sender_id: int | None, sender_name: str,
                   sender_address: str, sender_reason: str, team_id: int | None,
                   user_id: int | None, client_ip: str | None, to: list[str], cc=(), bcc=(),
                   html: str, text: str | None, template_name: str | None,
                   resource: str | None, mode: str, raw: bytes | None = None) -> dict:
    """The record's columns for a composed message, as a plain dict: one ORM row
    (``new_message``) or many in one bulk INSERT (batch submission) are made from it.
    ``raw``: its bytes when already flattened."""
    return {"sender_id": sender_id, "sender_name": sender_name,
            "sender_address": sender_address, "sender_reason": sender_reason,
            "team_id": team_id, "user_id": user_id, "client_ip": client_ip,
            "subject": str(msg["Subject"] or ""), "html_body": html, "text_body": text,
            "template_name": template_name, "resource": resource, "mode": mode,
            "attempt_count": 0, "attempts_base": 0,
            "message_id": str(msg["Message-ID"] or "") or None,
            "to_addrs": list(to), "cc_addrs": list(cc), "bcc_addrs": list(bcc),
            "recipients_search": " ".join([*to, *cc, *bcc]).lower(),
            "raw_message": raw if raw is not None else flatten_message(msg)}


def new_message(**values) -> Message:
    """Add the record for a composed message (not yet committed; the caller hands it to
    the lifecycle to queue or start it)."""
    message = Message(**message_values(**values))
    db.session.add(message)
    return message
