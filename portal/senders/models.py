"""Sender accounts: everything needed to send as one address, and the defaults."""

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

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
    # The last Test connection / test mail on the stored settings (None: never tested).
    # The reason is a stable code (``DeliveryError.reason``), worded when shown.
    last_check_ok: Mapped[bool | None] = mapped_column(Boolean)
    last_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_check_reason: Mapped[str | None] = mapped_column(String(40))
    last_check_reply: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)

    def __repr__(self) -> str:
        return f"<Sender {self.id} {self.name}>"
