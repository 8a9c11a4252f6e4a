"""Teams and memberships: a user belongs to teams with a role in each."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db
from portal.teams import scope


class TeamScoped:
    """Mixin for things owned by one team, or by the whole system when ``team_id`` is None
    (senders, templates, API tokens)."""

    SYSTEM_LABEL = "System"

    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="RESTRICT"), index=True)

    @declared_attr
    def team(cls):
        return relationship("Team", lazy="joined")

    @property
    def scope_label(self) -> str:
        return self.team.name if self.team is not None else self.SYSTEM_LABEL

    @classmethod
    def visible_to(cls, who):
        """Clause: what ``who`` may see and use (system-level rows and their teams')."""
        return scope.visible(cls.team_id, who)

    @classmethod
    def managed_by(cls, who):
        """Clause: what ``who`` may change (their admin teams'; all for system admins)."""
        return scope.managed(cls.team_id, who)


class Team(db.Model):
    """A group of users that owns senders, templates, tokens and records."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships = relationship(
        "Membership", back_populates="team", cascade="all, delete-orphan",
        order_by="Membership.id", lazy="selectin",  # the team list counts members per row
    )

    @classmethod
    def visible_to(cls, who):
        """Clause: the teams ``who`` belongs to (all for system admins)."""
        found = scope.Scope.of(who)
        return true() if found.everything else cls.id.in_(sorted(found.teams))

    @classmethod
    def managed_by(cls, who):
        """Clause: the teams ``who`` administers (all for system admins)."""
        found = scope.Scope.of(who)
        return true() if found.everything else cls.id.in_(sorted(found.admin_teams))

    def __repr__(self) -> str:
        return f"<Team {self.name}>"


class Membership(db.Model):
    """One user's role (admin or agent) in one team."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "team_id"),
        CheckConstraint("role IN ('admin', 'agent')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))

    user = relationship("User", back_populates="memberships")
    team = relationship("Team", back_populates="memberships", lazy="joined")
