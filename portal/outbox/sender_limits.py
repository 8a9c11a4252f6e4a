"""A sender's limits on one submitted message: recipients per message and per 24 hours.

Checked before anything is stored, so a message the sender could never take is refused
with a clear error instead of waiting in the queue for good.
"""

from flask_babel import gettext as _

from portal.outbox import quota
from portal.outbox.errors import SubmitError
from portal.senders.models import Sender


def check_recipients(sender: Sender, recipients: int) -> None:
    """A message with more recipients than the sender takes in one message, or may
    reach in 24 hours, is refused."""
    most = sender.max_recipients_per_message
    if most and recipients > most:
        raise SubmitError("too_many_recipients", _(
            "The sender “%(name)s” takes at most %(most)d recipients per message (To, Cc "
            "and Bcc together); this one has %(num)d. Split it into several messages.",
            name=sender.name, most=most, num=recipients), "to")
    daily = sender.daily_recipient_quota
    if daily and recipients > daily:
        raise SubmitError("too_many_recipients", _(
            "The sender “%(name)s” may reach at most %(most)d recipients in 24 hours; this "
            "message has %(num)d.", name=sender.name, most=daily, num=recipients), "to")


def book_immediate(sender: Sender, recipients: int):
    """Book an immediate send's recipients in the sender's quota, or refuse it (429,
    with when to try again): immediate mail never waits for a quota."""
    booking = quota.check(sender, recipients)
    if not isinstance(booking, quota.Wait):
        return booking
    raise SubmitError("quota_exceeded", quota.refusal(sender.name, booking), "sender_id", 429,
                      retry_after=booking.seconds)
