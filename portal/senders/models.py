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
AUTH_METHODS = ("password", "oauth2")


class Sender(TeamScoped, db.Model):
    """One SMTP account. ``team_id`` None means system level.

    ``is_default`` marks the default of the sender's own scope; the partial
    unique indexes allow one per team and one system-wide, and the check
    constraint keeps a disabled sender from being a default.

    ``auth_method`` says how the sender logs in: "password" (``username`` and
    ``password_encrypted``) or "oauth2" (SASL XOAUTH2 as ``username`` with a bearer
    token). An OAuth2 sender gets its token from ``oauth_token_url``: with its own
    client credentials (``oauth_flow`` "application": ``oauth_client_id`` and the
    encrypted ``oauth_client_secret_encrypted``, e.g. Microsoft 365 SMTP.SendAsApp) or
    with the refresh token of a mailbox owner who signed in once (``oauth_flow``
    "delegated": ``oauth_refresh_token_encrypted``, the account shown as
    ``oauth_account``, signed in at ``oauth_connected_at``; the sign-in page is
    ``oauth_authorize_url``). ``oauth_provider`` (microsoft, google, generic) and
    ``oauth_tenant`` fill the default URLs and ``oauth_scope``. Secrets are encrypted
    (``portal.crypto``) and never shown; access tokens are never stored at all.
    """

    __tablename__ = "senders"
    __table_args__ = (
        CheckConstraint("encryption IN ('ssl', 'starttls', 'none')", name="encryption"),
        CheckConstraint("mode IN ('immediate', 'deferred')", name="mode"),
        CheckConstraint("port BETWEEN 1 AND 65535", name="port"),
        CheckConstraint("NOT is_default OR enabled", name="default_enabled"),
        CheckConstraint("max_connections >= 1", name="max_connections"),
        CheckConstraint("auth_method IN ('password', 'oauth2')", name="auth_method"),
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
    auth_method: Mapped[str] = mapped_column(String(10), default="password",
                                             server_default="password")
    oauth_provider: Mapped[str | None] = mapped_column(String(20))
    oauth_flow: Mapped[str | None] = mapped_column(String(20))
    oauth_tenant: Mapped[str | None] = mapped_column(String(100))
    oauth_client_id: Mapped[str | None] = mapped_column(String(255))
    oauth_client_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    oauth_token_url: Mapped[str | None] = mapped_column(String(500))
    oauth_authorize_url: Mapped[str | None] = mapped_column(String(500))
    oauth_scope: Mapped[str | None] = mapped_column(String(500))
    oauth_refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    oauth_account: Mapped[str | None] = mapped_column(String(254))
    oauth_connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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

    @property
    def has_client_secret(self) -> bool:
        return bool(self.oauth_client_secret_encrypted)

    @property
    def is_oauth(self) -> bool:
        return self.auth_method == "oauth2"

    @property
    def is_connected(self) -> bool:
        """A delegated OAuth2 sender whose mailbox owner has signed in."""
        return bool(self.oauth_refresh_token_encrypted)

    @property
    def basic_auth_ending(self) -> bool:
        """A password login to Microsoft 365, which Microsoft switches off (December 2026)."""
        return self.auth_method != "oauth2" and (self.host or "").strip().lower() in (
            "smtp.office365.com", "outlook.office365.com")

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
