"""Users and how they relate to teams: the facts every access check reads."""

from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db
from portal.teams.scope import may_manage

ROLES = ("admin", "agent")


class User(UserMixin, db.Model):
    """A person who signs in. System admins see everything; others see their teams."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_system_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The user's own language and time zone; None = the browser's / the system default.
    locale: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Where the account comes from: "local" (password here) or "directory" (LDAP / AD:
    # no local password; name, email, admin role and linked teams follow the directory).
    source: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    directory_dn: Mapped[str | None] = mapped_column(String(512), index=True)
    # When the directory last confirmed this account (see directory.recheck).
    directory_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    memberships = relationship(
        "Membership", back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    # The key of the sign-in session this object was loaded for (see auth.sessions);
    # a plain attribute, not a column.
    session_key = None

    @property
    def from_directory(self) -> bool:
        return self.source == "directory"

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """What the session and remember-me cookies carry: the user and the session."""
        return f"{self.id}:{self.session_key or ''}"

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def role_in(self, team_id: int | None) -> str | None:
        """This user's role in one team, or None when not a member."""
        for membership in self.memberships:
            if membership.team_id == team_id:
                return membership.role
        return None

    def team_ids(self) -> set[int]:
        return {m.team_id for m in self.memberships}

    def admin_team_ids(self) -> set[int]:
        return {m.team_id for m in self.memberships if m.role == "admin"}

    def can_admin_team(self, team_id: int | None) -> bool:
        """System admins administer every scope (including system level); team admins theirs."""
        return may_manage(team_id, self)

    @property
    def is_any_admin(self) -> bool:
        return self.is_system_admin or bool(self.admin_team_ids())

    def __repr__(self) -> str:
        return f"<User {self.username}>"
