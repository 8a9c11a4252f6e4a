"""Team rules: unique names, deletion only when empty, who sees which team."""

from sqlalchemy import func, select

from portal.errors import ServiceError
from portal.extensions import db
from portal.teams.models import Team

# Other features add checks here: each takes a team and returns a reason it is
# not empty (e.g. "it still has 2 senders"), or None.
EMPTY_CHECKS = []


def visible_teams(user) -> list[Team]:
    """Teams the user may see, by name."""
    return list(db.session.scalars(select(Team).where(Team.visible_to(user))
                                   .order_by(func.lower(Team.name))))


def administered_teams(user) -> list[Team]:
    """Teams whose senders, templates and tokens the user may manage, by name."""
    return list(db.session.scalars(select(Team).where(Team.managed_by(user))
                                   .order_by(func.lower(Team.name))))




def _check_name(name: str, exclude_id: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ServiceError("Enter a team name.", "name")
    query = select(Team.id).where(func.lower(Team.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Team.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise ServiceError(f"A team named “{name}” already exists. Choose another name.", "name")
    return name


def create_team(actor, name: str) -> Team:
    _require_system_admin(actor)
    team = Team(name=_check_name(name))
    db.session.add(team)
    db.session.flush()
    return team


def rename_team(actor, team: Team, name: str) -> Team:
    _require_system_admin(actor)
    team.name = _check_name(name, exclude_id=team.id)
    db.session.flush()
    return team


def delete_team(actor, team: Team) -> None:
    """Refuses while the team still has members or owns anything."""
    _require_system_admin(actor)
    reasons = []
    if team.memberships:
        reasons.append(f"it still has {len(team.memberships)} member(s)")
    reasons.extend(r for r in (check(team) for check in EMPTY_CHECKS) if r)
    if reasons:
        raise ServiceError(f"“{team.name}” cannot be deleted: {'; '.join(reasons)}. "
                           "Remove those first.")
    db.session.delete(team)
    db.session.flush()


def _require_system_admin(actor) -> None:
    if not actor.is_system_admin:
        raise PermissionError("Only system administrators can change teams.")
