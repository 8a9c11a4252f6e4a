"""API tokens: a named secret per team (or system-wide) that other systems send mail with.

Only the SHA-256 hash of the secret is stored, so a database dump cannot be used
to call the API; the secret itself is shown once, when the token is created.
"""

from datetime import datetime

from flask_babel import gettext
from sqlalchemy import ForeignKey, Integer, String, delete, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db
from portal.i18n.marks import N_
from portal.teams.models import Team, TeamScoped


class ApiToken(TeamScoped, db.Model):
    """``team_id`` None means system scope: every team's senders and records."""

    __tablename__ = "api_tokens"
    SYSTEM_LABEL = N_("System (all teams)")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the portal POSTs each final state of this token's messages, signed with
    # the secret (encrypted with portal.crypto: the portal needs it back to sign).
    callback_url: Mapped[str | None] = mapped_column(String(2000))
    callback_secret_encrypted: Mapped[str | None] = mapped_column(String(500))
    # The last delivery attempt: when, the receiver's HTTP status or the error.
    callback_last_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    callback_last_status: Mapped[int | None] = mapped_column(Integer)
    callback_last_error: Mapped[str | None] = mapped_column(String(300))

    created_by = relationship("User", lazy="joined")

    @property
    def scope_label(self) -> str:
        """The team's name, or "System (all teams)" in the reader's language."""
        return self.team.name if self.team is not None else gettext(self.SYSTEM_LABEL)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.name}>"


@event.listens_for(Team, "before_delete")
def _drop_revoked_tokens(_mapper, connection, team) -> None:
    """Revoked tokens go with their team; active ones block its deletion (see service).

    Records keep the token's name in ``triggered_by``, so nothing is lost, and the
    RESTRICT foreign key would otherwise make such a team undeletable forever.
    """
    connection.execute(delete(ApiToken).where(ApiToken.team_id == team.id,
                                              ApiToken.revoked_at.is_not(None)))
