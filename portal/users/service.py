"""User rules: unique usernames, memberships, and never locking out the last admin."""

import re

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.auth import sessions
from portal.auth.models import ROLES, User
from portal.auth.service import find_user
from portal.errors import ServiceError
from portal.extensions import db
from portal.i18n.marks import N_
from portal.listing import contains
from portal.teams.models import Membership, Team

USERNAME_PATTERN = r"^[A-Za-z0-9._@-]+$"
USERNAME_MESSAGE = N_("Username may contain letters, digits and . _ @ - only.")


def list_users(page: int, per_page: int, search: str = "") -> tuple[list[User], bool]:
    """One page of users by username, and whether a next page exists."""
    query = select(User).order_by(func.lower(User.username))
    if search:
        query = query.where(contains(func.lower(User.username), search.lower())
                            | contains(func.lower(User.display_name), search.lower()))
    rows = list(db.session.scalars(query.offset((page - 1) * per_page).limit(per_page + 1)))
    return rows[:per_page], len(rows) > per_page


def create_user(*, username: str, password: str, display_name: str | None = None,
                email: str | None = None, is_system_admin: bool = False) -> User:
    username = username.strip()
    if not username:
        raise ServiceError(_("Enter a username."), "username")
    if len(username) > 64 or not re.match(USERNAME_PATTERN, username):
        raise ServiceError(_(USERNAME_MESSAGE) if len(username) <= 64
                           else _("Username must be at most 64 characters."), "username")
    if find_user(username) is not None:
        raise ServiceError(_("The username “%(name)s” is taken. Choose another.",
                             name=username), "username")
    if len(password) < 8:
        raise ServiceError(_("Password must be at least 8 characters."), "password")
    user = User(username=username, display_name=(display_name or username).strip(),
                email=(email or None), is_system_admin=is_system_admin, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(actor, user: User, *, display_name: str, email: str | None,
                active: bool, is_system_admin: bool) -> User:
    """Refuses changes that would leave the portal without an active system admin."""
    losing_admin = user.is_system_admin and user.active and not (active and is_system_admin)
    if losing_admin and user.id == actor.id:
        raise ServiceError(_("You cannot deactivate yourself or remove your own "
                             "system administrator role."), "is_system_admin")
    if losing_admin and _active_system_admins() <= 1:
        raise ServiceError(_("This is the last active system administrator."),
                           "is_system_admin")
    user.display_name = display_name.strip()
    user.email = email or None
    if user.active and not active:
        sessions.end_all(user)
    user.active = active
    user.is_system_admin = is_system_admin
    db.session.flush()
    return user


DIRECTORY_PASSWORD = N_("This account signs in with the directory (LDAP / Active "
                        "Directory): its password is changed there, not in the portal.")


def reset_password(user: User, password: str) -> None:
    """A new password ends every session the user had (cookies copied elsewhere too).
    Directory accounts have no local password: refused."""
    if user.from_directory:
        raise ServiceError(_(DIRECTORY_PASSWORD), "password")
    user.set_password(password)
    sessions.end_all(user)
    db.session.flush()


def _active_system_admins() -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(
        User.is_system_admin.is_(True), User.active.is_(True)))


def set_membership(user: User, team: Team, role: str) -> Membership:
    """Add the user to the team, or change their role there."""
    if role not in ROLES:
        raise ServiceError(_("Choose Team admin or Agent as the role."), "role")
    membership = next((m for m in user.memberships if m.team_id == team.id), None)
    if membership is None:
        membership = Membership(user=user, team=team, role=role)
        db.session.add(membership)
    else:
        membership.role = role
    db.session.flush()
    return membership


def remove_membership(user: User, team_id: int) -> None:
    membership = next((m for m in user.memberships if m.team_id == team_id), None)
    if membership is None:
        raise ServiceError(_("This user is not a member of that team."))
    user.memberships.remove(membership)
    db.session.flush()
