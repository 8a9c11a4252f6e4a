"""A directory group linked to a team: its members get ``role`` in the team."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db


class TeamGroupLink(db.Model):
    """Members of ``group_dn`` (stored normalized, see client.normalize_dn) are
    ``role`` in the team; a team with links has its memberships set at sign-in."""

    __tablename__ = "team_group_links"
    __table_args__ = (
        UniqueConstraint("team_id", "group_dn"),
        CheckConstraint("role IN ('admin', 'agent')", name="group_link_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"),
                                         index=True)
    group_dn: Mapped[str] = mapped_column(String(512))
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    team = relationship("Team", lazy="joined", backref=backref(
        "group_links", cascade="all, delete-orphan", order_by="TeamGroupLink.group_dn"))
