"""Cancelling mail not yet handed over: who may, and the audit entry that records it.

The state change itself is ``lifecycle.cancel`` (one conditional UPDATE that a worker's
hand-over cannot also win); callers commit.
"""

from flask_babel import gettext as _

from portal.audit.listener import record_action
from portal.extensions import db
from portal.i18n.labels import status_label
from portal.outbox import lifecycle
from portal.outbox.models import Message


class NotCancellable(Exception):
    """The message is being handed over or is done: too late to cancel."""

    code = "not_cancellable"

    def __init__(self, message: Message):
        super().__init__(_("Message #%(id)s cannot be cancelled: its status is already "
                           "“%(status)s”. Only mail still waiting (queued, scheduled or "
                           "waiting to retry) can be.", id=message.id,
                           status=status_label(message.status)))


def may_cancel(user, message: Message) -> bool:
    """The user who sent it, or an admin of its scope (system admins: any)."""
    return (message.user_id is not None and message.user_id == user.id) \
        or user.can_admin_team(message.team_id)


def cancel(message: Message, actor_label: str | None = None) -> None:
    """Cancel ``message`` (already loaded for, and allowed to, the caller) and record it in
    the audit trail; raises ``NotCancellable`` when it is too late."""
    before = message.status
    if not lifecycle.cancel(message.id):
        db.session.expire(message)
        raise NotCancellable(message)
    record_action(db.session.connection(), action="cancel", object_type="message",
                  object_id=message.id, label=message.subject, team_id=message.team_id,
                  changes={"status": [before, "cancelled"]}, actor_label=actor_label)
    db.session.expire(message)
