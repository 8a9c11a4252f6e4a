"""Retention: delete old sending records (with their attempts), never mail still pending."""

from datetime import timedelta

from sqlalchemy import delete, select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.outbox.lifecycle import PENDING
from portal.outbox.models import Attempt, Message


def purge(older_than_days: int, chunk: int = 5000) -> int:
    """Delete finished messages created more than ``older_than_days`` ago, in chunks so
    the database is never locked for long. Returns how many were deleted."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    deleted = 0
    while True:
        ids = list(db.session.scalars(
            select(Message.id).where(Message.created_at < cutoff,
                                     Message.status.not_in(PENDING)).limit(chunk)))
        if not ids:
            return deleted
        db.session.execute(delete(Attempt).where(Attempt.message_pk.in_(ids)))
        db.session.execute(delete(Message).where(Message.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)
