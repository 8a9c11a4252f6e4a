"""Team rules: unique names, deletion only when empty, who sees which team, and what a
team owns (its senders, templates and API tokens) for the team pages."""

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from portal.errors import ServiceError
from portal.extensions import db
from portal.senders.models import Sender
from portal.teams.models import Team
from portal.templates_.models import MailTemplate
from portal.tokens.models import ApiToken

# Other features add checks here: each takes a team and returns a reason it is
# not empty (e.g. "it still has 2 senders", translated with ``ngettext``), or None.
EMPTY_CHECKS = []


def visible_teams(user) -> list[Team]:
    """Teams the user may see, by name."""
    return list(db.session.scalars(select(Team).where(Team.visible_to(user))
                                   .order_by(func.lower(Team.name))))


def administered_teams(user) -> list[Team]:
    """Teams whose senders, templates and tokens the user may manage, by name."""
    return list(db.session.scalars(select(Team).where(Team.managed_by(user))
                                   .order_by(func.lower(Team.name))))


@dataclass(frozen=True)
class Holdings:
    """What one team owns, for its page: senders (default first), templates, tokens."""

    senders: list
    templates: list
    tokens: list  # active ones
    revoked_tokens: int


def holdings(team: Team) -> Holdings:
    """The team's own senders, templates and API tokens (read-only, for display)."""
    senders = db.session.scalars(select(Sender).where(Sender.team_id == team.id).order_by(
        Sender.is_default.desc(), func.lower(Sender.name), Sender.id))
    templates = db.session.scalars(select(MailTemplate).where(
        MailTemplate.team_id == team.id).order_by(func.lower(MailTemplate.name)))
    tokens = list(db.session.scalars(select(ApiToken).where(ApiToken.team_id == team.id)
                                     .order_by(func.lower(ApiToken.name), ApiToken.id)))
    active = [token for token in tokens if token.is_active]
    return Holdings(list(senders), list(templates), active, len(tokens) - len(active))


def holding_counts(team_ids) -> dict[int, dict[str, int]]:
    """Per team id: how many senders, templates and active API tokens it has (the list)."""
    counts = {team_id: {"senders": 0, "templates": 0, "tokens": 0} for team_id in team_ids}
    queries = {"senders": select(Sender.team_id, func.count()).group_by(Sender.team_id),
               "templates": select(MailTemplate.team_id, func.count())
               .group_by(MailTemplate.team_id),
               "tokens": select(ApiToken.team_id, func.count())
               .where(ApiToken.revoked_at.is_(None)).group_by(ApiToken.team_id)}
    for kind, query in queries.items():
        for team_id, count in db.session.execute(query):
            if team_id in counts:
                counts[team_id][kind] = count
    return counts


def _check_name(name: str, exclude_id: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ServiceError(_("Enter a team name."), "name")
    query = select(Team.id).where(func.lower(Team.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Team.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise ServiceError(_("A team named “%(name)s” already exists. Choose another name.",
                             name=name), "name")
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
        reasons.append(ngettext("it still has %(num)d member", "it still has %(num)d members",
                                len(team.memberships)))
    reasons.extend(r for r in (check(team) for check in EMPTY_CHECKS) if r)
    if reasons:
        raise ServiceError(_("“%(name)s” cannot be deleted: %(reasons)s. Remove those first.",
                             name=team.name, reasons=_("; ").join(reasons)))
    db.session.delete(team)
    db.session.flush()


def _require_system_admin(actor) -> None:
    if not actor.is_system_admin:
        raise PermissionError("Only system administrators can change teams.")
