"""Messages: one row is both the outbox entry and the sending record, plus its attempts."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, partial_unique, utcnow
from portal.extensions import db
from portal.teams import scope

# Every status a message can have; the lifecycle (portal/outbox/lifecycle.py) names the
# subsets (due, pending, final) and is the only code that moves a message between them.
STATUSES = ("queued", "scheduled", "sending", "retrying", "sent", "partial", "failed", "unknown",
            "cancelled")
_STATUS_CHECK = "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")"


class Message(db.Model):
    """One mail to one or more recipients with its full history.

    The sender's name and address are copied in, so the record survives the
    sender's deletion; ``sender_reason`` says why that sender was used.
    """

    @classmethod
    def visible_to(cls, who):
        """Clause: the records ``who`` may read (see ``teams.scope``)."""
        return scope.records_visible(cls.team_id, cls.user_id, who)

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        Index("ix_messages_status_due", "status", "next_attempt_at"),
        # The records page: newest first, alone or within one filter.
        Index("ix_messages_created", "created_at", "id"),
        Index("ix_messages_sender_created", "sender_id", "created_at"),
        Index("ix_messages_status_created", "status", "created_at"),
        Index("ix_messages_team_created", "team_id", "created_at"),
        Index("ix_messages_user_created", "user_id", "created_at"),
        partial_unique("uq_messages_token_idempotency", "token_id", "idempotency_key",
                       where="idempotency_key IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("senders.id", ondelete="SET NULL"))
    sender_name: Mapped[str] = mapped_column(String(120))
    sender_address: Mapped[str] = mapped_column(String(254))
    sender_reason: Mapped[str] = mapped_column(String(40))
    # Why the mail went through another sender than the one chosen (a stored diagnosis
    # part ``fallback_used`` naming both and the first one's failure); None otherwise.
    sender_note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    token_id: Mapped[int | None] = mapped_column(Integer, index=True)
    triggered_by: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 of the request that used the key: a replay with other content is refused.
    idempotency_fingerprint: Mapped[str | None] = mapped_column(String(64))
    client_ip: Mapped[str | None] = mapped_column(String(45))
    to_addrs: Mapped[list] = mapped_column(JSON, default=list)
    cc_addrs: Mapped[list] = mapped_column(JSON, default=list)
    bcc_addrs: Mapped[list] = mapped_column(JSON, default=list)
    recipients_search: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(998))
    html_body: Mapped[str] = mapped_column(Text, default="")
    # The exact bytes handed to the server, made once, so every attempt sends the same mail.
    raw_message: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    text_body: Mapped[str | None] = mapped_column(Text)
    # The files in raw_message, for the records: [{"filename", "size", "content_type",
    # "inline"}]; None for a message without any.
    attachments: Mapped[list | None] = mapped_column(JSON)
    template_name: Mapped[str | None] = mapped_column(String(120))
    resource: Mapped[str | None] = mapped_column(String(500))
    mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    # attempt_count when an admin last requeued it: each round gets MAX_ATTEMPTS.
    attempts_base: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # One entry per envelope recipient, in envelope order: {"address", "state", "code",
    # "text"}; state is pending, accepted, refused or unknown. None until the first attempt.
    recipient_results: Mapped[list | None] = mapped_column(JSON)
    reply_code: Mapped[int | None] = mapped_column(Integer)
    reply_text: Mapped[str | None] = mapped_column(Text)
    diagnosis: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attempts = relationship("Attempt", back_populates="message", cascade="all, delete-orphan",
                            order_by="Attempt.number", passive_deletes=True)

    def set_recipients(self, to: list[str], cc: list[str] = (), bcc: list[str] = ()) -> None:
        self.to_addrs, self.cc_addrs, self.bcc_addrs = list(to), list(cc), list(bcc)
        self.recipients_search = " ".join([*to, *cc, *bcc]).lower()


Index("ix_messages_template_created", func.lower(Message.template_name), Message.created_at)


class Attempt(db.Model):
    """One hand-over attempt: when, the outcome, the server's reply and the diagnosis."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(10))
    step: Mapped[str | None] = mapped_column(String(20))
    reply_code: Mapped[int | None] = mapped_column(Integer)
    reply_text: Mapped[str | None] = mapped_column(Text)
    diagnosis: Mapped[str | None] = mapped_column(Text)

    message = relationship("Message", back_populates="attempts")
