"""Sender accounts: everything needed to send as one address, and the defaults."""

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, partial_unique, utcnow
from portal.extensions import db
from portal.teams.models import TeamScoped

MODES = ("immediate", "deferred")


class Sender(TeamScoped, db.Model):
    """One SMTP account. ``team_id`` None means system level.

    ``is_default`` marks the default of the sender's own scope; the partial
    unique indexes allow one per team and one system-wide, and the check
    constraint keeps a disabled sender from being a default.
    """

    __tablename__ = "senders"
    __table_args__ = (
        CheckConstraint("encryption IN ('ssl', 'starttls', 'none')", name="encryption"),
        CheckConstraint("mode IN ('immediate', 'deferred')", name="mode"),
        CheckConstraint("port BETWEEN 1 AND 65535", name="port"),
        CheckConstraint("NOT is_default OR enabled", name="default_enabled"),
        CheckConstraint("max_connections >= 1", name="max_connections"),
        partial_unique("uq_senders_team_default", "team_id",
                       where="is_default AND team_id IS NOT NULL"),
        partial_unique("uq_senders_system_default", "is_default",
                       where="is_default AND team_id IS NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=25)
    encryption: Mapped[str] = mapped_column(String(10), default="starttls")
    address: Mapped[str] = mapped_column(String(254))
    username: Mapped[str | None] = mapped_column(String(254))
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(String(120))
    mode: Mapped[str] = mapped_column(String(10), default="immediate")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    ca_cert: Mapped[str | None] = mapped_column(Text)
    allow_plain_auth: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=false())
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    max_connections: Mapped[int] = mapped_column(Integer, default=1)
    # The largest whole message (encoded, attachments included) the server takes; None:
    # the portal's MAX_MESSAGE_BYTES.
    max_message_bytes: Mapped[int | None] = mapped_column(Integer)
    # Epoch seconds of the next free sending slot, shared by all workers (rate limit).
    throttle_next_at: Mapped[float | None] = mapped_column(Float)
    # Quotas (None: no limit): recipients per rolling 24 hours, counted in
    # ``SenderUsage``, and recipients (To + Cc + Bcc) per message.
    daily_recipient_quota: Mapped[int | None] = mapped_column(Integer)
    max_recipients_per_message: Mapped[int | None] = mapped_column(Integer)
    # Where deferred mail goes when this sender cannot connect, set up TLS or log in.
    fallback_sender_id: Mapped[int | None] = mapped_column(
        ForeignKey("senders.id", ondelete="SET NULL"))
    # The provider answered with its own quota reply (163 MI:STC, Exchange throttling):
    # nothing is sent through the sender before this time. Reason: a stable code.
    provider_paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_pause_reason: Mapped[str | None] = mapped_column(String(40))
    provider_pause_reply: Mapped[str | None] = mapped_column(String(300))
    # The last Test connection / test mail on the stored settings (None: never tested).
    # The reason is a stable code (``DeliveryError.reason``), worded when shown.
    last_check_ok: Mapped[bool | None] = mapped_column(Boolean)
    last_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_check_reason: Mapped[str | None] = mapped_column(String(40))
    last_check_reply: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    fallback = relationship("Sender", remote_side=[id], foreign_keys=[fallback_sender_id])

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)

    def __repr__(self) -> str:
        return f"<Sender {self.id} {self.name}>"


class SenderUsage(db.Model):
    """Recipients offered to the server through a sender at one moment: the rolling
    24-hour window of ``daily_recipient_quota`` is the sum of the last day's rows."""

    __tablename__ = "sender_usage"
    __table_args__ = (Index("ix_sender_usage_sender_at", "sender_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("senders.id", ondelete="CASCADE"))
    # Epoch seconds, like the rate throttle's slots.
    at: Mapped[float] = mapped_column(Float, nullable=False)
    recipients: Mapped[int] = mapped_column(Integer, nullable=False)
