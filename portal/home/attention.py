"""Senders an admin should look at, each with the reason in plain words.

Reasons: mail through it failed in the last 24 hours and none went out (failing),
mail waits to be retried (paused after an error), the provider paused it with its own
quota reply, its recipients per 24 hours are used up, its last check failed, it was
never checked, or a team the admin manages has no default sender at all.
"""

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from portal.extensions import db
from portal.home.dashboard import Attention, SenderDay
from portal.i18n.formatting import number, when
from portal.outbox import quota
from portal.outbox.models import Message
from portal.senders.models import Sender
from portal.teams.models import Team


def _retrying(user) -> dict:
    """{sender_id: messages waiting to be retried} within the user's records."""
    return dict(db.session.execute(
        select(Message.sender_id, func.count())
        .where(Message.status == "retrying", Message.visible_to(user))
        .group_by(Message.sender_id)).all())


def _quota_reasons(sender: Sender, used: int | None) -> list[Attention]:
    """Paused by the provider's own quota reply, or its recipients per 24 hours used up."""
    found = []
    paused = quota.provider_wait(sender)
    if paused is not None:
        found.append(Attention(sender, "provider-quota", _(
            "Paused by the provider’s quota (%(reply)s) until %(when)s.",
            reply=sender.provider_pause_reply or "", when=when(paused.until))))
    limit = sender.daily_recipient_quota
    if limit and used is not None and used >= limit:
        found.append(Attention(sender, "quota-used", _(
            "Its %(quota)s recipients per 24 hours are used up: deferred mail waits.",
            quota=number(limit))))
    return found


def _sender_reasons(sender: Sender, day: SenderDay | None, retrying: int,
                    used: int | None = None) -> list[Attention]:
    found = []
    if day and day.total and day.counts["sent"] == 0 and day.counts["partial"] == 0:
        failed = day.counts["failed"] + day.counts["unknown"]
        found.append(Attention(sender, "failing", ngettext(
            "%(num)d message failed in the last 24 h and none was delivered.",
            "%(num)d messages failed in the last 24 h and none was delivered.", failed)))
    if retrying:
        found.append(Attention(sender, "paused", ngettext(
            "%(num)d message waiting to be retried after a delivery error.",
            "%(num)d messages waiting to be retried after a delivery error.", retrying)))
    found.extend(_quota_reasons(sender, used))
    checked_at = getattr(sender, "last_check_at", None)
    if checked_at is None:
        found.append(Attention(sender, "untested", _("Never tested: run Test connection.")))
    elif getattr(sender, "last_check_ok", None) is False:
        found.append(Attention(sender, "check-failed", _("The last check failed.")))
    return found


def _missing_defaults(user) -> list[Attention]:
    """Scopes the user manages that cannot send system-triggered mail."""
    defaults = set(db.session.scalars(
        select(Sender.team_id).where(Sender.is_default.is_(True), Sender.enabled.is_(True))))
    if None in defaults:
        return []
    found = []
    if user.is_system_admin:
        found.append(Attention(None, "no-default", _("There is no system default sender.")))
    teams = db.session.scalars(select(Team).where(Team.managed_by(user))
                               .order_by(func.lower(Team.name)))
    for team in teams:
        if team.id not in defaults:
            found.append(Attention(None, "no-default",
                                   _("Team “%(name)s” has no default sender.", name=team.name)))
    return found


def senders_needing_attention(user, per_sender: list[SenderDay]) -> list[Attention]:
    """Everything worth an admin's look, missing defaults first."""
    days = {entry.sender_id: entry for entry in per_sender}
    retrying = _retrying(user)
    senders = db.session.scalars(select(Sender).where(Sender.managed_by(user),
                                                      Sender.enabled.is_(True))
                                 .order_by(func.lower(Sender.name)))
    senders = list(senders)
    used = quota.used_by([sender.id for sender in senders if sender.daily_recipient_quota])
    found = _missing_defaults(user)
    for sender in senders:
        found.extend(_sender_reasons(sender, days.get(sender.id), retrying.get(sender.id, 0),
                                     used.get(sender.id, 0)))
    return found
