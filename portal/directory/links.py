"""Directory groups linked to teams, and applying a user's groups to their memberships.

Only teams that have at least one linked group are managed by the directory: a
directory user's membership in such a team is set from their groups at every
sign-in (admin wins over agent when several groups apply). Teams without links are
left exactly as managed by hand.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from portal.auth.models import ROLES, User
from portal.directory.client import normalize_dn
from portal.directory.models import TeamGroupLink
from portal.errors import ServiceError
from portal.extensions import db
from portal.teams.models import Membership, Team


def links_of(team: Team) -> list[TeamGroupLink]:
    return list(db.session.scalars(select(TeamGroupLink).where(
        TeamGroupLink.team_id == team.id).order_by(TeamGroupLink.group_dn)))


def add_link(actor, team: Team, group_dn: str, role: str) -> TeamGroupLink:
    """Link ``group_dn`` to ``team`` with ``role`` (system admins only; the caller commits)."""
    if not getattr(actor, "is_system_admin", False):
        raise ServiceError(_("Only system administrators can link directory groups."))
    dn = normalize_dn((group_dn or "").strip())
    if not dn or "=" not in dn:
        raise ServiceError(_("Enter the group's distinguished name (DN), e.g. "
                             "cn=sales,ou=groups,dc=example,dc=com."), "group_dn")
    if len(dn) > 512:
        raise ServiceError(_("The group's DN must be at most 512 characters."), "group_dn")
    if role not in ROLES:
        raise ServiceError(_("Choose a role: team admin or agent."), "role")
    existing = db.session.scalar(select(TeamGroupLink).where(
        TeamGroupLink.team_id == team.id, TeamGroupLink.group_dn == dn))
    if existing is not None:
        existing.role = role
        db.session.flush()
        return existing
    link = TeamGroupLink(team_id=team.id, group_dn=dn, role=role)
    db.session.add(link)
    db.session.flush()
    return link


def remove_link(actor, link: TeamGroupLink) -> None:
    """Unlink a group; memberships it gave stay until the team is managed by hand or the
    next sign-in finds the user in none of the team's remaining groups."""
    if not getattr(actor, "is_system_admin", False):
        raise ServiceError(_("Only system administrators can link directory groups."))
    db.session.delete(link)
    db.session.flush()


def roles_for(groups: set[str]) -> dict[int, str]:
    """team id → role the groups give (admin beats agent), over all linked teams."""
    roles: dict[int, str] = {}
    for link in db.session.scalars(select(TeamGroupLink)):
        if link.group_dn in groups and roles.get(link.team_id) != "admin":
            roles[link.team_id] = link.role
    return roles


def linked_team_ids() -> set[int]:
    return set(db.session.scalars(select(TeamGroupLink.team_id).distinct()))


def apply_groups(user: User, groups: set[str]) -> dict[int, str]:
    """Set ``user``'s memberships in linked teams from ``groups``; returns the roles given."""
    wanted = roles_for(groups)
    managed = linked_team_ids()
    for membership in list(user.memberships):
        if membership.team_id not in managed:
            continue
        role = wanted.pop(membership.team_id, None)
        if role is None:
            user.memberships.remove(membership)
        else:
            membership.role = role
    for team_id, role in wanted.items():
        user.memberships.append(Membership(team_id=team_id, role=role))
    db.session.flush()
    return roles_for(groups)


def describe(groups: set[str]) -> list[tuple[str, str, str]]:
    """(group DN, team name, role) for each linked group among ``groups`` (the test page)."""
    rows = db.session.scalars(select(TeamGroupLink).where(
        TeamGroupLink.group_dn.in_(sorted(groups))).order_by(TeamGroupLink.group_dn))
    return [(link.group_dn, link.team.name, link.role) for link in rows]
