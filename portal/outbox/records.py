"""Writing sending records: a message row with its sender snapshot, and its attempts."""

from email.message import EmailMessage

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.mail import DeliveryError, diagnose
from portal.mail.compose import flatten_message
from portal.outbox.models import Attempt, Message


def new_message(*, msg: EmailMessage, sender_id: int | None, sender_name: str,
                sender_address: str, sender_reason: str, team_id: int | None,
                user_id: int | None, client_ip: str | None, to: list[str], cc=(), bcc=(),
                html: str, text: str | None, template_name: str | None, resource: str | None,
                mode: str, status: str) -> Message:
    """Add the record for a composed message (not yet committed)."""
    message = Message(sender_id=sender_id, sender_name=sender_name,
                      sender_address=sender_address, sender_reason=sender_reason,
                      team_id=team_id, user_id=user_id, client_ip=client_ip,
                      subject=str(msg["Subject"] or ""), html_body=html, text_body=text,
                      template_name=template_name, resource=resource, mode=mode,
                      status=status, attempt_count=0,
                      message_id=str(msg["Message-ID"] or "") or None)
    message.set_recipients(to, cc, bcc)
    if all(address.isascii() for address in [sender_address, *to, *cc, *bcc]):
        message.raw_message = flatten_message(msg)
    db.session.add(message)
    return message


def diagnosis_text(error: DeliveryError) -> str:
    """The plain-language cause and advice stored with an attempt."""
    found = diagnose(error)
    return f"{found.cause} {found.advice}"


def record_outcome(message: Message, started_at, *, reply: tuple[int, str] | None = None,
                   error: DeliveryError | None = None, final_status: str | None = None) -> Attempt:
    """Store one attempt and copy its result onto the message."""
    now = utcnow()
    number = message.attempt_count + 1
    attempt = Attempt(number=number, started_at=started_at, finished_at=now)
    if error is None:
        attempt.outcome = "sent"
        attempt.reply_code, attempt.reply_text = reply if reply else (None, None)
        message.status, message.sent_at = final_status or "sent", now
        message.diagnosis = None
    else:
        attempt.outcome = "failed"
        attempt.step, attempt.reply_code, attempt.reply_text = error.step, error.code, error.text
        attempt.diagnosis = diagnosis_text(error)
        message.status = final_status or "failed"
        message.diagnosis = attempt.diagnosis
    message.attempts.append(attempt)
    message.attempt_count = number
    message.last_attempt_at = now
    message.reply_code, message.reply_text = attempt.reply_code, attempt.reply_text
    return attempt
