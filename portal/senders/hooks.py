"""What senders add to shared places: the "mailbox not configured" banner and a
team-deletion check."""

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from portal.banners import Banner, provider
from portal.extensions import db
from portal.senders.models import Sender
from portal.teams import service as teams_service


@provider
def mailbox_banners(user) -> list[Banner]:
    """Tell admins plainly which scopes cannot send system-triggered mail."""
    if not user.is_any_admin:
        return []
    defaults = dict(db.session.execute(
        select(Sender.team_id, Sender.id).where(Sender.is_default.is_(True),
                                                Sender.enabled.is_(True))).all())
    link = url_for("senders.index")
    system_default = None in defaults
    found = []
    if user.is_system_admin and not system_default:
        found.append(Banner("warning", _("Mailbox not configured: there is no system default "
                                         "sender, so system mail for teams without their own "
                                         "default fails."),
                            link, _("Choose a default sender")))
    if system_default:
        return found
    for membership in sorted(user.memberships, key=lambda m: m.team.name.lower()):
        if membership.role == "admin" and membership.team_id not in defaults:
            found.append(Banner("warning", _("Mailbox not configured for team “%(team)s”: it "
                                             "has no default sender and there is no system "
                                             "default.", team=membership.team.name),
                                link, _("Choose a default sender")))
    return found


def _senders_left(team) -> str | None:
    count = db.session.scalar(select(func.count()).select_from(Sender)
                              .where(Sender.team_id == team.id))
    if not count:
        return None
    return ngettext("it still has %(num)d sender", "it still has %(num)d senders", count)


teams_service.EMPTY_CHECKS.append(_senders_left)
