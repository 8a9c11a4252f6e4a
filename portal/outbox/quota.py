"""Sender quotas on every path and in every worker: recipients per rolling 24 hours and
the provider's own pause (``rate_per_minute`` is ``outbox.throttle``).

Why a usage table: a rolling window must forget each use exactly 24 hours after it, so
a counter on the sender row cannot hold it; one ``sender_usage`` row (sender, epoch
seconds, recipients) per hand-over can, and the window is the sum of the last day's
rows. What is counted is what providers count: the recipients offered to the server in
each hand-over (a retry of deferred recipients counts them again). A booking whose
hand-over never began (the session could not be opened) is given back.

Why it is atomic across processes: a booking is one ``INSERT … SELECT … WHERE used + n
<= quota`` committed at once. SQLite takes its write lock when that statement starts,
before it reads the sum, so two processes cannot both see the same room; on PostgreSQL
the sender row is first locked ``FOR UPDATE``, which queues the bookings of one sender
(two READ COMMITTED transactions would otherwise each miss the other's new row).

Only senders with a quota are counted (no extra write per message for the others).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Float, Integer, delete, func, insert, literal, select, update

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.i18n.formatting import number, when
from portal.mail import DeliveryError, diagnosis
from portal.mail.provider_quota import pause_until, quota_reply
from portal.senders.models import Sender, SenderUsage

USAGE = SenderUsage.__table__


class Refused(Exception):
    """Mail that may not go now because of a quota (the message says until when)."""


@dataclass(frozen=True)
class Wait:
    """No room now: ``until`` (aware UTC) is when there will be; ``part`` says why."""

    until: datetime
    part: dict

    @property
    def seconds(self) -> int:
        """Whole seconds from now, at least 1 (an HTTP ``Retry-After``)."""
        return max(1, int((self.until - utcnow()).total_seconds() + 0.999))


def window() -> float:
    return float(current_app.config.get("QUOTA_WINDOW_SECONDS", 86400))


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def used(sender_id: int, now: float | None = None) -> int:
    """Recipients offered through the sender in the current window."""
    since = (time.time() if now is None else now) - window()
    return int(db.session.scalar(select(func.coalesce(func.sum(SenderUsage.recipients), 0))
                                 .where(SenderUsage.sender_id == sender_id,
                                        SenderUsage.at > since)) or 0)


def used_by(sender_ids: list[int]) -> dict[int, int]:
    """{sender id: recipients in the current window} for several senders (the list)."""
    if not sender_ids:
        return {}
    since = time.time() - window()
    return dict(db.session.execute(
        select(SenderUsage.sender_id, func.sum(SenderUsage.recipients))
        .where(SenderUsage.sender_id.in_(sender_ids), SenderUsage.at > since)
        .group_by(SenderUsage.sender_id)).all())


def provider_wait(sender: Sender) -> Wait | None:
    """The provider's own pause of the sender, while it lasts."""
    until = sender.provider_paused_until
    if until is None or until <= utcnow():
        return None
    return Wait(until, diagnosis.provider_pause_part(
        sender.provider_pause_reason or "rate_quota", sender.provider_pause_reply or "",
        until))


def _free_at(sender_id: int, needed: int, quota: int, now: float) -> Wait:
    """When the oldest uses in the window will have left it, leaving room for
    ``needed`` recipients."""
    rows = db.session.execute(select(SenderUsage.at, SenderUsage.recipients)
                              .where(SenderUsage.sender_id == sender_id,
                                     SenderUsage.at > now - window())
                              .order_by(SenderUsage.at)).all()
    total = sum(count for _at, count in rows)
    left, until = total, now
    for at, count in rows:
        if left + needed <= quota:
            break
        left, until = left - count, at + window()
    return Wait(_moment(until), diagnosis.quota_wait_part(total, quota, _moment(until)))


def book(sender_id: int, quota: int | None, recipients: int) -> int | Wait | None:
    """Book ``recipients`` in the sender's window and commit at once so that every
    process sees it. Returns the booking's id, a ``Wait`` when the quota has no room,
    or None when the sender has no quota (nothing to count)."""
    if not quota:
        return None
    now = time.time()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(Sender.id).where(Sender.id == sender_id).with_for_update())
    in_window = (select(func.coalesce(func.sum(USAGE.c.recipients), 0))
                 .where(USAGE.c.sender_id == sender_id, USAGE.c.at > now - window())
                 .scalar_subquery())
    room = select(literal(sender_id, Integer), literal(now, Float), literal(recipients, Integer)
                  ).where(in_window + recipients <= quota)
    booked = db.session.execute(insert(USAGE).from_select(
        ["sender_id", "at", "recipients"], room).returning(USAGE.c.id)).scalar_one_or_none()
    db.session.execute(delete(SenderUsage).where(SenderUsage.sender_id == sender_id,
                                                 SenderUsage.at <= now - window()))
    db.session.commit()
    if booked is not None:
        return booked
    wait = _free_at(sender_id, recipients, quota, now)
    db.session.commit()
    return wait


def give_back(booking) -> None:
    """Cancel a booking whose hand-over never began (nothing reached the server)."""
    if isinstance(booking, int):
        db.session.execute(delete(SenderUsage).where(SenderUsage.id == booking))
        db.session.commit()


def check(sender: Sender, recipients: int) -> int | Wait | None:
    """A hand-over about to begin: the provider's pause first, then the 24-hour quota."""
    return provider_wait(sender) or book(sender.id, sender.daily_recipient_quota, recipients)


def after_reply(sender_id: int, error, refused) -> Wait | None:
    """The provider's own quota reply in an attempt (the error's, or a recipient's
    refusal) pauses the sender until its window resets (``portal.mail.provider_quota``);
    returns that pause, or None when the attempt met no quota."""
    found = quota_reply(error, refused)
    if found is None:
        return None
    reason, reply = found
    until = pause_until(reason, reply, utcnow())
    pause_sender(sender_id, reason, reply, until)
    return Wait(until, diagnosis.provider_pause_part(reason, reply, until))


def pause_sender(sender_id: int, reason: str, reply: str, until: datetime) -> None:
    """Remember the provider's quota reply on the sender: nothing goes through it before
    ``until`` (a later pause is kept if one is already set)."""
    column = Sender.provider_paused_until
    db.session.execute(update(Sender).where(Sender.id == sender_id,
                                            column.is_(None) | (column < until))
                       .values(provider_paused_until=until, provider_pause_reason=reason,
                               provider_pause_reply=reply[:300])
                       .execution_options(synchronize_session=False))
    db.session.commit()


def too_large(recipients: int, quota: int) -> DeliveryError:
    """A queued message with more recipients than the sender may reach in 24 hours (its
    quota was lowered after the message was queued): it can never go through it."""
    return DeliveryError("rcpt", "quota_too_small",
                         f"{recipients} recipients; the sender allows {quota} in 24 hours",
                         kind="permanent")


def refusal(name: str, wait: Wait) -> str:
    """Why an immediate send is refused, in the reader's language: nothing was sent."""
    part = wait.part
    if part["code"] == "quota_wait":
        return _("The sender “%(name)s” has used its quota of %(quota)s recipients in 24 "
                 "hours (%(used)s used), so nothing was sent. It can send again at %(until)s; "
                 "try then or choose another sender.", name=name, quota=number(part["quota"]),
                 used=number(part["used"]), until=when(wait.until))
    return _("The provider paused the sender “%(name)s” with its own quota reply (%(reply)s), "
             "so nothing was sent. It can send again at %(until)s; try then or choose another "
             "sender.", name=name, reply=part.get("reply") or "", until=when(wait.until))
