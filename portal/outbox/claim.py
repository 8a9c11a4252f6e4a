"""Leased, atomic claims on due messages, and recovery of claims whose lease ran out.

A claim marks messages with ``claimed_by`` and ``lease_until`` in one UPDATE; on
PostgreSQL the candidate rows are locked with ``FOR UPDATE SKIP LOCKED`` so any
number of workers can share the queue. SQLite serialises writers, so the same
single statement is atomic there too.
"""

from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.outbox.models import Message

DUE_STATES = ("queued", "retrying")


def _due(now):
    return and_(Message.status.in_(DUE_STATES), Message.claimed_by.is_(None),
                or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now))


def claim_batch(claim_id: str, size: int, lease_seconds: float) -> list[int]:
    """Claim up to ``size`` due messages for ``claim_id``; returns their ids, oldest first."""
    now = utcnow()
    candidates = (select(Message.id).where(_due(now))
                  .order_by(Message.next_attempt_at.is_not(None), Message.next_attempt_at,
                            Message.id).limit(size))
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    db.session.execute(
        update(Message).where(Message.id.in_(candidates.scalar_subquery()))
        .values(claimed_by=claim_id, lease_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False))
    db.session.commit()
    return list(db.session.scalars(select(Message.id).where(Message.claimed_by == claim_id)
                                   .order_by(Message.id)))


def recover_expired() -> tuple[int, int]:
    """Expired claims: not yet handed over → back to the queue; mid hand-over → ``unknown``.

    ``unknown`` mail may have reached the server, so it is never resent automatically.
    """
    now = utcnow()
    expired = and_(Message.claimed_by.is_not(None), Message.lease_until < now)
    released = db.session.execute(
        update(Message).where(expired, Message.status.in_(DUE_STATES))
        .values(claimed_by=None, lease_until=None)
        .execution_options(synchronize_session=False)).rowcount
    flagged = db.session.execute(
        update(Message).where(expired, Message.status == "sending")
        .values(status="unknown", lease_until=None,
                diagnosis="The worker stopped while handing this message to the server, so "
                          "it may or may not have been delivered. It is not resent "
                          "automatically; retry it by hand if it did not arrive.")
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return released, flagged


def release(claim_id: str, ids: list[int] | None = None) -> int:
    """Give back claimed messages that were not handed over (e.g. on shutdown)."""
    query = update(Message).where(Message.claimed_by == claim_id,
                                  Message.status.in_(DUE_STATES))
    if ids is not None:
        query = query.where(Message.id.in_(ids))
    count = db.session.execute(query.values(claimed_by=None, lease_until=None)
                               .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return count
