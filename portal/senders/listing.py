"""What the sender list shows beside the settings: paused, failing and the last check.

Paused: mail of the sender waits after a delivery error (a retry, or the worker's pause
after a failed connect or login). Failing: mail through it failed in the last 24 hours
and none went out, the same rule as the dashboard's "needs attention".
"""

from datetime import timedelta

from sqlalchemy import case, func, select

from portal.dbtypes import utcnow
from portal.extensions import db
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
    None}} for the listed senders."""
    ids = [sender.id for sender in senders]
    if not ids:
        return {}
    paused, failing = _paused(ids), _failing(ids)
    return {sender.id: {"paused": paused.get(sender.id, 0), "failing": sender.id in failing,
                        "check": checks.last(sender)} for sender in senders}
