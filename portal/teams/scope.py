"""Who may see and who may change what: the one place team scoping is decided.

Everything a team owns (senders, templates, API tokens; see ``TeamScoped``) and the
teams themselves answer two questions with a SQL clause, ``visible_to(who)`` and
``managed_by(who)``, and messages answer ``visible_to(who)``; services filter with
those clauses and views load single objects through ``access.get_or_404``, so the
rule cannot drift between pages. ``who`` is a signed-in user or an API token's
``Actor``: ``Scope.of`` reduces both to the same facts (see ``Scope``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, true


@dataclass(frozen=True)
class Scope:
    """``everything``: a system admin or system token. ``teams``: whose things may be
    seen and used. ``admin_teams``: whose things may be changed. ``record_teams``: whose
    sending records may be read (a team admin's teams; a team token's team).
    ``user_id``: the person, whose own messages they may always read."""

    everything: bool
    teams: frozenset[int] = frozenset()
    admin_teams: frozenset[int] = frozenset()
    record_teams: frozenset[int] = frozenset()
    user_id: int | None = None

    @classmethod
    def of(cls, who) -> Scope:
        if isinstance(who, Scope):
            return who
        if hasattr(who, "admin_team_ids"):  # a user
            admin_teams = frozenset(who.admin_team_ids())
            return cls(bool(who.is_system_admin), frozenset(who.team_ids()), admin_teams,
                       admin_teams, who.id)
        # an Actor (API token or a user reduced for sending): team_ids None = everything
        teams = frozenset(who.team_ids or ())
        return cls(who.team_ids is None, teams, record_teams=teams, user_id=who.user_id)


def visible(column, who):
    """Clause: system-level rows (``column`` NULL) and rows of ``who``'s teams."""
    scope = Scope.of(who)
    if scope.everything:
        return true()
    return column.is_(None) | column.in_(sorted(scope.teams))


def managed(column, who):
    """Clause: rows of the teams ``who`` administers (all for system admins); system-level
    rows only for system admins."""
    scope = Scope.of(who)
    if scope.everything:
        return true()
    return column.in_(sorted(scope.admin_teams))


def records_visible(team_column, user_column, who):
    """Clause for sending records: all, or the teams' records ``who`` may read plus the
    ones they sent themselves."""
    found = Scope.of(who)
    if found.everything:
        return true()
    mine = user_column == found.user_id if found.user_id is not None else false()
    return mine | team_column.in_(sorted(found.record_teams))


def may_see(team_id: int | None, who) -> bool:
    scope = Scope.of(who)
    return scope.everything or team_id is None or team_id in scope.teams


def may_manage(team_id: int | None, who) -> bool:
    scope = Scope.of(who)
    return scope.everything or (team_id is not None and team_id in scope.admin_teams)
