"""Handing one message to the server at once (immediate mode), and shared helpers."""

from email.message import EmailMessage

from portal.crypto import SecretUnreadable
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.mail import ComposeError, DeliveryError, build_message, open_session
from portal.mail.readdress import readdress
from portal.outbox import lifecycle, quota
from portal.outbox.attachments import message_limit
from portal.outbox.models import Message
from portal.senders.models import Sender
from portal.senders.service import sender_settings

# The steps of opening a session: a failure there means nothing was offered yet.
SESSION_STEPS = ("token", "connect", "tls", "ehlo", "auth")


def rebuild(message: Message, sender: Sender) -> EmailMessage:
    """The MIME message again, with the Message-ID it was recorded under."""
    return build_message(from_address=message.sender_address,
                         display_name=sender.display_name, to=message.to_addrs,
                         cc=message.cc_addrs, bcc=message.bcc_addrs, subject=message.subject,
                         html=message.html_body, text=message.text_body,
                         message_id=message.message_id)


class DoesNotFit(Exception):
    """A message its fallback sender cannot take: it waits for its own sender."""


def for_fallback(row, fallback: Sender, recipients: int) -> bytes | None:
    """The stored bytes re-addressed to ``fallback`` (same Message-ID, body and
    attachments), or None for mail stored without bytes (it is built at hand-over).
    Raises ``DoesNotFit`` when the message breaks one of the fallback's own limits
    (recipients per message or per 24 hours, largest message): such a message is not
    failed because of the fallback, it waits for its own sender."""
    most, daily = fallback.max_recipients_per_message, fallback.daily_recipient_quota
    if (most and recipients > most) or (daily and recipients > daily):
        raise DoesNotFit
    if row.raw_message is None:
        return None
    try:
        data = readdress(row.raw_message, fallback.address, fallback.display_name)
    except ComposeError as error:
        raise DoesNotFit from error
    if len(data) > message_limit(fallback):
        raise DoesNotFit
    return data


def settings_or_error(sender: Sender, timeout: float):
    """The sender's SMTP settings, or a permanent error when its password is unreadable."""
    try:
        return sender_settings(sender, timeout), None
    except SecretUnreadable as error:
        return None, DeliveryError("auth", "auth_failed", str(error), kind="permanent")


def deliver_now(message: Message, sender: Sender, msg: EmailMessage, timeout: float,
                booking=None) -> None:
    """Immediate mode: one session, one message; the outcome is committed.

    The caller has committed the message as started (``lifecycle.start_immediate``): its
    lease lets recovery find a request that dies mid-send. ``booking`` (the recipients
    booked in the sender's quota) is given back when the session never opened.
    """
    started = utcnow()
    settings, error = settings_or_error(sender, timeout)
    result = None
    if error is None:
        try:
            with open_session(settings) as session:
                result = session.send(message.raw_message or msg, message.sender_address,
                                      lifecycle.envelope(message))
        except DeliveryError as failure:
            error = failure
    # The provider's quota reply pauses the sender for every path (the worker holds
    # the rest of the message's recipients until then).
    quota.after_reply(sender.id, error, result.refused if result is not None else None)
    if error is not None and error.step in SESSION_STEPS:
        quota.give_back(booking)  # nothing was offered to the server
    lifecycle.finish_immediate(message, started, result=result, error=error)
    db.session.commit()
