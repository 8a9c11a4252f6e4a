"""What the sender list shows beside the settings: paused, failing, the last check, and
today's use against the quotas (recipients in the rolling 24 hours, the provider's pause).

Paused: mail of the sender waits after a delivery error (a retry, or the worker's pause
after a failed connect or login). Failing: mail through it failed in the last 24 hours
and none went out, the same rule as the dashboard's "needs attention".
"""

from datetime import timedelta

from sqlalchemy import case, func, select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.outbox import quota
from portal.outbox.lifecycle import DUE
from portal.outbox.models import Message
from portal.senders import checks

DAY = timedelta(hours=24)


def _paused(ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(
        select(Message.sender_id, func.count())
        .where(Message.sender_id.in_(ids), Message.status.in_(DUE),
               Message.diagnosis.is_not(None))
        .group_by(Message.sender_id)).all())


def _failing(ids: list[int]) -> set[int]:
    delivered = func.sum(case((Message.status.in_(("sent", "partial")), 1), else_=0))
    failed = func.sum(case((Message.status.in_(("failed", "unknown")), 1), else_=0))
    rows = db.session.execute(
        select(Message.sender_id, delivered, failed)
        .where(Message.sender_id.in_(ids), Message.created_at >= utcnow() - DAY)
        .group_by(Message.sender_id)).all()
    return {sender_id for sender_id, sent, lost in rows if lost and not sent}


def states(senders) -> dict[int, dict]:
    """{sender id: {"paused": waiting messages, "failing": bool, "check": last check or
    None, "used": recipients in the quota's 24 hours (None without a quota),
    "provider_pause": the provider's quota pause (``quota.Wait``) or None}}."""
    ids = [sender.id for sender in senders]
    if not ids:
        return {}
    paused, failing = _paused(ids), _failing(ids)
    used = quota.used_by([s.id for s in senders if s.daily_recipient_quota])
    return {sender.id: {"paused": paused.get(sender.id, 0), "failing": sender.id in failing,
                        "check": checks.last(sender),
                        "used": used.get(sender.id, 0) if sender.daily_recipient_quota else None,
                        "provider_pause": quota.provider_wait(sender)} for sender in senders}
