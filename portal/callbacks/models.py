"""Pending and delivered callbacks: an outbox of its own, written in the same transaction
as the message's final state, so a state change and its callback cannot part."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

STATES = ("pending", "delivered", "failed")


class Callback(db.Model):
    """One POST to a token's callback URL for one final state of one message.

    ``body`` is the exact JSON sent (fixed when the state was reached, so a later state
    gets a callback of its own with its own content); it is signed when sent.
    """

    __tablename__ = "callbacks"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'delivered', 'failed')", name="callback_state"),
        Index("ix_callbacks_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
