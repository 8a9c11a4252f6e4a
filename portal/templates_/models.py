"""Mail templates: a named subject and bodies that mail is rendered from at send time."""

from datetime import datetime

from flask_babel import gettext
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, partial_unique, utcnow
from portal.extensions import db
from portal.i18n.marks import N_
from portal.teams.models import TeamScoped


class MailTemplate(TeamScoped, db.Model):
    """One template. ``team_id`` None means system level (usable by every team).

    Names are unique within a scope: the partial unique indexes hold one name per
    team and one per system level (the service also compares case-insensitively).
    """

    __tablename__ = "mail_templates"
    __table_args__ = (
        partial_unique("uq_mail_templates_team_name", "team_id", "name",
                       where="team_id IS NOT NULL"),
        partial_unique("uq_mail_templates_system_name", "name", where="team_id IS NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str] = mapped_column(String(998))
    html_body: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    SYSTEM_LABEL = N_("System")

    @property
    def scope_label(self) -> str:
        """The team's name, or "System" (system level) in the reader's language."""
        return self.team.name if self.team is not None else gettext(self.SYSTEM_LABEL)

    def __repr__(self) -> str:
        return f"<MailTemplate {self.id} {self.name}>"
