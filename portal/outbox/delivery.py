"""Handing one message to the server at once (immediate mode), and shared helpers."""

import random
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app

from portal.crypto import SecretUnreadable
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.mail import DeliveryError, build_message, open_session
from portal.outbox.models import Message
from portal.outbox.records import record_outcome
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


def settings_or_error(sender: Sender, timeout: float):
    """The sender's SMTP settings, or a permanent error when its password is unreadable."""
    try:
        return sender_settings(sender, timeout), None
    except SecretUnreadable as error:
        return None, DeliveryError("auth", "auth_failed", str(error), kind="permanent")


def deliver_now(message: Message, sender: Sender, msg: EmailMessage, timeout: float) -> None:
    """Immediate mode: one session, one message; the outcome is committed."""
    started = utcnow()
    settings, error = settings_or_error(sender, timeout)
    if error is None:
        try:
            with open_session(settings) as session:
                reply = session.send(message.raw_message or msg, message.sender_address,
                                     envelope(message))
            record_outcome(message, started, reply=reply)
        except DeliveryError as failure:
            error = failure
    if error is not None:
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
